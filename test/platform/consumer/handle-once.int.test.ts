import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleOnce } from '../../../src/platform/consumer/handle-once.ts';
import type { PoolClient } from '../../../src/platform/sql/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { eventually } from '../../support/eventually.ts';

let db: TestDatabase;
let number = 0;

beforeAll(async () => {
  db = await createTestDatabase(25);
  await db.pool.query('CREATE TABLE credits (message_id text NOT NULL, amount_minor bigint NOT NULL)');
});
afterAll(() => db.drop());

function messageId(): string {
  return `msg-${++number}`;
}

async function creditsFor(id: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM credits WHERE message_id = $1',
    [id],
  );
  return rows[0]!.n;
}

function credit(id: string) {
  return async (tx: PoolClient) => {
    await tx.query('INSERT INTO credits VALUES ($1, 100)', [id]);
    return 'credited';
  };
}

describe('handleOnce', () => {
  it('given a new message, then the effects run and their result comes back', async () => {
    const id = messageId();
    expect(await handleOnce(db.pool, 'ledger', id, credit(id))).toEqual({
      processed: true,
      result: 'credited',
    });
    expect(await creditsFor(id)).toBe(1);
  });

  it('given a message already handled, then the effects do not run again', async () => {
    const id = messageId();
    await handleOnce(db.pool, 'ledger', id, credit(id));
    let ran = false;
    const second = await handleOnce(db.pool, 'ledger', id, async () => {
      ran = true;
    });
    expect(second).toEqual({ processed: false });
    expect(ran).toBe(false);
    expect(await creditsFor(id)).toBe(1);
  });

  it('given the same message for two consumers, then each handles it once', async () => {
    const id = messageId();
    expect((await handleOnce(db.pool, 'ledger', id, credit(id))).processed).toBe(true);
    expect((await handleOnce(db.pool, 'notifier', id, credit(id))).processed).toBe(true);
    expect(await creditsFor(id)).toBe(2);
  });

  it('given effects that throw, then nothing is recorded and a redelivery runs them', async () => {
    const id = messageId();
    await expect(
      handleOnce(db.pool, 'ledger', id, async (tx) => {
        await tx.query('INSERT INTO credits VALUES ($1, 100)', [id]);
        throw new Error('downstream refused');
      }),
    ).rejects.toThrow('downstream refused');
    expect(await creditsFor(id)).toBe(0);
    expect((await handleOnce(db.pool, 'ledger', id, credit(id))).processed).toBe(true);
    expect(await creditsFor(id)).toBe(1);
  });

  it('given the same message delivered 20 times concurrently, then exactly one effect happens', async () => {
    const id = messageId();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => handleOnce(db.pool, 'ledger', id, credit(id))),
    );
    expect(results.filter((r) => r.processed).length).toBe(1);
    expect(await creditsFor(id)).toBe(1);
  });

  it('given the first of two concurrent deliveries fails, then the waiting one runs the effects', async () => {
    const id = messageId();
    let enter: () => void = () => {};
    const entered = new Promise<void>((resolve) => {
      enter = resolve;
    });
    let fail: () => void = () => {};
    const failing = handleOnce(db.pool, 'ledger', id, async () => {
      enter();
      await new Promise<void>((resolve) => {
        fail = resolve;
      });
      throw new Error('crashed mid-handler');
    });
    await entered;
    const second = handleOnce(db.pool, 'ledger', id, credit(id));
    // The second delivery's insert now waits on the first one's uncommitted row.
    await eventually(async () => {
      const { rows } = await db.pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return rows.length > 0 ? true : undefined;
    });
    fail();
    await expect(failing).rejects.toThrow('crashed mid-handler');
    expect(await second).toEqual({ processed: true, result: 'credited' });
    expect(await creditsFor(id)).toBe(1);
  });

  it('given an empty or overlong consumer or message id, then it is refused', async () => {
    await expect(handleOnce(db.pool, '', 'm', async () => {})).rejects.toThrow(/consumer/);
    await expect(handleOnce(db.pool, 'c', 'x'.repeat(201), async () => {})).rejects.toThrow(/messageId/);
  });
});
