import { describe, expect, it } from 'vitest';
import {
  type InstrumentRules,
  type NewOrderCommand,
  validateNewOrder,
} from '../../../src/exchange/matching/index.ts';

const rules: InstrumentRules = {
  priceTicksMin: 1_000,
  priceTicksMax: 2_000,
  priceIncrementTicks: 5,
  quantityLotsMin: 1,
  quantityLotsMax: 500,
  quantityIncrementLots: 1,
  marketOrdersAllowed: false,
};

const order = (change: Partial<NewOrderCommand> = {}): NewOrderCommand => ({
  type: 'new',
  seq: 1,
  orderId: 1,
  account: 'acct',
  side: 'buy',
  orderType: 'limit',
  priceTicks: 1_500,
  quantityLots: 10,
  timeInForce: 'GTC',
  ...change,
});

describe('validateNewOrder', () => {
  it('accepts an order within the rules', () => {
    expect(validateNewOrder(rules, order())).toBeNull();
    expect(validateNewOrder(rules, order({ priceTicks: 1_000, quantityLots: 500 }))).toBeNull();
  });

  it.each([
    ['price_out_of_band', order({ priceTicks: 995 })],
    ['price_out_of_band', order({ priceTicks: 2_005 })],
    ['price_off_increment', order({ priceTicks: 1_501 })],
    ['quantity_above_max', order({ quantityLots: 501 })],
    ['market_orders_not_allowed', order({ orderType: 'market', priceTicks: undefined })],
    ['invalid_quantity', order({ quantityLots: 0 })],
    ['invalid_price', order({ priceTicks: 1_500.5 })],
    ['invalid_post_only', order({ postOnly: true, timeInForce: 'IOC' })],
  ])('rejects with %s', (reason, cmd) => {
    expect(validateNewOrder(rules, cmd)).toBe(reason);
  });

  it('checks minimum and lot increments', () => {
    const lots = { ...rules, quantityLotsMin: 10, quantityIncrementLots: 10, marketOrdersAllowed: true };
    expect(validateNewOrder(lots, order({ quantityLots: 5 }))).toBe('quantity_below_min');
    expect(validateNewOrder(lots, order({ quantityLots: 15 }))).toBe('quantity_off_increment');
    expect(
      validateNewOrder(lots, order({ orderType: 'market', priceTicks: undefined, quantityLots: 20 })),
    ).toBeNull();
  });
});
