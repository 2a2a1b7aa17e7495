import { Counter, Gauge, type Registry } from 'prom-client';
import { AppError, type ProblemBody, toProblem } from '../../platform/errors.ts';
import type { RateWindow } from '../../platform/rate-window.ts';
import { fail } from '../matching/assert.ts';
import type { BookOrders, Side } from '../matching/index.ts';
import type { SequencedResult } from '../sequencer/index.ts';
import { type BookChanges, MarketDataBook } from './book-replica.ts';
import { type Candle, type CandleResolution, CandleSet, candleResolutionNames } from './candles.ts';
import { type Channel, candleChannelName, channelName, channelNames } from './channels.ts';
import type { MarketDataSeed } from './history-seed.ts';
import { marketDataLimits, webSocketLimits } from './limits.ts';
import { type TapeTrade, TradeTape, tapeTrades } from './trade-tape.ts';
import { type MarketInstrument, Units } from './views.ts';

/**
 * What the hub reads from the exchange at start: instruments, and each live book once (before any
 * submit) to seed its replicas. A structural subset of ExchangeService.
 */
export interface MarketDataSource {
  instrument(symbol: string): MarketInstrument | undefined;
  instruments(): MarketInstrument[];
  /**
   * The live book. The hub asks its `l3` for every resting order: by default the engine caps L3 at
   * matchingLimits.l3OrdersMax per side, below restingOrdersMax, and a replica missing an order
   * would fail on the first event that touches it.
   */
  book(symbol: string): { l3(ordersPerSideMax?: number): BookOrders } | undefined;
  /** Symbols that have a live book, listed or not (the sequencer's `symbols()`), when known. */
  symbols?(): string[];
  readonly lastSeq: number;
}

/** The part of a WebSocket the hub uses (ws's WebSocket fits; tests use a plain object). */
export interface HubSocket {
  /** Bytes queued in the socket and not yet handed to the OS. */
  readonly bufferedAmount: number;
  /**
   * `sent` is called once the frame has been written out (or failed), never from within `send`
   * (ws calls it from the socket's write callback or on a later tick): it may send snapshots, which
   * must not happen while a command is being folded (see MarketDataHub.sendSnapshots).
   */
  send(data: string, sent?: (error?: Error) => void): void;
  close(code: number, reason: string): void;
}

/** The per-subscriber send buffer limits (defaults in webSocketLimits). */
export interface SendBufferLimits {
  socketHighWaterBytes: number;
  sendBufferBytesMax: number;
  sendQueueMessagesMax: number;
}

export interface MarketDataHubOptions {
  source: MarketDataSource;
  metrics: Registry;
  /**
   * Epoch ms when market data started (from the Clock): candles are complete from the next bucket,
   * or from the bucket in progress when `seed` gives it.
   */
  startedAtMs: number;
  /**
   * The trade history at start (loadMarketDataSeed): the bucket in progress at every resolution
   * and the newest trades, so that after a restart snapshots show them whole. Read at the same
   * seq and start time as the hub's; without it candles and tape hold only what trades from now on.
   */
  seed?: MarketDataSeed;
  /** Overrides for tests; default webSocketLimits. */
  sendBuffer?: Partial<SendBufferLimits>;
  tradeTapeTradesMax?: number;
  candlesPerSeriesMax?: number;
  /** Default marketDataLimits.l3KeptBytesMax. */
  l3KeptBytesMax?: number;
  /**
   * book.L3 snapshots a client may have built per window (Subscriber.client): a snapshot served
   * from the kept ones does not count. Unset: no limit.
   */
  l3SnapshotBuilds?: RateWindow;
}

/** Close code and reason for a subscriber whose send buffer would overflow. */
export const slowConsumerClose = { code: 1013, reason: 'slow consumer: send buffer full' } as const;

/** Close code and reason for a subscriber of a symbol whose replica failed (see MarketDataHub #retire). */
export const marketDataFailedClose = {
  code: 1011,
  reason: 'market data failed for a subscribed symbol',
} as const;

const sides: readonly Side[] = ['buy', 'sell'];

/** A book.L3 snapshot message kept for later subscribers (MarketDataHub.#sendSnapshot). */
interface KeptSnapshot {
  /** What it was formatted with: an instrument whose tick or lot size changed gets a new build. */
  units: Units;
  /**
   * Sides the snapshot cut at l3OrdersMax. Once an order on such a side goes, an order from past
   * the cut moves into what a new snapshot shows, which this one and its updates cannot show: the
   * kept snapshot is dropped then.
   */
  cutSides: readonly Side[];
  /** The snapshot message, then every update published on its channel since, in order. */
  texts: string[];
  /** UTF-8 bytes of `texts`. */
  bytes: number;
  /** Update bytes it may still take; past that it is dropped and the next subscriber gets a new build. */
  updateBytesLeft: number;
}

/**
 * Kept snapshots by channel, at most `bytesMax` in all: keeping one past that drops the oldest
 * others (a dropped channel's next subscriber gets a new build).
 */
class KeptSnapshots {
  readonly #byChannel = new Map<string, KeptSnapshot>();
  #bytes = 0;

  constructor(readonly bytesMax: number) {}

  get(channel: string): KeptSnapshot | undefined {
    return this.#byChannel.get(channel);
  }

  /** Keeps a snapshot just built; it may take updates of up to half its size (l3CatchUpBytesMin at least). */
  keep(
    channel: string,
    built: { units: Units; cutSides: readonly Side[]; text: string; bytes: number },
  ): void {
    this.drop(channel);
    const { units, cutSides, text, bytes } = built;
    const updateBytesLeft = Math.max(marketDataLimits.l3CatchUpBytesMin, bytes / 2);
    this.#byChannel.set(channel, { units, cutSides, texts: [text], bytes, updateBytesLeft });
    this.#bytes += bytes;
    this.#trim(channel);
  }

  /** Adds an update published on a kept channel, or drops the snapshot once its updates are too many. */
  append(channel: string, text: string): void {
    const kept = this.#byChannel.get(channel);
    if (!kept) return;
    const bytes = Buffer.byteLength(text);
    kept.updateBytesLeft -= bytes;
    if (kept.updateBytesLeft < 0) {
      this.drop(channel);
      return;
    }
    kept.texts.push(text);
    kept.bytes += bytes;
    this.#bytes += bytes;
    this.#trim(channel);
  }

  drop(channel: string): void {
    const kept = this.#byChannel.get(channel);
    if (!kept) return;
    this.#bytes -= kept.bytes;
    this.#byChannel.delete(channel);
  }

  /** Drops the oldest kept snapshots other than `channel`'s until the total is within bytesMax. */
  #trim(channel: string): void {
    for (const oldest of this.#byChannel.keys()) {
      if (this.#bytes <= this.bytesMax) return;
      if (oldest !== channel) this.drop(oldest);
    }
  }
}

/** What the trade history held for one symbol at start (see MarketDataHubOptions.seed). */
interface SymbolHistory {
  candles: Partial<Record<CandleResolution, Candle>>;
  trades: readonly TapeTrade[];
}

/** One symbol's published state. */
export class SymbolMarket {
  readonly tape: TradeTape;
  readonly candles: CandleSet;
  /** This symbol's channel names, built once (every trade publishes on up to nine of them). */
  readonly names: {
    l2: string;
    l3: string;
    bbo: string;
    trades: string;
    candles: Record<CandleResolution, string>;
  };
  /** Per channel name: seq of the last message published on it (the seed seq before any). */
  readonly #channelSeqs = new Map<string, number>();
  /** Set once the replica threw: the symbol serves nothing more until a restart. */
  failed = false;

  /** `history`, when given, seeds the tape and the candles in progress (see MarketDataHubOptions.seed). */
  constructor(
    readonly symbol: string,
    readonly book: MarketDataBook,
    tradeTapeTradesMax: number,
    candlesPerSeriesMax: number,
    startedAtMs: number,
    history?: SymbolHistory,
  ) {
    this.tape = new TradeTape(tradeTapeTradesMax);
    this.tape.add(history?.trades ?? []);
    this.candles = new CandleSet(candlesPerSeriesMax, startedAtMs, history?.candles);
    this.names = {
      l2: channelName('book.L2', symbol),
      l3: channelName('book.L3', symbol),
      bbo: channelName('bbo', symbol),
      trades: channelName('trades', symbol),
      candles: Object.fromEntries(
        candleResolutionNames.map((resolution) => [resolution, candleChannelName(resolution, symbol)]),
      ) as Record<CandleResolution, string>,
    };
    for (const name of channelNames(symbol)) this.#channelSeqs.set(name, book.lastSeq);
  }

  channelSeq(name: string): number {
    const seq = this.#channelSeqs.get(name);
    if (seq === undefined) fail(`channel ${name} is not one of ${this.symbol}`);
    return seq;
  }

  /** Records a message on `name` at `seq`; returns the channel's previous seq. */
  advance(name: string, seq: number): number {
    const prevSeq = this.channelSeq(name);
    if (!(seq > prevSeq)) fail(`channel ${name} went from seq ${prevSeq} to ${seq}`);
    this.#channelSeqs.set(name, seq);
    return prevSeq;
  }
}

/**
 * Market data: folds every durable command (ExchangeListener.onSequenced, in seq order) into
 * per-symbol replicas, the trade tape and candles, and fans updates out to subscribers. It never
 * waits for a socket: each subscriber has a bounded send buffer, and one that would overflow is
 * disconnected, so a slow reader never slows the engine or other readers.
 */
export class MarketDataHub {
  readonly #source: MarketDataSource;
  readonly #markets = new Map<string, SymbolMarket>();
  readonly #units = new Map<string, { instrument: MarketInstrument; units: Units }>();
  readonly #channelSubscribers = new Map<string, Set<Subscriber>>();
  readonly #subscribers = new Set<Subscriber>();
  readonly #seedSeq: number;
  readonly #startedAtMs: number;
  readonly #tradeTapeTradesMax: number;
  readonly #candlesPerSeriesMax: number;
  readonly #startSeed: MarketDataSeed | undefined;
  readonly sendBuffer: SendBufferLimits;
  #lastSeq: number;
  /** The first update of the command being folded that could not be built (see #publish). */
  #publishFailure: unknown = undefined;
  /** The latest book.L3 snapshot built per channel, and the updates since (see #sendSnapshot). */
  readonly #l3Snapshots: KeptSnapshots;
  readonly #l3Builds: RateWindow | undefined;
  readonly metrics: {
    subscribers: Gauge;
    messagesSent: Counter;
    slowConsumerDisconnects: Counter;
  };

  constructor(options: MarketDataHubOptions) {
    this.#source = options.source;
    this.#seedSeq = options.source.lastSeq;
    this.#lastSeq = this.#seedSeq;
    this.#startedAtMs = options.startedAtMs;
    this.#tradeTapeTradesMax = options.tradeTapeTradesMax ?? marketDataLimits.tradeTapeTradesMax;
    this.#candlesPerSeriesMax = options.candlesPerSeriesMax ?? marketDataLimits.candlesPerSeriesMax;
    this.#startSeed = options.seed;
    this.#l3Snapshots = new KeptSnapshots(options.l3KeptBytesMax ?? marketDataLimits.l3KeptBytesMax);
    this.#l3Builds = options.l3SnapshotBuilds;
    if (options.seed) {
      // History read at another seq or time would double or miss trades around the start.
      if (options.seed.lastSeq !== this.#seedSeq)
        fail(`market data seed read at seq ${options.seed.lastSeq}, the replicas start at ${this.#seedSeq}`);
      if (options.seed.startedAtMs !== this.#startedAtMs)
        fail(`market data seed read for ${options.seed.startedAtMs}, the hub starts at ${this.#startedAtMs}`);
    }
    this.sendBuffer = { ...pickSendBuffer(webSocketLimits), ...options.sendBuffer };
    this.metrics = {
      subscribers: new Gauge({
        name: 'kinyu_marketdata_subscribers',
        help: 'WebSocket connections attached to market data',
        registers: [options.metrics],
      }),
      messagesSent: new Counter({
        name: 'kinyu_marketdata_messages_sent_total',
        help: 'Messages handed to WebSocket connections',
        registers: [options.metrics],
      }),
      slowConsumerDisconnects: new Counter({
        name: 'kinyu_marketdata_slow_consumer_disconnects_total',
        help: 'Connections closed because their send buffer would overflow',
        registers: [options.metrics],
      }),
    };
    // Seed every live book now, before any submit: afterwards the live book may run ahead of durability.
    const symbols = new Set([
      ...options.source.instruments().map((i) => i.symbol),
      ...(options.source.symbols?.() ?? []),
    ]);
    for (const symbol of symbols) {
      const live = options.source.book(symbol);
      this.#add(
        symbol,
        live
          ? MarketDataBook.seed(live.l3(Number.POSITIVE_INFINITY), this.#seedSeq)
          : MarketDataBook.empty(this.#seedSeq),
      );
    }
  }

  /** Seq of the last durable command folded in. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** ExchangeListener: called once per durable command, in seq order. */
  onSequenced(result: SequencedResult): void {
    if (!(result.seq > this.#lastSeq)) fail(`result seq ${result.seq} after ${this.#lastSeq}`);
    this.#lastSeq = result.seq;
    this.#fold(result);
    const failure = this.#publishFailure;
    if (failure !== undefined) {
      this.#publishFailure = undefined;
      throw failure;
    }
  }

  #fold(result: SequencedResult): void {
    const market = this.#markets.get(result.symbol) ?? this.#seed(result.symbol);
    if (market.failed) return;
    let changes: BookChanges;
    try {
      changes = market.book.apply(result.seq, result.events);
    } catch (error) {
      this.#retire(market);
      throw error;
    }
    this.#publishBook(market, result.seq, changes);
    const trades = tapeTrades(result.seq, result.meta?.time ?? Number.NaN, result.events);
    if (trades.length === 0) return;
    if (result.meta === undefined) fail(`seq ${result.seq} traded without meta.time`);
    market.tape.add(trades);
    this.#publish(market, market.names.trades, result.seq, (u) => ({
      trades: trades.map((t) => u.trade(t)),
    }));
    for (const [resolution, changed] of market.candles.add(trades)) {
      this.#publish(market, market.names.candles[resolution], result.seq, (u) => ({
        candles: changed.map((c) => u.candle(c)),
      }));
    }
  }

  /**
   * The published state of a listed instrument, or undefined for an unknown symbol; throws
   * `service_unavailable` for a symbol whose replica failed.
   */
  market(symbol: string): { market: SymbolMarket; units: Units } | undefined {
    const units = this.#unitsOf(symbol);
    if (!units) return undefined;
    const market = this.#markets.get(symbol) ?? this.#seed(symbol);
    if (market.failed) {
      throw new AppError(
        'service_unavailable',
        `Market data for ${symbol} failed and is unavailable until the exchange restarts`,
      );
    }
    return { market, units };
  }

  /**
   * Attaches a socket; every message to it (market data or not) goes through its bounded buffer.
   * `logError` reports a snapshot that could not be built (a bug; the client gets `internal_error`).
   */
  connect(socket: HubSocket, logError: LogError = logToConsole, client = 'anonymous'): Subscriber {
    const subscriber = new Subscriber(socket, this, logError, client);
    this.#subscribers.add(subscriber);
    this.metrics.subscribers.set(this.#subscribers.size);
    return subscriber;
  }

  /**
   * Sends `subscribed`, then a snapshot per channel not yet subscribed, in the order named; updates
   * follow each snapshot with seq/prevSeq. The snapshots go out one at a time as the send buffer
   * drains (see sendSnapshots), so that a client that reads is never dropped for what it asked.
   */
  subscribe(subscriber: Subscriber, channels: readonly Channel[]): void {
    subscriber.send({ type: 'subscribed', channels: channels.map((c) => c.name) });
    for (const channel of channels) {
      if (subscriber.closed) return;
      if (subscriber.channels.has(channel.name)) continue;
      if (!this.#unitsOf(channel.symbol)) fail(`subscribe to ${channel.name} of an unlisted symbol`);
      subscriber.channels.add(channel.name);
      subscriber.awaitSnapshot(channel);
    }
    this.sendSnapshots(subscriber);
  }

  /**
   * Sends the snapshots a subscriber awaits, in order, while its send buffer (socket and queue)
   * holds less than socketHighWaterBytes: each is built only then, at the channel's current seq,
   * and joins its channel as it is sent. The rest wait for the socket to drain: the subscriber calls
   * this again whenever a write completes. A snapshot therefore never meets a buffer fuller than the
   * high-water mark, and one that is waiting holds no memory: a client that reads is never dropped
   * for its snapshots, however large, and one that does not read is sent at most the high-water
   * mark and one snapshot before its updates fill the buffer.
   *
   * Called by subscribe and from the socket's write callbacks, never while a command is being
   * folded: a snapshot built between a replica's change and its channel's update would be ahead of
   * its own seq.
   */
  sendSnapshots(subscriber: Subscriber): void {
    const highWater = this.sendBuffer.socketHighWaterBytes;
    while (!subscriber.closed && subscriber.bufferedBytes < highWater) {
      const channel = subscriber.nextAwaited();
      if (channel === undefined) return;
      this.#sendSnapshot(subscriber, channel);
    }
  }

  /**
   * Builds and sends one snapshot and joins its channel; or refuses the channel, naming it.
   *
   * A book.L3 snapshot of a deep book is about 1 MB of JSON and takes milliseconds to build on the
   * thread that runs the engine, so it is built at most once per channel and seq and kept with the
   * updates published after it: a later subscriber gets that snapshot and those updates (each
   * chained to the one before by prevSeq, as live ones are) instead of a new build, until the
   * updates reach half the snapshot's size (l3CatchUpBytesMin at least), or, for a snapshot cut
   * at l3OrdersMax, until an order on a cut side goes (see KeptSnapshot.cutSides). A client
   * subscribing and unsubscribing in a loop thus costs a build per that much book change, not one
   * each.
   */
  #sendSnapshot(subscriber: Subscriber, channel: Channel): void {
    let texts: readonly string[];
    let bytes: number;
    try {
      // Throws service_unavailable when the symbol's replica failed since the subscribe.
      const found = this.market(channel.symbol);
      if (!found) fail(`snapshot of ${channel.name} of an unlisted symbol`);
      const kept = channel.kind === 'book.L3' ? this.#l3Snapshots.get(channel.name) : undefined;
      if (kept?.units === found.units) {
        texts = kept.texts;
        bytes = kept.bytes;
      } else {
        if (channel.kind === 'book.L3') this.#admitL3Build(subscriber);
        const text = JSON.stringify({
          type: 'snapshot',
          channel: channel.name,
          seq: found.market.channelSeq(channel.name),
          data: snapshotData(channel, found.market, found.units),
        });
        texts = [text];
        bytes = Buffer.byteLength(text);
        if (channel.kind === 'book.L3') {
          const { book } = found.market;
          const cutSides = sides.filter((side) => book.sideSize(side).orders > marketDataLimits.l3OrdersMax);
          this.#l3Snapshots.keep(channel.name, { units: found.units, cutSides, text, bytes });
        }
      }
    } catch (error) {
      subscriber.refuse(channel.name, error);
      return;
    }
    if (!subscriber.fits(bytes)) {
      // Not with the shipped limits (the largest snapshot is under half the buffer, see the docs);
      // a clear refusal rather than a slow-consumer close if the caps or the buffer ever change.
      subscriber.refuse(
        channel.name,
        new AppError(
          'snapshot_too_large',
          `The ${channel.name} snapshot is ${bytes} bytes: more than this connection's send buffer ` +
            `(${this.sendBuffer.sendBufferBytesMax} bytes) can take; the channel is not subscribed`,
        ),
      );
      return;
    }
    const set = this.#channelSubscribers.get(channel.name) ?? new Set<Subscriber>();
    this.#channelSubscribers.set(channel.name, set);
    set.add(subscriber);
    for (const text of texts) subscriber.sendText(text);
  }

  /** Counts a book.L3 build against the subscriber's client; throws rate_limited past its allowance. */
  #admitL3Build(subscriber: Subscriber): void {
    const builds = this.#l3Builds;
    if (builds === undefined || builds.hit(subscriber.client) >= 0) return;
    const retryAfter = Math.ceil(builds.resetInMs(subscriber.client) / 1000);
    throw new AppError(
      'rate_limited',
      `At most ${builds.max} new book.L3 snapshots per ${builds.windowMs / 1000} s for one client; ` +
        `subscribe again in ${retryAfter} s`,
    );
  }

  unsubscribe(subscriber: Subscriber, names: readonly string[]): void {
    for (const name of names) {
      subscriber.channels.delete(name);
      subscriber.stopAwaiting(name);
      const set = this.#channelSubscribers.get(name);
      set?.delete(subscriber);
      if (set?.size === 0) this.#channelSubscribers.delete(name);
    }
  }

  /** Detaches a subscriber (socket closed or dropped). */
  disconnect(subscriber: Subscriber): void {
    this.unsubscribe(subscriber, [...subscriber.channels]);
    if (this.#subscribers.delete(subscriber)) this.metrics.subscribers.set(this.#subscribers.size);
  }

  /** Connections attached right now. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  #publishBook(market: SymbolMarket, seq: number, changes: BookChanges): void {
    const { names } = market;
    if (changes.l2.length > 0) {
      this.#publish(market, names.l2, seq, (u) => ({
        changes: changes.l2.map((d) => u.l2Change(d)),
      }));
    }
    if (changes.l3.length > 0) {
      // A cut snapshot plus this update would no longer show what a new one shows (see #sendSnapshot).
      const kept = this.#l3Snapshots.get(names.l3);
      if (kept && changes.l3.some((d) => d.action === 'delete' && kept.cutSides.includes(d.side)))
        this.#l3Snapshots.drop(names.l3);
      this.#publish(market, names.l3, seq, (u) => ({
        changes: changes.l3.map((d) => u.l3Change(d)),
      }));
    }
    if (changes.l1Changed) {
      this.#publish(market, names.bbo, seq, (u) => u.bbo(market.book.l1()));
    }
  }

  /** Advances the channel's seq and, when anyone listens, sends one serialized update to all. */
  #publish(market: SymbolMarket, channel: string, seq: number, data: (units: Units) => unknown): void {
    const prevSeq = market.advance(channel, seq);
    const subscribers = this.#channelSubscribers.get(channel);
    const kept = this.#l3Snapshots.get(channel) !== undefined;
    if ((!subscribers || subscribers.size === 0) && !kept) return;
    const units = this.#unitsOf(market.symbol);
    if (!units) fail(`subscribers on ${channel} of an unlisted symbol`);
    let text: string;
    try {
      text = JSON.stringify({ type: 'update', channel, seq, prevSeq, data: data(units) });
    } catch (error) {
      // The channel's seq has moved on, so its subscribers see a gap at the next update and
      // resync. The command's other channels still publish; onSequenced rethrows afterwards.
      this.#publishFailure ??= error;
      this.#l3Snapshots.drop(channel);
      return;
    }
    if (kept) this.#l3Snapshots.append(channel, text);
    if (subscribers) for (const subscriber of [...subscribers]) subscriber.sendText(text);
  }

  /**
   * A symbol first seen after start had no book when the hub was seeded (every live book was read
   * then), so its replica starts empty; the live book must not be read now, it may be ahead.
   */
  #seed(symbol: string): SymbolMarket {
    return this.#add(symbol, MarketDataBook.empty(this.#seedSeq));
  }

  #add(symbol: string, book: MarketDataBook): SymbolMarket {
    // A symbol the seed does not list had no trade before start (every traded symbol has a book).
    const seed = this.#startSeed;
    const history = seed && {
      candles: seed.candles.get(symbol) ?? {},
      trades: seed.trades.get(symbol) ?? [],
    };
    const market = new SymbolMarket(
      symbol,
      book,
      this.#tradeTapeTradesMax,
      this.#candlesPerSeriesMax,
      this.#startedAtMs,
      history,
    );
    this.#markets.set(symbol, market);
    return market;
  }

  /**
   * The replica threw part way through a command, so it no longer matches the book. Rather than
   * publish from a diverged copy, the symbol serves nothing more (market() refuses it) until a
   * restart seeds a new replica, and its subscribers are closed so that they notice.
   */
  #retire(market: SymbolMarket): void {
    market.failed = true;
    this.#l3Snapshots.drop(market.names.l3);
    const subscribers = new Set<Subscriber>();
    for (const name of channelNames(market.symbol)) {
      for (const subscriber of this.#channelSubscribers.get(name) ?? []) subscribers.add(subscriber);
    }
    for (const subscriber of subscribers) {
      subscriber.detach();
      subscriber.socket.close(marketDataFailedClose.code, marketDataFailedClose.reason);
    }
  }

  #unitsOf(symbol: string): Units | undefined {
    const instrument = this.#source.instrument(symbol);
    if (!instrument) return undefined;
    const cached = this.#units.get(symbol);
    if (
      cached &&
      cached.instrument.tickSize === instrument.tickSize &&
      cached.instrument.lotSize === instrument.lotSize
    ) {
      return cached.units;
    }
    const units = new Units(instrument);
    this.#units.set(symbol, { instrument: { ...instrument }, units });
    return units;
  }

  /** @internal Called by a subscriber that dropped itself. */
  dropped(subscriber: Subscriber, slow: boolean): void {
    if (slow) this.metrics.slowConsumerDisconnects.inc();
    this.disconnect(subscriber);
  }
}

/** Where a subscriber reports a snapshot that could not be built. */
export type LogError = (error: unknown, message: string) => void;

const logToConsole: LogError = (error, message) => console.error(message, error);

/**
 * One attached socket. Messages go to the socket while its `bufferedAmount` is below the high-water
 * mark, then into a bounded queue drained as the socket writes out; when the socket buffer plus the
 * queue would exceed the byte limit, or the queue the message limit, the socket is closed 1013.
 * Snapshots wait in a list of channels until the buffer has drained (MarketDataHub.sendSnapshots).
 */
export class Subscriber {
  /** The channels subscribed: joined, or awaiting their snapshot. */
  readonly channels = new Set<string>();
  /** Subscribed channels whose snapshot is not sent yet, in the order asked (at most one per channel). */
  readonly #awaited: Channel[] = [];
  #closed = false;
  readonly #queue: { text: string; bytes: number }[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  readonly #sent = (error?: Error): void => {
    if (error) return;
    this.#flush();
    // A write completed, outside any command's fold: the buffer may have room for a snapshot.
    if (this.#awaited.length > 0) this.hub.sendSnapshots(this);
  };

  constructor(
    readonly socket: HubSocket,
    readonly hub: MarketDataHub,
    readonly logError: LogError = logToConsole,
    /** Who the subscriber counts as for per-client allowances (l3SnapshotBuilds). */
    readonly client = 'anonymous',
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Messages waiting in the subscriber's own queue. */
  get queuedMessages(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Bytes buffered for this subscriber: unsent in the socket, and in its own queue. */
  get bufferedBytes(): number {
    return this.socket.bufferedAmount + this.#queuedBytes;
  }

  /** Channels whose snapshot is still to be sent. */
  get awaitedSnapshots(): number {
    return this.#awaited.length;
  }

  /** Whether a message of `bytes` fits the send buffer now (otherwise sending it drops the subscriber). */
  fits(bytes: number): boolean {
    const limits = this.hub.sendBuffer;
    return (
      this.queuedMessages < limits.sendQueueMessagesMax &&
      this.socket.bufferedAmount + this.#queuedBytes + bytes <= limits.sendBufferBytesMax
    );
  }

  /** @internal The hub queues a subscribed channel's snapshot (see MarketDataHub.sendSnapshots). */
  awaitSnapshot(channel: Channel): void {
    this.#awaited.push(channel);
  }

  /** @internal The next channel whose snapshot is due, taken off the list. */
  nextAwaited(): Channel | undefined {
    return this.#awaited.shift();
  }

  /** @internal The channel was unsubscribed: its snapshot, if still awaited, is not sent. */
  stopAwaiting(name: string): void {
    const index = this.#awaited.findIndex((c) => c.name === name);
    if (index >= 0) this.#awaited.splice(index, 1);
  }

  /**
   * A subscribed channel that cannot be served: it is no longer subscribed, and the client gets an
   * `error` naming it (`channel`). An error that is not an AppError is a bug: logged, and sent as
   * `internal_error`.
   */
  refuse(channel: string, error: unknown): void {
    this.channels.delete(channel);
    this.stopAwaiting(channel);
    let problem: ProblemBody;
    if (error instanceof AppError) {
      problem = toProblem(error);
    } else {
      this.logError(error, `market data snapshot of ${channel} failed`);
      problem = toProblem(
        new AppError('internal_error', 'Something went wrong on our side; it has been logged'),
      );
    }
    this.send({ type: 'error', channel, problem });
  }

  /** Sends one message through the bounded buffer; false when the subscriber is (now) closed. */
  send(message: object): boolean {
    return this.sendText(JSON.stringify(message));
  }

  sendText(text: string): boolean {
    if (this.#closed) return false;
    const bytes = Buffer.byteLength(text);
    if (!this.fits(bytes)) {
      this.#drop();
      return false;
    }
    this.#queue.push({ text, bytes });
    this.#queuedBytes += bytes;
    this.#flush();
    return true;
  }

  /** The socket closed: stop sending and detach. */
  detach(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clear();
    this.hub.disconnect(this);
  }

  #flush(): void {
    const highWater = this.hub.sendBuffer.socketHighWaterBytes;
    while (!this.#closed && this.queuedMessages > 0 && this.socket.bufferedAmount < highWater) {
      const next = this.#queue[this.#queueHead]!;
      this.#queueHead++;
      this.#queuedBytes -= next.bytes;
      this.hub.metrics.messagesSent.inc();
      this.socket.send(next.text, this.#sent);
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #drop(): void {
    this.#closed = true;
    this.#clear();
    this.hub.dropped(this, true);
    this.socket.close(slowConsumerClose.code, slowConsumerClose.reason);
  }

  #clear(): void {
    this.#awaited.length = 0;
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#queuedBytes = 0;
  }
}

function snapshotData(channel: Channel, market: SymbolMarket, units: Units): unknown {
  const { book } = market;
  switch (channel.kind) {
    case 'book.L2': {
      const depth = book.l2(marketDataLimits.l2DepthMax);
      const cut =
        depth.bids.length < book.sideSize('buy').levels || depth.asks.length < book.sideSize('sell').levels;
      return markCut(units.depth(depth), cut);
    }
    case 'book.L3':
      return l3Data(market, units);
    case 'bbo':
      return units.bbo(market.book.l1());
    case 'trades':
      return { trades: market.tape.latest(marketDataLimits.tradesPerQueryMax).map((t) => units.trade(t)) };
    case 'candles':
      return { candles: market.candles.series[channel.resolution].candles().map((c) => units.candle(c)) };
    default: {
      const unknown: never = channel;
      throw new Error(`unknown channel ${JSON.stringify(unknown)}`);
    }
  }
}

/** Every resting order up to l3OrdersMax per side (the L3 snapshot, and REST L3), marked when cut. */
export function l3Data(market: SymbolMarket, units: Units) {
  const { book } = market;
  const orders = book.l3(marketDataLimits.l3OrdersMax);
  const cut =
    orders.bids.length < book.sideSize('buy').orders || orders.asks.length < book.sideSize('sell').orders;
  return markCut(units.orders(orders), cut);
}

/**
 * A book snapshot stopped at its cap carries `truncated: true`: the levels or orders past it are
 * not there, so the snapshot and its updates cannot rebuild the whole book (see the docs).
 */
function markCut<T extends object>(data: T, cut: boolean): T | (T & { truncated: true }) {
  return cut ? { ...data, truncated: true } : data;
}

function pickSendBuffer(source: SendBufferLimits): SendBufferLimits {
  return {
    socketHighWaterBytes: source.socketHighWaterBytes,
    sendBufferBytesMax: source.sendBufferBytesMax,
    sendQueueMessagesMax: source.sendQueueMessagesMax,
  };
}
