/*
 * Public API of the exchange service: order entry, instruments and sessions around the sequencer.
 * HTTP routes, the WebSocket gateway, market data and the projector use it through this file.
 */

export type { OrderStatus } from '../orders/order-state.ts';
export { defaultInstruments } from './default-instruments.ts';
export { type ExchangeErrorCode, exchangeErrors } from './errors.ts';
export {
  type ExchangeListener,
  ExchangeService,
  type ExchangeServiceOptions,
  type PlaceOrderInput,
  type ReplaceInput,
  type SessionChange,
  type SessionsView,
} from './exchange-service.ts';
export {
  defineInstrument,
  type InstrumentDefinition,
  type InstrumentInput,
  type InstrumentTerms,
  priceToTicks,
  quantityToLots,
  termsOf,
} from './instruments.ts';
export { accountPattern, clientOrderIdPattern, exchangeServiceLimits } from './limits.ts';
export {
  lastDayEnd,
  nextScheduleEvent,
  parseSchedule,
  type Schedule,
  type ScheduleEvent,
  scheduledState,
} from './schedule.ts';
export { ScheduleTimer } from './schedule-timer.ts';
export {
  decideSessionAction,
  effectiveState,
  type SessionAction,
  type SessionState,
  sessionActions,
  sessionStates,
} from './sessions.ts';
export { ExchangeStore, marketScope } from './store.ts';
export { type Instrument, type OrderView, orderView, priceFromTicks, quantityFromLots } from './views.ts';
