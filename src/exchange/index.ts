/*
 * The exchange module's public API: the composition root starts it with `startExchange`; other
 * modules use the service's types and views from here.
 */
export { type ExchangeModule, exchangeDirectoryName, startExchange } from './module.ts';
export {
  type ExchangeListener,
  ExchangeService,
  type Instrument,
  type OrderView,
  orderView,
  type PlaceOrderInput,
  priceFromTicks,
  quantityFromLots,
} from './service/index.ts';
