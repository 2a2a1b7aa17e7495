import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusBacklogFullError } from '../../../src/platform/bus/common.ts';
import type {
  Bus,
  DeliveredMessage,
  MessageHandler,
  SubscribeOptions,
  Subscription,
} from '../../../src/platform/bus/types.ts';

/** Makes buses for one test. Buses of one harness share their storage, like processes of one deployment. */
export interface BusHarness {
  create(options?: { backlogMax?: number }): Promise<Bus>;
  /** Closes every bus it made and deletes what they stored. */
  cleanup(): Promise<void>;
}

/** Polls until `condition` holds, failing after `timeoutMs` (no fixed sleeps that race the bus). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A handler that records what it saw. */
export function recorder(behaviour: (message: DeliveredMessage) => Promise<void> | void = () => {}) {
  const seen: DeliveredMessage[] = [];
  const handler: MessageHandler = async (message) => {
    seen.push(message);
    await behaviour(message);
  };
  return { seen, handler, ids: () => seen.map((message) => message.id) };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Options for tests: quick retries, a generous ack timeout unless a test is about timeouts. */
export const fast: SubscribeOptions = {
  ackTimeoutMs: 5_000,
  retryDelayMs: 5,
  maxDeliveries: 5,
  concurrency: 4,
};

/** The behaviour every Bus must show; run against MemoryBus and RedisStreamsBus. */
export function busContract(name: string, makeHarness: () => BusHarness): void {
  describe(`${name}: Bus contract`, () => {
    let harness: BusHarness;
    let bus: Bus;
    beforeEach(async () => {
      harness = makeHarness();
      bus = await harness.create();
    });
    afterEach(() => harness.cleanup());

    it('delivers a published message with its id, key, payload and headers', async () => {
      const { seen, handler } = recorder();
      bus.subscribe('orders', 'g', handler, fast);
      const id = await bus.publish('orders', {
        key: 'k1',
        payload: { qty: '10', side: 'buy' },
        headers: { trace: 't1' },
      });
      await waitFor(() => seen.length === 1, 'the delivery');
      expect(seen[0]).toEqual({
        id,
        topic: 'orders',
        key: 'k1',
        payload: { qty: '10', side: 'buy' },
        headers: { trace: 't1' },
        deliveryCount: 1,
      });
    });

    it('keeps the id the publisher gives (the outbox id)', async () => {
      const { seen, handler } = recorder();
      bus.subscribe('orders', 'g', handler, fast);
      expect(await bus.publish('orders', { id: 'outbox-42', key: 'k', payload: null })).toBe('outbox-42');
      await waitFor(() => seen.length === 1, 'the delivery');
      expect(seen[0]!.id).toBe('outbox-42');
    });

    it('publishBatch publishes every message in order', async () => {
      const { seen, handler, ids } = recorder();
      bus.subscribe('orders', 'g', handler, fast);
      const published = await bus.publishBatch(
        'orders',
        Array.from({ length: 20 }, (_, n) => ({ key: 'same', payload: n })),
      );
      await waitFor(() => seen.length === 20, '20 deliveries');
      expect(ids()).toEqual(published);
    });

    it('a new group starts from the oldest retained message (published before it subscribed)', async () => {
      const early = await bus.publish('orders', { key: 'k', payload: 'early' });
      const { seen, handler } = recorder();
      bus.subscribe('orders', 'late', handler, fast);
      const later = await bus.publish('orders', { key: 'k', payload: 'later' });
      await waitFor(() => seen.length === 2, 'both messages');
      expect(seen.map((message) => message.id)).toEqual([early, later]);
    });

    it('gives every group every message', async () => {
      const a = recorder();
      const b = recorder();
      bus.subscribe('orders', 'a', a.handler, fast);
      bus.subscribe('orders', 'b', b.handler, fast);
      const ids = await bus.publishBatch('orders', keyed(20, 5));
      await waitFor(() => a.seen.length === 20 && b.seen.length === 20, 'both groups');
      expect(new Set(a.ids())).toEqual(new Set(ids));
      expect(new Set(b.ids())).toEqual(new Set(ids));
    });

    it('delivers each message once per group when a group has two subscribers', async () => {
      const seen: string[] = [];
      const handler: MessageHandler = async (message) => {
        seen.push(message.id);
      };
      const first = bus.subscribe('orders', 'g', handler, fast);
      const second = bus.subscribe('orders', 'g', handler, fast);
      const ids = await bus.publishBatch('orders', keyed(60, 12));
      await waitFor(() => seen.length >= 60, '60 deliveries');
      await Promise.all([first.close(), second.close()]);
      expect(seen.sort()).toEqual([...ids].sort());
    });

    it('handles one key at a time and in order, different keys concurrently up to `concurrency`', async () => {
      const inFlightByKey = new Map<string, number>();
      let inFlight = 0;
      let maxInFlight = 0;
      const order = new Map<string, number[]>();
      const overlaps: string[] = []; // recorded, not thrown: a throw would only become a redelivery
      bus.subscribe(
        'orders',
        'g',
        async (message) => {
          const busy = inFlightByKey.get(message.key) ?? 0;
          if (busy > 0) overlaps.push(message.key);
          inFlightByKey.set(message.key, busy + 1);
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await delay(1 + (Number(message.payload) % 3));
          order.set(message.key, [...(order.get(message.key) ?? []), Number(message.payload)]);
          inFlight--;
          inFlightByKey.set(message.key, busy);
        },
        { ...fast, concurrency: 3 },
      );
      await bus.publishBatch('orders', keyed(120, 8));
      await waitFor(() => [...order.values()].flat().length === 120, '120 handled');
      expect(overlaps).toEqual([]);
      for (const [key, sequence] of order) expect(sequence, key).toEqual([...sequence].sort((a, b) => a - b));
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(3);
    });

    it('keeps key order through retries: later messages of a key wait for the failing one', async () => {
      const attempts = new Map<string, number[]>();
      const done = new Map<string, number[]>();
      bus.subscribe(
        'orders',
        'g',
        async (message) => {
          const n = Number(message.payload);
          attempts.set(message.key, [...(attempts.get(message.key) ?? []), n]);
          if (n % 3 === 1 && message.deliveryCount === 1) throw new Error(`transient failure of ${n}`);
          done.set(message.key, [...(done.get(message.key) ?? []), n]);
        },
        { ...fast, concurrency: 4 },
      );
      await bus.publishBatch('orders', keyed(40, 4));
      await waitFor(() => [...done.values()].flat().length === 40, '40 handled');
      for (const [key, sequence] of done) expect(sequence, key).toEqual([...sequence].sort((a, b) => a - b));
      for (const [key, sequence] of attempts) {
        expect(sequence, `attempts of ${key} never go back`).toEqual([...sequence].sort((a, b) => a - b));
      }
    });

    it('redelivers after the handler throws, counting deliveries', async () => {
      const { seen, handler } = recorder((message) => {
        if (message.deliveryCount < 3) throw new Error('not yet');
      });
      bus.subscribe('orders', 'g', handler, fast);
      await bus.publish('orders', { key: 'k', payload: 1 });
      await waitFor(() => seen.length === 3, 'three deliveries');
      expect(seen.map((message) => message.deliveryCount)).toEqual([1, 2, 3]);
      expect(await bus.listDeadLetters()).toEqual([]);
    });

    it('redelivers after the ack timeout when the handler hangs', async () => {
      let release = () => {};
      const hang = new Promise<void>((resolve) => {
        release = resolve;
      });
      const { seen, handler } = recorder((message) => (message.deliveryCount === 1 ? hang : undefined));
      bus.subscribe('orders', 'g', handler, { ...fast, ackTimeoutMs: 150 });
      await bus.publish('orders', { key: 'k', payload: 1 });
      await waitFor(() => seen.length === 2, 'the redelivery');
      expect(seen.map((message) => message.deliveryCount)).toEqual([1, 2]);
      release();
    });

    it('does not redeliver acknowledged messages to the next subscriber of the group', async () => {
      const first = recorder();
      const subscription = bus.subscribe('orders', 'g', first.handler, fast);
      await bus.publishBatch('orders', keyed(10, 3));
      await waitFor(() => first.seen.length === 10, 'ten deliveries');
      await subscription.close();
      const second = recorder();
      bus.subscribe('orders', 'g', second.handler, fast);
      const sentinel = await bus.publish('orders', { key: 'key-0', payload: 'sentinel' });
      await waitFor(() => second.seen.length >= 1, 'the sentinel');
      expect(second.ids()).toEqual([sentinel]);
    });

    it('dead-letters after maxDeliveries, recording the error, and moves on to the next message of the key', async () => {
      const { seen, handler } = recorder((message) => {
        if (message.payload === 'poison') throw new Error('cannot parse the order');
      });
      bus.subscribe('orders', 'g', handler, { ...fast, maxDeliveries: 3 });
      const poison = await bus.publish('orders', { key: 'k', payload: 'poison', headers: { h: '1' } });
      const next = await bus.publish('orders', { key: 'k', payload: 'fine' });
      await waitFor(() => seen.some((message) => message.id === next), 'the next message');
      expect(seen.map((message) => message.deliveryCount)).toEqual([1, 2, 3, 1]);
      const [deadLetter, ...others] = await bus.listDeadLetters();
      expect(others).toEqual([]);
      expect(deadLetter).toMatchObject({
        topic: 'orders',
        group: 'g',
        message: {
          id: poison,
          topic: 'orders',
          key: 'k',
          payload: 'poison',
          headers: { h: '1' },
          deliveryCount: 3,
        },
      });
      expect(deadLetter!.error).toContain('cannot parse the order');
      expect(new Date(deadLetter!.deadLetteredAt).toISOString()).toBe(deadLetter!.deadLetteredAt);
      expect(await bus.listDeadLetters({ topic: 'orders', group: 'g' })).toHaveLength(1);
      expect(await bus.listDeadLetters({ group: 'other' })).toEqual([]);
      expect(await bus.listDeadLetters({ topic: 'payments' })).toEqual([]);
    });

    it('re-drives a dead letter to its own group only, and removes it from the dead letters', async () => {
      let fixed = false;
      const a = recorder((message) => {
        if (message.payload === 'poison' && !fixed) throw new Error('bug in group a');
      });
      const b = recorder();
      bus.subscribe('orders', 'a', a.handler, { ...fast, maxDeliveries: 2 });
      bus.subscribe('orders', 'b', b.handler, fast);
      const poison = await bus.publish('orders', { key: 'k', payload: 'poison' });
      await waitFor(async () => (await bus.listDeadLetters()).length === 1, 'the dead letter');
      const [deadLetter] = await bus.listDeadLetters({ group: 'a' });
      fixed = true;
      await bus.redriveDeadLetter(deadLetter!.id);
      await waitFor(() => a.seen.length === 3, 'the re-driven delivery');
      expect(a.seen[2]).toMatchObject({ id: poison, payload: 'poison', deliveryCount: 1 });
      expect(await bus.listDeadLetters()).toEqual([]);
      // A later message of the same key reaching b proves b skipped (not postponed) the re-driven one.
      const sentinel = await bus.publish('orders', { key: 'k', payload: 'sentinel' });
      await waitFor(() => b.ids().includes(sentinel), 'the sentinel in group b');
      expect(b.ids()).toEqual([poison, sentinel]);
      await expect(bus.redriveDeadLetter(deadLetter!.id)).rejects.toMatchObject({ code: 'not_found' });
    });

    it('close() waits for in-flight handlers, which are then acknowledged', async () => {
      let finished = false;
      const started = recorder(async () => {
        await delay(150);
        finished = true;
      });
      const subscription: Subscription = bus.subscribe('orders', 'g', started.handler, fast);
      await bus.publish('orders', { key: 'k', payload: 'slow' });
      await waitFor(() => started.seen.length === 1, 'the handler to start');
      await subscription.close();
      expect(finished).toBe(true);
      const next = recorder();
      bus.subscribe('orders', 'g', next.handler, fast);
      const sentinel = await bus.publish('orders', { key: 'k', payload: 'sentinel' });
      await waitFor(() => next.seen.length >= 1, 'the sentinel');
      expect(next.ids()).toEqual([sentinel]);
    });

    it('answers ping while open and not after close', async () => {
      expect(await bus.ping()).toBe(true);
      await bus.close();
      expect(await bus.ping()).toBe(false);
      await expect(bus.publish('orders', { key: 'k', payload: 1 })).rejects.toMatchObject({
        code: 'service_unavailable',
      });
    });

    it('refuses to publish past the backlog limit until consumers catch up', async () => {
      const small = await harness.create({ backlogMax: 3 });
      await small.publishBatch('orders', keyed(3, 1));
      await expect(small.publish('orders', { key: 'key-0', payload: 4 })).rejects.toBeInstanceOf(
        BusBacklogFullError,
      );
      const { seen, handler } = recorder();
      small.subscribe('orders', 'g', handler, fast);
      await waitFor(() => seen.length === 3, 'the backlog to drain');
      await waitFor(
        () =>
          small.publish('orders', { key: 'key-0', payload: 4 }).then(
            () => true,
            () => false,
          ),
        'publish to succeed again',
      );
    });

    it('refuses what it could not carry the same way on every bus', async () => {
      await expect(bus.publish('orders', { key: 'k', payload: { amount: 10n } })).rejects.toThrow(/BigInt/);
      await expect(bus.publish('orders', { key: '', payload: 1 })).rejects.toThrow(/key/);
      await expect(bus.publish('has space', { key: 'k', payload: 1 })).rejects.toThrow(/topic/);
      await expect(bus.publish('orders.dead-letter', { key: 'k', payload: 1 })).rejects.toThrow(/reserved/);
      expect(() => bus.subscribe('orders', 'g', async () => {}, { maxDeliveries: 0 })).toThrow(
        /maxDeliveries/,
      );
    });
  });
}

/** `count` messages spread round-robin over `keys` keys; payload n is the publish order within all. */
export function keyed(count: number, keys: number) {
  return Array.from({ length: count }, (_, n) => ({ key: `key-${n % keys}`, payload: n }));
}
