import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { ExchangeService } from '../service/index.ts';
import {
  Instrument,
  InstrumentCreateBody,
  InstrumentList,
  Problem,
  SessionBody,
  SessionChange,
  Sessions,
} from './schemas.ts';

const ExchangeStatus = Type.Object(
  {
    lastSeq: Type.Integer({ description: 'Seq of the last durable (acknowledged) command' }),
    stateHash: Type.String({
      description:
        'SHA-256 of every book as of stateHashSeq; `kinyu exchange verify` and a standby print the same at that seq',
    }),
    stateHashSeq: Type.Integer({
      description:
        'Seq of the last command the hash covers: lastSeq, or past it while commands are in flight',
    }),
    symbols: Type.Integer({ description: 'Books held' }),
    openOrders: Type.Integer(),
    projectedSeq: Type.Integer({ description: 'Seq the executions projection has reached' }),
    failed: Type.Boolean({ description: 'True once the journal failed; the exchange needs a restart' }),
  },
  { additionalProperties: false },
);

const tags = ['exchange admin'];
const adminErrors = { 401: Problem, 403: Problem };

/** Exchange administration: instruments and trading sessions (admins only). */
export function exchangeAdminRoutes(deps: {
  service: ExchangeService;
  /** Seq the executions projection has reached. */
  projectedSeq: () => number;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    const { service } = deps;

    app.post(
      '/admin/exchange/instruments',
      {
        config: { access: 'admin:*' },
        schema: {
          tags,
          summary: 'List a new instrument; its session starts open',
          body: InstrumentCreateBody,
          response: { 201: Instrument, 400: Problem, 409: Problem, ...adminErrors },
        },
      },
      async (request, reply) => reply.code(201).send(await service.createInstrument(request.body)),
    );

    app.get(
      '/admin/exchange/instruments',
      {
        config: { access: 'admin:*' },
        schema: {
          tags,
          summary: 'Every listed instrument',
          response: { 200: InstrumentList, ...adminErrors },
        },
      },
      async () => ({ instruments: service.instruments() }),
    );

    app.post(
      '/admin/exchange/session',
      {
        config: { access: 'admin:*' },
        schema: {
          tags,
          summary: 'Open, close, halt or resume trading, market-wide (no symbol) or for one instrument',
          description:
            'close expires the DAY orders of the affected books (through the journal); halt and resume expire nothing, and members may still cancel while halted.',
          body: SessionBody,
          response: { 200: SessionChange, 400: Problem, 404: Problem, 409: Problem, ...adminErrors },
        },
      },
      async (request) => service.applySessionAction(request.body.action, request.body.symbol),
    );

    app.get(
      '/admin/exchange/session',
      {
        config: { access: 'admin:*' },
        schema: { tags, summary: 'Session states', response: { 200: Sessions, ...adminErrors } },
      },
      async () => service.sessions(),
    );

    app.get(
      '/admin/exchange/status',
      {
        config: { access: 'admin:*' },
        schema: {
          tags,
          summary: 'Sequencer position, state hash of the books and projection progress',
          response: { 200: ExchangeStatus, ...adminErrors },
        },
      },
      async () => ({ ...service.status(), projectedSeq: deps.projectedSeq() }),
    );
  };
}
