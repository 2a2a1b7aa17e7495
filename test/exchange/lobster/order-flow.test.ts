import { describe, expect, it } from 'vitest';
import {
  decodeLobsterMessages,
  decodeLobsterOrderBook,
  type LobsterMessage,
  type LobsterTopOfBook,
  levelOneBefore,
  type OrderFlow,
  type OrderFlowOptions,
  toOrderFlow,
} from '../../../src/exchange/lobster/index.ts';
import { type BookEvent, FastOrderBook } from '../../../src/exchange/matching/index.ts';

/** Inline CSV samples are indented in the source; the files are not. */
const unindent = (csv: string) =>
  csv
    .trim()
    .split('\n')
    .map((line) => line.trim())
    .join('\n');

function messages(csv: string): LobsterMessage[] {
  const result = decodeLobsterMessages(unindent(csv));
  if (!result.ok) throw new Error(`line ${result.line}: ${result.problem}`);
  return result.rows;
}

function tops(csv: string): LobsterTopOfBook[] {
  const result = decodeLobsterOrderBook(unindent(csv));
  if (!result.ok) throw new Error(`line ${result.line}: ${result.problem}`);
  return result.rows;
}

const base: OrderFlowOptions = {
  executions: 'aggressor',
  priceUnitsPerTick: 100,
  seed: null,
  account: 'lobster',
  levelOne: null,
};

function flowOf(csv: string, options: Partial<OrderFlowOptions> = {}): OrderFlow {
  const result = toOrderFlow(messages(csv), { ...base, ...options });
  if (!result.ok) throw new Error(`message ${result.message}: ${result.problem}`);
  return result.flow;
}

function replay(flow: OrderFlow): { book: FastOrderBook; events: BookEvent[] } {
  const book = new FastOrderBook();
  const events = flow.commands.flatMap((c) => book.apply(c));
  book.assertInvariants();
  return { book, events };
}

describe('LOBSTER messages as order flow', () => {
  it('maps a submit to a GTC limit order, a partial cancel to a replace-down, a delete to a cancel', () => {
    const flow = flowOf(`
      34200.1,1,11,100,2238100,1
      34200.2,1,12,50,2238100,1
      34200.3,2,11,30,2238100,1
      34200.4,3,12,50,2238100,1
    `);
    expect(flow.commands).toEqual([
      {
        type: 'new',
        seq: 0,
        orderId: 11,
        account: 'lobster',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 22_381,
        quantityLots: 100,
        timeInForce: 'GTC',
      },
      expect.objectContaining({ type: 'new', seq: 1, orderId: 12, quantityLots: 50 }),
      { type: 'replace', seq: 2, orderId: 11, quantityLots: 70 },
      { type: 'cancel', seq: 3, orderId: 12 },
    ]);
    expect(flow.notes.map((n) => [n.kind, n.message])).toEqual([
      ['submit', 0],
      ['submit', 1],
      ['partial_cancel', 2],
      ['delete', 3],
    ]);
    const { book, events } = replay(flow);
    expect(events.filter((e) => e.type === 'rejected')).toEqual([]);
    expect(events.find((e) => e.type === 'replaced')).toMatchObject({ keptPriority: true, quantityLots: 70 });
    expect(book.order(11)).toMatchObject({ quantityLots: 70, priceTicks: 22_381 });
  });

  it('a partial cancel of the whole remainder is a cancel', () => {
    const flow = flowOf(`
      34200.1,1,11,100,2238100,-1
      34200.2,2,11,100,2238100,-1
    `);
    expect(flow.commands[1]).toEqual({ type: 'cancel', seq: 1, orderId: 11 });
  });

  it('re-creates one aggressor for executions with the same time and direction; the engine makes the trades', () => {
    const flow = flowOf(`
      34200.1,1,11,21,2238100,1
      34200.2,1,12,40,2237500,1
      34200.3,4,11,21,2238100,1
      34200.3,4,12,26,2237500,1
      34200.4,4,12,4,2237500,1
    `);
    // Ids above every id in the file: 12 + 1 and 12 + 2.
    expect(flow.commands.slice(2)).toEqual([
      expect.objectContaining({
        type: 'new',
        orderId: 13,
        side: 'sell',
        priceTicks: 22_375,
        quantityLots: 47,
        timeInForce: 'IOC',
      }),
      expect.objectContaining({
        type: 'new',
        orderId: 14,
        side: 'sell',
        priceTicks: 22_375,
        quantityLots: 4,
        timeInForce: 'IOC',
      }),
    ]);
    expect(flow.notes.slice(2).map((n) => [n.kind, n.message])).toEqual([
      ['aggressor', 2],
      ['aggressor', 4],
    ]);
    expect(flow.visibleExecutions).toBe(3);
    expect(flow.knownExecutedShares).toBe(51);
    const { book, events } = replay(flow);
    const trades = events.filter((e) => e.type === 'trade');
    expect(trades.map((t) => [t.makerOrderId, t.priceTicks, t.quantityLots])).toEqual([
      [11, 22_381, 21],
      [12, 22_375, 26],
      [12, 22_375, 4],
    ]);
    expect(book.order(12)).toMatchObject({ quantityLots: 10 });
  });

  it('leaves executions out with executions: skip, but follows their effect on later partial cancels', () => {
    const flow = flowOf(
      `
      34200.1,1,11,100,2238100,1
      34200.2,4,11,30,2238100,1
      34200.3,2,11,20,2238100,1
    `,
      { executions: 'skip' },
    );
    expect(flow.commands.map((c) => c.type)).toEqual(['new', 'replace']);
    expect(flow.commands[1]).toMatchObject({ quantityLots: 50 });
    expect(flow.skipped.execution_not_replayed).toBe(1);
  });

  it('skips hidden executions, cross trades and halts, and counts them', () => {
    const flow = flowOf(`
      34200.1,5,0,10,2238150,1
      34200.2,6,-1,500,2238100,1
      34200.3,7,0,0,-1,-1
      34200.4,7,0,0,1,-1
    `);
    expect(flow.commands).toEqual([]);
    expect(flow.skipped).toMatchObject({ hidden_execution: 1, cross_trade: 1, halt: 2 });
  });

  it('seeds level 1 before the first message and draws the seed down for orders from before the file', () => {
    const msgs = messages(`
      34200.1,4,900,4,5794000,1
      34200.2,3,901,96,5794000,1
      34200.3,3,902,10,5790000,1
      34200.4,2,903,5,5802300,-1
    `);
    const seed = levelOneBefore(msgs[0]!, tops('5802300,100,5794000,496')[0]!);
    expect(seed).toEqual({ ask: { price: 5_802_300, size: 100 }, bid: { price: 5_794_000, size: 500 } });
    const result = toOrderFlow(msgs, { ...base, seed });
    if (!result.ok) throw new Error(result.problem);
    const { flow } = result;
    // Seed ids come after the largest id in the file (903): bid 904, ask 905; the aggressor 906.
    expect(flow.commands.map((c) => [c.type, 'orderId' in c ? c.orderId : null])).toEqual([
      ['new', 904],
      ['new', 905],
      ['new', 906],
      ['replace', 904],
      ['cancel', 902],
      ['replace', 905],
    ]);
    expect(flow.commands[3]).toMatchObject({ quantityLots: 400 });
    expect(flow.commands[5]).toMatchObject({ quantityLots: 95 });
    expect(flow.notes[4]).toEqual({ kind: 'delete', message: 2, beforeFile: true });
    const { events } = replay(flow);
    expect(events.filter((e) => e.type === 'trade').map((t) => [t.makerOrderId, t.quantityLots])).toEqual([
      [904, 4],
    ]);
    expect(events.filter((e) => e.type === 'rejected')).toEqual([
      expect.objectContaining({ orderId: 902, reason: 'unknown_order' }),
    ]);
  });

  it('undoes the first message when working out level 1 before it', () => {
    const after = tops('2239500,100,2238100,21')[0]!;
    const [submitOpened, submitJoined, deleteEmptied] = messages(`
      34200.1,1,1,21,2238100,1
      34200.1,1,1,20,2239500,-1
      34200.1,3,1,50,2238200,1
    `);
    expect(levelOneBefore(submitOpened!, after)).toEqual({ ask: after.ask, bid: null });
    expect(levelOneBefore(submitJoined!, after)).toEqual({
      ask: { price: 2_239_500, size: 80 },
      bid: after.bid,
    });
    expect(levelOneBefore(deleteEmptied!, after)).toEqual({
      ask: after.ask,
      bid: { price: 2_238_200, size: 50 },
    });
  });

  it('cancels orders that the order-book file shows have left level 1 without a message', () => {
    const csv = `
      34200.1,1,11,100,2238100,-1
      34200.2,1,12,100,2238000,-1
      34200.3,1,13,10,2237000,1
    `;
    // After message 2 the best ask is 2238100: order 12 left from behind the best without a message.
    const levelOne = tops(`
      2238100,100,2230000,5
      2238000,100,2230000,5
      2238100,100,2237000,10
    `);
    const flow = flowOf(csv, { levelOne });
    expect(flow.commands.map((c) => c.type)).toEqual(['new', 'new', 'new', 'cancel']);
    expect(flow.commands[3]).toMatchObject({ orderId: 12 });
    expect(flow.notes[3]).toEqual({ kind: 'implied_cancel', message: 2, beforeFile: false });
    const { book, events } = replay(flow);
    expect(events.filter((e) => e.type === 'rejected')).toEqual([]);
    expect(book.l1().ask).toMatchObject({ priceTicks: 22_381, quantityLots: 100 });
  });

  it('returns a problem for prices off the tick grid or order-book rows that do not line up', () => {
    expect(toOrderFlow(messages('34200.1,1,11,100,2238150,1'), base)).toEqual({
      ok: false,
      message: 0,
      problem: 'price 2238150 is not a multiple of 100',
    });
    expect(toOrderFlow(messages('34200.1,1,11,100,2238100,1'), { ...base, levelOne: [] })).toMatchObject({
      ok: false,
      problem: '0 order-book rows for 1 messages',
    });
  });
});
