import { matchingLimits } from '../matching/index.ts';

/**
 * Named maxima of market data (TigerBeetle style: put a limit on everything). Exceeding a buffer
 * limit disconnects the subscriber; exceeding a request limit is a 400/422 naming the field.
 */
export const marketDataLimits = {
  /** Trades kept per symbol in the in-memory tape (REST `trades` and the `trades.*` snapshot). */
  tradeTapeTradesMax: 1_000,
  /** Trades one REST call or one `trades.*` snapshot returns at most. */
  tradesPerQueryMax: 1_000,
  /** Trades a REST call returns when `limit` is not given. */
  tradesPerQueryDefault: 100,
  /** Candles kept per symbol and resolution in memory. */
  candlesPerSeriesMax: 1_440,
  /** Candles one REST call returns at most: the range must not span more buckets. */
  candlesPerQueryMax: 5_000,
  /** Levels per side one REST L2 call returns when `depth` is not given. */
  l2DepthDefault: 20,
  /** Levels per side a REST L2 call or a `book.L2.*` snapshot returns at most. */
  l2DepthMax: matchingLimits.l2DepthMax,
  /** Orders per side a REST L3 call or a `book.L3.*` snapshot returns at most. */
  l3OrdersMax: 10_000,
  /**
   * A `book.L3.*` snapshot is kept, with the updates published after it, for later subscribers
   * until those updates reach half its size or this many bytes, whichever is more (then the next
   * subscriber gets a new build).
   */
  l3CatchUpBytesMin: 64 * 1024,
  /** Bytes of kept `book.L3` snapshots and their updates, all symbols together (the oldest go first). */
  l3KeptBytesMax: 64 * 1_048_576,
} as const;

/**
 * Limits of one WebSocket connection. A subscriber whose send buffer would overflow is disconnected
 * (close 1013): the hub never waits for a socket, so the engine is never slowed by a slow reader.
 */
export const webSocketLimits = {
  /**
   * Bytes the socket may hold unsent (ws `bufferedAmount`) before the hub queues messages itself.
   * A subscription's snapshot is built and sent only while less than this is buffered (socket +
   * queue), so even the largest (about 1.9 MB, a book.L3 one) fits in sendBufferBytesMax.
   */
  socketHighWaterBytes: 256 * 1024,
  /** Bytes buffered for one subscriber (socket `bufferedAmount` + own queue) before it is dropped. */
  sendBufferBytesMax: 4 * 1_048_576,
  /** Messages in one subscriber's own queue before it is dropped. */
  sendQueueMessagesMax: 10_000,
  /** Channels one socket may be subscribed to at once. */
  subscriptionsPerSocketMax: 50,
  /** Channels one subscribe or unsubscribe message may name. */
  channelsPerMessageMax: 50,
  /** Client messages accepted per socket in one second; more are answered `rate_limited`. */
  messagesPerSecondMax: 5_000,
  /** Bytes of one client text message; a longer one is answered `payload_too_large`. */
  messageBytesMax: 16 * 1024,
  /** Frames above this are refused by the WebSocket library itself (close 1009). */
  framePayloadBytesMax: 64 * 1024,
  /** Order operations in flight per socket; more are answered `rate_limited`. */
  pendingOrderOpsMax: 100,
  /** Refused messages (bad JSON, invalid, too large, too fast) before the socket is closed 1008. */
  refusedMessagesMax: 20,
} as const;
