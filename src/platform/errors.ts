/**
 * The catalogue of error codes. Each code has one HTTP status and a title; the HTTP layer turns an
 * `AppError` into an RFC 9457 `application/problem+json` body. Modules add their own codes with
 * `defineErrors` and register them at composition, so one table still maps every code.
 */
export interface ErrorSpec {
  status: number;
  title: string;
}

export const platformErrors = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_credentials: { status: 401, title: 'Login id or password is wrong' },
  forbidden: { status: 403, title: 'You may not do this' },
  password_change_required: { status: 403, title: 'The password must be changed first' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  concurrency_conflict: { status: 409, title: 'Someone else changed this first; retry' },
  idempotency_request_in_progress: {
    status: 409,
    title: 'A request with this Idempotency-Key is still being processed',
  },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Send application/json' },
  idempotency_key_reused: {
    status: 422,
    title: 'This Idempotency-Key was already used with a different request',
  },
  account_locked: { status: 423, title: 'The account is locked after too many failed logins' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal error' },
  service_unavailable: { status: 503, title: 'A service this depends on is unavailable' },
} as const satisfies Record<string, ErrorSpec>;

export type PlatformErrorCode = keyof typeof platformErrors;

const catalogue = new Map<string, ErrorSpec>(Object.entries(platformErrors));

/** Declares a module's error codes; call `registerErrors` with the result at start-up. */
export function defineErrors<T extends Record<string, ErrorSpec>>(specs: T): T {
  return specs;
}

export function registerErrors(specs: Record<string, ErrorSpec>): void {
  for (const [code, spec] of Object.entries(specs)) {
    const existing = catalogue.get(code);
    if (existing && (existing.status !== spec.status || existing.title !== spec.title)) {
      throw new Error(`error code ${code} registered twice with different meanings`);
    }
    catalogue.set(code, spec);
  }
}

export function errorSpec(code: string): ErrorSpec {
  return catalogue.get(code) ?? platformErrors.internal_error;
}

export function errorCatalogue(): ReadonlyMap<string, ErrorSpec> {
  return catalogue;
}

export interface FieldError {
  /** Dotted path of the offending field ("customerInfo.email"), or "" for the whole body. */
  field: string;
  reason: string;
}

/** An expected failure that reaches the client as problem+json. Never used for broken invariants. */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[];
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    const spec = errorSpec(code);
    super(detail ?? spec.title);
    this.name = 'AppError';
    this.code = catalogue.has(code) ? code : 'internal_error';
    this.status = spec.status;
    this.title = spec.title;
    this.errors = options.errors ?? [];
    this.headers = options.headers ?? {};
  }
}

/** Shorthand for a 400 naming one field. */
export function invalidField(field: string, reason: string): AppError {
  return new AppError('validation_failed', `${field} ${reason}`, { errors: [{ field, reason }] });
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors: FieldError[];
  instance?: string;
}

export function problemType(code: string): string {
  return `/problems/${code}`;
}

export function toProblem(error: AppError, instance?: string): ProblemBody {
  return {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    errors: error.errors,
    ...(instance ? { instance } : {}),
  };
}

/** A concurrency conflict in the event store or elsewhere: typed, so callers can retry. */
export class ConcurrencyError extends AppError {
  readonly expected: bigint | string;
  readonly actual: bigint | null;
  constructor(detail: string, expected: bigint | string, actual: bigint | null) {
    super('concurrency_conflict', detail);
    this.name = 'ConcurrencyError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** Asserts an invariant. A failure is a bug: crash loudly, never catch it. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

/**
 * Throws an invariant violation. On hot paths write `if (!ok) fail(message)` rather than
 * `assert(ok, message)` when the message is a template: it is then built only when the check fails.
 */
export function fail(message: string): never {
  throw new Error(`invariant violated: ${message}`);
}
