import { defineErrors } from '../../platform/errors.ts';

/** The exchange's error codes; registered with the platform catalogue when the module starts. */
export const exchangeErrors = defineErrors({
  unknown_symbol: { status: 422, title: 'No instrument is listed under this symbol' },
  instrument_not_found: { status: 404, title: 'No instrument is listed under this symbol' },
  instrument_exists: { status: 409, title: 'An instrument with this symbol already exists' },
  instruments_full: { status: 409, title: 'The exchange lists as many instruments as it can' },
  invalid_instrument: { status: 400, title: 'The instrument definition is not valid' },
  market_closed: { status: 409, title: 'The market for this instrument is closed' },
  trading_halted: { status: 409, title: 'Trading in this instrument is halted' },
  session_transition_invalid: {
    status: 409,
    title: 'This session action does not apply in the current state',
  },
  price_not_on_tick: { status: 422, title: 'The price is not a multiple of the tick size' },
  quantity_not_on_lot: { status: 422, title: 'The quantity is not a multiple of the lot size' },
  price_out_of_band: { status: 422, title: 'The price is outside the price band' },
  quantity_above_max: { status: 422, title: 'The quantity exceeds the largest order allowed' },
  order_not_found: { status: 404, title: 'No order of yours has this id' },
  order_not_open: { status: 409, title: 'The order no longer rests in the book' },
  duplicate_client_order_id: { status: 409, title: 'One of your open orders already has this clientOrderId' },
  replace_rejected: { status: 422, title: 'The exchange rejected the replace' },
  order_rejected: { status: 409, title: 'The exchange rejected the command' },
  exchange_unavailable: { status: 503, title: 'The exchange cannot accept commands right now' },
});

export type ExchangeErrorCode = keyof typeof exchangeErrors;
