import { describe, expect, it } from 'vitest';
import type { OrderState } from '../../../src/exchange/orders/order-state.ts';
import { defineInstrument, type InstrumentTerms } from '../../../src/exchange/service/index.ts';
import {
  type PlaceOrderInput,
  prepareNewOrder,
  prepareReplace,
} from '../../../src/exchange/service/order-entry.ts';

function instrument(): InstrumentTerms {
  const defined = defineInstrument({
    symbol: 'AAPL',
    currency: 'USD',
    tickSize: '0.01',
    lotSize: 10,
    referencePrice: '190.00',
    priceBandPercent: '10',
    maxOrderQuantity: 10_000,
  });
  if (!defined.ok) throw new Error('bad test instrument');
  return defined.terms;
}

const limitBuy: PlaceOrderInput = {
  symbol: 'AAPL',
  side: 'buy',
  orderType: 'limit',
  price: '190.00',
  quantity: 100,
};

describe('new orders: from decimals and shares to ticks and lots', () => {
  it('given a valid limit order, then the command is in ticks and lots with the member’s STP account', () => {
    expect(
      prepareNewOrder(instrument(), 'firm-a', { ...limitBuy, account: 'desk1', clientOrderId: 'c1' }),
    ).toEqual({
      ok: true,
      command: {
        type: 'new',
        account: 'firm-a:desk1',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 19_000,
        quantityLots: 10,
        timeInForce: 'GTC',
        postOnly: false,
        stp: 'cancel_newest',
      },
    });
  });

  it('given a market order, then it has no price and defaults to IOC', () => {
    const entry = prepareNewOrder(instrument(), 'm', {
      symbol: 'AAPL',
      side: 'sell',
      orderType: 'market',
      quantity: 10,
    });
    expect(entry).toMatchObject({
      ok: true,
      command: { orderType: 'market', timeInForce: 'IOC', account: 'm:' },
    });
    expect(entry.ok && 'priceTicks' in entry.command).toBe(false);
  });

  it('given a market order that asks to rest (GTC or DAY), then validation_failed naming timeInForce', () => {
    const market: PlaceOrderInput = { symbol: 'AAPL', side: 'sell', orderType: 'market', quantity: 10 };
    for (const timeInForce of ['GTC', 'DAY'] as const) {
      expect(prepareNewOrder(instrument(), 'm', { ...market, timeInForce }), timeInForce).toMatchObject({
        ok: false,
        problem: { code: 'validation_failed', field: 'timeInForce' },
      });
    }
    for (const timeInForce of ['IOC', 'FOK'] as const) {
      expect(prepareNewOrder(instrument(), 'm', { ...market, timeInForce }).ok, timeInForce).toBe(true);
    }
  });

  const refusals: Array<[string, Partial<PlaceOrderInput> & Record<string, unknown>, string, string]> = [
    ['price off the tick', { price: '190.001' }, 'price_not_on_tick', 'price'],
    ['quantity off the lot', { quantity: 15 }, 'quantity_not_on_lot', 'quantity'],
    ['price above the band', { price: '209.01' }, 'price_out_of_band', 'price'],
    ['price below the band', { price: '170.99' }, 'price_out_of_band', 'price'],
    ['quantity above the maximum', { quantity: 10_010 }, 'quantity_above_max', 'quantity'],
    ['a limit order without price', { price: undefined }, 'validation_failed', 'price'],
    ['a JSON number as price', { price: 190 as unknown as string }, 'validation_failed', 'price'],
    ['post-only IOC', { postOnly: true, timeInForce: 'IOC' }, 'validation_failed', 'postOnly'],
    ['an unknown side', { side: 'short' as 'buy' }, 'validation_failed', 'side'],
    ['a long clientOrderId', { clientOrderId: 'x'.repeat(65) }, 'validation_failed', 'clientOrderId'],
    ['a clientOrderId with a space', { clientOrderId: 'a b' }, 'validation_failed', 'clientOrderId'],
    ['an account with a colon', { account: 'a:b' }, 'validation_failed', 'account'],
  ];
  for (const [name, change, code, field] of refusals) {
    it(`given ${name}, then ${code} naming ${field}`, () => {
      const entry = prepareNewOrder(instrument(), 'firm-a', { ...limitBuy, ...change } as PlaceOrderInput);
      expect(entry).toMatchObject({ ok: false, problem: { code, field } });
    });
  }

  it('given a price with zeros past the eighth decimal, then it is the same price, on the tick', () => {
    const entry = prepareNewOrder(instrument(), 'm', { ...limitBuy, price: '190.000000000' });
    expect(entry).toMatchObject({ ok: true, command: { priceTicks: 19_000 } });
    expect(prepareNewOrder(instrument(), 'm', { ...limitBuy, price: '190.000000001' })).toMatchObject({
      ok: false,
      problem: { code: 'price_not_on_tick', field: 'price' },
    });
  });

  it('the band edges themselves are inside', () => {
    for (const price of ['171.00', '209.00']) {
      expect(prepareNewOrder(instrument(), 'm', { ...limitBuy, price }).ok, price).toBe(true);
    }
  });
});

describe('replace: the new price and open quantity meet the same rules', () => {
  const resting: OrderState = {
    orderId: 7,
    symbol: 'AAPL',
    member: 'firm-a',
    account: '',
    clientOrderId: null,
    side: 'buy',
    orderType: 'limit',
    timeInForce: 'GTC',
    postOnly: false,
    priceTicks: 19_000,
    quantityLots: 10,
    filledLots: 4,
    remainingLots: 6,
    status: 'partially_filled',
    rejectReason: null,
    cancelReason: null,
    createdAt: 0,
    updatedAt: 0,
    lastSeq: 7,
  };

  it('converts a new price and open quantity', () => {
    expect(prepareReplace(instrument(), resting, { price: '191.50', quantity: 30 })).toEqual({
      ok: true,
      command: { type: 'replace', orderId: 7, priceTicks: 19_150, quantityLots: 3 },
    });
    expect(prepareReplace(instrument(), resting, { quantity: 20 })).toEqual({
      ok: true,
      command: { type: 'replace', orderId: 7, quantityLots: 2 },
    });
  });

  it('refuses an empty change, an off-tick or out-of-band price and a quantity off the lot', () => {
    expect(prepareReplace(instrument(), resting, {})).toMatchObject({
      ok: false,
      problem: { code: 'validation_failed' },
    });
    expect(prepareReplace(instrument(), resting, { price: '190.005' })).toMatchObject({
      ok: false,
      problem: { code: 'price_not_on_tick', field: 'price' },
    });
    expect(prepareReplace(instrument(), resting, { price: '300.00' })).toMatchObject({
      ok: false,
      problem: { code: 'price_out_of_band' },
    });
    expect(prepareReplace(instrument(), resting, { quantity: 25 })).toMatchObject({
      ok: false,
      problem: { code: 'quantity_not_on_lot' },
    });
  });
});
