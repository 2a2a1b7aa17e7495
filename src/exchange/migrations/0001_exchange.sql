-- Instruments the exchange lists. Prices are exact decimals (numeric), written in canonical form by
-- the service (src/exchange/service/instruments.ts); the engine works in ticks and lots derived from them.
CREATE TABLE exchange_instruments (
  symbol text PRIMARY KEY CHECK (symbol ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$'),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  tick_size numeric NOT NULL CHECK (tick_size > 0),
  lot_size integer NOT NULL CHECK (lot_size >= 1),
  reference_price numeric NOT NULL CHECK (reference_price > 0),
  price_band_percent numeric CHECK (price_band_percent > 0 AND price_band_percent <= 100),
  max_order_quantity bigint CHECK (max_order_quantity >= lot_size),
  created_at timestamptz NOT NULL
);

-- Trading session states: one row per scope, '*' for the whole market, else an instrument's symbol.
-- A scope without a row is open. Order acceptance reads these (cached in the exchange process);
-- closing expires DAY orders through the journal, so a replay expires the same orders.
CREATE TABLE exchange_sessions (
  scope text PRIMARY KEY CHECK (scope = '*' OR scope ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$'),
  state text NOT NULL CHECK (state IN ('open', 'halted', 'closed')),
  updated_at timestamptz NOT NULL
);
