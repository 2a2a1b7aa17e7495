import { type Static, type TSchema, Type } from '@fastify/type-provider-typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import { AppError } from '../../platform/errors.ts';
import { fieldErrors } from '../../platform/http/validation.ts';
import { PlaceOrderBody } from '../http/schemas.ts';
import { webSocketLimits } from './limits.ts';

/*
 * The client → server messages of `/v1/ws` (see docs/exchange-market-data.md). Every message is
 * validated against its op's schema before anything acts on it; a failure is answered with the
 * same problem+json as REST (`validation_failed`, naming the field).
 */

const RequestId = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Client request id, echoed in the answer',
});
const OrderId = Type.String({
  pattern: '^[1-9][0-9]{0,15}$',
  description: 'Exchange order id (decimal, no leading zero: as REST takes it)',
});
const Price = Type.String({ minLength: 1, maxLength: 40, description: 'Decimal string' });
const ChannelList = Type.Array(Type.String({ minLength: 1, maxLength: 80 }), {
  minItems: 1,
  maxItems: webSocketLimits.channelsPerMessageMax,
});

/** The same order as `POST /v1/order` takes (one schema for REST and WebSocket). */
export const WsOrderInput = PlaceOrderBody;
export type WsOrderInput = Static<typeof WsOrderInput>;

const closed = { additionalProperties: false } as const;

export const clientMessageSchemas = {
  auth: Type.Object(
    { op: Type.Literal('auth'), apiKey: Type.String({ minLength: 1, maxLength: 256 }) },
    closed,
  ),
  subscribe: Type.Object({ op: Type.Literal('subscribe'), channels: ChannelList }, closed),
  unsubscribe: Type.Object({ op: Type.Literal('unsubscribe'), channels: ChannelList }, closed),
  'order.new': Type.Object({ op: Type.Literal('order.new'), id: RequestId, order: WsOrderInput }, closed),
  'order.cancel': Type.Object({ op: Type.Literal('order.cancel'), id: RequestId, orderId: OrderId }, closed),
  'order.replace': Type.Object(
    {
      op: Type.Literal('order.replace'),
      id: RequestId,
      orderId: OrderId,
      quantity: Type.Optional(Type.Integer({ minimum: 1 })),
      price: Type.Optional(Price),
    },
    closed,
  ),
  ping: Type.Object({ op: Type.Literal('ping') }, closed),
} as const satisfies Record<string, TSchema>;

export type ClientOp = keyof typeof clientMessageSchemas;
export type ClientMessage = { [K in ClientOp]: Static<(typeof clientMessageSchemas)[K]> }[ClientOp];

const ops = Object.keys(clientMessageSchemas) as ClientOp[];

// Same options as the HTTP body validator: no coercion, every error reported.
const ajv = new Ajv({
  coerceTypes: false,
  verbose: true,
  allErrors: true,
  removeAdditional: false,
  useDefaults: true,
  strict: false,
});
const validators = new Map<ClientOp, ValidateFunction>(
  ops.map((op) => [op, ajv.compile(clientMessageSchemas[op])]),
);

/** Validates a parsed message: returns it typed, or throws `validation_failed` naming the fields. */
export function validateClientMessage(value: unknown): ClientMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('validation_failed', 'A message must be a JSON object with an op', {
      errors: [{ field: '', reason: 'must be an object' }],
    });
  }
  const op = (value as { op?: unknown }).op;
  if (typeof op !== 'string' || !ops.includes(op as ClientOp)) {
    const reason = `must be one of ${ops.map((o) => JSON.stringify(o)).join(', ')}`;
    throw new AppError('validation_failed', `op ${reason}`, { errors: [{ field: 'op', reason }] });
  }
  const validate = validators.get(op as ClientOp)!;
  if (!validate(value)) {
    const errors = fieldErrors(validate.errors ?? [], undefined);
    throw new AppError(
      'validation_failed',
      errors.map((e) => `${e.field || 'message'} ${e.reason}`).join('; '),
      {
        errors,
      },
    );
  }
  return value as ClientMessage;
}

/** The request id of a message that failed validation, when it carried a usable one. */
export function requestIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
}
