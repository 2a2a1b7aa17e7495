import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyRequest,
  type onResponseHookHandler,
} from 'fastify';
import type { Registry } from 'prom-client';
import { Histogram } from 'prom-client';
import type { Clock } from '../clock.ts';
import { AppError, errorCatalogue, toProblem } from '../errors.ts';
import { limits } from '../limits.ts';
import { type Logger, lazyChildLogger } from '../log.ts';
import type { Pool } from '../sql/pool.ts';
import { idempotencyPlugin } from './idempotency.ts';
import { parseStrictJson } from './strict-json.ts';
import { createValidatorCompiler, fieldErrors } from './validation.ts';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

export interface AppOptions {
  logger: Logger | false;
  metrics: Registry;
  pool: Pool;
  clock: Clock;
  rateLimit: { max: number; windowMs: number };
  idempotencyTtlHours: number;
  readiness: ReadinessCheck[];
  /** Global plugins that must see every request first (authentication). */
  hooks?: FastifyPluginAsync[];
  /** Module route plugins, registered in order. */
  modules: FastifyPluginAsync[];
  /** The caller's identity for rate-limit and idempotency scopes; defaults to the client IP. */
  callerOf?: (request: FastifyRequest) => string;
  /**
   * The global rate limit's key for a request whose credentials are known before authentication
   * (identity's `knownCaller`); every other request is limited per client address.
   */
  rateLimitKeyOf?: (request: FastifyRequest) => string | undefined;
  version?: string;
}

export type App = FastifyInstance;

/** Builds the HTTP server without listening: tests call `app.inject()`, main calls `listen`. */
export async function buildApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    ...(options.logger
      ? {
          loggerInstance: options.logger as FastifyBaseLogger,
          childLoggerFactory: (logger, bindings, childOptions) =>
            lazyChildLogger(logger as Logger, bindings, childOptions) as FastifyBaseLogger,
        }
      : { logger: false }),
    bodyLimit: limits.requestBodyBytesMax,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>();
  const callerOf = options.callerOf ?? ((request: FastifyRequest) => `ip:${request.ip}`);

  app.setValidatorCompiler(createValidatorCompiler());
  app.setSchemaErrorFormatter((errors, dataVar) => {
    const error = new AppError('validation_failed', undefined, { errors: fieldErrors(errors, dataVar) });
    error.message = error.errors.map((e) => `${e.field || 'body'} ${e.reason}`).join('; ');
    return error;
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? undefined : parseStrictJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  installErrorHandling(app);
  installMetrics(app, options.metrics);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kinyu API',
        version: options.version ?? '0.1.0',
        description:
          'Exchange, brokerage, bank and payments. Errors are RFC 9457 problem+json: {type,title,status,detail,code,errors:[{field,reason}]}. Money and prices are decimal strings.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    global: true,
    max: options.rateLimit.max,
    timeWindow: options.rateLimit.windowMs,
    keyGenerator: (request) => options.rateLimitKeyOf?.(request) ?? `ip:${request.ip}`,
    // The context does not carry a route's own window, and its `after` is the time left, not the
    // window's length: say what the client can act on.
    errorResponseBuilder: (_request, context) => {
      const retryAfter = Math.ceil(context.ttl / 1000);
      return new AppError(
        'rate_limited',
        `At most ${context.max} requests per window on this route; retry in ${retryAfter} s`,
        { headers: { 'retry-after': String(retryAfter) } },
      );
    },
  });
  for (const hook of options.hooks ?? []) await app.register(hook);
  await app.register(idempotencyPlugin, {
    pool: options.pool,
    clock: options.clock,
    ttlHours: options.idempotencyTtlHours,
    callerOf,
  });
  registerOperationalRoutes(app, options);
  for (const module of options.modules) await app.register(module);
  return app;
}

function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    for (const [name, value] of Object.entries(appError.headers)) reply.header(name, value);
    reply
      .code(appError.status)
      .type('application/problem+json')
      .send(toProblem(appError, request.url.split('?')[0]));
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .type('application/problem+json')
      .send(
        toProblem(new AppError('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}`)),
      );
  });
}

function toAppError(error: FastifyError | AppError): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) {
    return new AppError('validation_failed', error.message, {
      errors: fieldErrors(error.validation as never, error.validationContext),
    });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(
        'payload_too_large',
        `The body must be at most ${limits.requestBodyBytesMax} bytes`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'Send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('malformed_json', error.message);
  }
  if (error.statusCode === 429) return new AppError('rate_limited', error.message);
  if (error.statusCode && error.statusCode < 500) return new AppError('validation_failed', error.message);
  return new AppError('internal_error', 'Something went wrong on our side; it has been logged');
}

function installMetrics(app: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: 'kinyu_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // Per route, with its labels bound in (no per-request route lookup); unmatched requests globally.
  app.addHook('onRoute', (route) => {
    const url = route.url;
    const onResponse: onResponseHookHandler = (request, reply, done) => {
      duration.observe(
        { method: request.method, route: url, status: reply.statusCode },
        reply.elapsedTime / 1000,
      );
      done();
    };
    route.onResponse = [...(route.onResponse === undefined ? [] : [route.onResponse].flat()), onResponse];
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) {
      duration.observe(
        { method: request.method, route: 'unmatched', status: reply.statusCode },
        reply.elapsedTime / 1000,
      );
    }
    done();
  });
}

const problemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
  errors: Type.Array(Type.Object({ field: Type.String(), reason: Type.String() })),
  instance: Type.Optional(Type.String()),
});

/** Shared problem+json response schemas for route declarations. */
export const problemResponses = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
  422: problemSchema,
  423: problemSchema,
  429: problemSchema,
} as const;

export { problemSchema };

function registerOperationalRoutes(app: FastifyInstance, options: AppOptions): void {
  const ops = app.withTypeProvider<TypeBoxTypeProvider>();
  ops.get(
    '/healthz',
    { schema: { tags: ['operations'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  const readySchema = Type.Object({
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    checks: Type.Record(Type.String(), Type.Boolean()),
  });
  ops.get(
    '/readyz',
    { schema: { tags: ['operations'], response: { 200: readySchema, 503: readySchema } } },
    async (_request, reply) => {
      const results = await Promise.all(
        options.readiness.map(async (r) => [r.name, await r.check().catch(() => false)] as const),
      );
      const checks = Object.fromEntries(results);
      const ready = results.every(([, ok]) => ok);
      reply.code(ready ? 200 : 503);
      return { status: ready ? ('ready' as const) : ('not_ready' as const), checks };
    },
  );
  ops.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(options.metrics.contentType);
    return options.metrics.metrics();
  });
  ops.get(
    '/problems/:code',
    {
      schema: {
        tags: ['operations'],
        params: Type.Object({ code: Type.String({ maxLength: 100 }) }),
        response: {
          200: Type.Object({ code: Type.String(), status: Type.Integer(), title: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const spec = errorCatalogue().get(request.params.code);
      if (!spec) throw new AppError('not_found', `No error code ${request.params.code}`);
      return { code: request.params.code, ...spec };
    },
  );
}
