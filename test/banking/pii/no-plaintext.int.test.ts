import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnboardingService } from '../../../src/banking/onboarding/index.ts';
import { keyIdOf, parseKeyring, reencryptAll, sealedTables } from '../../../src/banking/pii/index.ts';
import { eventually } from '../../support/eventually.ts';
import {
  applicationBody,
  type BankHarness,
  createBankHarness,
  workersTimeoutMs,
} from '../onboarding/bank-harness.ts';

describe('personal data and passwords at rest', () => {
  let h: BankHarness;
  const secrets: string[] = [];
  const newPassword = 'Never-Stored-Plain-99';
  let applicationId = '';

  beforeAll(async () => {
    h = await createBankHarness();
    h.startWorkers();
    // The whole flow through HTTP: apply, review, the steps on the bus, notification, first login, teller, history.
    const body = applicationBody('50001');
    secrets.push(
      body.customerInfo.fullName,
      body.customerInfo.email,
      body.customerInfo.phoneNumber,
      body.customerInfo.idNumber,
      body.address.streetAddress,
      body.address.postalCode,
    );
    const applied = await h.app.inject({
      method: 'POST',
      url: '/api/accounts',
      headers: { 'idempotency-key': 'apply-50001' },
      payload: body,
    });
    applicationId = applied.json().applicationId;
    const rejectedApplication = await h.app.inject({
      method: 'POST',
      url: '/api/accounts',
      payload: applicationBody('50002'),
    });
    secrets.push(applicationBody('50002').customerInfo.fullName);
    await h.app.inject({
      method: 'POST',
      url: `/admin/account-applications/${rejectedApplication.json().applicationId}/reject`,
      headers: h.adminHeaders,
      payload: { reason: 'incomplete documents' },
    });
    await h.app.inject({
      method: 'POST',
      url: `/admin/account-applications/${applicationId}/approve`,
      headers: h.adminHeaders,
    });
    await eventually(
      async () => {
        const s = await h.bank.onboarding.state(applicationId);
        return s.notificationId !== null ? s : undefined;
      },
      { what: 'completion', timeoutMs: workersTimeoutMs },
    );
    const view = (
      await h.app.inject({
        method: 'GET',
        url: `/admin/account-applications/${applicationId}`,
        headers: h.adminHeaders,
      })
    ).json();
    secrets.push(view.temporaryPassword, newPassword);
    const login = await h.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { loginId: view.loginId, password: view.temporaryPassword },
    });
    const changed = await h.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      headers: { authorization: `Bearer ${login.json().token}` },
      payload: { currentPassword: view.temporaryPassword, newPassword },
    });
    await h.app.inject({
      method: 'POST',
      url: '/admin/ledger/deposits',
      headers: h.adminHeaders,
      payload: { accountId: view.accountId, amount: '1000', currency: 'JPY', reference: 'pii-scan-1' },
    });
    const history = await h.app.inject({
      method: 'GET',
      url: `/api/accounts/${view.accountId}/transactions`,
      headers: { authorization: `Bearer ${changed.json().token}` },
    });
    expect(history.json().transactions).toHaveLength(1);
  });
  afterAll(async () => {
    await h.close();
  });

  /** Every row of every table in the database, as text. */
  async function dumpDatabase(): Promise<string> {
    const { rows: tables } = await h.db.pool.query<{ name: string }>(
      "SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    const texts: string[] = [];
    for (const { name } of tables) {
      const { rows } = await h.db.pool.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`);
      texts.push(...rows.map((row) => `${name}: ${row.row}`));
    }
    return texts.join('\n');
  }

  it('finds no personal data, temporary password or password in any table, the event store or the logs', async () => {
    expect(secrets.every((secret) => typeof secret === 'string' && secret.length >= 8)).toBe(true);
    const dump = await dumpDatabase();
    expect(dump).toContain('bank_customers');
    expect(dump).toMatch(/pii1:test1:/);
    const logs = h.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(dump.includes(secret), `database holds "${secret}"`).toBe(false);
      expect(logs.includes(secret), `logs hold "${secret}"`).toBe(false);
    }
    // Lower-cased too: a case-folding copy would be a leak as well.
    for (const secret of secrets) expect(dump.toLowerCase().includes(secret.toLowerCase())).toBe(false);
  });

  it('rotates keys: re-encrypts every sealed value under the new key, and all still open', async () => {
    const [oldEntry] = [...h.keyring.keys.entries()];
    const rotated = parseKeyring(
      `test1:${oldEntry![1].toString('base64')},test2:${randomBytes(32).toString('base64')}`,
      'test2',
    );
    const counts = await reencryptAll(h.db.pool, rotated);
    expect(counts.bank_customers).toBe(8);
    expect(counts.bank_application_pii).toBe(16);
    expect(counts.bank_notifications).toBe(1);
    for (const spec of sealedTables) {
      const { rows } = await h.db.pool.query<Record<string, string | null>>(
        `SELECT ${spec.columns.join(', ')} FROM ${spec.table}`,
      );
      for (const row of rows) {
        for (const value of Object.values(row)) if (value !== null) expect(keyIdOf(value)).toBe('test2');
      }
    }
    expect(await reencryptAll(h.db.pool, rotated)).toEqual({
      bank_customers: 0,
      bank_application_pii: 0,
      bank_application_secrets: 0,
      bank_notifications: 0,
    });
    const onlyNewKey = parseKeyring(`test2:${rotated.keys.get('test2')!.toString('base64')}`, 'test2');
    const reader = new OnboardingService({
      ...fakeDeps(),
      pool: h.db.pool,
      store: h.bank.store,
      keyring: onlyNewKey,
    });
    const view = await reader.view(applicationId);
    expect(view.applicant?.fullName).toBe('Zebediah Quartermaine 50001');
  });

  function fakeDeps() {
    return {
      ledger: h.bank.ledger,
      identity: h.identity.service,
      clock: h.identity.clock,
      ids: () => {
        throw new Error('not used');
      },
      branch: '001',
      offeredCurrencies: ['JPY' as const],
    };
  }
});
