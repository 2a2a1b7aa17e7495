import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src/platform/bus/memory-bus.ts';
import type { DeliveredMessage } from '../../../src/platform/bus/types.ts';
import { handleOnce } from '../../../src/platform/consumer/handle-once.ts';
import { EventStore } from '../../../src/platform/event-store/event-store.ts';
import { OutboxRelay } from '../../../src/platform/outbox/relay.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { eventually } from '../../support/eventually.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query('CREATE TABLE deposits_seen (account text NOT NULL, amount_minor text NOT NULL)');
});
afterAll(() => db.drop());

describe('outbox relay with the in-process bus', () => {
  it('given a message not yet handled, then its row stays unpublished; once handled, it is marked', async () => {
    const store = new EventStore(db.pool);
    const bus = new MemoryBus();
    let release: () => void = () => {};
    const handlerBlocked = new Promise<void>((resolve) => (release = resolve));
    const subscription = bus.subscribe('accounts.opened', 'slow', () => handlerBlocked);
    await store.appendToStream('account-9', [{ type: 'Opened', data: {} }], {
      expectedVersion: 'no_stream',
      outbox: [{ topic: 'accounts.opened', key: 'account-9', payload: {} }],
    });
    const relay = new OutboxRelay(db.pool, bus);
    expect(await relay.drain()).toBe(1);
    const unpublished = async () =>
      Number((await db.pool.query('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0].n);
    expect(await unpublished()).toBe(1);
    expect(await relay.drain()).toBe(0); // handed over once per term, not again
    release();
    await eventually(async () => {
      await relay.runOnce(); // the round that marks what the bus reported handled
      return (await unpublished()) === 0 ? true : undefined;
    });
    await relay.stop();
    await subscription.close();
    await bus.close();
    await store.close();
  });

  it('given a crash after publishing but before handling, then a new relay delivers it again and the consumer applies it once', async () => {
    const store = new EventStore(db.pool);
    const bus = new MemoryBus();
    const delivered: DeliveredMessage[] = [];
    const subscription = bus.subscribe('accounts.deposited', 'projections', async (message) => {
      delivered.push(message);
      await handleOnce(db.pool, 'projections', message.id, async (tx) => {
        const { account, amountMinor } = message.payload as { account: string; amountMinor: string };
        await tx.query('INSERT INTO deposits_seen VALUES ($1, $2)', [account, amountMinor]);
      });
    });
    await store.appendToStream('account-1', [{ type: 'Deposited', data: { amountMinor: '1250' } }], {
      expectedVersion: 'no_stream',
      outbox: [
        {
          topic: 'accounts.deposited',
          key: 'account-1',
          payload: { account: 'account-1', amountMinor: '1250' },
        },
      ],
    });
    const first = new OutboxRelay(db.pool, bus);
    expect(await first.drain()).toBe(1);
    await eventually(async () => (delivered.length === 1 ? true : undefined));
    await first.stop();
    // The process died before the row was marked: a new relay (a new term) starts over from it.
    await db.pool.query("UPDATE outbox SET published_at = NULL WHERE topic = 'accounts.deposited'");
    const second = new OutboxRelay(db.pool, bus);
    expect(await second.drain()).toBe(1);
    await eventually(async () => (delivered.length === 2 ? true : undefined));

    const { rows: outbox } = await db.pool.query('SELECT message_id FROM outbox WHERE topic = $1', [
      'accounts.deposited',
    ]);
    expect(delivered.map((m) => m.id)).toEqual([outbox[0].message_id, outbox[0].message_id]);
    const { rows } = await db.pool.query('SELECT account, amount_minor FROM deposits_seen');
    expect(rows).toEqual([{ account: 'account-1', amount_minor: '1250' }]);
    await second.stop();
    await subscription.close();
    await bus.close();
    await store.close();
  });
});
