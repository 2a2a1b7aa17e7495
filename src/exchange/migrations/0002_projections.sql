-- Read models of the exchange (src/exchange/projector): orders, trades and executions, projected
-- from the sequencer's journal off the critical path. The journal is the source of truth; these
-- tables can be rebuilt from it at any time (drop the rows and the checkpoint, restart the projector).
-- Every batch of journal records is written with the checkpoint in ONE transaction, so the tables
-- always show the state exactly as of exchange_projector_checkpoint.seq.

CREATE TABLE exchange_projector_checkpoint (
  name text PRIMARY KEY,
  -- Seq of the last journal record whose effects are in the tables below (0 before the first).
  seq bigint NOT NULL CHECK (seq >= 0)
);

-- One row per order, upserted as it changes; prices in ticks and quantities in lots (the views
-- convert with the instrument).
CREATE TABLE exchange_orders (
  order_id bigint PRIMARY KEY,
  symbol text NOT NULL,
  member text NOT NULL,
  account text NOT NULL,
  client_order_id text NULL,
  side text NOT NULL CHECK (side IN ('buy', 'sell')),
  order_type text NOT NULL CHECK (order_type IN ('limit', 'market')),
  time_in_force text NOT NULL,
  post_only boolean NOT NULL,
  price_ticks bigint NULL,
  quantity_lots bigint NOT NULL,
  filled_lots bigint NOT NULL,
  remaining_lots bigint NOT NULL,
  status text NOT NULL
    CHECK (status IN ('new', 'partially_filled', 'filled', 'canceled', 'rejected', 'expired')),
  reject_reason text NULL,
  cancel_reason text NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- Seq of the last command that changed the order: an upsert never moves a row back in time.
  last_seq bigint NOT NULL
);

-- GET /v1/orders: a member's orders, by symbol and status, in id order.
CREATE INDEX exchange_orders_member_symbol_status ON exchange_orders (member, symbol, status, order_id);
CREATE INDEX exchange_orders_member_order ON exchange_orders (member, order_id);
-- Loading the open orders on start (projector and exchange service).
CREATE INDEX exchange_orders_open ON exchange_orders (order_id) WHERE status IN ('new', 'partially_filled');

-- One row per trade: '<seq>-<n>', n = the 1-based trade index within the command.
CREATE TABLE exchange_trades (
  trade_id text PRIMARY KEY,
  seq bigint NOT NULL,
  symbol text NOT NULL,
  price_ticks bigint NOT NULL,
  quantity_lots bigint NOT NULL,
  maker_order_id bigint NOT NULL,
  taker_order_id bigint NOT NULL,
  maker_side text NOT NULL CHECK (maker_side IN ('buy', 'sell')),
  time timestamptz NOT NULL
);

CREATE INDEX exchange_trades_symbol_time ON exchange_trades (symbol, time, seq);

-- Two rows per trade, one per side: '<tradeId>-M' (maker) and '<tradeId>-T' (taker).
CREATE TABLE exchange_executions (
  id text PRIMARY KEY,
  trade_id text NOT NULL,
  order_id bigint NOT NULL,
  member text NOT NULL,
  account text NOT NULL,
  symbol text NOT NULL,
  side text NOT NULL CHECK (side IN ('buy', 'sell')),
  price_ticks bigint NOT NULL,
  quantity_lots bigint NOT NULL,
  order_type text NOT NULL CHECK (order_type IN ('limit', 'market')),
  liquidity text NOT NULL CHECK (liquidity IN ('maker', 'taker')),
  seq bigint NOT NULL,
  time timestamptz NOT NULL
);

-- GET /v1/execution: a member's executions in (seq, id) order, by time range or order.
CREATE INDEX exchange_executions_member_seq ON exchange_executions (member, seq, id);
CREATE INDEX exchange_executions_member_time ON exchange_executions (member, time);
CREATE INDEX exchange_executions_member_symbol_seq ON exchange_executions (member, symbol, seq, id);
CREATE INDEX exchange_executions_order ON exchange_executions (order_id, seq, id);
