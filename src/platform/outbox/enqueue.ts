import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { toJsonText } from '../event-store/json.ts';
import { type IdGenerator, newId } from '../ids.ts';
import type { Queryable } from '../sql/pool.ts';
import { outboxLimits } from './limits.ts';
import type { OutboxMessage } from './types.ts';

/** Channel the relay LISTENs on; writers notify it so messages leave without waiting for a poll. */
export const outboxChannel = 'kinyu_outbox';

/** Outbox messages as parallel arrays, the shape the SQL takes them in (one unnest, one round trip). */
export interface OutboxColumns {
  messageIds: string[];
  topics: string[];
  keys: string[];
  payloads: string[];
  headers: string[];
}

/** Validates messages and gives each a message id; throws a clear error on a malformed one. */
export function outboxColumns(messages: readonly OutboxMessage[], newMessageId: IdGenerator): OutboxColumns {
  if (messages.length > outboxLimits.messagesPerWriteMax) {
    throw new RangeError(`at most ${outboxLimits.messagesPerWriteMax} outbox messages per write`);
  }
  const columns: OutboxColumns = { messageIds: [], topics: [], keys: [], payloads: [], headers: [] };
  messages.forEach((message, index) => {
    const what = `outbox message ${index} (topic ${message.topic})`;
    checkTopic(message.topic, what);
    checkText(message.key, `${what} key`, outboxLimits.keyLengthMax);
    columns.messageIds.push(newMessageId());
    columns.topics.push(message.topic);
    columns.keys.push(message.key);
    columns.payloads.push(toJsonText(message.payload, `${what} payload`, outboxLimits.payloadBytesMax));
    columns.headers.push(headersJson(message.headers ?? {}, what));
  });
  return columns;
}

function checkText(value: unknown, what: string, lengthMax: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > lengthMax) {
    throw new TypeError(`${what} must be a non-empty string of at most ${lengthMax} characters`);
  }
}

// The bus's rule for topic names; a topic it refuses would stop the relay at that message.
const topicPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkTopic(topic: unknown, what: string): void {
  checkText(topic, `${what} topic`, outboxLimits.topicLengthMax);
  if (!topicPattern.test(topic as string)) throw new TypeError(`${what} topic must match ${topicPattern}`);
}

function headersJson(headers: Record<string, string>, what: string): string {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new TypeError(`${what} header ${name} must be a string`);
  }
  const text = JSON.stringify(headers);
  if (Buffer.byteLength(text) > outboxLimits.headersBytesMax) {
    throw new RangeError(`${what} headers are larger than ${outboxLimits.headersBytesMax} bytes of JSON`);
  }
  return text;
}

export interface EnqueueOptions {
  clock?: Clock;
  newId?: IdGenerator;
}

/**
 * Writes outbox messages inside the caller's transaction, for modules whose state change is not an
 * event append. Take the lock that orders your key's changes (e.g. the aggregate's row) before
 * calling, so messages of one key get ids in the order their transactions commit. Returns the ids.
 */
export async function enqueueOutbox(
  tx: Queryable,
  messages: readonly OutboxMessage[],
  options: EnqueueOptions = {},
): Promise<string[]> {
  if (messages.length === 0) return [];
  const columns = outboxColumns(messages, options.newId ?? newId);
  const createdAt = (options.clock ?? systemClock).now();
  await tx.query({
    name: 'kinyu_outbox_enqueue',
    text: `WITH written AS (
             INSERT INTO outbox (message_id, topic, key, payload, headers, created_at)
             SELECT m.message_id, m.topic, m.key, m.payload, m.headers, $6
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[])
               WITH ORDINALITY AS m(message_id, topic, key, payload, headers, ordinal)
             ORDER BY m.ordinal
             RETURNING 1)
           -- A data-modifying CTE runs whether or not it is referenced.
           SELECT pg_notify('${outboxChannel}', '')`,
    values: [columns.messageIds, columns.topics, columns.keys, columns.payloads, columns.headers, createdAt],
  });
  return columns.messageIds;
}
