import { Type } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { fieldErrors } from '../../../src/platform/http/validation.ts';

const ajv = new Ajv({ allErrors: true, strict: false });

function errorsOf(schema: object, value: unknown) {
  const validate = ajv.compile(schema);
  expect(validate(value)).toBe(false);
  return fieldErrors(validate.errors ?? [], 'body');
}

describe('validation errors name what to send', () => {
  it('given a union of literals, when the value is none of them, then one error lists the allowed values', () => {
    const schema = Type.Object({ side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]) });
    expect(errorsOf(schema, { side: 'hold' })).toEqual([
      { field: 'side', reason: 'must be one of "buy", "sell"' },
    ]);
  });

  it('given a union with a non-literal branch, then its errors are kept as they are', () => {
    const schema = Type.Object({
      price: Type.Union([Type.Literal('market'), Type.String({ pattern: '^[0-9]+$' })]),
    });
    const errors = errorsOf(schema, { price: 'x' });
    expect(errors.map((e) => e.field)).toEqual(['price', 'price', 'price']);
  });

  it('given an object that needs at least one field, when it is empty, then the reason says so', () => {
    const schema = Type.Object({ quantity: Type.Optional(Type.Integer()) }, { minProperties: 1 });
    expect(errorsOf(schema, {})).toEqual([{ field: '', reason: 'must have at least 1 of its fields' }]);
  });
});
