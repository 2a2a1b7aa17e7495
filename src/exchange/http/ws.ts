import websocket from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { type Principal, readCredentials } from '../../identity/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError, invalidField, registerErrors } from '../../platform/errors.ts';
import { marketDataErrors } from '../market-data/errors.ts';
import type { MarketDataHub } from '../market-data/hub.ts';
import { webSocketLimits } from '../market-data/limits.ts';
import { type OrderOperations, type WebSocketLimits, WsSession } from '../market-data/ws-session.ts';

export interface ExchangeWebSocketDeps {
  hub: MarketDataHub;
  /** The exchange service's placeOrder / cancelOrder / replaceOrder. */
  orders: OrderOperations;
  /** identity's `authenticateHandshake(headers)`: X-API-Key, Authorization or a kinyu.* subprotocol. */
  authenticateHandshake(headers: FastifyRequest['headers']): Promise<Principal>;
  /** identity's `service.authenticateApiKey`, for `{"op":"auth"}` and to check a key again. */
  authenticateApiKey(apiKey: string): Promise<Principal>;
  /** identity's `service.cachedApiKey`: a key verified lately, checked without a promise. */
  cachedApiKey?(apiKey: string, connection: object): Principal | undefined;
  clock: Clock;
  /** Overrides for tests; default webSocketLimits. */
  limits?: Partial<WebSocketLimits>;
}

/** The one subprotocol the server speaks; credentials may ride along as `kinyu.api-key.<key>`. */
export const webSocketSubprotocol = 'kinyu.v1';

/**
 * `GET /v1/ws`: public market data (subscribe/unsubscribe) and, for an authenticated member, order
 * entry. Credentials come with the upgrade request (checked before the upgrade: a bad one is a 401
 * problem+json) or later in an `auth` message. Before the upgrade, a plain GET is a 426 and an
 * offer of subprotocols without `kinyu.v1` a 400. Registers @fastify/websocket in its own scope.
 */
export function exchangeWebSocket(deps: ExchangeWebSocketDeps): FastifyPluginAsync {
  registerErrors(marketDataErrors);
  const limits: WebSocketLimits = { ...webSocketLimits, ...deps.limits };
  return async (app) => {
    await app.register(websocket, {
      options: {
        maxPayload: limits.framePayloadBytesMax,
        handleProtocols: (protocols) => (protocols.has(webSocketSubprotocol) ? webSocketSubprotocol : false),
      },
    });
    const principals = new WeakMap<FastifyRequest, { principal: Principal; apiKey?: string }>();
    app.get(
      '/v1/ws',
      {
        websocket: true,
        config: { access: 'public' },
        schema: {
          tags: ['exchange market data'],
          summary: 'WebSocket: market data channels and order entry',
        },
        preValidation: async (request) => {
          if (!request.ws) throw upgradeRequired();
          checkSubprotocols(request.headers['sec-websocket-protocol']);
          const principal = await deps.authenticateHandshake(request.headers);
          const credentials = readCredentials(request.headers, { subprotocols: true });
          principals.set(request, {
            principal,
            ...(credentials.kind === 'api_key' ? { apiKey: credentials.apiKey } : {}),
          });
        },
      },
      (socket, request) => {
        const checked = principals.get(request);
        if (!checked) throw new Error('WebSocket upgrade without a checked principal');
        const session = new WsSession(socket, checked.principal, {
          hub: deps.hub,
          orders: deps.orders,
          authenticateApiKey: deps.authenticateApiKey,
          ...(deps.cachedApiKey ? { cachedApiKey: deps.cachedApiKey } : {}),
          ...(checked.apiKey === undefined ? {} : { apiKey: checked.apiKey }),
          clock: deps.clock,
          limits,
          // A member counts as itself whatever its address; anyone else as its address.
          client:
            checked.principal.kind === 'member' ? `member:${checked.principal.memberId}` : `ip:${request.ip}`,
          logError: (error, message) => request.log.error({ err: error }, message),
        });
        socket.on('message', (data, isBinary) => session.receive(toBuffer(data), isBinary));
        socket.on('close', () => session.closed());
        socket.on('error', () => session.closed());
      },
    );
  };
}

function upgradeRequired(): AppError {
  return new AppError(
    'upgrade_required',
    'GET /v1/ws is a WebSocket: send the upgrade request (Connection: Upgrade, Upgrade: websocket), ' +
      'e.g. with new WebSocket(url); REST market data is under /v1/marketdata',
    { headers: { upgrade: 'websocket' } },
  );
}

// Without this, ws would upgrade and answer with no subprotocol, which a client that asked for one
// must then fail; a 400 before the upgrade says why.
function checkSubprotocols(header: string | undefined): void {
  if (header === undefined) return;
  const offered = header.split(',').map((protocol) => protocol.trim());
  if (offered.includes(webSocketSubprotocol)) return;
  throw invalidField(
    'headers.sec-websocket-protocol',
    `offers no protocol this server speaks; send Sec-WebSocket-Protocol: ${webSocketSubprotocol} ` +
      `(credentials may ride along: ${webSocketSubprotocol}, kinyu.api-key.<key>), or no Sec-WebSocket-Protocol at all`,
  );
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
