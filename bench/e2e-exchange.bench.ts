/*
 * End-to-end exchange bench over loopback (issue 3, benchmark 4):
 *   1. POST /v1/order through the whole system (auth, validation, sequencer, journal with
 *      group-commit fsync, matching, response) with autocannon, as a ratio to a bare Fastify route
 *      with the same requests and response shape measured in the same run;
 *   2. WebSocket order entry: orders/s and p50/p99 from send to reply.
 * Both servers run as child processes with the Node flags `npm start` uses, so autocannon and the
 * servers share the machine the same way. The two servers are measured in alternating rounds
 * (E2E_ROUNDS), so a change in the shared machine's speed during the run falls on both. Each row
 * also shows CPU per request, from /proc, of the server (all its threads), of the local PostgreSQL
 * and of autocannon (this process), and the share of the machine left idle: figures that other load
 * on a shared machine disturbs less than requests per second, and that show where the time goes.
 *
 * Workload: two members at the reference price, one buying and one selling, each with its own API
 * key on its own half of the connections, so every buy meets a sell and the book stays small; the run ends by printing what rests,
 * which shows it. (One member on both sides would not trade: self-trade prevention, cancel_newest by
 * default, cancels its sells.) The bare route gets the same requests, headers included.
 *
 *   npm run bench:exchange:e2e            (DATABASE_URL: a PostgreSQL to create a scratch database on)
 *   E2E_SECONDS=15 E2E_ROUNDS=3 E2E_CONNECTIONS=50 npm run bench:exchange:e2e
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { migrationSources } from '../src/app/migrations.ts';
import {
  benchAdmin,
  json,
  machineCpuSeconds,
  nodeSettings,
  postgresCpuSeconds,
  processCpuSeconds,
  repoRoot,
  startChild,
  startKinyu,
  withScratchDatabase,
} from './support.ts';

const seconds = Number(process.env.E2E_SECONDS ?? 15);
const rounds = Number(process.env.E2E_ROUNDS ?? 3);
const connections = Number(process.env.E2E_CONNECTIONS ?? 50);
const wsClients = Number(process.env.E2E_WS_CLIENTS ?? 8);
const wsWindow = Number(process.env.E2E_WS_WINDOW ?? 32);
const symbol = 'AMZN';

type Side = 'buy' | 'sell';
const sides: Side[] = ['buy', 'sell'];

/** Each side's order request, with the API key of the member on that side. */
function orderRequests(price: string, apiKeys: Record<Side, string>) {
  return sides.map((side) => ({
    method: 'POST' as const,
    path: '/v1/order',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKeys[side] },
    body: JSON.stringify({ symbol, side, orderType: 'limit', price, quantity: 1, timeInForce: 'GTC' }),
  }));
}

type Requests = ReturnType<typeof orderRequests>;

/** CPU seconds so far: the server (all threads), PostgreSQL, this process (autocannon), the machine. */
interface CpuReadings {
  server: number | null;
  postgres: number | null;
  loadGenerator: number;
  machineBusy: number | null;
  machineIdle: number | null;
}

function cpuReadings(serverPid: number | undefined): CpuReadings {
  const usage = process.cpuUsage();
  const machine = machineCpuSeconds();
  return {
    server: processCpuSeconds(serverPid),
    postgres: postgresCpuSeconds(),
    loadGenerator: (usage.user + usage.system) / 1e6,
    machineBusy: machine?.busy ?? null,
    machineIdle: machine?.idle ?? null,
  };
}

/** Each member on its own half of the connections, at once, as two clients would. */
async function cannon(url: string, requests: Requests, duration: number, serverPid?: number) {
  const before = cpuReadings(serverPid);
  const results = await Promise.all(
    requests.map((request) =>
      autocannon({ url, connections: Math.ceil(connections / 2), duration, requests: [request] }),
    ),
  );
  const after = cpuReadings(serverPid);
  // At least 0: a PostgreSQL process that ended meanwhile (autovacuum) takes its CPU out of the sum.
  const spent = (key: keyof CpuReadings) =>
    before[key] === null || after[key] === null ? null : Math.max(0, after[key]! - before[key]!);
  return {
    cpuSeconds: spent('server'),
    postgresCpuSeconds: spent('postgres'),
    loadGeneratorCpuSeconds: spent('loadGenerator'),
    machineBusySeconds: spent('machineBusy'),
    machineIdleSeconds: spent('machineIdle'),
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    total: results.reduce((sum, r) => sum + r.requests.total, 0),
  };
}

type Round = Awaited<ReturnType<typeof cannon>>;

/**
 * The rounds of one server together: requests/s over all, the worst p50 and p99, and CPU per
 * request of the server (all threads), PostgreSQL and autocannon (this process), with the share of
 * the machine left idle: CPU figures, which other load on a shared machine disturbs less than
 * requests per second, and which show where the time goes.
 */
function summary(results: Round[], secondsEach: number) {
  const total = results.reduce((sum, r) => sum + r.total, 0);
  const sum = (pick: (r: Round) => number | null) =>
    results.every((r) => pick(r) !== null) ? results.reduce((acc, r) => acc + pick(r)!, 0) : null;
  const perRequest = (seconds: number | null) => (seconds === null ? null : (seconds * 1e6) / total);
  const busy = sum((r) => r.machineBusySeconds);
  const idle = sum((r) => r.machineIdleSeconds);
  return {
    requestsPerSecond: total / (secondsEach * results.length),
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    non2xx: results.reduce((acc, r) => acc + r.non2xx, 0),
    errors: results.reduce((acc, r) => acc + r.errors, 0),
    cpuMicrosPerRequest: perRequest(sum((r) => r.cpuSeconds)),
    postgresMicrosPerRequest: perRequest(sum((r) => r.postgresCpuSeconds)),
    loadGeneratorMicrosPerRequest: perRequest(sum((r) => r.loadGeneratorCpuSeconds)),
    machineIdleShare: busy === null || idle === null ? null : idle / (busy + idle),
  };
}

/** Even clients buy as one member, odd clients sell as the other, so the orders trade. */
async function wsOrderEntry(base: string, apiKeys: Record<Side, string>, price: string, duration: number) {
  const latencies: number[] = [];
  let errors = 0;
  const errorCodes = new Map<string, number>();
  const deadline = performance.now() + duration * 1000;
  const runClient = (client: number) =>
    new Promise<void>((resolve, reject) => {
      const side = sides[client % 2]!;
      const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, {
        headers: { 'x-api-key': apiKeys[side] },
      });
      const sentAt: number[] = [];
      let sent = 0;
      const send = () => {
        sent++;
        sentAt.push(performance.now());
        socket.send(
          JSON.stringify({
            op: 'order.new',
            id: String(sent),
            order: { symbol, side, orderType: 'limit', price, quantity: 1 },
          }),
        );
      };
      socket.on('open', () => {
        for (let n = 0; n < wsWindow; n++) send();
      });
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; problem?: { code: string } };
        if (message.type !== 'order' && message.type !== 'error') return;
        if (message.type === 'error') {
          errors++;
          const code = message.problem?.code ?? 'unknown';
          errorCodes.set(code, (errorCodes.get(code) ?? 0) + 1);
        }
        const started = sentAt.shift();
        if (started !== undefined) latencies.push(performance.now() - started);
        if (performance.now() < deadline) send();
        else if (sentAt.length === 0) socket.close();
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: wsClients }, (_, client) => runClient(client)));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    ordersPerSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    errors:
      errors === 0 ? '0' : `${errors} (${[...errorCodes].map(([code, n]) => `${code} ×${n}`).join(', ')})`,
  };
}

const tmpRoot = path.join(repoRoot, '.tmp');
mkdirSync(tmpRoot, { recursive: true });
const dataDir = mkdtempSync(path.join(tmpRoot, 'bench-e2e-'));

await withScratchDatabase('kinyu_bench_e2e', 2, migrationSources, async (_pool, databaseUrl) => {
  const kinyu = await startKinyu({
    DATABASE_URL: databaseUrl,
    KINYU_DATA_DIR: dataDir,
    KINYU_RATE_LIMIT_MAX: '10000000',
    KINYU_EXCHANGE_ORDER_RATE_MAX: '10000000',
    KINYU_EXCHANGE_DURABILITY: process.env.KINYU_EXCHANGE_DURABILITY ?? 'batch',
  });
  const bare = await startChild(
    [...nodeSettings, '--import', 'tsx', 'bench/e2e/bare-fastify.ts', '0'],
    {},
    /listening (\S+)/,
  );
  try {
    const { token } = await json<{ token: string }>(`${kinyu.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(benchAdmin),
    });
    const issueKey = async (member: string) =>
      (
        await json<{ apiKey: string }>(`${kinyu.url}/admin/api-keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ name: member, role: 'member', member }),
        })
      ).apiKey;
    const apiKeys: Record<Side, string> = {
      buy: await issueKey('BENCH-BUY'),
      sell: await issueKey('BENCH-SELL'),
    };
    const { instruments } = await json<{ instruments: Array<{ symbol: string; referencePrice: string }> }>(
      `${kinyu.url}/v1/instruments`,
      { method: 'GET' },
    );
    const price = instruments.find((instrument) => instrument.symbol === symbol)!.referencePrice;
    const requests = orderRequests(price, apiKeys);
    const secondsEach = seconds / rounds;

    console.log(
      `machine: ${cpus().length} cores, Node ${process.version}, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `autocannon: ${connections} connections, ${seconds} s per server in ${rounds} alternating rounds (after 3 s warm-up); one member buys and another sells, at ${price}`,
    );
    await cannon(kinyu.url, requests, 3);
    await cannon(bare.url, requests, 3);
    const ourRounds: Round[] = [];
    const peerRounds: Round[] = [];
    for (let round = 0; round < rounds; round++) {
      ourRounds.push(await cannon(kinyu.url, requests, secondsEach, kinyu.process.pid));
      peerRounds.push(await cannon(bare.url, requests, secondsEach, bare.process.pid));
    }
    const ours = summary(ourRounds, secondsEach);
    const peer = summary(peerRounds, secondsEach);
    const micros = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(0)} µs`);
    const row = (name: string, r: typeof ours) =>
      `${name.padEnd(28)} ${r.requestsPerSecond.toFixed(0).padStart(8)} req/s   p50 ${r.p50} ms   p99 ${r.p99} ms   non-2xx ${r.non2xx}   errors ${r.errors}\n` +
      `${''.padEnd(28)} CPU per request: server ${micros(r.cpuMicrosPerRequest)}, PostgreSQL ${micros(r.postgresMicrosPerRequest)}, autocannon ${micros(r.loadGeneratorMicrosPerRequest)}; machine idle ${r.machineIdleShare === null ? 'n/a' : `${(r.machineIdleShare * 100).toFixed(0)} %`}`;
    console.log(row('POST /v1/order (Kinyu)', ours));
    console.log(row('bare Fastify route', peer));
    const roundRatios = ourRounds.map((r, i) => (r.total / peerRounds[i]!.total).toFixed(2)).join(', ');
    console.log(
      `ratio Kinyu / bare Fastify: ${(ours.requestsPerSecond / peer.requestsPerSecond).toFixed(2)} (target ≥ 0.7; rounds ${roundRatios})`,
    );

    const ws = await wsOrderEntry(kinyu.url, apiKeys, price, seconds);
    console.log(
      `WebSocket order entry (${wsClients} clients × ${wsWindow} in flight): ${ws.ordersPerSecond.toFixed(0)} orders/s   p50 ${ws.p50.toFixed(2)} ms   p99 ${ws.p99.toFixed(2)} ms   errors ${ws.errors}`,
    );
    const book = await json<{ bids: Array<{ quantity: number }>; asks: Array<{ quantity: number }> }>(
      `${kinyu.url}/v1/marketdata/orderBook/L2?symbol=${symbol}`,
      { method: 'GET', headers: { 'x-api-key': apiKeys.buy } },
    );
    const resting = (levels: Array<{ quantity: number }>) =>
      levels.reduce((sum, l) => sum + Number(l.quantity), 0);
    console.log(`resting after the run: ${resting(book.bids)} bought, ${resting(book.asks)} offered (lots)`);
    console.log(
      `load after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await bare.stop();
    await kinyu.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
