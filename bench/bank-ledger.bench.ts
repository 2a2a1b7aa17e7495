/*
 * Ledger throughput on PostgreSQL: transfers/s through Ledger.createTransfers, single (one transfer
 * per call) and batched (transfersPerCall per call), from several concurrent connections, each beside
 * plain INSERTs of the very same rows with the same batching and connections into a copy of
 * ledger_transfers (same columns, indexes and checks), measured in alternating rounds of one run.
 *
 *   npx tsx bench/bank-ledger.bench.ts
 *
 * Uses a scratch database of its own on DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * and drops it afterwards. BENCH_ROUNDS, BENCH_BATCHED_CALLS, BENCH_SINGLE_CALLS and BENCH_CONNECTIONS
 * override the sizes. The machine is shared: the load average is printed before and after.
 */

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Ledger, type TransferInput } from '../src/banking/ledger/index.ts';
import { newId } from '../src/platform/ids.ts';
import { createPool, type Pool } from '../src/platform/sql/pool.ts';
import { adminUrl, withScratchDatabase } from './support.ts';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const batchedCalls = Number(process.env.BENCH_BATCHED_CALLS ?? 80);
const singleCalls = Number(process.env.BENCH_SINGLE_CALLS ?? 1_200);
const transfersPerCall = 1_000;
const accountsPerConnection = 2_500;
const ledgerId = 1;
const code = 1;
const openingMinor = 1_000_000_000n;

/** Linux USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const clockTicksPerSecond = 100;
const benchDatabase = `kinyu_bench_ledger_${process.pid}`;
let admins: Pool | undefined;

/** A small pool on the admin database, for pg_stat_activity. */
function adminPool(): Pool {
  admins ??= createPool(adminUrl, 1);
  return admins;
}

/** One connection's calls, each a batch of transfers. */
type Calls = TransferInput[][];

interface Figure extends Measured {
  scenario: string;
  engine: 'ledger' | 'plain INSERT';
}

async function main(): Promise<void> {
  const migrations = [
    { module: 'banking', dir: new URL('../src/banking/migrations', import.meta.url).pathname },
  ];
  try {
    await withScratchDatabase(benchDatabase, connections + 1, migrations, async (pool) => {
      await printMachine(pool);
      await pool.query(
        `CREATE TABLE plain_transfers
           (LIKE ledger_transfers INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES)`,
      );
      const ledger = new Ledger(pool);
      const shards = await openAccounts(ledger);
      await measure(ledger, pool, shards, 1, 200, 'warm-up');
      const figures: Figure[] = [];
      for (let round = 1; round <= rounds; round++) {
        figures.push(
          ...(await measure(ledger, pool, shards, 1, Math.ceil(singleCalls / connections), 'single')),
        );
        const perConnection = Math.ceil(batchedCalls / connections);
        figures.push(...(await measure(ledger, pool, shards, transfersPerCall, perConnection, 'batched')));
      }
      printFigures(figures);
      await sharedAccounts(ledger, shards);
      // Fresh statistics, as autovacuum keeps them in production: without them the planner may pick
      // parallel plans for one account's few rows, and the reads below would measure worker start-up.
      await pool.query('ANALYZE ledger_transfers');
      await queryLatencies(ledger, shards[0]!);
      await checkExactness(ledger, pool);
      console.log(`load average after: ${loadAverage()}`);
    });
  } finally {
    await admins?.end();
  }
}

/** Each connection gets its own customers (a partition, as one worker per shard would), funded by a bank account. */
async function openAccounts(ledger: Ledger): Promise<string[][]> {
  const bank = newId();
  await expectAllOk(ledger.createAccounts([{ id: bank, ledger: ledgerId, code: 9, owner: 'bank:funding' }]));
  const shards: string[][] = [];
  for (let c = 0; c < connections; c++) {
    const ids = Array.from({ length: accountsPerConnection }, () => newId());
    const customers = ids.map((id) => ({
      id,
      ledger: ledgerId,
      code,
      owner: `customer:${id}`,
      flags: { debitsMustNotExceedCredits: true },
    }));
    await expectAllOk(ledger.createAccounts(customers));
    await expectAllOk(ledger.createTransfers(ids.map((id) => transferOf(bank, id, openingMinor))));
    shards.push(ids);
  }
  return shards;
}

async function expectAllOk(results: Promise<string[]>): Promise<void> {
  const bad = (await results).filter((r) => r !== 'ok');
  if (bad.length > 0) throw new Error(`setup failed: ${bad.slice(0, 5).join(', ')}`);
}

function transferOf(debit: string, credit: string, amount: bigint): TransferInput {
  return { id: newId(), debitAccountId: debit, creditAccountId: credit, amount, ledger: ledgerId, code };
}

function randomTransfers(accounts: readonly string[], count: number): TransferInput[] {
  return Array.from({ length: count }, () => {
    const debit = Math.floor(Math.random() * accounts.length);
    const credit = (debit + 1 + Math.floor(Math.random() * (accounts.length - 1))) % accounts.length;
    return transferOf(accounts[debit]!, accounts[credit]!, BigInt(1 + Math.floor(Math.random() * 10_000)));
  });
}

/** The ledger, then plain INSERTs of the same rows, with the same calls on the same connections. */
async function measure(
  ledger: Ledger,
  pool: Pool,
  shards: string[][],
  perCall: number,
  callsPerConnection: number,
  scenario: string,
): Promise<Figure[]> {
  const work: Calls[] = shards.map((ids) =>
    Array.from({ length: callsPerConnection }, () => randomTransfers(ids, perCall)),
  );
  const label = perCall === 1 ? scenario : `${scenario} ×${perCall}`;
  return [
    { scenario: label, engine: 'ledger', ...(await rate(work, (batch) => ledgerCall(ledger, batch))) },
    { scenario: label, engine: 'plain INSERT', ...(await rate(work, (batch) => plainInsert(pool, batch))) },
  ];
}

async function ledgerCall(ledger: Ledger, batch: TransferInput[]): Promise<void> {
  const failed = (await ledger.createTransfers(batch)).find((r) => r !== 'ok');
  if (failed) throw new Error(`transfer failed: ${failed}`);
}

/** The same rows as one multi-row INSERT (one statement per call, autocommit), no ledger logic. */
async function plainInsert(pool: Pool, batch: TransferInput[]): Promise<void> {
  await pool.query(
    `INSERT INTO plain_transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, created_at)
     SELECT u.id, u.dr, u.cr, u.amount, u.ledger, u.code, 0, $7
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::int4[], $6::int4[]) WITH ORDINALITY
            AS u(id, dr, cr, amount, ledger, code, n)
      ORDER BY u.n`,
    [
      batch.map((t) => t.id),
      batch.map((t) => t.debitAccountId),
      batch.map((t) => t.creditAccountId),
      batch.map((t) => t.amount!.toString()),
      batch.map((t) => t.ledger),
      batch.map((t) => t.code),
      new Date(),
    ],
  );
}

/** Transfers per second, and CPU per 1000 transfers, with every connection running its calls in turn, all at once. */
async function rate(work: Calls[], call: (batch: TransferInput[]) => Promise<void>): Promise<Measured> {
  const cpuBefore = await cpuNow();
  const started = process.hrtime.bigint();
  await Promise.all(
    work.map(async (calls) => {
      for (const batch of calls) await call(batch);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = await cpuNow();
  const thousands = work.flat(2).length / 1_000;
  return {
    rate: (thousands * 1_000) / seconds,
    nodeMsPer1000: (cpuAfter.nodeMs - cpuBefore.nodeMs) / thousands,
    postgresMsPer1000:
      cpuAfter.postgresMs === null ? null : (cpuAfter.postgresMs - cpuBefore.postgresMs!) / thousands,
  };
}

interface Measured {
  rate: number;
  nodeMsPer1000: number;
  postgresMsPer1000: number | null;
}

/**
 * CPU used so far by this process and by this database's PostgreSQL backends. The machine is shared,
 * so CPU per transfer says more than wall-clock rate; backends are read from /proc, so only when
 * PostgreSQL runs on this host (null otherwise).
 */
async function cpuNow(): Promise<{ nodeMs: number; postgresMs: number | null }> {
  const usage = process.cpuUsage();
  const nodeMs = (usage.user + usage.system) / 1_000;
  try {
    const { rows } = await adminPool().query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1',
      [benchDatabase],
    );
    let ticks = 0;
    for (const { pid } of rows) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return { nodeMs, postgresMs: (ticks * 1_000) / clockTicksPerSecond };
  } catch {
    return { nodeMs, postgresMs: null };
  }
}

function printFigures(figures: Figure[]): void {
  console.log(
    `\ntransfers/s, median of ${rounds} alternating rounds (each round: ledger, then plain INSERT)`,
  );
  console.log('scenario        ledger   plain INSERT   ledger/plain   rounds (ledger)');
  for (const scenario of scenarios(figures)) {
    const [ledgerRate, plainRate] = [
      median(of(figures, scenario, 'ledger', 'rate')),
      median(of(figures, scenario, 'plain INSERT', 'rate')),
    ];
    const roundsText = of(figures, scenario, 'ledger', 'rate')
      .map((r) => fmt(r))
      .join(' / ');
    console.log(
      `${scenario.padEnd(14)} ${fmt(ledgerRate).padStart(7)} ${fmt(plainRate).padStart(14)} ${(ledgerRate / plainRate).toFixed(2).padStart(14)}   ${roundsText}`,
    );
  }
  printCpu(figures);
}

/** CPU per 1000 transfers and the rate it implies if the machine's cores were ours alone. */
function printCpu(figures: Figure[]): void {
  console.log(
    `\nCPU ms per 1000 transfers (median), and the rate ${os.cpus().length} idle cores would allow:`,
  );
  for (const scenario of scenarios(figures)) {
    for (const engine of ['ledger', 'plain INSERT'] as const) {
      const nodeMs = median(of(figures, scenario, engine, 'nodeMsPer1000'));
      const postgres = of(figures, scenario, engine, 'postgresMsPer1000');
      if (postgres.length === 0) continue;
      const postgresMs = median(postgres);
      const ceiling = (os.cpus().length * 1_000 * 1_000) / (nodeMs + postgresMs);
      console.log(
        `${`${scenario}, ${engine}`.padEnd(30)} node ${nodeMs.toFixed(1).padStart(6)}   postgres ${postgresMs.toFixed(1).padStart(6)}   ≈ ${fmt(ceiling)}/s`,
      );
    }
  }
  const batched = figures.filter((f) => f.engine === 'ledger' && f.scenario.startsWith('batched'));
  const measured = median(batched.map((f) => f.rate));
  const met = measured >= 20_000 ? 'met' : 'NOT met on this run';
  console.log(`target ≥ 20,000 transfers/s batched: ${met} (${fmt(measured)}/s measured)`);
}

function scenarios(figures: Figure[]): string[] {
  return [...new Set(figures.map((f) => f.scenario))];
}

function of(figures: Figure[], scenario: string, engine: Figure['engine'], key: keyof Measured): number[] {
  return figures
    .filter((f) => f.scenario === scenario && f.engine === engine)
    .flatMap((f) => (f[key] === null ? [] : [f[key]]));
}

/** Informational: every connection draws from every account, so batches queue on each other's row locks. */
async function sharedAccounts(ledger: Ledger, shards: string[][]): Promise<void> {
  const everyone = shards.flat();
  const perConnection = Math.ceil(batchedCalls / connections / 2);
  const work = shards.map(() =>
    Array.from({ length: perConnection }, () => randomTransfers(everyone, transfersPerCall)),
  );
  const shared = await rate(work, (batch) => ledgerCall(ledger, batch));
  console.log(
    `batched ×${transfersPerCall}, all connections on all accounts (lock queueing): ${fmt(shared.rate)}/s`,
  );
}

/** Reads that other modules make, on an account with a long history in a table of this run's size. */
async function queryLatencies(ledger: Ledger, accounts: string[]): Promise<void> {
  const sample = accounts.slice(0, 50);
  const time = async (read: (id: string) => Promise<unknown>) => {
    const ms: number[] = [];
    for (const id of sample) {
      const started = process.hrtime.bigint();
      await read(id);
      ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return `p50 ${median(ms).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`;
  };
  const page = await ledger.getAccountTransfers(sample[0]!, { limit: 500 });
  const depth = page?.entries.length ?? 0;
  console.log(`reads over ${sample.length} accounts (≥${depth} transfers each):`);
  console.log(`  getAccountBalance (cache)            ${await time((id) => ledger.getAccountBalance(id))}`);
  const asOf = new Date(Date.now() - 1_000);
  console.log(
    `  getAccountBalance asOf (derived)     ${await time((id) => ledger.getAccountBalance(id, { asOf }))}`,
  );
  console.log(
    `  getAccountTransfers 50, running bal. ${await time((id) => ledger.getAccountTransfers(id, { limit: 50 }))}`,
  );
}

/** The run must leave the books exact: cache = transfers, and debits = credits on the ledger. */
async function checkExactness(ledger: Ledger, pool: Pool): Promise<void> {
  const mismatches = await ledger.verifyBalances();
  const { rows } = await pool.query<{ debits: string; credits: string; transfers: string }>(
    `SELECT sum(debits_posted + debits_pending)::text AS debits, sum(credits_posted + credits_pending)::text AS credits,
            (SELECT count(*) FROM ledger_transfers)::text AS transfers
       FROM ledger_accounts WHERE ledger = $1`,
    [ledgerId],
  );
  const t = rows[0]!;
  const exact = mismatches.length === 0 && t.debits === t.credits;
  console.log(
    `exactness after ${t.transfers} transfers: cache mismatches ${mismatches.length}, Σdebits ${t.debits} = Σcredits ${t.credits}: ${exact}`,
  );
  if (!exact) process.exitCode = 1;
}

async function printMachine(pool: Pool): Promise<void> {
  const cpus = os.cpus();
  const { rows } = await pool.query<{ version: string; sync: string; buffers: string }>(
    `SELECT version() AS version, current_setting('synchronous_commit') AS sync,
            current_setting('shared_buffers') AS buffers`,
  );
  const info = rows[0]!;
  console.log(
    `machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`,
  );
  console.log(`node ${process.version}, ${info.version.split(',')[0]}`);
  console.log(
    `synchronous_commit=${info.sync}, shared_buffers=${info.buffers}, load average before: ${loadAverage()}`,
  );
  console.log(
    `workload: ${connections} connections, each on its own ${accountsPerConnection} limit-flagged accounts; ` +
      `${singleCalls} single calls and ${batchedCalls} calls × ${transfersPerCall} per round`,
  );
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

await main();
