import { assert } from '../matching/assert.ts';
import type { BookDepth, PriceLevelView } from '../matching/index.ts';
import { pricer } from '../service/views.ts';
import type { L2Delta, L3Delta, ReplicaOrders } from './book-replica.ts';
import type { Candle } from './candles.ts';
import type { TapeTrade } from './trade-tape.ts';

/*
 * The public shape of market data, shared by REST and the WebSocket: prices are decimal strings
 * written as order views write them (the tick's decimals, at least the currency's: "100.50" in USD),
 * quantities integers (lots × lot size), times ISO 8601 UTC. L3 is anonymous: order ids only, never
 * a member or account.
 */

/** What market data needs of an instrument (a structural subset of the exchange's Instrument). */
export interface MarketInstrument {
  symbol: string;
  /** ISO 4217 code: a price shows at least its decimals. */
  currency: string;
  /** Decimal string, e.g. "0.01". */
  tickSize: string;
  /** Shares per lot. */
  lotSize: number;
}

export interface LevelJson {
  price: string;
  quantity: number;
}
export interface OrderJson {
  orderId: string;
  price: string;
  quantity: number;
}
export interface TradeJson {
  tradeId: string;
  price: string;
  quantity: number;
  /** The taker's (aggressor's) side. */
  side: 'buy' | 'sell';
  time: string;
  sequence: number;
}
export interface CandleJson {
  startTime: string;
  open: string;
  high: string;
  low: string;
  close: string;
  /** Whole shares as a decimal string: a sum with no bound, exact at any size. */
  volume: string;
}
export interface BboJson {
  bid: LevelJson | null;
  ask: LevelJson | null;
}
export type L2ChangeJson = { side: 'buy' | 'sell' } & LevelJson;
export type L3ChangeJson =
  | { action: 'add' | 'modify'; orderId: string; side: 'buy' | 'sell'; price: string; quantity: number }
  | { action: 'delete'; orderId: string; side: 'buy' | 'sell'; price: string };

/** Converts ticks and lots of one instrument into its public units. */
export class Units {
  /** The price of `ticks` as a decimal string. */
  readonly price: (ticks: number) => string;
  readonly #lotSize: number;
  readonly #lotSizeBig: bigint;

  constructor(instrument: MarketInstrument) {
    assert(
      Number.isSafeInteger(instrument.lotSize) && instrument.lotSize > 0,
      `lot size ${instrument.lotSize}`,
    );
    // A bad tick size throws here, not on the first update.
    this.price = pricer(instrument);
    this.#lotSize = instrument.lotSize;
    this.#lotSizeBig = BigInt(instrument.lotSize);
  }

  quantity(lots: number): number {
    const quantity = lots * this.#lotSize;
    assert(Number.isSafeInteger(quantity), `quantity of ${lots} lots overflows`);
    return quantity;
  }

  level(level: Pick<PriceLevelView, 'priceTicks' | 'quantityLots'>): LevelJson {
    return { price: this.price(level.priceTicks), quantity: this.quantity(level.quantityLots) };
  }

  depth(depth: BookDepth): { bids: LevelJson[]; asks: LevelJson[] } {
    return { bids: depth.bids.map((l) => this.level(l)), asks: depth.asks.map((l) => this.level(l)) };
  }

  orders(orders: ReplicaOrders): { bids: OrderJson[]; asks: OrderJson[] } {
    const order = (o: ReplicaOrders['bids'][number]): OrderJson => ({
      orderId: String(o.orderId),
      price: this.price(o.priceTicks),
      quantity: this.quantity(o.quantityLots),
    });
    return { bids: orders.bids.map(order), asks: orders.asks.map(order) };
  }

  bbo(top: { bid: PriceLevelView | null; ask: PriceLevelView | null }): BboJson {
    return { bid: top.bid ? this.level(top.bid) : null, ask: top.ask ? this.level(top.ask) : null };
  }

  l2Change(delta: L2Delta): L2ChangeJson {
    return { side: delta.side, ...this.level(delta) };
  }

  l3Change(delta: L3Delta): L3ChangeJson {
    const base = { orderId: String(delta.orderId), side: delta.side, price: this.price(delta.priceTicks) };
    if (delta.action === 'delete') return { action: 'delete', ...base };
    return { action: delta.action, ...base, quantity: this.quantity(delta.quantityLots) };
  }

  trade(trade: TapeTrade): TradeJson {
    return {
      tradeId: trade.tradeId,
      price: this.price(trade.priceTicks),
      quantity: this.quantity(trade.quantityLots),
      side: trade.takerSide,
      time: new Date(trade.timeMs).toISOString(),
      sequence: trade.seq,
    };
  }

  candle(candle: Candle): CandleJson {
    return {
      startTime: new Date(candle.startMs).toISOString(),
      open: this.price(candle.openTicks),
      high: this.price(candle.highTicks),
      low: this.price(candle.lowTicks),
      close: this.price(candle.closeTicks),
      volume: String(candle.volumeLots * this.#lotSizeBig),
    };
  }
}
