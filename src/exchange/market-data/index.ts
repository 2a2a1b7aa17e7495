/*
 * Public API of exchange market data: the hub (an ExchangeListener) with its per-symbol replicas,
 * trade tape and candles; SQL candle history; and the WebSocket session the `/v1/ws` route runs.
 * The HTTP plugins are `marketDataRoutes` (src/exchange/http/market-data.ts) and
 * `exchangeWebSocket` (src/exchange/http/ws.ts).
 */
export {
  type BookChanges,
  type L2Delta,
  type L3Delta,
  MarketDataBook,
  type ReplicaOrder,
  type ReplicaOrders,
} from './book-replica.ts';
export { type CandleHistory, queryCandles, sqlCandleHistory } from './candle-history.ts';
export {
  bucketStartMs,
  type Candle,
  type CandleResolution,
  CandleSeries,
  CandleSet,
  candleResolutionNames,
  candleResolutions,
} from './candles.ts';
export { type Channel, channelNames, parseChannel } from './channels.ts';
export { marketDataErrors } from './errors.ts';
export { loadMarketDataSeed, type MarketDataSeed } from './history-seed.ts';
export {
  type HubSocket,
  MarketDataHub,
  type MarketDataHubOptions,
  type MarketDataSource,
  marketDataFailedClose,
  type SendBufferLimits,
  Subscriber,
  SymbolMarket,
  slowConsumerClose,
} from './hub.ts';
export { marketDataLimits, webSocketLimits } from './limits.ts';
export { RingBuffer } from './ring-buffer.ts';
export { type TapeTrade, TradeTape, tapeTrades } from './trade-tape.ts';
export { type MarketInstrument, Units } from './views.ts';
export { clientMessageSchemas, validateClientMessage, type WsOrderInput } from './ws-protocol.ts';
export { abuseClose, type OrderOperations, type WebSocketLimits, WsSession } from './ws-session.ts';
