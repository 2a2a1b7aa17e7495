import type {} from '@fastify/rate-limit';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { assert } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/app.ts';
import { limits } from '../../platform/limits.ts';
import type { OnboardingService } from './service.ts';
import { applicationLimits } from './validation.ts';

export interface OnboardingRoutesDeps {
  service: OnboardingService;
  /** Applications per client address and window. */
  applyRateLimit: { max: number; timeWindowMs: number };
}

const text = (maxLength: number) => Type.String({ maxLength });

const ApplicationBody = Type.Object(
  {
    customerInfo: Type.Object(
      {
        fullName: text(applicationLimits.fullNameLengthMax * 2),
        email: text(applicationLimits.emailLengthMax),
        phoneNumber: Type.String({ maxLength: 20, description: 'E.164, e.g. +819012345678' }),
        birthDate: Type.String({ maxLength: 10, description: 'YYYY-MM-DD; applicants must be adults' }),
        idType: Type.String({
          maxLength: 40,
          description: 'drivers_license, passport, my_number_card or residence_card',
        }),
        idNumber: text(applicationLimits.idNumberLengthMax * 2),
      },
      { additionalProperties: false },
    ),
    address: Type.Object(
      { postalCode: text(20), streetAddress: text(applicationLimits.streetAddressLengthMax * 2) },
      { additionalProperties: false },
    ),
    accountType: Type.String({ maxLength: 20, description: 'savings or checking' }),
    currency: Type.String({ maxLength: 3 }),
  },
  { additionalProperties: false },
);

const Status = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('APPROVED'),
  Type.Literal('REJECTED'),
  Type.Literal('COMPLETED'),
]);
const Step = Type.Union([
  Type.Literal('create_customer'),
  Type.Literal('open_account'),
  Type.Literal('create_login'),
  Type.Literal('complete'),
  Type.Literal('notify'),
]);
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const ApplicationSummary = Type.Object({
  applicationId: Type.String(),
  transactionId: Type.String(),
  status: Status,
  accountType: Type.String(),
  currency: Type.String(),
  lastCompletedStep: nullable(Step),
  submittedAt: Type.String({ format: 'date-time' }),
});

const ApplicationDetail = Type.Object({
  applicationId: Type.String(),
  transactionId: Type.String(),
  status: Status,
  accountType: Type.String(),
  currency: Type.String(),
  submittedAt: nullable(Type.String()),
  lastCompletedStep: nullable(Step),
  failure: nullable(
    Type.Object({
      step: Step,
      attempt: Type.Integer(),
      error: Type.String(),
      final: Type.Boolean(),
      at: Type.String(),
    }),
  ),
  rejectionReason: nullable(Type.String()),
  customerId: nullable(Type.String()),
  accountId: nullable(Type.String()),
  accountNumber: nullable(Type.String()),
  loginId: nullable(Type.String()),
  temporaryPassword: Type.Optional(
    Type.String({ description: 'Only in the first read after COMPLETED; never again' }),
  ),
  applicant: nullable(
    Type.Object({
      fullName: Type.String(),
      email: Type.String(),
      phoneNumber: Type.String(),
      birthDate: Type.String(),
      idType: Type.String(),
      idNumber: Type.String(),
      postalCode: Type.String(),
      streetAddress: Type.String(),
    }),
  ),
});

const IdParams = Type.Object({ id: Type.String({ format: 'uuid', maxLength: 36 }) });
const Decision = Type.Object({ applicationId: Type.String(), status: Status });

/** Account opening over HTTP: the public application and the admins' review. */
export function onboardingRoutes(deps: OnboardingRoutesDeps): FastifyPluginAsyncTypebox {
  const { service } = deps;
  return async (app) => {
    app.post(
      '/api/accounts',
      {
        config: {
          access: 'public',
          rateLimit: { max: deps.applyRateLimit.max, timeWindow: deps.applyRateLimit.timeWindowMs },
        },
        schema: {
          tags: ['bank'],
          summary: 'Apply for an account (no sign-in); an admin reviews the application',
          body: ApplicationBody,
          response: {
            201: Type.Object({
              applicationId: Type.String(),
              transactionId: Type.String(),
              status: Type.Literal('PENDING'),
            }),
            ...problemResponses,
          },
        },
      },
      async (request, reply) => reply.code(201).send(await service.submit(request.body)),
    );

    app.get(
      '/admin/account-applications',
      {
        config: { access: 'admin:*' },
        schema: {
          tags: ['bank admin'],
          summary: 'Account applications, oldest first',
          querystring: Type.Object({
            status: Type.Optional(Status),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.pageSizeMax })),
            after: Type.Optional(Type.String({ format: 'uuid' })),
          }),
          response: {
            200: Type.Object({
              applications: Type.Array(ApplicationSummary),
              nextCursor: nullable(Type.String()),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 100;
        const rows = await service.list({ status: request.query.status, after: request.query.after, limit });
        return {
          applications: rows.map((row) => ({
            applicationId: row.applicationId,
            transactionId: row.transactionId,
            status: row.status,
            accountType: row.accountType,
            currency: row.currency,
            lastCompletedStep: row.lastStep,
            submittedAt: row.submittedAt.toISOString(),
          })),
          nextCursor: rows.length === limit ? rows[rows.length - 1]!.applicationId : null,
        };
      },
    );

    app.get(
      '/admin/account-applications/:id',
      {
        config: { access: 'admin:*' },
        schema: {
          tags: ['bank admin'],
          summary: 'One application; after COMPLETED the first read shows the temporary password, once',
          params: IdParams,
          response: { 200: ApplicationDetail, ...problemResponses },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', 'no-store');
        return service.view(request.params.id);
      },
    );

    app.post(
      '/admin/account-applications/:id/approve',
      {
        config: { access: 'admin:*' },
        schema: {
          tags: ['bank admin'],
          summary: 'Approve a PENDING application: the account is opened in the background',
          params: IdParams,
          response: { 200: Decision, ...problemResponses },
        },
      },
      async (request) => ({
        applicationId: request.params.id,
        status: await service.review(request.params.id, { kind: 'approve', by: adminId(request) }),
      }),
    );

    app.post(
      '/admin/account-applications/:id/reject',
      {
        config: { access: 'admin:*' },
        schema: {
          tags: ['bank admin'],
          summary: 'Reject a PENDING application',
          params: IdParams,
          body: Type.Object(
            { reason: Type.String({ minLength: 1, maxLength: 500, description: 'No personal data' }) },
            { additionalProperties: false },
          ),
          response: { 200: Decision, ...problemResponses },
        },
      },
      async (request) => ({
        applicationId: request.params.id,
        status: await service.review(request.params.id, {
          kind: 'reject',
          by: adminId(request),
          reason: request.body.reason,
        }),
      }),
    );
  };
}

function adminId(request: FastifyRequest): string {
  const { principal } = request;
  assert(principal.kind === 'user', 'admin routes admit users only');
  return principal.userId;
}
