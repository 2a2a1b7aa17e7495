import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationBody, type BankHarness, createBankHarness } from './bank-harness.ts';

describe('POST /api/accounts rate limit', () => {
  let h: BankHarness;

  beforeAll(async () => {
    h = await createBankHarness({ settings: { rateLimitApplyMax: 2 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses applications past KINYU_RATE_LIMIT_APPLY_MAX per client and window', async () => {
    const statuses: number[] = [];
    for (const tag of ['80001', '80002', '80003']) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/api/accounts',
        payload: applicationBody(tag),
      });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([201, 201, 429]);
    const { rows } = await h.db.pool.query('SELECT count(*)::int AS n FROM bank_applications');
    expect(rows[0].n).toBe(2);
  });
});
