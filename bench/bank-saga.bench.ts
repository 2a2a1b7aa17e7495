/*
 * End-to-end bank transfer saga, with the whole system (`node bin/kinyu.js start`) as a child process
 * on a scratch database, driven over loopback HTTP like a customer would:
 *   0. SAGA_CUSTOMERS funded customers through the public flows: POST /api/accounts, admin approval,
 *      first login with the temporary password and the forced password change, teller deposit;
 *   1. POST /api/transfers with autocannon (a fresh Idempotency-Key per request): requests/s, p50/p99;
 *      then the time the saga workers take to finish the backlog those requests left;
 *   2. SAGA_TRANSFERS transfers sent by SAGA_CONNECTIONS concurrent clients, timed from the first
 *      send until every one is COMPLETED or FAILED (read from bank_transfers on the scratch database):
 *      sagas/s, completed/failed counts, and each saga's own duration (created_at → final updated_at).
 * Every customer sends to the next one in a ring, amounts of 1 JPY, so no transfer lacks funds: this
 * measures the saga path (request, withdraw hold, linked deposit pair, notification), not refusals.
 * Afterwards the customers' money must be unchanged in total with no hold left pending.
 *
 *   npm run bench:bank            (runs bench/bank-ledger.bench.ts first)
 *   npx tsx bench/bank-saga.bench.ts
 *   SAGA_SECONDS=5 SAGA_CONNECTIONS=16 SAGA_CUSTOMERS=16 SAGA_TRANSFERS=500 npx tsx bench/bank-saga.bench.ts
 *
 * DATABASE_URL: a PostgreSQL to create the scratch database on (default postgres://postgres@127.0.0.1:5432/postgres).
 * SAGA_REDIS_URL, when set, runs the system's bus on Redis Streams instead of in process.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { migrationSources } from '../src/app/migrations.ts';
import { onboardingConcurrencyMax } from '../src/banking/onboarding/consumer.ts';
import type { Pool } from '../src/platform/sql/pool.ts';
import { benchAdmin, json, repoRoot, startKinyu, withScratchDatabase } from './support.ts';

const seconds = Number(process.env.SAGA_SECONDS ?? 5);
const warmUpSeconds = 2;
const connections = Number(process.env.SAGA_CONNECTIONS ?? 16);
const customerCount = Math.max(2, Number(process.env.SAGA_CUSTOMERS ?? 16));
const sagaTransfers = Number(process.env.SAGA_TRANSFERS ?? 500);
const redisUrl = process.env.SAGA_REDIS_URL;
/** Each customer's opening deposit (JPY); transfers are 1 JPY, so no run comes near it. */
const fundingAmount = '100000000';
const transferAmount = '1';
const currency = 'JPY';
/** How long the bench waits for the onboarding steps, and for the sagas to drain, before giving up. */
const onboardingTimeoutMs = 60_000;
const drainTimeoutMs = 90_000;
const pollIntervalMs = 50;
const customerPassword = 'Bench-Customer-passw0rd-1';
const runId = randomUUID().slice(0, 8);

interface Customer {
  accountId: string;
  authorization: string;
}

function applicationBody(n: number) {
  const tag = String(n).padStart(5, '0');
  return {
    customerInfo: {
      fullName: `Bench Customer ${tag}`,
      email: `bench.${runId}.${tag}@example.org`,
      phoneNumber: `+44794600${tag}`,
      birthDate: '1980-02-29',
      idType: 'passport',
      idNumber: `BQ${runId}${tag}`,
    },
    address: { postalCode: '100-0001', streetAddress: `${n} Bench Street` },
    accountType: 'savings',
    currency,
  };
}

/**
 * One customer through the public flows: apply, the admin approves, the onboarding steps run on the
 * bus, the admin reads the temporary password (shown once), the customer signs in and changes it,
 * and a teller deposit funds the account.
 */
async function openCustomer(base: string, adminAuth: Record<string, string>, n: number): Promise<Customer> {
  const { applicationId } = await json<{ applicationId: string }>(`${base}/api/accounts`, {
    method: 'POST',
    body: JSON.stringify(applicationBody(n)),
  });
  await json(`${base}/admin/account-applications/${applicationId}/approve`, {
    method: 'POST',
    headers: adminAuth,
  });
  type Detail = {
    status: string;
    accountId: string | null;
    loginId: string | null;
    temporaryPassword?: string;
  };
  const deadline = Date.now() + onboardingTimeoutMs;
  let detail: Detail;
  for (;;) {
    detail = await json<Detail>(`${base}/admin/account-applications/${applicationId}`, {
      headers: adminAuth,
    });
    if (detail.status === 'COMPLETED') break;
    if (Date.now() > deadline)
      throw new Error(`application ${applicationId} not completed: ${JSON.stringify(detail)}`);
    await sleep(pollIntervalMs);
  }
  if (!detail.temporaryPassword || !detail.loginId || !detail.accountId) {
    throw new Error(`application ${applicationId} completed without login, account or temporary password`);
  }
  const first = await json<{ token: string }>(`${base}/api/auth/login`, {
    method: 'POST',
    body: JSON.stringify({ loginId: detail.loginId, password: detail.temporaryPassword }),
  });
  const changed = await json<{ token: string }>(`${base}/api/auth/password`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.token}` },
    body: JSON.stringify({ currentPassword: detail.temporaryPassword, newPassword: customerPassword }),
  });
  await json(`${base}/admin/ledger/deposits`, {
    method: 'POST',
    headers: adminAuth,
    body: JSON.stringify({
      accountId: detail.accountId,
      amount: fundingAmount,
      currency,
      reference: `bench-saga-${runId}-${n}`,
    }),
  });
  return { accountId: detail.accountId, authorization: `Bearer ${changed.token}` };
}

/** The request of the k-th transfer: customer k mod N pays the next customer in the ring. */
function transferRequest(customers: Customer[], k: number) {
  const from = customers[k % customers.length]!;
  const to = customers[(k + 1) % customers.length]!;
  return {
    headers: {
      'content-type': 'application/json',
      authorization: from.authorization,
      'idempotency-key': `bench-${runId}-${k}`,
    },
    body: JSON.stringify({
      sourceAccountId: from.accountId,
      targetAccountId: to.accountId,
      amount: transferAmount,
      currency,
      description: 'bench',
    }),
  };
}

let transferSerial = 0;

/** POST /api/transfers with autocannon; each request takes the next serial, so a fresh key and payer. */
async function cannon(base: string, customers: Customer[], duration: number) {
  const result = await autocannon({
    url: base,
    connections,
    duration,
    requests: [
      {
        method: 'POST',
        path: '/api/transfers',
        setupRequest: (request) => ({ ...request, ...transferRequest(customers, transferSerial++) }),
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

/** Transfers of this run by status, from the saga's index table. */
async function statusCounts(pool: Pool, ids?: string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ status: string; n: string }>(
    ids
      ? 'SELECT status, count(*)::text AS n FROM bank_transfers WHERE id = ANY($1::uuid[]) GROUP BY status'
      : 'SELECT status, count(*)::text AS n FROM bank_transfers GROUP BY status',
    ids ? [ids] : [],
  );
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}

function finalOf(counts: Map<string, number>) {
  const completed = counts.get('COMPLETED') ?? 0;
  const failed = counts.get('FAILED') ?? 0;
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return { completed, failed, inFlight: total - completed - failed, total };
}

/** Polls until no transfer (of `ids`, or at all) is in flight; the time it took, or null after the timeout. */
async function drain(pool: Pool, ids?: string[]): Promise<number | null> {
  const started = performance.now();
  while (finalOf(await statusCounts(pool, ids)).inFlight > 0) {
    if (performance.now() - started > drainTimeoutMs) return null;
    await sleep(pollIntervalMs);
  }
  return performance.now() - started;
}

/** SAGA_TRANSFERS transfers from SAGA_CONNECTIONS concurrent clients, timed until all are final. */
async function sagaRun(base: string, pool: Pool, customers: Customer[]) {
  const postMs: number[] = [];
  const ids: string[] = [];
  let rejected = 0;
  let next = 0;
  const started = performance.now();
  const client = async () => {
    while (next < sagaTransfers) {
      next++;
      const { headers, body } = transferRequest(customers, transferSerial++);
      const sent = performance.now();
      const response = await fetch(`${base}/api/transfers`, { method: 'POST', headers, body });
      const text = await response.text();
      postMs.push(performance.now() - sent);
      if (response.status === 202) ids.push((JSON.parse(text) as { transferId: string }).transferId);
      else rejected++;
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  const sentMs = performance.now() - started;
  const drained = await drain(pool, ids);
  const totalMs = performance.now() - started;
  const counts = finalOf(await statusCounts(pool, ids));
  const { rows } = await pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM updated_at - created_at)::float8 * 1000 AS ms
       FROM bank_transfers WHERE id = ANY($1::uuid[]) AND status IN ('COMPLETED', 'FAILED')`,
    [ids],
  );
  return {
    postMs,
    rejected,
    sentMs,
    totalMs,
    drained: drained !== null,
    counts,
    sagaMs: rows.map((r) => r.ms),
  };
}

/** Times the sweeper re-enqueued a stuck saga's next step, over all transfers. */
async function redrives(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT coalesce(sum(redrives), 0)::text AS n FROM bank_transfers',
  );
  return Number(rows[0]!.n);
}

/** The customers' money is only moved between them: its total is what the tellers deposited, no hold is left. */
async function checkMoney(pool: Pool, accountIds: string[]): Promise<boolean> {
  const { rows } = await pool.query<{ posted: string; pending: string }>(
    `SELECT sum(credits_posted - debits_posted)::text AS posted, sum(debits_pending + credits_pending)::text AS pending
       FROM ledger_accounts WHERE id = ANY($1::uuid[])`,
    [accountIds],
  );
  const expected = (BigInt(fundingAmount) * BigInt(accountIds.length)).toString();
  const ok = rows[0]!.posted === expected && rows[0]!.pending === '0';
  console.log(
    `money check: customers hold ${rows[0]!.posted} JPY (deposited ${expected}), pending ${rows[0]!.pending}: ${ok}`,
  );
  return ok;
}

/** How many warnings and errors the system logged during the run, by message. */
function printWarnings(output: string): void {
  const byMessage = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const { msg, err } = JSON.parse(line) as { msg?: string; err?: { message?: string } };
      const key = `${msg ?? '?'}${err?.message ? `: ${err.message.slice(0, 120)}` : ''}`;
      byMessage.set(key, (byMessage.get(key) ?? 0) + 1);
    } catch {}
  }
  const lines = [...byMessage].sort((a, b) => b[1] - a[1]).slice(0, 5);
  console.log(
    `kinyu logged ${[...byMessage.values()].reduce((a, b) => a + b, 0)} warnings/errors${lines.length ? ':' : ''}`,
  );
  for (const [message, count] of lines) console.log(`  ${count} × ${message}`);
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

const tmpRoot = path.join(repoRoot, '.tmp');
mkdirSync(tmpRoot, { recursive: true });
const dataDir = mkdtempSync(path.join(tmpRoot, 'bench-saga-'));

await withScratchDatabase(
  `kinyu_bench_saga_${process.pid}`,
  2,
  migrationSources,
  async (pool, databaseUrl) => {
    const kinyu = await startKinyu({
      DATABASE_URL: databaseUrl,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      KINYU_DATA_DIR: dataDir,
      KINYU_RATE_LIMIT_MAX: '10000000',
      KINYU_RATE_LIMIT_LOGIN_MAX: '10000000',
      KINYU_RATE_LIMIT_APPLY_MAX: '10000000',
    });
    try {
      const base = kinyu.url;
      const cpus = os.cpus();
      console.log(
        `machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average before: ${loadAverage()}`,
      );
      console.log(
        `system: kinyu start (all roles in one process), ${redisUrl ? 'Redis Streams' : 'in-process'} bus, default pool and bus settings`,
      );
      const { token } = await json<{ token: string }>(`${base}/api/auth/login`, {
        method: 'POST',
        body: JSON.stringify(benchAdmin),
      });
      const adminAuth = { authorization: `Bearer ${token}` };

      const onboardingStarted = performance.now();
      // In groups of the onboarding consumer's concurrency, so each group's steps run together.
      const customers: Customer[] = [];
      for (let n = 0; n < customerCount; n += onboardingConcurrencyMax) {
        const group = Array.from(
          { length: Math.min(onboardingConcurrencyMax, customerCount - n) },
          (_, i) => n + i,
        );
        customers.push(...(await Promise.all(group.map((i) => openCustomer(base, adminAuth, i)))));
      }
      console.log(
        `${customerCount} customers opened through onboarding, approval, password change and teller deposit in ${(
          (performance.now() - onboardingStarted) / 1000
        ).toFixed(1)} s`,
      );

      // 1. Request latency and rate while the saga workers run in the same process.
      await cannon(base, customers, warmUpSeconds);
      const beforeCannon = finalOf(await statusCounts(pool)).total;
      const post = await cannon(base, customers, seconds);
      const backlog = finalOf(await statusCounts(pool)).inFlight;
      const drainMs = await drain(pool);
      console.log(
        `\nPOST /api/transfers (autocannon, ${connections} connections, ${seconds} s after ${warmUpSeconds} s warm-up, saga workers running):`,
      );
      console.log(
        `  ${post.requestsPerSecond.toFixed(0)} req/s   p50 ${post.p50} ms   p99 ${post.p99} ms   total ${post.total}   non-2xx ${post.non2xx}   errors ${post.errors}`,
      );
      const afterCannon = finalOf(await statusCounts(pool));
      console.log(
        `  ${afterCannon.total - beforeCannon} transfers accepted; ${backlog} were still in flight when the load stopped, ` +
          (drainMs === null
            ? `NOT drained within ${drainTimeoutMs / 1000} s`
            : `drained in ${(drainMs / 1000).toFixed(1)} s`),
      );
      console.log(
        `  all transfers so far: ${afterCannon.completed} COMPLETED, ${afterCannon.failed} FAILED, ${afterCannon.inFlight} in flight; sweeper re-drives ${await redrives(pool)}`,
      );

      // 2. End-to-end sagas per second on an idle saga.
      const saga = await sagaRun(base, pool, customers);
      console.log(
        `\nsagas end to end: ${sagaTransfers} transfers from ${connections} concurrent clients, from the first POST until all are final:`,
      );
      console.log(
        `  ${saga.drained ? ((saga.counts.total / saga.totalMs) * 1000).toFixed(0) : 'NOT all final'} sagas/s   ` +
          `(${(saga.totalMs / 1000).toFixed(2)} s; POSTs took ${(saga.sentMs / 1000).toFixed(2)} s)   ` +
          `COMPLETED ${saga.counts.completed}   FAILED ${saga.counts.failed}   in flight ${saga.counts.inFlight}   POST refused ${saga.rejected}`,
      );
      console.log(
        `  POST latency p50 ${percentile(saga.postMs, 0.5).toFixed(1)} ms   p99 ${percentile(saga.postMs, 0.99).toFixed(1)} ms;   ` +
          `saga duration (request → final event) p50 ${percentile(saga.sagaMs, 0.5).toFixed(0)} ms   p99 ${percentile(saga.sagaMs, 0.99).toFixed(0)} ms`,
      );
      console.log(`  sweeper re-drives so far (stuck sagas re-enqueued): ${await redrives(pool)}`);
      const moneyOk = await checkMoney(
        pool,
        customers.map((c) => c.accountId),
      );
      if (!saga.drained || drainMs === null || !moneyOk || saga.rejected > 0) process.exitCode = 1;
      const { deadLetters } = await json<{ deadLetters: unknown[] }>(`${base}/admin/dead-letters?limit=100`, {
        headers: adminAuth,
      });
      console.log(`dead letters on the bus: ${deadLetters.length}${deadLetters.length === 100 ? '+' : ''}`);
      printWarnings(kinyu.output());
      console.log(`load average after: ${loadAverage()}`);
    } catch (error) {
      console.error(`kinyu's output (last 4,000 characters):\n${kinyu.output().slice(-4_000)}`);
      throw error;
    } finally {
      await kinyu.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
