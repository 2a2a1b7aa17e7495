/**
 * A process for the crash test: appends events with outbox messages as fast as it can (mode `burst`),
 * printing `ack <n>` after each commit, while the outbox relay publishes and a consumer applies each
 * message once with handleOnce. Mode `drain` only relays and consumes. The test SIGKILLs it mid-burst.
 */
import { createBus } from '../../../src/platform/bus/index.ts';
import { handleOnce } from '../../../src/platform/consumer/handle-once.ts';
import { EventStore } from '../../../src/platform/event-store/index.ts';
import { OutboxRelay } from '../../../src/platform/outbox/index.ts';
import { createPool } from '../../../src/platform/sql/pool.ts';

const [mode = 'drain', namespace = 'kinyu'] = process.argv.slice(2);
const pool = createPool(process.env.DATABASE_URL!, 12);
await pool.query(`CREATE TABLE IF NOT EXISTS burst_effects (
  message_id text NOT NULL, stream_id text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
const bus = createBus({ redisUrl: process.env.REDIS_URL, namespace, defaults: { ackTimeoutMs: 500 } });
bus.subscribe(
  'burst.happened',
  'counter',
  async (message) => {
    const { streamId } = message.payload as { streamId: string };
    await handleOnce(pool, 'burst-counter', message.id, (tx) =>
      tx.query('INSERT INTO burst_effects (message_id, stream_id) VALUES ($1, $2)', [message.id, streamId]),
    );
  },
  { concurrency: 8 },
);
const relay = new OutboxRelay(pool, bus, () => {}, { pollIntervalMs: 50 });
relay.start();
console.log('ready');

if (mode === 'burst') {
  const store = new EventStore(pool);
  const appender = async (lane: number) => {
    for (let n = 0; ; n++) {
      const streamId = `burst-${lane}-${n}`;
      await store.appendToStream(streamId, [{ type: 'BurstHappened', data: { lane, n } }], {
        expectedVersion: 'no_stream',
        outbox: [{ topic: 'burst.happened', key: streamId, payload: { streamId } }],
      });
      console.log(`ack ${streamId}`);
    }
  };
  await Promise.all([0, 1, 2, 3].map(appender));
}
