/*
 * End-to-end exchange bench over loopback (issue 3, benchmark 4):
 *   1. POST /v1/order through the whole system (auth, validation, sequencer, journal with
 *      group-commit fsync, matching, response) with autocannon, as a ratio to a bare Fastify route
 *      with the same body and response measured in the same run;
 *   2. WebSocket order entry: orders/s and p50/p99 from send to reply.
 * Both servers run as child processes with the Node flags `npm start` uses, so autocannon and the
 * servers share the machine the same way. Each row also shows the server's CPU per request (all its threads, from /proc), which other
 * load on a shared machine disturbs less than requests per second. The orders alternate buy and sell at the reference price, so every pair trades and the book
 * stays small: this measures the order path, not a growing book.
 *
 *   npm run bench:exchange:e2e            (DATABASE_URL: a PostgreSQL to create a scratch database on)
 *   E2E_SECONDS=15 E2E_CONNECTIONS=50 npm run bench:exchange:e2e
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { migrationSources } from '../src/app/migrations.ts';
import {
  benchAdmin,
  json,
  nodeSettings,
  repoRoot,
  startChild,
  startKinyu,
  withScratchDatabase,
} from './support.ts';

const seconds = Number(process.env.E2E_SECONDS ?? 15);
const connections = Number(process.env.E2E_CONNECTIONS ?? 50);
const wsClients = Number(process.env.E2E_WS_CLIENTS ?? 8);
const wsWindow = Number(process.env.E2E_WS_WINDOW ?? 32);
const symbol = 'AMZN';

function orderBodies(price: string): string[] {
  return ['buy', 'sell'].map((side) =>
    JSON.stringify({ symbol, side, orderType: 'limit', price, quantity: 1, timeInForce: 'GTC' }),
  );
}

/** CPU seconds a process has used (all its threads), from /proc; null where there is no /proc. */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return null;
  }
}

async function cannon(
  url: string,
  headers: Record<string, string>,
  bodies: string[],
  duration: number,
  serverPid?: number,
) {
  const cpuBefore = cpuSeconds(serverPid);
  const result = await autocannon({
    url,
    connections,
    duration,
    requests: bodies.map((body) => ({
      method: 'POST' as const,
      path: '/v1/order',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    })),
  });
  const cpuAfter = cpuSeconds(serverPid);
  return {
    /** Server CPU (all threads) per request: a figure that other load on the machine disturbs less. */
    cpuMicrosPerRequest:
      cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1e6) / result.requests.total,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

async function wsOrderEntry(base: string, apiKey: string, price: string, duration: number) {
  const latencies: number[] = [];
  let errors = 0;
  const errorCodes = new Map<string, number>();
  const deadline = performance.now() + duration * 1000;
  const runClient = (client: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, {
        headers: { 'x-api-key': apiKey },
      });
      const sentAt: number[] = [];
      let sent = 0;
      const send = () => {
        const side = (client + sent) % 2 === 0 ? 'buy' : 'sell';
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
    const { apiKey } = await json<{ apiKey: string }>(`${kinyu.url}/admin/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'bench', role: 'member', member: 'BENCH' }),
    });
    const { instruments } = await json<{ instruments: Array<{ symbol: string; referencePrice: string }> }>(
      `${kinyu.url}/v1/instruments`,
      { method: 'GET' },
    );
    const price = instruments.find((instrument) => instrument.symbol === symbol)!.referencePrice;
    const bodies = orderBodies(price);
    const memberHeaders = { 'x-api-key': apiKey };

    console.log(
      `machine: ${cpus().length} cores, Node ${process.version}, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `autocannon: ${connections} connections, ${seconds} s each (after 3 s warm-up), orders alternate buy/sell at ${price}`,
    );
    await cannon(kinyu.url, memberHeaders, bodies, 3);
    await cannon(bare.url, {}, bodies, 3);
    const ours = await cannon(kinyu.url, memberHeaders, bodies, seconds, kinyu.process.pid);
    const peer = await cannon(bare.url, {}, bodies, seconds, bare.process.pid);
    const row = (name: string, r: typeof ours) =>
      `${name.padEnd(28)} ${r.requestsPerSecond.toFixed(0).padStart(8)} req/s   p50 ${r.p50} ms   p99 ${r.p99} ms   non-2xx ${r.non2xx}   errors ${r.errors}   server CPU ${r.cpuMicrosPerRequest === null ? 'n/a' : `${r.cpuMicrosPerRequest.toFixed(0)} µs/req`}`;
    console.log(row('POST /v1/order (Kinyu)', ours));
    console.log(row('bare Fastify route', peer));
    console.log(
      `ratio Kinyu / bare Fastify: ${(ours.requestsPerSecond / peer.requestsPerSecond).toFixed(2)} (target ≥ 0.7)`,
    );

    const ws = await wsOrderEntry(kinyu.url, apiKey, price, seconds);
    console.log(
      `WebSocket order entry (${wsClients} clients × ${wsWindow} in flight): ${ws.ordersPerSecond.toFixed(0)} orders/s   p50 ${ws.p50.toFixed(2)} ms   p99 ${ws.p99.toFixed(2)} ms   errors ${ws.errors}`,
    );
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
