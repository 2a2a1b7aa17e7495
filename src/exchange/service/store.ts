import { type Pool, type Queryable, withTransaction } from '../../platform/sql/pool.ts';
import type { OrderState } from '../orders/order-state.ts';
import { type OrderRow, orderColumns, orderFromRow } from '../projector/store.ts';
import type { InstrumentDefinition } from './instruments.ts';
import type { SessionState } from './sessions.ts';

/** The scope of the market-wide session row in exchange_sessions. */
export const marketScope = '*';

interface InstrumentRow {
  symbol: string;
  name: string;
  currency: string;
  tick_size: string;
  lot_size: number;
  reference_price: string;
  price_band_percent: string | null;
  max_order_quantity: bigint | null;
}

const instrumentColumns = `symbol, name, currency, tick_size::text AS tick_size, lot_size,
  reference_price::text AS reference_price, price_band_percent::text AS price_band_percent, max_order_quantity`;

/**
 * SQL for the exchange's own tables (instruments and sessions) and the one lookup the order entry
 * makes in the order projection: who owns an order that no longer rests.
 */
export class ExchangeStore {
  constructor(private readonly pool: Pool) {}

  async listInstruments(): Promise<InstrumentDefinition[]> {
    const { rows } = await this.pool.query<InstrumentRow>(
      `SELECT ${instrumentColumns} FROM exchange_instruments ORDER BY symbol`,
    );
    return rows.map(toDefinition);
  }

  /** Inserts an instrument; 'exists' when the symbol is taken. */
  async insertInstrument(definition: InstrumentDefinition, createdAt: Date): Promise<'inserted' | 'exists'> {
    const { rowCount } = await insert(this.pool, definition, createdAt);
    return rowCount === 1 ? 'inserted' : 'exists';
  }

  /** Lists `defaults` when no instrument exists yet (first start); returns how many it inserted. */
  async insertDefaultsIfEmpty(defaults: readonly InstrumentDefinition[], createdAt: Date): Promise<number> {
    return withTransaction(this.pool, async (tx) => {
      // Two processes starting at once must not both see an empty table and list twice.
      await tx.query('LOCK TABLE exchange_instruments IN SHARE ROW EXCLUSIVE MODE');
      const { rows } = await tx.query<{ any: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM exchange_instruments) AS any',
      );
      if (rows[0]?.any) return 0;
      for (const definition of defaults) await insert(tx, definition, createdAt);
      return defaults.length;
    });
  }

  /** Every stored session state by scope (marketScope or a symbol); missing scopes are open. */
  async loadSessions(): Promise<Map<string, SessionState>> {
    const { rows } = await this.pool.query<{ scope: string; state: SessionState }>(
      'SELECT scope, state FROM exchange_sessions',
    );
    return new Map(rows.map((row) => [row.scope, row.state]));
  }

  async saveSession(scope: string, state: SessionState, updatedAt: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO exchange_sessions (scope, state, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (scope) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
      [scope, state, updatedAt],
    );
  }

  /** The member of an order in the order projection (exchange_orders), if it has been projected. */
  async orderOwner(orderId: number): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ member: string }>(
      'SELECT member FROM exchange_orders WHERE order_id = $1',
      [orderId],
    );
    return rows[0]?.member;
  }

  /**
   * The member's newest projected order journaled with this request key and placed at `sinceMs` or
   * later (see exchange_orders.request_key).
   */
  async orderForRequest(
    member: string,
    requestKey: string,
    sinceMs: number,
  ): Promise<OrderState | undefined> {
    const { rows } = await this.pool.query<OrderRow>(
      `SELECT ${orderColumns} FROM exchange_orders
        WHERE request_key = $1 AND member = $2 AND created_at >= $3 ORDER BY order_id DESC LIMIT 1`,
      [requestKey, member, new Date(sinceMs)],
    );
    return rows[0] && orderFromRow(rows[0]);
  }
}

function insert(db: Queryable, definition: InstrumentDefinition, createdAt: Date) {
  return db.query(
    `INSERT INTO exchange_instruments (symbol, name, currency, tick_size, lot_size, reference_price,
       price_band_percent, max_order_quantity, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (symbol) DO NOTHING`,
    [
      definition.symbol,
      definition.name,
      definition.currency,
      definition.tickSize,
      definition.lotSize,
      definition.referencePrice,
      definition.priceBandPercent,
      definition.maxOrderQuantity,
      createdAt,
    ],
  );
}

function toDefinition(row: InstrumentRow): InstrumentDefinition {
  return {
    symbol: row.symbol,
    name: row.name,
    currency: row.currency,
    tickSize: row.tick_size,
    lotSize: row.lot_size,
    referencePrice: row.reference_price,
    priceBandPercent: row.price_band_percent,
    maxOrderQuantity: row.max_order_quantity === null ? null : Number(row.max_order_quantity),
  };
}
