import type { Side, TradeEvent } from '../matching/index.ts';
import { RingBuffer } from './ring-buffer.ts';

/** One trade as the tape keeps it (ticks and lots; converted at the edge). */
export interface TapeTrade {
  /** `<seq>-<n>`, n = 1-based trade index within the command (the projection's trade id too). */
  tradeId: string;
  seq: number;
  priceTicks: number;
  quantityLots: number;
  /** The aggressor's side. */
  takerSide: Side;
  /** Epoch ms of the command that traded (journal `meta.time`). */
  timeMs: number;
}

/** The trades of one durable command, numbered as the projection numbers them. */
export function tapeTrades(seq: number, timeMs: number, events: readonly { type: string }[]): TapeTrade[] {
  const trades: TapeTrade[] = [];
  for (const event of events) {
    if (event.type !== 'trade') continue;
    const trade = event as TradeEvent;
    trades.push({
      tradeId: `${seq}-${trades.length + 1}`,
      seq,
      priceTicks: trade.priceTicks,
      quantityLots: trade.quantityLots,
      takerSide: trade.makerSide === 'buy' ? 'sell' : 'buy',
      timeMs,
    });
  }
  return trades;
}

/** The last `capacity` trades of one symbol, oldest first. */
export class TradeTape {
  readonly #trades: RingBuffer<TapeTrade>;

  constructor(capacity: number) {
    this.#trades = new RingBuffer(capacity);
  }

  add(trades: readonly TapeTrade[]): void {
    for (const trade of trades) this.#trades.push(trade);
  }

  /** The newest `limit` trades, newest first. */
  latest(limit: number): TapeTrade[] {
    return this.#trades.newest(limit).reverse();
  }

  get size(): number {
    return this.#trades.size;
  }
}
