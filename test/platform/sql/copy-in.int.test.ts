import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyIn, copyText } from '../../../src/platform/sql/copy-in.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

describe('copyIn / copyText', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query(
      'CREATE TABLE copy_target (id bigint PRIMARY KEY, label text NULL, flag boolean NULL, at timestamptz NULL)',
    );
  });
  afterAll(() => db.drop());

  it('writes tab-separated lines with \\N for NULL, t/f and plain digits', () => {
    expect(copyText([[1, 'a', true, null]])).toBe('1\ta\tt\t\\N\n');
    expect(copyText([['back\\slash', 'tab\there', 'new\nline', 'cr\rhere']])).toBe(
      'back\\\\slash\ttab\\there\tnew\\nline\tcr\\rhere\n',
    );
    expect(copyText([])).toBe('');
  });

  it('round-trips every awkward string through PostgreSQL unchanged', async () => {
    const texts = [
      'plain',
      '',
      '\\N',
      'NULL',
      'tab\there',
      'new\nline',
      'cr\rhere',
      'back\\slash',
      '\\.',
      'quote"d',
      "it's",
      'ü日本',
      ' spaced ',
    ];
    const client = await db.pool.connect();
    try {
      await copyIn(
        client,
        'copy_target',
        ['id', 'label', 'flag', 'at'],
        copyText([
          ...texts.map((text, i) => [i + 1, text, i % 2 === 0, '2026-11-23T01:02:03.456Z']),
          [Number.MAX_SAFE_INTEGER, null, null, null],
        ]),
      );
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query<{
      id: string;
      label: string | null;
      flag: boolean | null;
      at: Date | null;
    }>('SELECT id::text AS id, label, flag, at FROM copy_target ORDER BY copy_target.id');
    expect(rows.map((r) => r.label)).toEqual([...texts, null]);
    expect(rows.map((r) => r.flag)).toEqual([...texts.map((_, i) => i % 2 === 0), null]);
    expect(rows[0]!.at!.toISOString()).toBe('2026-11-23T01:02:03.456Z');
    expect(rows.at(-1)!.id).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  it('rejects with the server error and leaves none of its rows when one row breaks a constraint', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM copy_target');
      await expect(
        copyIn(
          client,
          'copy_target',
          ['id', 'label'],
          copyText([
            [7, 'first'],
            [8, 'second'],
            [7, 'again'],
          ]),
        ),
      ).rejects.toThrow(/duplicate key/);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM copy_target WHERE label IN ('first', 'second', 'again')",
    );
    expect(rows[0]!.n).toBe('0');
  });
});
