/*
 * The executions projector's write path against PostgreSQL: `npm run bench:exchange:projector`.
 *
 * Batches of 400 journal records shaped like the end-to-end bench's flow (a buy that rests, then a
 * sell from another member that fills it: per pair two orders, one trade, two executions) go
 * through `writeBatch`, one transaction each with the checkpoint, as the projector writes them.
 * Prints orders written per second, the median batch time, and PostgreSQL's CPU per order: the
 * figure that matters on a machine PostgreSQL shares with the exchange. That one is read from
 * /proc for every local `postgres` process, so it needs PostgreSQL on this machine and counts
 * whatever else they do meanwhile (n/a elsewhere).
 *
 *   DATABASE_URL=postgres://… npm run bench:exchange:projector     (PROJECTOR_BATCHES=100)
 */
import { migrationSources } from '../src/app/migrations.ts';
import type { OrderState } from '../src/exchange/orders/order-state.ts';
import type { ExecutionRow, ProjectedRecord } from '../src/exchange/projector/rows.ts';
import { ensureCheckpoint, executionsProjectorName, writeBatch } from '../src/exchange/projector/store.ts';
import { machineLine, median } from './exchange-support.ts';
import { postgresCpuSeconds, withScratchDatabase } from './support.ts';

const batches = Number(process.env.PROJECTOR_BATCHES ?? 100);
const warmUpBatches = 10;
const recordsPerBatch = 400;
const epoch = Date.UTC(2026, 10, 23);

function order(
  orderId: number,
  side: 'buy' | 'sell',
  member: string,
  filled: boolean,
  seq: number,
): OrderState {
  return {
    orderId,
    symbol: 'AMZN',
    member,
    account: '',
    clientOrderId: null,
    side,
    orderType: 'limit',
    timeInForce: 'GTC',
    postOnly: false,
    priceTicks: 22_000,
    quantityLots: 1,
    filledLots: filled ? 1 : 0,
    remainingLots: filled ? 0 : 1,
    status: filled ? 'filled' : 'new',
    rejectReason: null,
    cancelReason: null,
    createdAt: epoch + seq,
    updatedAt: epoch + seq,
    lastSeq: seq,
  };
}

/** Records fromSeq+1 … fromSeq+recordsPerBatch: buy rests, the next sell fills it. */
function batchAfter(fromSeq: number): ProjectedRecord[] {
  const records: ProjectedRecord[] = [];
  for (let seq = fromSeq + 1; seq <= fromSeq + recordsPerBatch; seq += 2) {
    const buyId = seq;
    const sellId = seq + 1;
    const tradeId = `${sellId}-1`;
    const execution = (
      orderId: number,
      side: 'buy' | 'sell',
      member: string,
      maker: boolean,
    ): ExecutionRow => ({
      id: `${tradeId}-${maker ? 'M' : 'T'}`,
      tradeId,
      orderId,
      member,
      account: '',
      symbol: 'AMZN',
      side,
      priceTicks: 22_000,
      quantityLots: 1,
      orderType: 'limit',
      liquidity: maker ? 'maker' : 'taker',
      seq: sellId,
      fill: maker ? 1 : 2,
      time: epoch + sellId,
    });
    records.push(
      { seq, orders: [order(buyId, 'buy', 'BENCH-BUY', false, seq)], trades: [], executions: [] },
      {
        seq: sellId,
        orders: [
          order(sellId, 'sell', 'BENCH-SELL', true, sellId),
          order(buyId, 'buy', 'BENCH-BUY', true, sellId),
        ],
        trades: [
          {
            tradeId,
            seq: sellId,
            symbol: 'AMZN',
            priceTicks: 22_000,
            quantityLots: 1,
            makerOrderId: buyId,
            takerOrderId: sellId,
            makerSide: 'buy',
            time: epoch + sellId,
          },
        ],
        executions: [
          execution(buyId, 'buy', 'BENCH-BUY', true),
          execution(sellId, 'sell', 'BENCH-SELL', false),
        ],
      },
    );
  }
  return records;
}

console.log(machineLine());
await withScratchDatabase('kinyu_bench_projector', 2, migrationSources, async (pool) => {
  await ensureCheckpoint(pool, executionsProjectorName);
  let seq = 0;
  let cpuBefore: number | null = null;
  let started = 0;
  const batchMs: number[] = [];
  for (let batch = 0; batch < warmUpBatches + batches; batch++) {
    if (batch === warmUpBatches) {
      cpuBefore = postgresCpuSeconds();
      started = performance.now();
    }
    const records = batchAfter(seq);
    const t0 = performance.now();
    seq = await writeBatch(pool, executionsProjectorName, seq, records);
    if (batch >= warmUpBatches) batchMs.push(performance.now() - t0);
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const cpuAfter = postgresCpuSeconds();
  const orders = batches * recordsPerBatch;
  const cpuPerOrder =
    cpuBefore === null || cpuAfter === null
      ? 'n/a'
      : `${(((cpuAfter - cpuBefore) * 1e6) / orders).toFixed(1)} µs`;
  console.log(
    `projector writes: ${batches} batches of ${recordsPerBatch} records (${orders} orders, ${orders / 2} trades, ` +
      `${orders} executions): ${Math.round(orders / elapsedSeconds)} orders/s, median batch ` +
      `${median(batchMs).toFixed(1)} ms, PostgreSQL CPU ${cpuPerOrder} per order`,
  );
});
