import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src/platform/bus/memory-bus.ts';
import { enqueueOutbox } from '../../../src/platform/outbox/enqueue.ts';
import { OutboxRelay } from '../../../src/platform/outbox/relay.ts';
import { withTransaction } from '../../../src/platform/sql/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { RecordingBus } from './recording-bus.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(6);
});
afterAll(() => db.drop());

// A row whose transaction takes a lower id but commits after a higher id was already handed to the
// bus must still be published (ids are taken at insert, not at commit).
describe('the relay and late commits', () => {
  for (const kind of ['durable', 'memory'] as const) {
    it(`given a row whose transaction commits after a higher id was handed (${kind}), then it is still published`, async () => {
      const seen: number[] = [];
      const recording = new RecordingBus();
      const memory = new MemoryBus();
      if (kind === 'memory')
        memory.subscribe('late', 'g', async (m) => void seen.push((m.payload as { n: number }).n));
      const bus = kind === 'durable' ? recording : memory;
      const relay = new OutboxRelay(db.pool, bus, () => {}, { pollIntervalMs: 20 });
      const slow = await db.pool.connect();
      await slow.query('BEGIN');
      await enqueueOutbox(slow, [{ topic: 'late', key: `a-${kind}`, payload: { n: 1 } }]);
      await withTransaction(db.pool, (tx) =>
        enqueueOutbox(tx, [{ topic: 'late', key: `b-${kind}`, payload: { n: 2 } }]),
      );
      expect(await relay.runOnce()).toBe(1);
      await relay.runOnce();
      await slow.query('COMMIT');
      slow.release();
      expect(await relay.runOnce()).toBe(1);
      for (let i = 0; i < 5; i++) await relay.runOnce();
      const n = kind === 'durable' ? recording.published.map((m) => (m.payload as { n: number }).n) : seen;
      expect(n.sort()).toEqual([1, 2]);
      const { rows } = await db.pool.query(
        "SELECT count(*)::int AS n FROM outbox WHERE topic = 'late' AND published_at IS NULL",
      );
      expect(rows[0].n).toBe(0);
      await relay.stop();
      await memory.close();
      await db.pool.query('UPDATE outbox SET published_at = now() WHERE published_at IS NULL');
    });
  }
});
