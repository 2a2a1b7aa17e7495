import { describe, expect, it } from 'vitest';
import { matchingLimits } from '../../../src/exchange/matching/index.ts';
import {
  defineInstrument,
  type InstrumentInput,
  type InstrumentTerms,
  priceFromTicks,
  priceToTicks,
  quantityFromLots,
  quantityToLots,
  termsOf,
} from '../../../src/exchange/service/index.ts';
import { exchangeServiceLimits } from '../../../src/exchange/service/limits.ts';
import { Prng } from '../../support/prng.ts';

const usd: InstrumentInput = {
  symbol: 'AMZN',
  currency: 'USD',
  tickSize: '0.01',
  lotSize: 1,
  referencePrice: '100.00',
};

function given(input: Partial<InstrumentInput> = {}): InstrumentTerms {
  const defined = defineInstrument({ ...usd, ...input });
  if (!defined.ok) throw new Error(`bad test instrument: ${JSON.stringify(defined.errors)}`);
  return defined.terms;
}

describe('instrument definitions', () => {
  it('stores canonical decimals and defaults the name to the symbol', () => {
    const terms = given({ tickSize: '0.050', referencePrice: '200.000', priceBandPercent: '2.50' });
    expect(terms.definition).toEqual({
      symbol: 'AMZN',
      name: 'AMZN',
      currency: 'USD',
      tickSize: '0.05',
      lotSize: 1,
      referencePrice: '200.00',
      priceBandPercent: '2.5',
      maxOrderQuantity: null,
    });
    expect(given({ priceBandPercent: '10.0000' }).definition.priceBandPercent).toBe('10');
    expect(termsOf(terms.definition)).toEqual(terms);
  });

  it('shows at least the currency’s decimals: tick 1 in USD is "100.00", in JPY "2800"', () => {
    expect(given({ tickSize: '1', referencePrice: '100' }).definition.referencePrice).toBe('100.00');
    const jpy = given({
      symbol: '7203.T',
      currency: 'JPY',
      tickSize: '1',
      lotSize: 100,
      referencePrice: '2800',
    });
    expect(jpy.definition.referencePrice).toBe('2800');
    expect(priceFromTicks(jpy.definition, 2801)).toBe('2801');
    expect(quantityFromLots(jpy.definition, 3)).toBe(300);
  });

  it('names each invalid field', () => {
    const result = defineInstrument({
      symbol: 'bad symbol',
      currency: 'XXX',
      tickSize: '0',
      lotSize: 0,
      referencePrice: '1.00',
      priceBandPercent: '0',
      name: ' ',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.field).sort()).toEqual(
      ['currency', 'lotSize', 'name', 'priceBandPercent', 'symbol', 'tickSize'].sort(),
    );
    const offTick = defineInstrument({ ...usd, tickSize: '0.05', referencePrice: '100.03' });
    expect(offTick).toMatchObject({ ok: false, errors: [{ field: 'referencePrice' }] });
    const tooWide = defineInstrument({ ...usd, priceBandPercent: '100.01' });
    expect(tooWide).toMatchObject({ ok: false, errors: [{ field: 'priceBandPercent' }] });
    const smallMax = defineInstrument({ ...usd, lotSize: 10, maxOrderQuantity: 5 });
    expect(smallMax).toMatchObject({ ok: false, errors: [{ field: 'maxOrderQuantity' }] });
    // A limit between two lot multiples would not be the one enforced (orders are whole lots).
    expect(defineInstrument({ ...usd, lotSize: 100, maxOrderQuantity: 150 })).toEqual({
      ok: false,
      errors: [{ field: 'maxOrderQuantity', reason: 'must be a multiple of the lot size 100' }],
    });
    // PostgreSQL's text cannot hold NUL: a 400 naming the field, not a 500 from the insert.
    for (const name of ['Acme\u0000Corp', 'Acme\nCorp', 'Acme\u007f']) {
      expect(defineInstrument({ ...usd, name })).toEqual({
        ok: false,
        errors: [{ field: 'name', reason: 'must not contain control characters' }],
      });
    }
  });
});

describe('price and quantity conversion', () => {
  it('given tick 0.05, when a price is a multiple, then it converts to whole ticks exactly', () => {
    const terms = given({ tickSize: '0.05', referencePrice: '100.00' });
    expect(priceToTicks(terms, '100.05')).toEqual({ ok: true, ticks: 2001 });
    expect(priceToTicks(terms, '0.05')).toEqual({ ok: true, ticks: 1 });
    expect(priceToTicks(terms, '100.050')).toEqual({ ok: true, ticks: 2001 });
    expect(priceFromTicks(terms.definition, 2001)).toBe('100.05');
  });

  it('converts random price strings exactly as BigInt arithmetic does, and prices from ticks back', () => {
    const seed = Number(process.env.KINYU_TEST_SEED ?? 20261123);
    const prng = new Prng(seed);
    const digits = (n: number) => Array.from({ length: n }, () => String(prng.int(0, 9))).join('');
    for (let i = 0; i < 5_000; i++) {
      const tickSize = prng.pick(['0.01', '0.05', '1', '0.0001', '0.25', '5', '0.00000001']);
      const terms = given({ tickSize, referencePrice: tickSize });
      const whole = prng.chance(0.1) ? '0' : String(prng.int(1, 9)) + digits(prng.int(0, 9));
      const fraction = prng.chance(0.3) ? '' : digits(prng.int(1, 10));
      const price = fraction === '' ? whole : `${whole}.${fraction}`;
      const tick =
        BigInt(tickSize.replace('.', '').replace(/^0+/, '')) *
        10n ** BigInt(8 - (tickSize.split('.')[1]?.length ?? 0));
      // Zeros past the eighth decimal change nothing ("1.000000000" is 1); other digits there are off any tick.
      const significant = fraction.replace(/0+$/, '');
      const units = significant.length > 8 ? null : BigInt(whole + significant.padEnd(8, '0'));
      const ticks = units !== null && units > 0n && units % tick === 0n ? units / tick : null;
      const expected =
        ticks !== null && ticks <= BigInt(exchangeServiceLimits.priceTicksMax)
          ? { ok: true, ticks: Number(ticks) }
          : { ok: false };
      expect(
        priceToTicks(terms, price),
        `seed ${seed} step ${i}: ${price} at tick ${tickSize}`,
      ).toMatchObject(expected);
      const someTicks = prng.int(1, exchangeServiceLimits.priceTicksMax);
      const shown = priceFromTicks(terms.definition, someTicks);
      expect(priceToTicks(terms, shown), `seed ${seed} step ${i}: ${shown}`).toEqual({
        ok: true,
        ticks: someTicks,
      });
    }
  });

  it('given tick 0.05, when a price is not a multiple, then it is refused as not_on_tick', () => {
    const terms = given({ tickSize: '0.05', referencePrice: '100.00' });
    for (const price of ['100.01', '100.051', '0.000000001', '100.0500000001']) {
      expect(priceToTicks(terms, price), price).toMatchObject({ ok: false, reason: 'not_on_tick' });
    }
    for (const price of ['-1.00', '1e2', '', ' 1', '+1', '0', '0.00']) {
      expect(priceToTicks(terms, price), price).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });

  it('never uses floats: 0.1 + 0.2 style prices convert exactly', () => {
    const terms = given({ tickSize: '0.1', referencePrice: '0.3' });
    expect(priceToTicks(terms, '0.3')).toEqual({ ok: true, ticks: 3 });
    const fine = given({ tickSize: '0.00000001', referencePrice: '0.00000003' });
    expect(priceToTicks(fine, '1234.12345678')).toEqual({ ok: true, ticks: 123_412_345_678 });
    expect(priceToTicks(fine, '10000.00000001')).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('converts whole shares to lots only when the lot size divides them', () => {
    const terms = given({ lotSize: 100 });
    expect(quantityToLots(terms, 300)).toEqual({ ok: true, lots: 3 });
    expect(quantityToLots(terms, 150)).toMatchObject({ ok: false, reason: 'not_on_lot' });
    expect(quantityToLots(terms, 0)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(quantityToLots(terms, 1.5)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(quantityToLots(terms, 100 * 1_000_000_001)).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('caps an order at orderSharesMax shares, so that a full book level stays a safe integer of shares', () => {
    const { orderSharesMax } = exchangeServiceLimits;
    expect(orderSharesMax * matchingLimits.restingOrdersMax).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    const millions = given({ lotSize: 1_000_000 });
    const lotsMax = Math.floor(orderSharesMax / 1_000_000);
    expect(millions.rules.quantityLotsMax).toBe(lotsMax);
    expect(quantityToLots(millions, lotsMax * 1_000_000)).toEqual({ ok: true, lots: lotsMax });
    expect(quantityToLots(millions, (lotsMax + 1) * 1_000_000)).toEqual({
      ok: false,
      reason: 'too_large',
      detail: `must be at most ${lotsMax * 1_000_000}`,
    });
    // With lot size 1 the engine's own limit (10^9 lots) is the lower one.
    expect(given().rules.quantityLotsMax).toBe(matchingLimits.quantityLotsMax);
    const tooLarge = defineInstrument({
      ...usd,
      lotSize: 1_000_000,
      maxOrderQuantity: (lotsMax + 1) * 1_000_000,
    });
    expect(tooLarge).toMatchObject({ ok: false, errors: [{ field: 'maxOrderQuantity' }] });
  });
});

describe('price band', () => {
  it('given 10 % around 190.00, then 171.00 … 209.00 are inside and one tick beyond is outside', () => {
    const { rules } = given({ referencePrice: '190.00', priceBandPercent: '10' });
    expect([rules.priceTicksMin, rules.priceTicksMax]).toEqual([17_100, 20_900]);
  });

  it('given a band that does not land on a tick, then the edge rounds inward', () => {
    // 2.5 % of 100.03 is 2.50075: the band is 97.53 … 102.53 (rounding outward would admit 97.52).
    const { rules } = given({ referencePrice: '100.03', priceBandPercent: '2.5' });
    expect([rules.priceTicksMin, rules.priceTicksMax]).toEqual([9_753, 10_253]);
  });

  it('without a band, every positive price up to the engine limit is allowed', () => {
    const { rules } = given();
    expect([rules.priceTicksMin, rules.priceTicksMax]).toEqual([1, 1_000_000_000_000]);
  });

  it('agrees with exact rational arithmetic for random references, bands and prices', () => {
    const seed = Number(process.env.KINYU_TEST_SEED ?? 20261122);
    const prng = new Prng(seed);
    for (let i = 0; i < 2_000; i++) {
      const referenceTicks = prng.int(1, 5_000_000);
      const bandUnits = prng.int(1, 1_000_000); // 0.0001 % … 100 %
      const band = `${Math.floor(bandUnits / 10_000)}.${String(bandUnits % 10_000).padStart(4, '0')}`;
      const referencePrice = `${Math.floor(referenceTicks / 100)}.${String(referenceTicks % 100).padStart(2, '0')}`;
      const { rules } = given({ referencePrice, priceBandPercent: band });
      const price = prng.int(1, referenceTicks * 3);
      // |p − r| ≤ r·b/100 with b = bandUnits / 10^4, cross-multiplied into integers.
      const inside =
        BigInt(Math.abs(price - referenceTicks)) * 100n * 10_000n <=
        BigInt(referenceTicks) * BigInt(bandUnits);
      const accepted = price >= rules.priceTicksMin && price <= rules.priceTicksMax;
      expect(accepted, `seed ${seed} step ${i}: ref ${referenceTicks} band ${band} price ${price}`).toBe(
        inside,
      );
    }
  });
});
