import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from '../errors.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function createAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
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
  for (const error of errors) {
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
    default:
      return { field: prefix + base, reason: error.message ?? 'is not valid' };
  }
}

function join(base: string, name: string): string {
  return base ? `${base}.${name}` : name;
}
