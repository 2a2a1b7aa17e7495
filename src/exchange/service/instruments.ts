import type { FieldError } from '../../platform/errors.ts';
import { currencyScale, formatDecimal, isCurrencyCode, parseDecimal } from '../../platform/money.ts';
import type { InstrumentRules } from '../matching/index.ts';
import { symbolProblem } from '../sequencer/index.ts';
import { exchangeServiceLimits } from './limits.ts';

/*
 * Instruments as pure data: what an admin defines, and the exact integer terms (ticks, lots, band)
 * the order entry derives from it. Decimal strings at the edge, bigint arithmetic inside, integer
 * ticks and lots for the engine; no float ever touches a price.
 */

/** A listed instrument as stored (decimal strings in canonical form). */
export interface InstrumentDefinition {
  symbol: string;
  name: string;
  currency: string;
  /** Price increment, e.g. "0.01". */
  tickSize: string;
  /** Shares per lot; order quantities are whole shares and must be a multiple of it. */
  lotSize: number;
  /** The price the band is centred on, a multiple of the tick size. */
  referencePrice: string;
  /** Limit prices further than this percentage from the reference price are refused; null: no band. */
  priceBandPercent: string | null;
  /** Largest order (open) quantity in shares; null: only the engine's limit. */
  maxOrderQuantity: number | null;
}

/** What an admin sends to list an instrument (before validation). */
export interface InstrumentInput {
  symbol: string;
  name?: string | undefined;
  currency: string;
  tickSize: string;
  lotSize: number;
  referencePrice: string;
  priceBandPercent?: string | undefined;
  maxOrderQuantity?: number | undefined;
}

/** An instrument's exact terms: everything the order entry needs, derived once. */
export interface InstrumentTerms {
  definition: InstrumentDefinition;
  /** One tick in units of 10^-priceScaleMax. */
  tickUnits: bigint;
  referenceTicks: number;
  /** The book-side rules (band, quantity bounds) for validateNewOrder. */
  rules: InstrumentRules;
}

const { priceScaleMax, priceBandScaleMax } = exchangeServiceLimits;

// C0 and C1 controls and DEL (Unicode category Cc).
const controlCharacter = /\p{Cc}/u;

/** Validates an admin's definition; every problem names its field. */
export function defineInstrument(
  input: InstrumentInput,
): { ok: true; terms: InstrumentTerms } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const symbolError = symbolProblem(input.symbol);
  if (symbolError) errors.push({ field: 'symbol', reason: symbolError });
  const name = input.name ?? input.symbol;
  if (name.trim().length === 0 || name.length > exchangeServiceLimits.instrumentNameLengthMax) {
    errors.push({
      field: 'name',
      reason: `must be 1..${exchangeServiceLimits.instrumentNameLengthMax} characters, not only spaces`,
    });
  } else if (controlCharacter.test(name)) {
    // PostgreSQL's text refuses NUL, and no name needs a control character.
    errors.push({ field: 'name', reason: 'must not contain control characters' });
  }
  if (!isCurrencyCode(input.currency))
    errors.push({ field: 'currency', reason: 'is not a known currency code' });
  const tick = parseDecimal(input.tickSize, { scale: priceScaleMax, allowZero: false });
  if (!tick.ok)
    errors.push({ field: 'tickSize', reason: `${tick.detail} (at most ${priceScaleMax} decimals)` });
  if (
    !Number.isSafeInteger(input.lotSize) ||
    input.lotSize < 1 ||
    input.lotSize > exchangeServiceLimits.lotSizeMax
  ) {
    errors.push({
      field: 'lotSize',
      reason: `must be an integer from 1 to ${exchangeServiceLimits.lotSizeMax}`,
    });
  }
  let referenceTicks = 0;
  if (tick.ok) {
    const reference = priceUnitsToTicks(tick.value, input.referencePrice);
    if (reference.ok) referenceTicks = reference.ticks;
    else errors.push({ field: 'referencePrice', reason: reference.detail });
  }
  let bandUnits: bigint | null = null;
  if (input.priceBandPercent !== undefined) {
    const band = parseDecimal(input.priceBandPercent, {
      scale: priceBandScaleMax,
      allowZero: false,
      maxMinor: BigInt(exchangeServiceLimits.priceBandPercentMax) * 10n ** BigInt(priceBandScaleMax),
    });
    if (band.ok) bandUnits = band.value;
    else errors.push({ field: 'priceBandPercent', reason: band.detail });
  }
  const maxOrderQuantity = input.maxOrderQuantity ?? null;
  if (maxOrderQuantity !== null && Number.isSafeInteger(input.lotSize) && input.lotSize >= 1) {
    const largest = input.lotSize * orderLotsMax(input.lotSize);
    if (
      !Number.isSafeInteger(maxOrderQuantity) ||
      maxOrderQuantity < input.lotSize ||
      maxOrderQuantity > largest
    ) {
      errors.push({
        field: 'maxOrderQuantity',
        reason: `must be an integer from the lot size to ${largest}`,
      });
    } else if (maxOrderQuantity % input.lotSize !== 0) {
      // Orders are whole lots: a limit between two lot multiples would not be the one enforced.
      errors.push({
        field: 'maxOrderQuantity',
        reason: `must be a multiple of the lot size ${input.lotSize}`,
      });
    }
  }
  if (errors.length > 0 || !tick.ok) return { ok: false, errors };
  // Prices show the tick's decimals and at least the currency's ("100.00" in USD, "2800" in JPY).
  const currency = input.currency;
  const displayScale = Math.max(
    minimalScale(tick.value),
    isCurrencyCode(currency) ? currencyScale(currency) : 0,
  );
  const tickSize = formatUnits(tick.value, minimalScale(tick.value));
  const definition: InstrumentDefinition = {
    symbol: input.symbol,
    name,
    currency,
    tickSize,
    lotSize: input.lotSize,
    referencePrice: formatUnits(tick.value * BigInt(referenceTicks), displayScale),
    priceBandPercent: bandUnits === null ? null : formatBand(bandUnits),
    maxOrderQuantity,
  };
  return { ok: true, terms: termsOf(definition) };
}

/** The exact terms of a stored (already valid) definition. */
export function termsOf(definition: InstrumentDefinition): InstrumentTerms {
  const tick = parseDecimal(definition.tickSize, { scale: priceScaleMax, allowZero: false });
  if (!tick.ok)
    throw new RangeError(`instrument ${definition.symbol} has a bad tick size ${definition.tickSize}`);
  const reference = priceUnitsToTicks(tick.value, definition.referencePrice);
  if (!reference.ok) {
    throw new RangeError(`instrument ${definition.symbol} has a bad reference price: ${reference.detail}`);
  }
  return {
    definition,
    tickUnits: tick.value,
    referenceTicks: reference.ticks,
    rules: rulesOf(definition, reference.ticks),
  };
}

/**
 * The engine-side rules: the band as an absolute tick range, computed exactly. A price p is inside a
 * band of b % around r when |p − r| ≤ r·b/100; for integer ticks that is |p − r| ≤ ⌊r·b/100⌋.
 */
function rulesOf(definition: InstrumentDefinition, referenceTicks: number): InstrumentRules {
  let priceTicksMin = 1;
  let priceTicksMax: number = exchangeServiceLimits.priceTicksMax;
  if (definition.priceBandPercent !== null) {
    const band = parseDecimal(definition.priceBandPercent, { scale: priceBandScaleMax, allowZero: false });
    if (!band.ok)
      throw new RangeError(`instrument ${definition.symbol} has a bad band ${definition.priceBandPercent}`);
    const deviation = (BigInt(referenceTicks) * band.value) / (100n * 10n ** BigInt(priceBandScaleMax));
    priceTicksMin = Math.max(1, Number(BigInt(referenceTicks) - deviation));
    priceTicksMax = Math.min(priceTicksMax, Number(BigInt(referenceTicks) + deviation));
  }
  const quantityLotsMax = Math.min(
    orderLotsMax(definition.lotSize),
    definition.maxOrderQuantity === null
      ? Number.POSITIVE_INFINITY
      : Math.floor(definition.maxOrderQuantity / definition.lotSize),
  );
  return {
    priceTicksMin,
    priceTicksMax,
    priceIncrementTicks: 1,
    quantityLotsMin: 1,
    quantityLotsMax,
    quantityIncrementLots: 1,
    marketOrdersAllowed: true,
  };
}

export type PriceConversion =
  | { ok: true; ticks: number }
  | { ok: false; reason: 'malformed' | 'not_on_tick' | 'too_large'; detail: string };

/** A decimal price in whole ticks, exactly: `price / tickSize` must be an integer. */
export function priceToTicks(terms: InstrumentTerms, price: string): PriceConversion {
  const ticks = plainPriceTicks(terms.tickUnits, price);
  if (ticks !== undefined) return { ok: true, ticks };
  return priceUnitsToTicks(terms.tickUnits, price, terms.definition.tickSize);
}

const maxSafeUnits = BigInt(Number.MAX_SAFE_INTEGER);
// "123.45": at most 7 whole digits (so units of 10^-8 stay below 2^53) and up to 8 decimals.
const plainPricePattern = /^(0|[1-9][0-9]{0,6})(?:\.([0-9]{1,8}))?$/;

/**
 * The order path's shortcut: the ticks of a plain, valid, on-tick price, in exact integer Number
 * arithmetic; undefined for anything else, which the exact BigInt path then accepts or explains.
 */
function plainPriceTicks(tickUnits: bigint, price: string): number | undefined {
  if (tickUnits > maxSafeUnits) return undefined;
  const match = plainPricePattern.exec(price);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  const units = Number(match[1]) * 10 ** priceScaleMax + Number(fraction.padEnd(priceScaleMax, '0'));
  const unitsPerTick = Number(tickUnits);
  if (units === 0 || units % unitsPerTick !== 0) return undefined;
  const ticks = units / unitsPerTick;
  return ticks <= exchangeServiceLimits.priceTicksMax ? ticks : undefined;
}

function priceUnitsToTicks(tickUnits: bigint, price: string, tickSizeText?: string): PriceConversion {
  const tickText = tickSizeText ?? formatUnits(tickUnits, minimalScale(tickUnits));
  const parsed = parseDecimal(price, {
    scale: priceScaleMax,
    allowZero: false,
    maxMinor: tickUnits * BigInt(exchangeServiceLimits.priceTicksMax),
  });
  if (!parsed.ok) {
    if (parsed.reason === 'too_many_decimals') {
      // "1.000000000" is 1: zeros past the decimals a price may have do not take it off the tick.
      const trimmed = price.replace(/\.?0+$/, '');
      if (trimmed !== price) return priceUnitsToTicks(tickUnits, trimmed, tickText);
      return { ok: false, reason: 'not_on_tick', detail: `must be a multiple of the tick size ${tickText}` };
    }
    return {
      ok: false,
      reason: parsed.reason === 'too_large' ? 'too_large' : 'malformed',
      detail: parsed.detail,
    };
  }
  if (parsed.value % tickUnits !== 0n) {
    return { ok: false, reason: 'not_on_tick', detail: `must be a multiple of the tick size ${tickText}` };
  }
  return { ok: true, ticks: Number(parsed.value / tickUnits) };
}

export type QuantityConversion =
  | { ok: true; lots: number }
  | { ok: false; reason: 'malformed' | 'not_on_lot' | 'too_large'; detail: string };

/** Whole shares in lots, exactly: `quantity / lotSize` must be an integer. */
export function quantityToLots(terms: InstrumentTerms, quantity: number): QuantityConversion {
  const { lotSize } = terms.definition;
  if (!Number.isSafeInteger(quantity) || quantity < 1) {
    return { ok: false, reason: 'malformed', detail: 'must be a whole number of shares, at least 1' };
  }
  if (quantity % lotSize !== 0) {
    return { ok: false, reason: 'not_on_lot', detail: `must be a multiple of the lot size ${lotSize}` };
  }
  const lots = quantity / lotSize;
  const lotsMax = orderLotsMax(lotSize);
  if (lots > lotsMax) {
    return { ok: false, reason: 'too_large', detail: `must be at most ${lotSize * lotsMax}` };
  }
  return { ok: true, lots };
}

/** The most lots one order of this lot size may have: the engine's limit, and at most orderSharesMax shares. */
export function orderLotsMax(lotSize: number): number {
  return Math.min(
    exchangeServiceLimits.quantityLotsMax,
    Math.floor(exchangeServiceLimits.orderSharesMax / lotSize),
  );
}

/** Units of 10^-priceScaleMax as a decimal string with `scale` places (scale ≤ priceScaleMax). */
function formatUnits(units: bigint, scale: number): string {
  return formatDecimal(units / 10n ** BigInt(priceScaleMax - scale), scale);
}

/** The fewest decimal places that show `units` (of 10^-priceScaleMax) exactly. */
function minimalScale(units: bigint): number {
  let scale = priceScaleMax;
  while (scale > 0 && units % 10n ** BigInt(priceScaleMax - scale + 1) === 0n) scale--;
  return scale;
}

/** A band in units of 10^-priceBandScaleMax percent, with the fewest decimals ("2.5", "10"). */
function formatBand(units: bigint): string {
  let scale = priceBandScaleMax;
  while (scale > 0 && units % 10n ** BigInt(priceBandScaleMax - scale + 1) === 0n) scale--;
  return formatDecimal(units / 10n ** BigInt(priceBandScaleMax - scale), scale);
}
