import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsBus } from '../../../src/platform/bus/redis-bus.ts';
import { eventually } from '../../support/eventually.ts';
import { testRedisUrl } from '../../support/services.ts';
import { applicationBody, type BankHarness, createBankHarness, workersTimeoutMs } from './bank-harness.ts';

const url = testRedisUrl();

describe.skipIf(!url)('account opening with the bus on Redis Streams', () => {
  let h: BankHarness;
  const namespace = `kinyu-test:${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    const bus = new RedisStreamsBus({ url: url!, namespace, partitions: 2, leaseMs: 900, blockMs: 200 });
    h = await createBankHarness({ bus });
    h.startWorkers();
  });
  afterAll(async () => {
    await h.close();
    const redis = new Redis(url!);
    try {
      const keys = await redis.keys(`${namespace}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  it('opens the account through the outbox and the Redis consumers', async () => {
    const applied = await h.app.inject({
      method: 'POST',
      url: '/api/accounts',
      payload: applicationBody('70001'),
    });
    const { applicationId } = applied.json();
    const approved = await h.app.inject({
      method: 'POST',
      url: `/admin/account-applications/${applicationId}/approve`,
      headers: h.adminHeaders,
    });
    expect(approved.statusCode).toBe(200);
    await eventually(
      async () => {
        const s = await h.bank.onboarding.state(applicationId);
        return s.notificationId !== null ? s : undefined;
      },
      { what: 'completion over Redis', timeoutMs: workersTimeoutMs },
    );
    const first = await h.bank.onboarding.view(applicationId);
    expect(first.temporaryPassword).toBeDefined();
    expect((await h.bank.onboarding.view(applicationId)).temporaryPassword).toBeUndefined();
    const session = await h.identity.service.login(first.loginId!, first.temporaryPassword!);
    expect(session.user.mustChangePassword).toBe(true);
  });
});
