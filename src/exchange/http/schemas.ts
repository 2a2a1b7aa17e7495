import { Type } from '@fastify/type-provider-typebox';
import { sequencerLimits } from '../sequencer/index.ts';
import { symbolPattern } from '../sequencer/limits.ts';
import { exchangeServiceLimits } from '../service/index.ts';

/**
 * TypeBox schemas of the exchange's order-entry, instrument and session API. The service checks
 * the same things again (the WebSocket path reaches it without these schemas); the schemas give
 * early 400s and the OpenAPI document.
 */
export { problemSchema as Problem } from '../../platform/http/app.ts';

const decimal = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 40,
    pattern: '^(0|[1-9][0-9]*)(\\.[0-9]+)?$',
    description,
  });

const symbol = Type.String({
  minLength: 1,
  maxLength: sequencerLimits.symbolLengthMax,
  pattern: symbolPattern.source,
  description: 'Instrument symbol, e.g. AMZN',
});

const timestamp = Type.String({ format: 'date-time' });
const side = Type.Union([Type.Literal('buy'), Type.Literal('sell')]);
const orderType = Type.Union([Type.Literal('limit'), Type.Literal('market')]);
const timeInForce = Type.Union(
  [Type.Literal('GTC'), Type.Literal('DAY'), Type.Literal('IOC'), Type.Literal('FOK')],
  { description: 'Default GTC for limit orders, IOC for market orders (which take only IOC or FOK)' },
);
const sessionState = Type.Union([Type.Literal('open'), Type.Literal('halted'), Type.Literal('closed')]);
const quantity = Type.Integer({ minimum: 1, description: 'Whole shares, a multiple of the lot size' });

export const PlaceOrderBody = Type.Object(
  {
    symbol,
    side,
    orderType,
    price: Type.Optional(decimal('Limit price, a multiple of the tick size; absent for market orders')),
    quantity,
    timeInForce: Type.Optional(timeInForce),
    postOnly: Type.Optional(Type.Boolean()),
    selfTradePrevention: Type.Optional(
      Type.Union(
        [
          Type.Literal('cancel_newest'),
          Type.Literal('cancel_oldest'),
          Type.Literal('cancel_both'),
          Type.Literal('none'),
        ],
        {
          description:
            'When this order would trade with a resting order of the same member account: cancel this order (default), the resting one, both, or let them trade',
        },
      ),
    ),
    clientOrderId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: exchangeServiceLimits.clientOrderIdLengthMax,
        pattern: '^[\\x21-\\x7e]+$',
        description: 'Your own id; unique among your open orders',
      }),
    ),
    account: Type.Optional(
      Type.String({
        maxLength: exchangeServiceLimits.accountLengthMax,
        pattern: '^[A-Za-z0-9._-]*$',
        description: 'Your sub-account; self-trade prevention works per sub-account',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ReplaceOrderBody = Type.Object(
  {
    quantity: Type.Optional(
      Type.Integer({ minimum: 1, description: 'The new open (unfilled) quantity in shares' }),
    ),
    price: Type.Optional(decimal('The new limit price')),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const OrderParams = Type.Object(
  {
    id: Type.String({
      pattern: '^[1-9][0-9]*$',
      maxLength: exchangeServiceLimits.orderIdLengthMax,
      description: 'Order id (decimal)',
    }),
  },
  { additionalProperties: false },
);

/** Every order status, as `Order.status` and the `status` filter of `GET /v1/orders` show it. */
export const orderStatusLiterals = [
  Type.Literal('new'),
  Type.Literal('partially_filled'),
  Type.Literal('filled'),
  Type.Literal('canceled'),
  Type.Literal('rejected'),
  Type.Literal('expired'),
] as const;
const orderStatus = Type.Union([...orderStatusLiterals]);

export const Order = Type.Object(
  {
    id: Type.String(),
    clientOrderId: Type.Union([Type.String(), Type.Null()]),
    creationTime: timestamp,
    symbol: Type.String(),
    side,
    orderType,
    price: Type.Union([Type.String(), Type.Null()]),
    quantity: Type.Integer(),
    filledQuantity: Type.Integer(),
    remainingQuantity: Type.Integer(),
    status: orderStatus,
    rejectReason: Type.Optional(Type.String()),
    cancelReason: Type.Optional(
      Type.Union(
        [
          Type.Literal('user'),
          Type.Literal('ioc_remainder'),
          Type.Literal('market_remainder'),
          Type.Literal('stp'),
        ],
        { description: 'Why a cancelled order was cancelled' },
      ),
    ),
    timeInForce: Type.String({ description: 'GTC, DAY, IOC or FOK' }),
    postOnly: Type.Boolean(),
    account: Type.String(),
    updateTime: timestamp,
  },
  { additionalProperties: false },
);

export const InstrumentCreateBody = Type.Object(
  {
    symbol,
    name: Type.Optional(
      Type.String({ minLength: 1, maxLength: exchangeServiceLimits.instrumentNameLengthMax }),
    ),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code Kinyu knows' }),
    tickSize: decimal('Price increment, e.g. "0.01"'),
    lotSize: Type.Integer({ minimum: 1, maximum: exchangeServiceLimits.lotSizeMax }),
    referencePrice: decimal('Centre of the price band, a multiple of the tick size'),
    priceBandPercent: Type.Optional(decimal('Refuse limit prices further than this % from the reference')),
    maxOrderQuantity: Type.Optional(Type.Integer({ minimum: 1, description: 'Largest order in shares' })),
  },
  { additionalProperties: false },
);

export const Instrument = Type.Object(
  {
    symbol: Type.String(),
    name: Type.String(),
    currency: Type.String(),
    tickSize: Type.String(),
    lotSize: Type.Integer(),
    referencePrice: Type.String(),
    priceBandPercent: Type.Union([Type.String(), Type.Null()]),
    maxOrderQuantity: Type.Union([Type.Integer(), Type.Null()]),
    status: sessionState,
  },
  { additionalProperties: false },
);

export const InstrumentList = Type.Object(
  { instruments: Type.Array(Instrument) },
  { additionalProperties: false },
);

export const SessionBody = Type.Object(
  {
    symbol: Type.Optional(symbol),
    action: Type.Union([
      Type.Literal('open'),
      Type.Literal('close'),
      Type.Literal('halt'),
      Type.Literal('resume'),
    ]),
  },
  { additionalProperties: false },
);

const sessionsFields = {
  market: sessionState,
  instruments: Type.Array(
    Type.Object(
      {
        symbol: Type.String(),
        state: sessionState,
        /** Market-wide and instrument state combined. */
        status: sessionState,
      },
      { additionalProperties: false },
    ),
  ),
};

export const Sessions = Type.Object(sessionsFields, { additionalProperties: false });

export const SessionChange = Type.Object(
  { ...sessionsFields, expiredOrders: Type.Integer({ description: 'DAY orders this change expired' }) },
  { additionalProperties: false },
);
