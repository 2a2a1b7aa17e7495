import { isDeepStrictEqual } from 'node:util';
import { memberIdPattern } from '../../identity/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError, fail, invalidField, registerErrors } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import type { BookEvent, RejectReason } from '../matching/index.ts';
import { isOpen, type OrderState, OrderTracker } from '../orders/order-state.ts';
import {
  type BookView,
  type CommandMeta,
  JournalBacklogFullError,
  type SequencedResult,
  type Sequencer,
  type UnsequencedCommand,
} from '../sequencer/index.ts';
import { exchangeErrors } from './errors.ts';
import {
  defineInstrument,
  type InstrumentDefinition,
  type InstrumentInput,
  type InstrumentTerms,
  termsOf,
} from './instruments.ts';
import { exchangeServiceLimits } from './limits.ts';
import {
  type EntryProblem,
  type PlaceOrderInput,
  prepareNewOrder,
  prepareReplace,
  type ReplaceInput,
} from './order-entry.ts';
import { OrderRequests } from './order-requests.ts';
import type { ScheduleEventKind } from './schedule.ts';
import {
  decideSessionAction,
  effectiveState,
  type SessionAction,
  type SessionState,
  sessionRefusalText,
} from './sessions.ts';
import { type ExchangeStore, marketScope } from './store.ts';
import { type Instrument, type OrderView, orderView } from './views.ts';

export type { PlaceOrderInput, ReplaceInput } from './order-entry.ts';

/** Follows every sequenced command: called once per durable command, in seq order. */
export interface ExchangeListener {
  onSequenced(result: SequencedResult): void;
}

/** The session states: market-wide and per instrument, with what each instrument meets. */
export interface SessionsView {
  market: SessionState;
  instruments: Array<{ symbol: string; state: SessionState; status: SessionState }>;
}

/** A session change's result: the states after it and how many DAY orders it expired. */
export interface SessionChange extends SessionsView {
  expiredOrders: number;
}

export interface ExchangeServiceOptions {
  /** Opened on the exchange data directory; the service is its only submitter. */
  sequencer: Sequencer;
  store: ExchangeStore;
  clock: Clock;
  instruments: readonly InstrumentDefinition[];
  /** Stored session states by scope (store.loadSessions()). */
  sessions: ReadonlyMap<string, SessionState>;
  /** The orders open as of the sequencer's last seq (from the order projection). */
  openOrders: readonly OrderState[];
  listeners?: readonly ExchangeListener[];
  log?: Logger;
  /**
   * The order projection (the projector), which holds every order that has left the book. Without
   * it, an order that has just left is not found until the projection catches up on its own.
   */
  projection?: { waitFor(seq: number, timeoutMs: number): Promise<boolean> };
  /**
   * How long an Idempotency-Key means the order placed with it (the key store's lifetime,
   * KINYU_IDEMPOTENCY_TTL_HOURS); default 24 h.
   */
  requestKeyTtlMs?: number;
}

interface Delivered {
  result: SequencedResult;
  /** Order states the command changed, after it. */
  changed: OrderState[];
}

const orderIdPattern = /^[1-9][0-9]{0,15}$/;

/**
 * The exchange's imperative shell around the sequencer: checks and converts member orders, keeps
 * the open orders (OrderTracker), instruments and sessions, submits commands, and hands every
 * durable result to its listeners in seq order. Orders are answered after their immediate matching.
 */
export class ExchangeService {
  private readonly sequencer: Sequencer;
  private readonly store: ExchangeStore;
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly projection: ExchangeServiceOptions['projection'];
  private readonly terms = new Map<string, InstrumentTerms>();
  private marketState: SessionState;
  private readonly instrumentStates = new Map<string, SessionState>();
  private readonly tracker = new OrderTracker();
  private readonly requests: OrderRequests;
  /** `member NUL clientOrderId` of open orders, and of new orders sequenced but not yet delivered. */
  private readonly openClientOrderIds = new Set<string>();
  private readonly pendingClientOrderIds = new Set<string>();
  private readonly listeners = new Set<ExchangeListener>();
  /** The latest submitted command's delivery (results are delivered in seq order: see sequence()). */
  private delivery: Promise<unknown> = Promise.resolve();
  private deliveredSeq: number;
  /** Admin and schedule changes of sessions and instruments run one at a time. */
  private adminWork: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;

  constructor(options: ExchangeServiceOptions) {
    registerErrors(exchangeErrors);
    this.sequencer = options.sequencer;
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log;
    this.projection = options.projection;
    this.requests = new OrderRequests(
      options.requestKeyTtlMs ?? 24 * 3_600_000,
      exchangeServiceLimits.requestKeysKeptMax,
    );
    for (const definition of options.instruments) this.terms.set(definition.symbol, termsOf(definition));
    this.marketState = options.sessions.get(marketScope) ?? 'open';
    for (const [scope, state] of options.sessions) {
      if (scope !== marketScope) this.instrumentStates.set(scope, state);
    }
    this.tracker.load(options.openOrders);
    for (const order of options.openOrders) this.rememberClientOrderId(order);
    for (const listener of options.listeners ?? []) this.subscribe(listener);
    this.deliveredSeq = this.sequencer.lastSeq;
  }

  /** Seq of the last command delivered to the tracker and listeners (durable). */
  get lastSeq(): number {
    return this.deliveredSeq;
  }

  /**
   * Where the exchange stands. The hash covers every command applied, acknowledged or not:
   * `stateHashSeq` is the last of them, so the hash can be compared with `exchange verify`'s or a
   * standby's at that seq, and equals the durable state's once no submit is in flight.
   */
  status(): {
    lastSeq: number;
    stateHash: string;
    stateHashSeq: number;
    symbols: number;
    openOrders: number;
    failed: boolean;
  } {
    return {
      lastSeq: this.deliveredSeq,
      stateHash: this.sequencer.stateHash(),
      stateHashSeq: this.sequencer.lastSeq,
      symbols: this.sequencer.symbols().length,
      openOrders: this.tracker.openCount,
      failed: this.failed,
    };
  }

  /** True once the journal failed: the exchange accepts nothing more until restarted. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Open orders the service knows (members' resting orders). */
  get openOrderCount(): number {
    return this.tracker.openCount;
  }

  subscribe(listener: ExchangeListener): () => void {
    if (this.listeners.size >= exchangeServiceLimits.listenersMax) {
      throw new RangeError(`at most ${exchangeServiceLimits.listenersMax} exchange listeners`);
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  instrument(symbol: string): Instrument | undefined {
    const terms = this.terms.get(symbol);
    // Object.assign, not `{ ...definition, status }`: V8 makes a spread followed by a new key slow.
    return terms && Object.assign({}, terms.definition, { status: this.sessionState(symbol) });
  }

  instruments(): Instrument[] {
    return [...this.terms.keys()].sort().map((symbol) => this.instrument(symbol)!);
  }

  /** The sequencer's live book (may be ahead of the last durable seq). */
  book(symbol: string): BookView | undefined {
    return this.sequencer.book(symbol);
  }

  /**
   * Checks, converts and sequences a new order; answers it after its immediate matching.
   * `requestKey`: the order came with an Idempotency-Key (a digest of the key, its scope and the
   * body; see OrderRequests). If an order was already placed with it, within the key's lifetime,
   * that order is the answer, as it stands now; else the key is journaled with the new order.
   */
  async placeOrder(member: string, input: PlaceOrderInput, requestKey?: string): Promise<OrderView> {
    assertMember(member);
    // The WebSocket gateway passes parsed JSON straight through: anything but an object is a 400.
    if (typeof input !== 'object' || input === null) throw invalidField('order', 'must be an order object');
    if (requestKey === undefined) return this.placeNewOrder(member, input);
    // A 5xx, which the key store does not keep: a kept answer here would outlive the order's own.
    if (this.requests.isPending(requestKey)) {
      throw unavailable('an order with this Idempotency-Key is still being placed; retry shortly');
    }
    this.requests.begin(requestKey);
    try {
      return (
        (await this.orderForRequest(member, requestKey)) ??
        (await this.placeNewOrder(member, input, requestKey))
      );
    } finally {
      this.requests.end(requestKey);
    }
  }

  private async placeNewOrder(
    member: string,
    input: PlaceOrderInput,
    requestKey?: string,
  ): Promise<OrderView> {
    const terms = this.terms.get(input.symbol);
    if (!terms) throw unknownSymbol(input.symbol);
    this.assertTrading(input.symbol);
    const entry = prepareNewOrder(terms, member, input);
    if (!entry.ok) throw entryError(entry.problem);
    const clientKey = input.clientOrderId === undefined ? undefined : `${member}\0${input.clientOrderId}`;
    if (clientKey !== undefined) {
      if (this.openClientOrderIds.has(clientKey) || this.pendingClientOrderIds.has(clientKey)) {
        throw new AppError(
          'duplicate_client_order_id',
          `An open order already has clientOrderId ${input.clientOrderId}`,
          {
            errors: [{ field: 'clientOrderId', reason: 'is already used by one of your open orders' }],
          },
        );
      }
      this.pendingClientOrderIds.add(clientKey);
    }
    const meta: CommandMeta = { time: this.clock.nowMs(), member };
    if (input.clientOrderId !== undefined) meta.clientOrderId = input.clientOrderId;
    if (requestKey !== undefined) meta.requestKey = requestKey;
    try {
      const { result, changed } = await this.sequence(input.symbol, entry.command, meta);
      if (requestKey !== undefined) this.requests.placed(requestKey, result.seq, meta.time);
      const order = changed.find((state) => state.orderId === result.seq);
      if (!order) fail(`new order ${result.seq} has no order state`);
      return orderView(terms.definition, order);
    } finally {
      if (clientKey !== undefined) this.pendingClientOrderIds.delete(clientKey);
    }
  }

  /** Cancels a member's resting order; allowed whatever the session (members may take risk off). */
  async cancelOrder(member: string, orderId: string): Promise<OrderView> {
    assertMember(member);
    const order = await this.ownedOpenOrder(member, orderId);
    const meta: CommandMeta = { time: this.clock.nowMs(), member };
    const { result, changed } = await this.sequence(
      order.symbol,
      { type: 'cancel', orderId: order.orderId },
      meta,
    );
    const rejected = rejectionOf(result.events);
    if (rejected) throw commandRejected(rejected, 'cancel');
    return this.viewOf(changed, order.orderId);
  }

  /**
   * Replaces a member's resting order: `price` and/or `quantity`, the new open quantity. A price
   * change or a size increase loses time priority; a pure size decrease keeps it (the engine decides).
   */
  async replaceOrder(member: string, orderId: string, change: ReplaceInput): Promise<OrderView> {
    assertMember(member);
    if (typeof change !== 'object' || change === null) throw invalidField('', 'must be an object');
    const order = await this.ownedOpenOrder(member, orderId);
    this.assertTrading(order.symbol);
    const terms = this.terms.get(order.symbol);
    if (!terms) fail(`open order ${order.orderId} is on unlisted symbol ${order.symbol}`);
    const entry = prepareReplace(terms, order, change);
    if (!entry.ok) throw entryError(entry.problem);
    const meta: CommandMeta = { time: this.clock.nowMs(), member };
    const { result, changed } = await this.sequence(order.symbol, entry.command, meta);
    const rejected = rejectionOf(result.events);
    if (rejected) throw commandRejected(rejected, 'replace');
    return this.viewOf(changed, order.orderId);
  }

  /** Lists a new instrument (admin); its session starts open. */
  createInstrument(input: InstrumentInput): Promise<Instrument> {
    return this.serialized(async () => {
      const defined = defineInstrument(input);
      if (!defined.ok) {
        throw new AppError(
          'invalid_instrument',
          defined.errors.map((e) => `${e.field} ${e.reason}`).join('; '),
          {
            errors: defined.errors,
          },
        );
      }
      const { definition } = defined.terms;
      if (this.terms.has(definition.symbol)) throw instrumentExists(definition.symbol);
      if (this.terms.size >= exchangeServiceLimits.instrumentsMax) {
        throw new AppError('instruments_full', `At most ${exchangeServiceLimits.instrumentsMax} instruments`);
      }
      const outcome = await this.store.insertInstrument(definition, this.clock.now());
      if (outcome === 'exists') {
        // Stored but not listed here: an earlier insert committed and then failed to answer (a
        // lost connection). List what is stored; the retry succeeds when it asked for the same.
        const stored = (await this.store.listInstruments()).find((i) => i.symbol === definition.symbol);
        if (stored) this.terms.set(stored.symbol, termsOf(stored));
        if (!stored || !isDeepStrictEqual(stored, definition)) throw instrumentExists(definition.symbol);
      }
      this.terms.set(definition.symbol, defined.terms);
      this.log?.info({ symbol: definition.symbol }, 'instrument listed');
      return this.instrument(definition.symbol)!;
    });
  }

  sessions(): SessionsView {
    return {
      market: this.marketState,
      instruments: [...this.terms.keys()].sort().map((symbol) => ({
        symbol,
        state: this.instrumentStates.get(symbol) ?? 'open',
        status: this.sessionState(symbol),
      })),
    };
  }

  /**
   * Applies an admin's session action, market-wide (no symbol) or to one instrument. Closing
   * expires the DAY orders of every affected book through the sequencer (journaled, so a replay
   * expires the same orders); halting and resuming expire nothing.
   */
  applySessionAction(action: SessionAction, symbol?: string): Promise<SessionChange> {
    return this.serialized(async () => {
      if (symbol !== undefined && !this.terms.has(symbol)) {
        throw new AppError('instrument_not_found', `No instrument ${symbol}`, {
          errors: [{ field: 'symbol', reason: 'is not listed' }],
        });
      }
      const current = symbol === undefined ? this.marketState : (this.instrumentStates.get(symbol) ?? 'open');
      const transition = decideSessionAction(current, action);
      if (!transition.ok) {
        const detail = `${symbol ?? 'market'}: ${sessionRefusalText(transition.reason)}`;
        throw new AppError('session_transition_invalid', detail, {
          errors: [{ field: 'action', reason: transition.reason }],
        });
      }
      const expiredOrders = await this.changeSession(symbol, transition.next, transition.expiresDayOrders);
      this.log?.info(
        { symbol: symbol ?? null, action, state: transition.next, expiredOrders },
        'session changed',
      );
      return { ...this.sessions(), expiredOrders };
    });
  }

  /**
   * Applies a schedule boundary: `open` opens a closed market, `close` closes an open or halted one
   * (expiring DAY orders), `roll` (the `always` schedule's 00:00 UTC) expires DAY orders and leaves
   * the states alone. Returns the DAY orders expired.
   */
  applyScheduleEvent(kind: ScheduleEventKind): Promise<number> {
    return this.serialized(async () => {
      switch (kind) {
        case 'roll':
          return this.expireDayOrders(this.sequencer.symbols());
        case 'open':
          if (this.marketState !== 'closed') return 0;
          return this.changeSession(undefined, 'open', false);
        case 'close':
          if (this.marketState === 'closed') return 0;
          return this.changeSession(undefined, 'closed', true);
        default: {
          const unknown: never = kind;
          throw new Error(`unknown schedule event ${String(unknown)}`);
        }
      }
    });
  }

  /** Waits for every command submitted so far to be delivered and for admin work in progress. */
  async drain(): Promise<void> {
    await this.adminWork.catch(() => undefined);
    await this.delivery.catch(() => undefined);
  }

  /**
   * Expires the DAY orders that must not rest any more: in every book whose session is closed, and
   * in every book holding a DAY order placed before `dayEndMs` (the schedule's last close or roll).
   * The schedule timer calls it at start and at every boundary, so a close or roll missed while the
   * exchange was down, a timer that fired late, or a close whose expiry failed half way is made up
   * before any order meets a stale DAY order. Returns the DAY orders expired.
   */
  expireStaleDayOrders(dayEndMs: number): Promise<number> {
    return this.serialized(async () => {
      const stale = new Set<string>();
      for (const order of this.tracker.openOrders()) {
        if (order.timeInForce !== 'DAY' || stale.has(order.symbol)) continue;
        if (order.createdAt < dayEndMs || this.sessionState(order.symbol) === 'closed')
          stale.add(order.symbol);
      }
      return stale.size === 0 ? 0 : this.expireDayOrders([...stale].sort());
    });
  }

  private async changeSession(
    symbol: string | undefined,
    next: SessionState,
    expire: boolean,
  ): Promise<number> {
    // Saved first: when saving fails nothing has changed, and the admin's retry starts afresh. A
    // crash after it reopens in the new state, and a closed session's DAY orders are expired then
    // (expireStaleDayOrders at start).
    await this.store.saveSession(symbol ?? marketScope, next, this.clock.now());
    // Then the state, so no order for an affected book is sequenced after its expiry.
    if (symbol === undefined) this.marketState = next;
    else this.instrumentStates.set(symbol, next);
    const affected = symbol === undefined ? this.sequencer.symbols() : [symbol];
    return expire ? this.expireDayOrders(affected) : 0;
  }

  private async expireDayOrders(symbols: readonly string[]): Promise<number> {
    const meta: CommandMeta = { time: this.clock.nowMs() };
    const withBooks = symbols.filter((symbol) => this.sequencer.book(symbol) !== undefined);
    const results = await Promise.all(
      withBooks.map((symbol) => this.sequence(symbol, { type: 'expire_day_orders' }, meta)),
    );
    return results.reduce(
      (count, { result }) => count + result.events.filter((event) => event.type === 'expired').length,
      0,
    );
  }

  /**
   * Submits one command and resolves once it is durable and delivered: the tracker has applied it
   * and every listener has seen it, strictly in seq order. The order needs no chain of its own: the
   * sequencer settles results in seq order (one promise per batch, batches in order, each batch's
   * reactions in submit order), so their deliveries run in that order too.
   */
  private sequence(symbol: string, command: UnsequencedCommand, meta: CommandMeta): Promise<Delivered> {
    if (this.failure) return Promise.reject(unavailable('the exchange journal failed; restart the exchange'));
    const delivered = this.sequencer
      .submit(symbol, command, meta)
      .then((result) => this.deliver(result))
      .catch((error: unknown) => {
        throw this.submitFailure(error);
      });
    // The latest delivery settles after every earlier one: drain() waits for it.
    this.delivery = delivered;
    return delivered;
  }

  private deliver(result: SequencedResult): Delivered {
    const changed = this.tracker.apply(result, result.events);
    for (const state of changed) this.rememberClientOrderId(state);
    this.deliveredSeq = result.seq;
    for (const listener of this.listeners) {
      try {
        listener.onSequenced(result);
      } catch (error) {
        // A listener's bug must not stop order entry or the other listeners.
        this.log?.error({ err: error, seq: result.seq }, 'exchange listener failed');
      }
    }
    return { result, changed };
  }

  private submitFailure(error: unknown): AppError {
    if (error instanceof AppError) return error;
    if (error instanceof JournalBacklogFullError) {
      return unavailable('the exchange is overloaded; retry shortly');
    }
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    this.log?.error({ err: error }, 'exchange command failed: the sequencer accepts nothing more');
    return unavailable('the exchange journal failed; restart the exchange');
  }

  private rememberClientOrderId(state: OrderState): void {
    if (state.clientOrderId === null) return;
    const key = `${state.member}\0${state.clientOrderId}`;
    if (isOpen(state.status)) this.openClientOrderIds.add(key);
    else this.openClientOrderIds.delete(key);
  }

  /**
   * The order a request with this key placed within the key's lifetime, as it stands now: from
   * memory for this process's (else from the projection once it has passed the ones forgotten),
   * from the projection for an earlier process's (complete before the exchange serves). An order
   * no longer in the book is read once the projection holds every delivered command, so its last
   * state is the answer.
   */
  private async orderForRequest(member: string, requestKey: string): Promise<OrderView | undefined> {
    const nowMs = this.clock.nowMs();
    const sinceMs = nowMs - this.requests.ttlMs;
    let orderId = this.requests.recent(requestKey, nowMs);
    if (orderId === undefined) {
      await this.projectionAt(this.requests.forgottenUpTo);
      orderId = (await this.store.orderForRequest(member, requestKey, sinceMs))?.orderId;
      if (orderId === undefined) return undefined;
    }
    let state = this.tracker.get(orderId);
    if (state === undefined) {
      await this.projectionAt(this.deliveredSeq);
      state = await this.store.orderForRequest(member, requestKey, sinceMs);
      if (state?.orderId !== orderId) fail(`order ${orderId} placed with a request key is not projected`);
    }
    const terms = this.terms.get(state.symbol);
    if (!terms) fail(`order ${state.orderId} is on unlisted symbol ${state.symbol}`);
    return orderView(terms.definition, state);
  }

  /** Waits (bounded) until the order projection has reached `seq`; else 503. */
  private async projectionAt(seq: number): Promise<void> {
    if (seq <= 0 || this.projection === undefined) return;
    const timeoutMs = exchangeServiceLimits.closedOrderLookupTimeoutMs;
    if (!(await this.projection.waitFor(seq, timeoutMs))) {
      throw unavailable('the order history is catching up; retry shortly');
    }
  }

  /** The member's open order, or 404 order_not_found (not theirs or unknown) / 409 order_not_open. */
  private async ownedOpenOrder(member: string, orderIdText: string): Promise<OrderState> {
    const orderId = parseOrderId(orderIdText);
    if (orderId === undefined) throw orderNotFound(orderIdText);
    const open = this.tracker.get(orderId);
    if (open) {
      if (open.member !== member) throw orderNotFound(orderIdText);
      return open;
    }
    // Not open: filled, cancelled, expired or rejected (its owner hears 409), someone else's or never
    // placed (404). An order's id is the seq of its new command, so the projection holds the order
    // once it has reached that seq: a cancel racing the fill that closed the order waits for it.
    if (orderId > this.deliveredSeq) throw orderNotFound(orderIdText);
    const timeoutMs = exchangeServiceLimits.closedOrderLookupTimeoutMs;
    if (this.projection && !(await this.projection.waitFor(orderId, timeoutMs))) {
      throw unavailable('the order history is catching up; retry shortly');
    }
    if ((await this.store.orderOwner(orderId)) === member) {
      throw new AppError('order_not_open', `Order ${orderIdText} no longer rests in the book`, {
        errors: [{ field: 'id', reason: 'is filled, cancelled, expired or rejected' }],
      });
    }
    throw orderNotFound(orderIdText);
  }

  private viewOf(changed: readonly OrderState[], orderId: number): OrderView {
    const state = changed.find((s) => s.orderId === orderId);
    if (!state) fail(`order ${orderId} unchanged by a command the engine accepted`);
    const terms = this.terms.get(state.symbol);
    if (!terms) fail(`order ${orderId} is on unlisted symbol ${state.symbol}`);
    return orderView(terms.definition, state);
  }

  private sessionState(symbol: string): SessionState {
    return effectiveState(this.marketState, this.instrumentStates.get(symbol) ?? 'open');
  }

  /** 409 market_closed / trading_halted unless the instrument's effective state is open. */
  private assertTrading(symbol: string): void {
    const status = this.sessionState(symbol);
    if (status === 'open') return;
    const instrumentState = this.instrumentStates.get(symbol) ?? 'open';
    const detail = `${symbol} is ${status} (market: ${this.marketState}, ${symbol}: ${instrumentState})`;
    throw new AppError(status === 'closed' ? 'market_closed' : 'trading_halted', detail, {
      errors: [{ field: 'symbol', reason: `session is ${status}` }],
    });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.adminWork.then(work, work);
    this.adminWork = next.catch(() => undefined);
    return next;
  }
}

function parseOrderId(text: string): number | undefined {
  if (typeof text !== 'string' || !orderIdPattern.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}

function assertMember(member: string): void {
  if (!memberIdPattern.test(member))
    fail(`member id ${JSON.stringify(member)} does not match memberIdPattern`);
}

function rejectionOf(events: readonly BookEvent[]): RejectReason | undefined {
  for (const event of events) if (event.type === 'rejected') return event.reason;
  return undefined;
}

/** A cancel or replace the engine refused: 409 when the order stopped resting, else 422/409 by reason. */
function commandRejected(reason: RejectReason, what: 'cancel' | 'replace'): AppError {
  const errors = [{ field: '', reason }];
  switch (reason) {
    case 'unknown_order':
    case 'order_not_resting':
      return new AppError('order_not_open', `The order no longer rests in the book (${reason})`, { errors });
    case 'invalid_quantity':
    case 'invalid_price':
    case 'invalid_replace':
      return new AppError('replace_rejected', `The exchange rejected the ${what}: ${reason}`, { errors });
    default:
      return new AppError('order_rejected', `The exchange rejected the ${what}: ${reason}`, { errors });
  }
}

function entryError(problem: EntryProblem): AppError {
  return new AppError(problem.code, `${problem.field || 'body'} ${problem.reason}`, {
    errors: [{ field: problem.field, reason: problem.reason }],
  });
}

function unknownSymbol(symbol: string): AppError {
  return new AppError('unknown_symbol', `No instrument ${JSON.stringify(symbol)} is listed`, {
    errors: [{ field: 'symbol', reason: 'is not a listed instrument (GET /v1/instruments)' }],
  });
}

function instrumentExists(symbol: string): AppError {
  return new AppError('instrument_exists', `An instrument ${symbol} already exists`, {
    errors: [{ field: 'symbol', reason: 'is already listed' }],
  });
}

function orderNotFound(id: string): AppError {
  return new AppError('order_not_found', `You have no order ${id}`, {
    errors: [{ field: 'id', reason: 'not found' }],
  });
}

function unavailable(detail: string): AppError {
  return new AppError('exchange_unavailable', `The exchange cannot accept commands: ${detail}`);
}
