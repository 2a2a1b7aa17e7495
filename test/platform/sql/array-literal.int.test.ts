import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgArrayLiteral } from '../../../src/platform/sql/array-literal.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

describe('pgArrayLiteral', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('writes numbers, booleans, NULL and quoted strings', () => {
    expect(pgArrayLiteral([1, 9007199254740991, null])).toBe('{1,9007199254740991,NULL}');
    expect(pgArrayLiteral([true, false])).toBe('{t,f}');
    expect(pgArrayLiteral(['a', '', 'NULL', 'a"b\\c'])).toBe('{"a","","NULL","a\\"b\\\\c"}');
    expect(pgArrayLiteral([])).toBe('{}');
  });

  it('round-trips every awkward string through PostgreSQL unchanged', async () => {
    const texts = [
      'plain',
      '',
      'NULL',
      'null',
      ' spaced ',
      'a,b',
      '{braces}',
      'quote"d',
      'back\\slash',
      '\\"',
      'ü日本',
      'tab\there',
      "it's",
    ];
    const { rows } = await db.pool.query<{ t: string | null }>('SELECT unnest($1::text[]) AS t', [
      pgArrayLiteral([...texts, null]),
    ]);
    expect(rows.map((r) => r.t)).toEqual([...texts, null]);
    const numbers = await db.pool.query<{ n: string }>('SELECT unnest($1::bigint[])::text AS n', [
      pgArrayLiteral([0, -5, Number.MAX_SAFE_INTEGER]),
    ]);
    expect(numbers.rows.map((r) => r.n)).toEqual(['0', '-5', String(Number.MAX_SAFE_INTEGER)]);
    const flags = await db.pool.query<{ b: boolean }>('SELECT unnest($1::boolean[]) AS b', [
      pgArrayLiteral([true, false]),
    ]);
    expect(flags.rows.map((r) => r.b)).toEqual([true, false]);
  });
});
