/**
 * A worker process for the kill test: runs the outbox relay and the transfer saga's consumers (the
 * `relay` and `workers` roles). With KILL_AT=<step> and KILL_TRANSFER=<id> it SIGKILLs itself right
 * after that durable step of that transfer — no cleanup, no acknowledgement, like a power cut.
 */
import type { ModuleContext } from '../../../src/app/module.ts';
import { createTransfers } from '../../../src/banking/transfers/index.ts';
import { createBus } from '../../../src/platform/bus/index.ts';
import { systemClock } from '../../../src/platform/clock.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { createLogger } from '../../../src/platform/log.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import { OutboxRelay } from '../../../src/platform/outbox/index.ts';
import { createPool } from '../../../src/platform/sql/pool.ts';
import { accountsApi } from './support.ts';

const killAt = process.env.KILL_AT;
const killTransfer = process.env.KILL_TRANSFER;
const pool = createPool(process.env.DATABASE_URL!, 8);
const bus = createBus({
  redisUrl: process.env.REDIS_URL,
  namespace: process.env.BUS_NAMESPACE ?? 'kinyu:',
  leaseMs: 1_000,
  defaults: { ackTimeoutMs: 500, retryDelayMs: 20, maxDeliveries: 50 },
});
const context: ModuleContext = {
  config: loadConfig({
    KINYU_TRANSFER_STUCK_AFTER_MS: '2000',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  }),
  pool,
  bus,
  identity: undefined as never,
  logger: createLogger('silent'),
  clock: systemClock,
  metrics: createMetricsRegistry(),
  announce: () => {},
};
const transfers = createTransfers(context, {
  accounts: accountsApi,
  hook: (step, transferId) => {
    console.log(`step ${step} ${transferId}`);
    if (step === killAt && transferId === killTransfer) process.kill(process.pid, 'SIGKILL');
  },
});
transfers.start();
new OutboxRelay(pool, bus, () => {}, { pollIntervalMs: 20 }).start();
console.log('ready');
