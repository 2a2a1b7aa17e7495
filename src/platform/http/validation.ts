import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from '../errors.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function createAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    // Errors carry the offending value, so a JSON number sent for a string field can be told apart.
    verbose: true,
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
  });
  addFormats(ajv);
  const rfc3339 = ajv.formats['date-time'] as { validate: (value: string) => boolean };
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (value) => rfc3339.validate(value) && isInstant(value),
  });
  return ajv;
}

/**
 * RFC 3339 accepts what no timestamp holds: a leap second (`23:59:60`, which Date.parse refuses)
 * and year 0000 (which PostgreSQL refuses). A date-time field takes only instants that JavaScript
 * and PostgreSQL both represent, so it never reaches a query as an Invalid Date or a 500.
 */
function isInstant(value: string): boolean {
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= instantMsRange.first && ms <= instantMsRange.last;
}

const dateTimeReason =
  'must be an RFC 3339 date-time with a time zone, e.g. 2026-03-02T09:00:00Z (years 0001 to 9999, no leap second)';
/** Epoch ms of the first and last instants a date-time field takes. */
export const instantMsRange = {
  first: Date.parse('0001-01-01T00:00:00Z'),
  last: Date.parse('9999-12-31T23:59:59.999Z'),
} as const;

/**
 * A date-time as a Date, rounded up to the next millisecond when it has finer digits (a Date would
 * drop them): for times held in whole milliseconds, `time >= start` and `time < end` then hold
 * exactly for the times at or after `start` and before `end`.
 */
export function instantRoundedUp(text: string): Date {
  const date = new Date(text);
  return /[1-9]/.test(subMillisecondDigits(text)) ? new Date(date.getTime() + 1) : date;
}

/** Orders two date-times exactly, digits finer than a millisecond included: negative when `a` is earlier. */
export function compareInstants(a: string, b: string): number {
  const byMs = Date.parse(a) - Date.parse(b);
  if (byMs !== 0) return Math.sign(byMs);
  // Same millisecond (zone offsets are whole minutes): the finer digits decide, compared as equal-length decimals.
  const [digitsA, digitsB] = [subMillisecondDigits(a), subMillisecondDigits(b)];
  const width = Math.max(digitsA.length, digitsB.length);
  const [fineA, fineB] = [digitsA.padEnd(width, '0'), digitsB.padEnd(width, '0')];
  return fineA < fineB ? -1 : fineA > fineB ? 1 : 0;
}

/** The fraction digits of a date-time after the milliseconds ("" when there are none). */
function subMillisecondDigits(text: string): string {
  return (/\.(\d+)/.exec(text)?.[1] ?? '').slice(3);
}

/**
 * Bodies are validated without coercion (a JSON number is never taken for a decimal string);
 * query strings, params and headers arrive as text and are coerced to the declared types.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = createAjv(false);
  const coercing = createAjv(true);
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    return ajv.compile(schema as object);
  };
}

/** Turns ajv errors into `{field, reason}` with dotted field paths ("customerInfo.email"). */
export function fieldErrors(errors: ErrorObject[], httpPart: string | undefined): FieldError[] {
  const seen = new Set<string>();
  const result: FieldError[] = [];
  for (const error of collapseLiteralUnions(errors)) {
    const item = fieldError(error, httpPart);
    const id = `${item.field}|${item.reason}`;
    if (!seen.has(id)) {
      seen.add(id);
      result.push(item);
    }
  }
  return result;
}

function fieldError(error: ErrorObject, httpPart: string | undefined): FieldError {
  const base = error.instancePath.split('/').filter(Boolean).join('.');
  const prefix = httpPart && httpPart !== 'body' ? `${httpPart}.` : '';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: prefix + join(base, String(params.missingProperty)), reason: 'is required' };
    case 'additionalProperties':
      return {
        field: prefix + join(base, String(params.additionalProperty)),
        reason: 'is not a known field',
      };
    case 'enum':
      return {
        field: prefix + base,
        reason: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'type':
      // A decimal (or id) sent as a JSON number: say how to send it instead.
      if (params.type === 'string' && typeof error.data === 'number') {
        return {
          field: prefix + base,
          reason: `must be a string, not the JSON number ${error.data}; send it quoted, e.g. "${error.data}"`,
        };
      }
      // A whole number sent as a JSON string ("quantity": "10"): the other way round.
      if (params.type === 'integer' && typeof error.data === 'string' && error.data.length <= 20) {
        return {
          field: prefix + base,
          reason: `must be an integer, not the string ${JSON.stringify(error.data)}; send it unquoted, e.g. 10`,
        };
      }
      return { field: prefix + base, reason: error.message ?? 'is not valid' };
    case 'format':
      if (params.format === 'date-time') return { field: prefix + base, reason: dateTimeReason };
      return { field: prefix + base, reason: error.message ?? 'is not valid' };
    case 'minProperties':
      return {
        field: prefix + base,
        reason: `must have at least ${String(params.limit)} of its fields`,
      };
    default:
      return { field: prefix + base, reason: error.message ?? 'is not valid' };
  }
}

/**
 * A union of literals (TypeBox `Union([Literal('buy'), Literal('sell')])`) fails as one `const`
 * error per branch plus an `anyOf` error, none of which names the allowed values. When every branch
 * of the failed `anyOf` is a literal, they become one `enum` error listing them.
 */
function collapseLiteralUnions(errors: ErrorObject[]): ErrorObject[] {
  const literals = new Map<string, unknown[]>();
  let other = false;
  for (const error of errors) {
    const branch = error.schemaPath.match(/^(.*\/anyOf)\/\d+\/const$/);
    if (branch) {
      const key = `${error.instancePath}|${branch[1]}`;
      literals.set(key, [
        ...(literals.get(key) ?? []),
        (error.params as { allowedValue: unknown }).allowedValue,
      ]);
    }
  }
  if (literals.size === 0) return errors;
  const out: ErrorObject[] = [];
  for (const error of errors) {
    const branch = error.schemaPath.match(/^(.*\/anyOf)\/\d+\/(.+)$/);
    if (branch && literals.has(`${error.instancePath}|${branch[1]}`)) {
      // A non-literal branch of the same union: keep the errors as they are.
      if (branch[2] !== 'const') other = true;
      continue;
    }
    const values =
      error.keyword === 'anyOf' ? literals.get(`${error.instancePath}|${error.schemaPath}`) : undefined;
    out.push(values ? { ...error, keyword: 'enum', params: { allowedValues: values } } : error);
  }
  return other ? errors : out;
}

function join(base: string, name: string): string {
  return base ? `${base}.${name}` : name;
}
