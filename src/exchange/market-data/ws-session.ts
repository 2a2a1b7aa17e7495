import { anonymous, assertAuthorized, type Principal } from '../../identity/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError, type ProblemBody, toProblem } from '../../platform/errors.ts';
import { parseStrictJson } from '../../platform/http/strict-json.ts';
import { type Channel, parseChannel } from './channels.ts';
import type { HubSocket, MarketDataHub, Subscriber } from './hub.ts';
import type { webSocketLimits } from './limits.ts';
import { type ClientMessage, requestIdOf, validateClientMessage, type WsOrderInput } from './ws-protocol.ts';

/** What the WebSocket does with orders: the exchange service's order entry (structural). */
export interface OrderOperations {
  placeOrder(member: string, input: WsOrderInput): Promise<unknown>;
  cancelOrder(member: string, orderId: string): Promise<unknown>;
  replaceOrder(
    member: string,
    orderId: string,
    change: { quantity?: number; price?: string },
  ): Promise<unknown>;
}

export type WebSocketLimits = { [K in keyof typeof webSocketLimits]: number };

export interface WsSessionDeps {
  hub: MarketDataHub;
  orders: OrderOperations;
  /** Checks the key of an `auth` message, and a key again (identity's `service.authenticateApiKey`). */
  authenticateApiKey(apiKey: string): Promise<Principal>;
  /** A key verified lately, without a promise (identity's `service.cachedApiKey`); else the async check. */
  cachedApiKey?(apiKey: string, connection: object): Principal | undefined;
  /** The API key the upgrade request carried, if any: order operations check it again. */
  apiKey?: string;
  clock: Clock;
  limits: WebSocketLimits;
  /**
   * Who the connection counts as for the hub's per-client allowances (`ip:<address>` or the
   * upgrade's API key's `member:<id>`); default one shared allowance.
   */
  client?: string;
  /** Where unexpected failures are reported (they reach the client as `internal_error`). */
  logError(error: unknown, message: string): void;
}

/** Close code and reason when a client keeps sending messages that are refused. */
export const abuseClose = { code: 1008, reason: 'too many refused messages' } as const;

/**
 * One `/v1/ws` connection: validates every client message, subscribes through the hub, and runs
 * order operations for the authenticated member, answering them strictly in the order received.
 * Every outgoing message goes through the hub subscriber's bounded send buffer.
 */
export class WsSession {
  readonly subscriber: Subscriber;
  #principal: Principal;
  /** The key behind a member principal: checked again for every order operation. */
  #apiKey: string | undefined;
  /** A check of #apiKey against the database in flight, shared by the operations that wait for it. */
  #keyCheck: Promise<string> | undefined;
  /** Order operations wait for an `auth` still being checked, so "auth then order" needs no round trip. */
  #authChecked: Promise<void> = Promise.resolve();
  #authPending = false;
  #replies: Promise<void> = Promise.resolve();
  #pendingOrderOps = 0;
  #refused = 0;
  #windowStartMs = Number.NEGATIVE_INFINITY;
  #windowMessages = 0;

  constructor(
    readonly socket: HubSocket,
    principal: Principal,
    private readonly deps: WsSessionDeps,
  ) {
    this.#principal = principal;
    this.#apiKey = deps.apiKey;
    this.subscriber = deps.hub.connect(socket, deps.logError, deps.client);
  }

  get principal(): Principal {
    return this.#principal;
  }

  /** Handles one frame from the client. */
  receive(data: Buffer, isBinary: boolean): void {
    if (this.subscriber.closed) return;
    if (!this.#withinRate()) {
      this.#refuse(
        new AppError('rate_limited', `At most ${this.deps.limits.messagesPerSecondMax} messages per second`),
      );
      return;
    }
    if (isBinary) {
      this.#refuse(invalidMessage('', 'must be a JSON text frame'));
      return;
    }
    if (data.length > this.deps.limits.messageBytesMax) {
      this.#refuse(
        new AppError(
          'payload_too_large',
          `A message must be at most ${this.deps.limits.messageBytesMax} bytes`,
        ),
      );
      return;
    }
    const text = data.toString('utf8');
    let value: unknown;
    let message: ClientMessage;
    try {
      value = parseStrictJson(text);
      message = validateClientMessage(value);
    } catch (error) {
      // A message refused for a float or a repeated key is still JSON: its id, read leniently, lets
      // the client match the error to its request, answered in its turn.
      this.#refuse(error, requestIdOf(value ?? parsedLeniently(text)));
      return;
    }
    try {
      this.#dispatch(message);
    } catch (error) {
      // A bug answering one message (a snapshot that cannot be built, say) is that message's
      // internal_error, logged; it must never escape into the socket's event handler and end the process.
      this.#sendError(error, requestIdOf(value));
    }
  }

  /** The socket closed: detach from the hub. Order operations in flight still complete. */
  closed(): void {
    this.subscriber.detach();
  }

  #dispatch(message: ClientMessage): void {
    switch (message.op) {
      case 'ping':
        this.subscriber.send({ type: 'pong' });
        return;
      case 'auth':
        this.#auth(message.apiKey);
        return;
      case 'subscribe':
        this.#subscribe(message.channels);
        return;
      case 'unsubscribe':
        this.deps.hub.unsubscribe(this.subscriber, message.channels);
        // Queued after any update already on its way: nothing for these channels follows it.
        this.subscriber.send({ type: 'unsubscribed', channels: message.channels });
        return;
      case 'order.new':
        this.#orderOp(message.id, (member) => this.deps.orders.placeOrder(member, message.order));
        return;
      case 'order.cancel':
        this.#orderOp(message.id, (member) => this.deps.orders.cancelOrder(member, message.orderId));
        return;
      case 'order.replace': {
        const change = {
          ...(message.quantity === undefined ? {} : { quantity: message.quantity }),
          ...(message.price === undefined ? {} : { price: message.price }),
        };
        this.#orderOp(message.id, (member) => this.deps.orders.replaceOrder(member, message.orderId, change));
        return;
      }
      default: {
        const unknown: never = message;
        throw new Error(`unhandled op ${JSON.stringify(unknown)}`);
      }
    }
  }

  #auth(apiKey: string): void {
    // One check at a time: a socket cannot fan out key lookups faster than they are answered.
    if (this.#authPending) {
      this.#refuse(new AppError('conflict', 'An auth message is still being checked; wait for its answer'));
      return;
    }
    this.#authPending = true;
    const checking = this.deps.authenticateApiKey(apiKey).then(
      (principal) => {
        this.#authPending = false;
        this.#principal = principal;
        this.#apiKey = apiKey;
        const member = principal.kind === 'member' ? principal.memberId : null;
        this.subscriber.send({ type: 'auth', member });
      },
      (error: unknown) => {
        this.#authPending = false;
        this.#refuse(error);
      },
    );
    this.#authChecked = this.#authChecked.then(() => checking);
  }

  #subscribe(names: readonly string[]): void {
    const channels: Channel[] = [];
    for (const [index, name] of names.entries()) {
      const parsed = parseChannel(name);
      if ('problem' in parsed) {
        this.#refuse(invalidMessage(`channels.${index}`, parsed.problem));
        return;
      }
      if (this.deps.hub.market(parsed.symbol) === undefined) {
        this.#refuse(
          new AppError('not_found', `No instrument is listed under ${parsed.symbol}`, {
            errors: [{ field: `channels.${index}`, reason: 'names an unlisted symbol' }],
          }),
        );
        return;
      }
      channels.push(parsed);
    }
    const after = new Set([...this.subscriber.channels, ...channels.map((c) => c.name)]);
    if (after.size > this.deps.limits.subscriptionsPerSocketMax) {
      const reason = `would exceed ${this.deps.limits.subscriptionsPerSocketMax} subscriptions per connection`;
      this.#refuse(
        new AppError('subscriptions_limit_exceeded', `channels ${reason}`, {
          errors: [{ field: 'channels', reason }],
        }),
      );
      return;
    }
    this.deps.hub.subscribe(this.subscriber, channels);
  }

  /** Starts the operation now; its answer waits for every earlier order answer. */
  #orderOp(id: string, run: (member: string) => Promise<unknown>): void {
    if (this.#pendingOrderOps >= this.deps.limits.pendingOrderOpsMax) {
      this.#sendError(
        new AppError(
          'rate_limited',
          `At most ${this.deps.limits.pendingOrderOpsMax} order operations in flight`,
        ),
        id,
      );
      return;
    }
    this.#pendingOrderOps++;
    const answer = this.#authChecked
      .then(() => this.#member())
      .then(run)
      .then(
        (order) => ({ type: 'order', id, order }),
        (error: unknown) => ({ type: 'error', id, problem: this.#problem(error) }),
      );
    this.#replies = this.#replies
      .then(() => answer)
      .then((reply) => {
        this.#pendingOrderOps--;
        this.subscriber.send(reply);
      });
  }

  /**
   * The member an order operation acts for, its key checked again as a REST request's is: a key
   * revoked while the socket is open stops trading at once on this node, and within the API-key
   * cache time on the others. A key that fails the check ends the session's authentication.
   */
  #member(): string | Promise<string> {
    assertAuthorized(this.#principal, 'exchange:trade');
    const apiKey = this.#apiKey;
    if (apiKey === undefined) return (this.#principal as Extract<Principal, { kind: 'member' }>).memberId;
    const cached = this.deps.cachedApiKey?.(apiKey, this);
    if (cached?.kind === 'member') return cached.memberId;
    this.#keyCheck ??= this.deps.authenticateApiKey(apiKey).then(
      (principal) => {
        this.#keyCheck = undefined;
        assertAuthorized(principal, 'exchange:trade');
        return (principal as Extract<Principal, { kind: 'member' }>).memberId;
      },
      (error: unknown) => {
        this.#keyCheck = undefined;
        if (this.#apiKey === apiKey) {
          this.#principal = anonymous;
          this.#apiKey = undefined;
        }
        throw error;
      },
    );
    return this.#keyCheck;
  }

  #withinRate(): boolean {
    const nowMs = this.deps.clock.nowMs();
    if (nowMs - this.#windowStartMs >= 1_000) {
      this.#windowStartMs = nowMs;
      this.#windowMessages = 0;
    }
    this.#windowMessages++;
    return this.#windowMessages <= this.deps.limits.messagesPerSecondMax;
  }

  /** Answers a refused message; a client that keeps sending them is closed 1008. */
  #refuse(error: unknown, id?: string): void {
    this.#refused++;
    this.#sendError(error, id);
    if (this.#refused > this.deps.limits.refusedMessagesMax && !this.subscriber.closed) {
      this.subscriber.detach();
      this.socket.close(abuseClose.code, abuseClose.reason);
    }
  }

  /**
   * An error answering a message with an id (an order operation, or a refused one) keeps its place
   * behind the order answers still pending, so answers come in the order the messages came.
   */
  #sendError(error: unknown, id?: string): void {
    const reply = { type: 'error', ...(id === undefined ? {} : { id }), problem: this.#problem(error) };
    if (id !== undefined && this.#pendingOrderOps > 0) {
      this.#replies = this.#replies.then(() => {
        this.subscriber.send(reply);
      });
      return;
    }
    this.subscriber.send(reply);
  }

  #problem(error: unknown): ProblemBody {
    if (error instanceof AppError) return toProblem(error);
    this.deps.logError(error, 'WebSocket operation failed');
    return toProblem(new AppError('internal_error', 'Something went wrong on our side; it has been logged'));
  }
}

function invalidMessage(field: string, reason: string): AppError {
  return new AppError('validation_failed', `${field || 'message'} ${reason}`, {
    errors: [{ field, reason }],
  });
}

function parsedLeniently(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
