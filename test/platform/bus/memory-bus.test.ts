import { describe, expect, it } from 'vitest';
import { createBus } from '../../../src/platform/bus/index.ts';
import { MemoryBus } from '../../../src/platform/bus/memory-bus.ts';
import type { Bus } from '../../../src/platform/bus/types.ts';
import { busContract, fast, recorder, waitFor } from './bus.contract.ts';

busContract('MemoryBus', () => {
  const buses: Bus[] = [];
  return {
    async create(options = {}) {
      const bus = new MemoryBus(options);
      buses.push(bus);
      return bus;
    },
    async cleanup() {
      await Promise.all(buses.map((bus) => bus.close()));
    },
  };
});

describe('MemoryBus', () => {
  it('is what createBus gives without a Redis URL', async () => {
    const bus = createBus({ redisUrl: undefined, defaults: { maxDeliveries: 2 } });
    expect(bus.kind).toBe('memory');
    await bus.close();
  });

  it('keeps a message whose dead-letter store is full, holding its key, instead of losing it', async () => {
    const bus = new MemoryBus({ deadLettersPerTopicMax: 1 });
    const { seen, handler } = recorder((message) => {
      if (message.payload !== 'fine') throw new Error('poison');
    });
    bus.subscribe('orders', 'g', handler, { ...fast, maxDeliveries: 1, ackTimeoutMs: 50 });
    await bus.publish('orders', { key: 'a', payload: 'poison 1' });
    await bus.publish('orders', { key: 'b', payload: 'poison 2' });
    await bus.publish('orders', { key: 'b', payload: 'fine' });
    await waitFor(() => seen.filter((message) => message.payload === 'poison 2').length >= 2, 'a retry');
    expect(await bus.listDeadLetters()).toHaveLength(1);
    expect(seen.some((message) => message.payload === 'fine')).toBe(false);
    await bus.close();
  });

  it('closing the bus closes its subscriptions and stops retry timers', async () => {
    const bus = new MemoryBus();
    const { seen, handler } = recorder(() => {
      throw new Error('always');
    });
    bus.subscribe('orders', 'g', handler, { ...fast, retryDelayMs: 60_000 });
    await bus.publish('orders', { key: 'k', payload: 1 });
    await waitFor(() => seen.length === 1, 'the first delivery');
    await bus.close();
    expect(() => bus.subscribe('orders', 'g', handler)).toThrow(/closed/);
  });
});

describe('MemoryBus onHandled (what lets the outbox keep rows until they are handled)', () => {
  it('reports a message once every group has acknowledged it, and not before', async () => {
    const bus = new MemoryBus();
    const handled: string[] = [];
    let releaseSlow: () => void = () => {};
    bus.subscribe('t', 'fast', async () => {});
    bus.subscribe('t', 'slow', () => new Promise<void>((resolve) => (releaseSlow = resolve)));
    const [id] = await bus.publishBatch('t', [{ key: 'k', payload: 1 }], {
      onHandled: (i) => handled.push(i),
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(handled).toEqual([]);
    releaseSlow();
    await waitFor(() => handled.length === 1, 'onHandled after the slow group');
    expect(handled).toEqual([id]);
    await bus.close();
  });

  it('waits for a group that subscribes later', async () => {
    const bus = new MemoryBus();
    const handled: string[] = [];
    await bus.publishBatch('t', [{ key: 'k', payload: 1 }], { onHandled: (i) => handled.push(i) });
    expect(handled).toEqual([]);
    bus.subscribe('t', 'late', async () => {});
    await waitFor(() => handled.length === 1, 'onHandled after the late group');
    await bus.close();
  });

  it('never reports a dead-lettered message as handled', async () => {
    const bus = new MemoryBus({ defaults: { maxDeliveries: 2, retryDelayMs: 1 } });
    const handled: string[] = [];
    bus.subscribe('t', 'g', async () => {
      throw new Error('always fails');
    });
    await bus.publishBatch('t', [{ key: 'k', payload: 1 }], { onHandled: (i) => handled.push(i) });
    await waitFor(async () => (await bus.listDeadLetters({ topic: 't' })).length === 1, 'the dead letter');
    expect(handled).toEqual([]);
    expect(bus.durable).toBe(false);
    await bus.close();
  });
});
