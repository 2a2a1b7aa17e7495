import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { Bus, DeadLetter } from '../../platform/bus/types.ts';
import { AppError } from '../../platform/errors.ts';
import type { EventStore } from '../../platform/event-store/index.ts';
import { problemResponses } from '../../platform/http/app.ts';
import { limits } from '../../platform/limits.ts';
import type { Pool } from '../../platform/sql/pool.ts';
import { transferLimits } from '../transfers/limits.ts';
import { registeredStreamCategories, showStream, streamViewOf } from './stream-views.ts';

export {
  registerStreamView,
  type StreamView,
  type StreamViewEvent,
  streamViewOf,
} from './stream-views.ts';

export interface BankAdminDeps {
  pool: Pool;
  bus: Bus;
  events: EventStore;
}

export interface BankAdmin {
  routes: FastifyPluginAsyncTypebox;
}

const alertSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  subjectId: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  detail: Type.String(),
  attempts: Type.Integer(),
  raisedAt: Type.String(),
  updatedAt: Type.String(),
  resolvedAt: Type.Union([Type.String(), Type.Null()]),
});

const deadLetterSchema = Type.Object({
  id: Type.String(),
  topic: Type.String(),
  group: Type.String(),
  error: Type.String(),
  deadLetteredAt: Type.String(),
  message: Type.Object({
    id: Type.String(),
    key: Type.String(),
    payload: Type.Unknown(),
    deliveryCount: Type.Integer(),
  }),
});

const eventSchema = Type.Object({
  version: Type.String(),
  time: Type.String(),
  type: Type.String(),
  data: Type.Unknown(),
  state: Type.Unknown(),
});

/**
 * The bank's admin views (`admin:*`): the events of a stream with masked data and the state after
 * each (the seed's "visualise the state transitions" screen), the bus's dead letters with redrive,
 * and the bank's alerts.
 */
export function createBankAdmin(deps: BankAdminDeps): BankAdmin {
  const routes: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/admin/streams/:streamId/events',
      {
        config: { access: 'admin:*' },
        schema: {
          tags: ['bank admin'],
          summary: 'Every event of a stream in order, with masked data and the state after each event',
          security: [{ bearer: [] }],
          params: Type.Object({ streamId: Type.String({ minLength: 3, maxLength: 200 }) }),
          response: {
            200: Type.Object({
              streamId: Type.String(),
              category: Type.String(),
              events: Type.Array(eventSchema),
              truncated: Type.Boolean(),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const { streamId } = request.params;
        const view = streamViewOf(streamId);
        if (!view) {
          throw new AppError(
            'not_found',
            `No stream view for ${streamId}; streams of ${registeredStreamCategories().join(', ')} can be shown`,
          );
        }
        const events = await deps.events.readStream(streamId, { limit: transferLimits.streamEventsMax });
        if (events.length === 0) throw new AppError('not_found', `Stream ${streamId} has no events`);
        return {
          streamId,
          category: view.category,
          events: showStream(view, events),
          truncated: events.length === transferLimits.streamEventsMax,
        };
      },
    );

    app.get(
      '/admin/dead-letters',
      {
        config: { access: 'admin:*' },
        schema: {
          tags: ['bank admin'],
          summary: 'Messages that failed too often, oldest first',
          security: [{ bearer: [] }],
          querystring: Type.Object({
            topic: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            group: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.pageSizeMax, default: 100 })),
          }),
          response: { 200: Type.Object({ deadLetters: Type.Array(deadLetterSchema) }), ...problemResponses },
        },
      },
      async (request) => {
        const { topic, group, limit } = request.query;
        const letters = await deps.bus.listDeadLetters({
          ...(topic ? { topic } : {}),
          ...(group ? { group } : {}),
          limit: limit ?? 100,
        });
        return { deadLetters: letters.map(showDeadLetter) };
      },
    );

    app.post(
      '/admin/dead-letters/:id/redrive',
      {
        config: { access: 'admin:*' },
        schema: {
          tags: ['bank admin'],
          summary: 'Publish a dead letter again (same message id) for its group, and remove it',
          security: [{ bearer: [] }],
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }),
          response: {
            202: Type.Object({ id: Type.String(), status: Type.Literal('redriven') }),
            ...problemResponses,
          },
        },
      },
      async (request, reply) => {
        await deps.bus.redriveDeadLetter(request.params.id);
        reply.code(202);
        return { id: request.params.id, status: 'redriven' as const };
      },
    );

    app.get(
      '/admin/alerts',
      {
        config: { access: 'admin:*' },
        schema: {
          tags: ['bank admin'],
          summary: 'Bank alerts (stuck transfers, …): open ones first, then the most recent',
          security: [{ bearer: [] }],
          querystring: Type.Object({
            status: Type.Optional(
              Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('all')], {
                default: 'all',
              }),
            ),
            limit: Type.Optional(
              Type.Integer({ minimum: 1, maximum: transferLimits.alertsPageMax, default: 100 }),
            ),
          }),
          response: { 200: Type.Object({ alerts: Type.Array(alertSchema) }), ...problemResponses },
        },
      },
      async (request) => {
        const status = request.query.status ?? 'all';
        const { rows } = await deps.pool.query<AlertRow>(
          `SELECT id, kind, subject_id, status, detail, attempts, raised_at, updated_at, resolved_at
           FROM bank_alerts WHERE ($1 = 'all' OR status = $1)
           ORDER BY (status = 'open') DESC, raised_at DESC, id DESC LIMIT $2`,
          [status, request.query.limit ?? 100],
        );
        return { alerts: rows.map(showAlert) };
      },
    );
  };
  return { routes };
}

interface AlertRow {
  id: string;
  kind: string;
  subject_id: string;
  status: 'open' | 'resolved';
  detail: string;
  attempts: number;
  raised_at: Date;
  updated_at: Date;
  resolved_at: Date | null;
}

function showAlert(row: AlertRow) {
  return {
    id: row.id,
    kind: row.kind,
    subjectId: row.subject_id,
    status: row.status,
    detail: row.detail,
    attempts: row.attempts,
    raisedAt: row.raised_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    resolvedAt: row.resolved_at ? row.resolved_at.toISOString() : null,
  };
}

function showDeadLetter(letter: DeadLetter) {
  return {
    id: letter.id,
    topic: letter.topic,
    group: letter.group,
    error: letter.error,
    deadLetteredAt: letter.deadLetteredAt,
    message: {
      id: letter.message.id,
      key: letter.message.key,
      payload: letter.message.payload,
      deliveryCount: letter.message.deliveryCount,
    },
  };
}
