import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { UserPrincipal, UserRole } from '../../src/identity/domain/types.ts';
import { createIdentityModule, type IdentityModule } from '../../src/identity/module.ts';
import {
  createPasswordHasher,
  type PasswordHasher,
  testScryptParams,
} from '../../src/identity/password-hash.ts';
import type { IdentityService } from '../../src/identity/service.ts';
import { ManualClock } from '../../src/platform/clock.ts';
import { AppError, toProblem } from '../../src/platform/errors.ts';
import { uuidv7Generator } from '../../src/platform/ids.ts';
import type { Logger } from '../../src/platform/log.ts';
import type { Pool } from '../../src/platform/sql/pool.ts';

export const testTokenSecret = 'kinyu-test-token-secret-0123456789abcdef';

export const testSettings = {
  tokenTtlSeconds: 900,
  lockoutThreshold: 5,
  lockoutSeconds: 900,
  apiKeyCacheMs: 0,
  rateLimitLoginMax: 30,
  rateLimitWindowMs: 60_000,
};

export interface TestIdentity {
  module: IdentityModule;
  service: IdentityService;
  clock: ManualClock;
  hasher: PasswordHasher;
}

/** The identity module on a test database, with a hand-moved clock and cheap scrypt parameters. */
export function createTestIdentity(
  pool: Pool,
  options: { settings?: Partial<typeof testSettings>; log?: Logger; hasher?: PasswordHasher } = {},
): TestIdentity {
  const clock = new ManualClock('2026-03-02T09:00:00.000Z');
  const hasher = options.hasher ?? createPasswordHasher(testScryptParams);
  const module = createIdentityModule({
    pool,
    clock,
    ids: uuidv7Generator(clock),
    settings: { ...testSettings, ...options.settings },
    tokenSecret: testTokenSecret,
    passwordHasher: hasher,
    ...(options.log ? { log: options.log } : {}),
  });
  return { module, service: module.service, clock, hasher };
}

/**
 * A minimal Fastify app standing in for the platform's buildApp: the TypeBox provider, the same ajv
 * options, and an error handler mapping AppError and validation failures to problem+json.
 */
export async function buildTestApp(
  identity: IdentityModule,
  options: { logger?: Logger; extraRoutes?: (app: TestApp) => void } = {},
): Promise<TestApp> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : {}),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const appError = toAppError(error);
    return reply
      .code(appError.status)
      .headers(appError.headers)
      .type('application/problem+json')
      .send(toProblem(appError));
  });
  await app.register(identity.authPlugin);
  await app.register(identity.routes);
  options.extraRoutes?.(app);
  await app.ready();
  return app;
}

function toAppError(error: FastifyError): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) {
    const errors = error.validation.map((v) => ({
      field: v.instancePath.replace(/^\//, ''),
      reason: v.message ?? '',
    }));
    return new AppError('validation_failed', error.message, { errors });
  }
  return new AppError('internal_error', error.message);
}

export type TestApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export const strongPassword = 'Correct-Horse-42';

/** A user with a chosen password and no pending change, made through the public service API. */
export async function createUser(
  service: IdentityService,
  loginId: string,
  password: string = strongPassword,
  roles: UserRole[] = ['customer'],
): Promise<{ userId: string; principal: UserPrincipal }> {
  const { user, temporaryPassword } = await service.createUserWithTemporaryPassword({ loginId, roles });
  const first = await service.login(loginId, temporaryPassword);
  const temporary = await service.authenticateToken(first.token);
  const changed = await service.changePassword(temporary, {
    currentPassword: temporaryPassword,
    newPassword: password,
  });
  return { userId: user.id, principal: await service.authenticateToken(changed.token) };
}

/** Logs in through HTTP and returns the bearer header for later requests. */
export async function loginHeader(app: TestApp, loginId: string, password: string = strongPassword) {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { loginId, password },
  });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  return { authorization: `Bearer ${response.json().token as string}` };
}
