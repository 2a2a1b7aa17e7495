import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const redactedPaths = [
  'password',
  '*.password',
  'newPassword',
  '*.newPassword',
  'currentPassword',
  '*.currentPassword',
  'temporaryPassword',
  '*.temporaryPassword',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, redact: { paths: redactedPaths, censor: '[redacted]' }, base: { service: 'kinyu' } },
    destination,
  );
}

const levelNames = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
const parentKey = Symbol('kinyu.log.parent');
const bindingsKey = Symbol('kinyu.log.bindings');
const childKey = Symbol('kinyu.log.child');

interface LazyState {
  [parentKey]: Logger;
  [bindingsKey]: pino.Bindings;
  [childKey]?: Logger;
}

/** Per parent logger: the prototype of its lazy children (made once; no closures per request). */
const lazyPrototypes = new WeakMap<Logger, Logger>();

/**
 * Fastify's per-request logger (its `childLoggerFactory`) without pino's per-request child: a pino
 * child serialises and redacts its bindings when it is made, which costs as much on the order path
 * as the matching itself, and at level `warn` almost no request ever logs. This logger inherits from
 * the parent (disabled levels stay pino's no-ops) and makes the real child, with the bindings
 * (`reqId`), the first time it writes a line. The parent's level is read when its first request
 * logger is made; the app does not change levels at run time.
 */
export function lazyChildLogger(
  parent: Logger,
  bindings: pino.Bindings,
  options: pino.ChildLoggerOptions,
): Logger {
  // A route with its own level or serializers gets a real child at once.
  if (options.level !== undefined || options.serializers !== undefined)
    return parent.child(bindings, options);
  const lazy = Object.create(lazyPrototypeOf(parent)) as Logger & LazyState;
  lazy[parentKey] = parent;
  lazy[bindingsKey] = bindings;
  return lazy;
}

function lazyPrototypeOf(parent: Logger): Logger {
  let prototype = lazyPrototypes.get(parent);
  if (prototype) return prototype;
  prototype = Object.create(parent) as Logger;
  for (const level of levelNames) {
    if (!parent.isLevelEnabled(level)) continue;
    prototype[level] = function (this: LazyState, ...args: Parameters<pino.LogFn>) {
      realChild(this)[level](...args);
    } as pino.LogFn;
  }
  prototype.child = function (this: LazyState, childBindings, childOptions) {
    return realChild(this).child(childBindings, childOptions);
  } as Logger['child'];
  prototype.bindings = function (this: LazyState) {
    return realChild(this).bindings();
  };
  lazyPrototypes.set(parent, prototype);
  return prototype;
}

function realChild(lazy: LazyState): Logger {
  lazy[childKey] ??= lazy[parentKey].child(lazy[bindingsKey]);
  return lazy[childKey];
}
