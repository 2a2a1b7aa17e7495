import { defineConfig } from 'vitest/config';

// Tiers (see ../shared/STYLE.md): *.test.ts fast and pure, *.int.test.ts against real PostgreSQL/Redis,
// *.e2e.test.ts through a real server. `npm test` runs all three.
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts', '**/*.slow.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'int', include: ['test/**/*.int.test.ts', 'test/**/*.slow.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/**/*.e2e.test.ts'], fileParallelism: false },
      },
    ],
  },
});
