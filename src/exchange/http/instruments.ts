import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ExchangeService } from '../service/index.ts';
import { InstrumentList } from './schemas.ts';

/** The public list of instruments with their session status: what a newcomer looks at first. */
export function exchangeInstrumentRoutes(deps: { service: ExchangeService }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/instruments',
      {
        config: { access: 'public' },
        schema: {
          tags: ['exchange market data'],
          summary: 'Listed instruments, their trading terms and session status',
          response: { 200: InstrumentList },
        },
      },
      async () => ({ instruments: deps.service.instruments() }),
    );
  };
}
