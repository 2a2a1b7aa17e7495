import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OrderState } from '../../../src/exchange/orders/order-state.ts';
import {
  JournalBacklogFullError,
  type SequencedResult,
  Sequencer,
} from '../../../src/exchange/sequencer/index.ts';
import {
  defaultInstruments,
  ExchangeService,
  ExchangeStore,
  type OrderView,
  parseSchedule,
  ScheduleTimer,
} from '../../../src/exchange/service/index.ts';
import { ManualClock } from '../../../src/platform/clock.ts';
import type { AppError } from '../../../src/platform/errors.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { removeDir, tempDataDir } from './support.ts';

describe('ExchangeService on a real sequencer and database', () => {
  let db: TestDatabase;
  let store: ExchangeStore;
  const dirs: string[] = [];
  const open: Array<{ service: ExchangeService; sequencer: Sequencer }> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new ExchangeStore(db.pool);
    await store.insertDefaultsIfEmpty(defaultInstruments, new Date('2026-03-02T09:00:00Z'));
  });
  afterEach(async () => {
    for (const { service, sequencer } of open.splice(0)) {
      await service.drain();
      await sequencer.close();
    }
    await db.pool.query('DELETE FROM exchange_sessions');
    for (const dir of dirs.splice(0)) removeDir(dir);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function start(
    dir: string,
    options: { clock?: ManualClock; durability?: 'batch' | 'none'; openOrders?: OrderState[] } = {},
  ) {
    const sequencer = await Sequencer.open(dir, {
      durability: options.durability ?? 'none',
      snapshotEveryCommands: 0,
    });
    const service = new ExchangeService({
      sequencer,
      store,
      clock: options.clock ?? new ManualClock('2026-03-02T09:00:00Z'),
      instruments: await store.listInstruments(),
      sessions: await store.loadSessions(),
      openOrders: options.openOrders ?? [],
    });
    open.push({ service, sequencer });
    return { service, sequencer };
  }

  async function stop(entry: { service: ExchangeService; sequencer: Sequencer }) {
    await entry.service.drain();
    await entry.sequencer.close();
    open.splice(open.indexOf(entry), 1);
  }

  function newDir(): string {
    const dir = tempDataDir();
    dirs.push(dir);
    return dir;
  }

  const limit = (
    side: 'buy' | 'sell',
    price: string,
    quantity: number,
    timeInForce: 'GTC' | 'DAY' = 'GTC',
  ) => ({
    symbol: 'AMZN',
    side,
    orderType: 'limit' as const,
    price,
    quantity,
    timeInForce,
  });

  /** A resting order (of one lot size 1 instrument) as the projection hands it to a restarted service. */
  const tracked = (member: string, view: OrderView, priceTicks: number): OrderState => ({
    orderId: Number(view.id),
    symbol: view.symbol,
    member,
    account: view.account,
    clientOrderId: view.clientOrderId,
    side: view.side,
    orderType: view.orderType,
    timeInForce: view.timeInForce as OrderState['timeInForce'],
    postOnly: view.postOnly,
    priceTicks,
    quantityLots: view.quantity,
    filledLots: view.filledQuantity,
    remainingLots: view.remainingQuantity,
    status: view.status,
    rejectReason: null,
    cancelReason: null,
    createdAt: Date.parse(view.creationTime),
    updatedAt: Date.parse(view.updateTime),
    lastSeq: Number(view.id),
  });

  it('given an order in flight, then status hashes the books with it and says so: stateHashSeq past the durable lastSeq', async () => {
    const exchange = await start(newDir());
    await exchange.service.placeOrder('firm-a', limit('buy', '210.00', 10));
    const idle = exchange.service.status();
    expect(idle.stateHashSeq).toBe(idle.lastSeq);

    const pending = exchange.service.placeOrder('firm-a', limit('buy', '209.00', 10));
    const during = exchange.service.status();
    expect(during).toMatchObject({ lastSeq: idle.lastSeq, stateHashSeq: idle.lastSeq + 1 });
    expect(during.stateHash).not.toBe(idle.stateHash);
    await pending;
    expect(exchange.service.status()).toMatchObject({
      lastSeq: idle.lastSeq + 1,
      stateHashSeq: idle.lastSeq + 1,
      stateHash: during.stateHash,
    });
    await stop(exchange);
  });

  it('given DAY and GTC orders, when the market closes, then DAY orders expire and a replay reaches the same state', async () => {
    const dir = newDir();
    const first = await start(dir);
    const day = await first.service.placeOrder('firm-a', limit('buy', '210.00', 10, 'DAY'));
    const gtc = await first.service.placeOrder('firm-a', limit('buy', '209.00', 10));
    await first.service.placeOrder('firm-b', { ...limit('sell', '580.00', 5, 'DAY'), symbol: 'GOOG' });

    const closed = await first.service.applySessionAction('close');
    expect(closed.market).toBe('closed');
    expect(closed.expiredOrders).toBe(2);
    await expect(first.service.placeOrder('firm-a', limit('buy', '210.00', 1))).rejects.toMatchObject({
      code: 'market_closed',
      status: 409,
    });
    const bids = first.service
      .book('AMZN')!
      .l3()
      .bids.map((order) => String(order.orderId));
    expect(bids).toEqual([gtc.id]);
    expect(bids).not.toContain(day.id);
    const hashBefore = first.sequencer.stateHash();
    await stop(first);

    // The expiry went through the journal: recovery replays it and finds the same books.
    const second = await start(dir);
    expect(second.sequencer.stateHash()).toBe(hashBefore);
    expect(
      second.service
        .book('AMZN')!
        .l3()
        .bids.map((order) => String(order.orderId)),
    ).toEqual([gtc.id]);
    // The session state is kept too.
    expect(second.service.sessions().market).toBe('closed');
    expect(second.service.instrument('AMZN')?.status).toBe('closed');
  });

  it('given a halted instrument, then new orders and replaces are refused but cancels pass', async () => {
    const { service } = await start(newDir());
    const resting = await service.placeOrder('firm-a', limit('sell', '230.00', 10));
    await service.applySessionAction('halt', 'AMZN');
    await expect(service.placeOrder('firm-a', limit('buy', '200.00', 1))).rejects.toMatchObject({
      code: 'trading_halted',
    });
    await expect(service.replaceOrder('firm-a', resting.id, { quantity: 5 })).rejects.toMatchObject({
      code: 'trading_halted',
    });
    expect((await service.cancelOrder('firm-a', resting.id)).status).toBe('canceled');
    // Halting expires nothing: a DAY order placed elsewhere rests on.
    const day = await service.placeOrder('firm-a', { ...limit('buy', '500.00', 1, 'DAY'), symbol: 'GOOG' });
    await service.applySessionAction('halt');
    await service.applySessionAction('resume');
    expect(service.book('GOOG')!.order(Number(day.id))).not.toBeNull();
  });

  it('delivers every durable command to listeners once, in seq order, also under concurrent submissions', async () => {
    const { service } = await start(newDir(), { durability: 'batch' });
    const seen: SequencedResult[] = [];
    service.subscribe({
      onSequenced: () => {
        throw new Error('a broken listener must not stop the others');
      },
    });
    const unsubscribe = service.subscribe({ onSequenced: (result) => seen.push(result) });
    const orders = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        service.placeOrder(
          i % 2 === 0 ? 'firm-a' : 'firm-b',
          limit(i % 2 === 0 ? 'buy' : 'sell', '220.00', 1 + (i % 7)),
        ),
      ),
    );
    expect(seen.map((result) => result.seq)).toEqual(orders.map((order) => Number(order.id)));
    expect(seen.map((result) => result.seq)).toEqual(
      [...seen.map((result) => result.seq)].sort((a, b) => a - b),
    );
    expect(service.lastSeq).toBe(seen.at(-1)!.seq);
    expect(seen.every((result) => result.meta?.member === 'firm-a' || result.meta?.member === 'firm-b')).toBe(
      true,
    );
    // Everything that crossed traded: the book is not crossed.
    const top = service.book('AMZN')!.l1();
    expect(top.bid === null || top.ask === null || top.bid.priceTicks < top.ask.priceTicks).toBe(true);
    unsubscribe();
    await service.placeOrder('firm-a', limit('buy', '1.00', 1));
    expect(seen).toHaveLength(200);
  });

  it('refuses a second order with the same clientOrderId even when both arrive at once', async () => {
    const { service } = await start(newDir(), { durability: 'batch' });
    const order = { ...limit('buy', '100.00', 1), clientOrderId: 'same' };
    const results = await Promise.allSettled([
      service.placeOrder('firm-a', order),
      service.placeOrder('firm-a', order),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as AppError).code).toBe('duplicate_client_order_id');
  });

  it('knows the open orders it is given at start: their owners can cancel them after a restart', async () => {
    const dir = newDir();
    const first = await start(dir);
    const resting = await first.service.placeOrder('firm-a', limit('sell', '250.00', 3));
    await stop(first);
    const second = await start(dir, { openOrders: [tracked('firm-a', resting, 25_000)] });
    await expect(second.service.cancelOrder('firm-b', resting.id)).rejects.toMatchObject({
      code: 'order_not_found',
    });
    expect(await second.service.cancelOrder('firm-a', resting.id)).toMatchObject({
      id: resting.id,
      status: 'canceled',
    });
  });

  it('applies the schedule: a window opens and closes the market, the always schedule rolls DAY orders', async () => {
    const clock = new ManualClock('2026-03-02T20:00:00Z');
    const { service } = await start(newDir(), { clock });
    const day = await service.placeOrder('firm-a', limit('buy', '200.00', 1, 'DAY'));
    const gtc = await service.placeOrder('firm-a', limit('buy', '199.00', 1));

    // Started outside the 09:30-16:00 window: the timer closes the market at once.
    const timer = new ScheduleTimer(service, parseSchedule('09:30-16:00')!, clock);
    await timer.start();
    await timer.stop();
    expect(service.sessions().market).toBe('closed');
    expect(service.book('AMZN')!.order(Number(day.id))).toBeNull();
    expect(service.book('AMZN')!.order(Number(gtc.id))).not.toBeNull();
    expect(await service.applyScheduleEvent('close')).toBe(0);

    expect(await service.applyScheduleEvent('open')).toBe(0);
    expect(service.sessions().market).toBe('open');
    const nextDay = await service.placeOrder('firm-a', limit('buy', '200.00', 1, 'DAY'));
    expect(await service.applyScheduleEvent('roll')).toBe(1);
    expect(service.sessions().market).toBe('open');
    expect(service.book('AMZN')!.order(Number(nextDay.id))).toBeNull();
  });

  describe('given DAY orders and a schedule, when the exchange was down or its timer late', () => {
    const window = parseSchedule('13:30-20:00')!;

    async function restartAt(dir: string, at: string, openOrders: OrderState[], schedule = window) {
      const clock = new ManualClock(at);
      const entry = await start(dir, { clock, openOrders });
      const timer = new ScheduleTimer(entry.service, schedule, clock);
      await timer.start();
      await timer.stop();
      return entry;
    }

    it('expires at start a DAY order placed before the last close, and keeps one placed since', async () => {
      const dir = newDir();
      const clock = new ManualClock('2026-03-02T15:00:00Z');
      const first = await start(dir, { clock });
      const yesterday = await first.service.placeOrder('firm-a', limit('buy', '200.00', 10, 'DAY'));
      const gtc = await first.service.placeOrder('firm-a', limit('buy', '199.00', 10));
      await stop(first);

      // Down over the 20:00 close; back the next day inside the window.
      const second = await restartAt(dir, '2026-03-03T14:00:00Z', [
        tracked('firm-a', yesterday, 20_000),
        tracked('firm-a', gtc, 19_900),
      ]);
      expect(second.service.sessions().market).toBe('open');
      expect(second.service.book('AMZN')!.order(Number(yesterday.id))).toBeNull();
      expect(second.service.book('AMZN')!.order(Number(gtc.id))).not.toBeNull();
      const sell = await second.service.placeOrder('firm-b', limit('sell', '200.00', 10));
      expect(sell.status).toBe('new');

      // A DAY order placed today survives a restart within the same session.
      const today = await second.service.placeOrder('firm-a', limit('buy', '198.00', 5, 'DAY'));
      await stop(second);
      const third = await restartAt(dir, '2026-03-03T15:00:00Z', [tracked('firm-a', today, 19_800)]);
      expect(third.service.book('AMZN')!.order(Number(today.id))).not.toBeNull();
    });

    it('always: a DAY order from before 00:00 UTC is expired by a restart after it', async () => {
      const dir = newDir();
      const first = await start(dir, { clock: new ManualClock('2026-03-02T23:00:00Z') });
      const late = await first.service.placeOrder('firm-a', limit('buy', '200.00', 1, 'DAY'));
      await stop(first);
      const second = await restartAt(
        dir,
        '2026-03-03T01:00:00Z',
        [tracked('firm-a', late, 20_000)],
        parseSchedule('always')!,
      );
      expect(second.service.book('AMZN')!.order(Number(late.id))).toBeNull();
    });

    it('a timer that wakes long after the close it was armed for applies the schedule as of now', async () => {
      const clock = new ManualClock('2026-03-02T19:59:59.900Z');
      const { service } = await start(newDir(), { clock });
      const day = await service.placeOrder('firm-a', limit('buy', '200.00', 1, 'DAY'));
      const timer = new ScheduleTimer(service, window, clock);
      await timer.start();
      // The host sleeps through the close and wakes the next afternoon, inside the window.
      clock.set('2026-03-03T14:00:00Z');
      await new Promise((resolve) => setTimeout(resolve, 250));
      await timer.stop();
      expect(service.sessions().market).toBe('open');
      expect(service.book('AMZN')!.order(Number(day.id))).toBeNull();
      expect((await service.placeOrder('firm-b', limit('sell', '200.00', 1))).status).toBe('new');
    });
  });

  it('given an instrument insert whose reply was lost, when the admin retries, then it is listed and tradeable', async () => {
    const { sequencer } = await start(newDir());
    const lossy = Object.create(store) as ExchangeStore;
    let lose = true;
    lossy.insertInstrument = async (definition, createdAt) => {
      const outcome = await store.insertInstrument(definition, createdAt);
      if (lose) {
        lose = false;
        throw new Error('Connection terminated unexpectedly');
      }
      return outcome;
    };
    const service = new ExchangeService({
      sequencer,
      store: lossy,
      clock: new ManualClock('2026-03-02T09:00:00Z'),
      instruments: await store.listInstruments(),
      sessions: await store.loadSessions(),
      openOrders: [],
    });
    const input = {
      symbol: 'SAP.DE',
      currency: 'EUR',
      tickSize: '0.01',
      lotSize: 1,
      referencePrice: '120.00',
    };
    await expect(service.createInstrument(input)).rejects.toThrow('Connection terminated');
    expect(service.instrument('SAP.DE')).toBeUndefined();
    expect(await service.createInstrument(input)).toMatchObject({ symbol: 'SAP.DE', status: 'open' });
    const order = await service.placeOrder('firm-a', { ...limit('buy', '120.00', 1), symbol: 'SAP.DE' });
    expect(order.status).toBe('new');
    // A retry asking for something else is still a conflict.
    await expect(service.createInstrument({ ...input, referencePrice: '121.00' })).rejects.toMatchObject({
      code: 'instrument_exists',
    });
    await db.pool.query("DELETE FROM exchange_instruments WHERE symbol = 'SAP.DE'");
  });

  describe('given a session change that fails half way', () => {
    it('when saving fails, then nothing changed: the market stays open and DAY orders rest', async () => {
      const { service, sequencer } = await start(newDir());
      const day = await service.placeOrder('firm-a', limit('buy', '200.00', 1, 'DAY'));
      const failing = Object.create(store) as ExchangeStore;
      failing.saveSession = async () => {
        throw new Error('connection terminated');
      };
      const broken = new ExchangeService({
        sequencer,
        store: failing,
        clock: new ManualClock('2026-03-02T09:00:00Z'),
        instruments: await store.listInstruments(),
        sessions: await store.loadSessions(),
        openOrders: [],
      });
      for (const action of ['halt', 'close'] as const) {
        await expect(broken.applySessionAction(action)).rejects.toThrow('connection terminated');
        expect(broken.sessions().market).toBe('open');
      }
      expect(service.book('AMZN')!.order(Number(day.id))).not.toBeNull();
    });

    it('when an expiry is refused, then closing again completes it', async () => {
      const { service, sequencer } = await start(newDir());
      const amzn = await service.placeOrder('firm-a', limit('buy', '200.00', 1, 'DAY'));
      const goog = await service.placeOrder('firm-a', {
        ...limit('buy', '500.00', 1, 'DAY'),
        symbol: 'GOOG',
      });
      const submit = sequencer.submit.bind(sequencer);
      let refuse = true;
      sequencer.submit = (symbol, command, meta) => {
        if (refuse && symbol === 'GOOG' && command.type === 'expire_day_orders') {
          refuse = false;
          return Promise.reject(new JournalBacklogFullError('journal backlog full'));
        }
        return submit(symbol, command, meta);
      };
      await expect(service.applySessionAction('close')).rejects.toMatchObject({ status: 503 });
      expect(service.book('GOOG')!.order(Number(goog.id))).not.toBeNull();
      expect((await service.applySessionAction('close')).expiredOrders).toBe(1);
      expect(service.book('GOOG')!.order(Number(goog.id))).toBeNull();
      expect(service.book('AMZN')!.order(Number(amzn.id))).toBeNull();
    });
  });
});
