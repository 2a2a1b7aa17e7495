import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/platform/config.ts';

describe('exchange settings', () => {
  it('defaults: group commit, a snapshot every 100,000 commands, open around the clock', () => {
    expect(loadConfig({})).toMatchObject({
      exchangeDurability: 'batch',
      exchangeSnapshotEvery: 100_000,
      exchangeSchedule: 'always',
      exchangeOrderRateMax: 6_000,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      KINYU_EXCHANGE_DURABILITY: 'record',
      KINYU_EXCHANGE_SNAPSHOT_EVERY: '0',
      KINYU_EXCHANGE_SCHEDULE: '22:00-06:00',
      KINYU_EXCHANGE_ORDER_RATE_MAX: '50',
    });
    expect(config).toMatchObject({
      exchangeDurability: 'record',
      exchangeSnapshotEvery: 0,
      exchangeSchedule: '22:00-06:00',
      exchangeOrderRateMax: 50,
    });
  });

  it('reports every bad exchange setting at once', () => {
    let error: unknown;
    try {
      loadConfig({
        KINYU_EXCHANGE_DURABILITY: 'fsync',
        KINYU_EXCHANGE_SNAPSHOT_EVERY: '-1',
        KINYU_EXCHANGE_SCHEDULE: '9:30-16:00',
        KINYU_EXCHANGE_ORDER_RATE_MAX: '0',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'KINYU_EXCHANGE_DURABILITY',
      'KINYU_EXCHANGE_SNAPSHOT_EVERY',
      'KINYU_EXCHANGE_SCHEDULE',
      'KINYU_EXCHANGE_ORDER_RATE_MAX',
    ]) {
      expect(problems).toContain(name);
    }
    expect(() => loadConfig({ KINYU_EXCHANGE_SCHEDULE: '10:00-10:00' })).toThrow(/same minute/);
  });
});
