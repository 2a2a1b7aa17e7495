-- Event store, outbox and catch-up subscription checkpoints (module platform).
-- Versions: a stream's first event has version 1; a stream with no events has version 0 and no row.

-- One row per stream with its current version. An append moves this row first, in the same statement
-- (src/platform/event-store/append-sql.ts), and writes events only if the expected version held: a
-- conflicting append waits for the competing transaction, then writes nothing.
-- Free space on each page lets the version update stay on its page (a HOT update: no index write).
CREATE TABLE streams (
  stream_id text PRIMARY KEY,
  version bigint NOT NULL CHECK (version > 0)
) WITH (fillfactor = 70);

-- The log. No foreign key to streams: the append writes both in one statement, and the extra index
-- probe per event would only cost throughput.
CREATE TABLE events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Readers use (transaction_id, global_position) as the commit-safe order: see readAllSql in
  -- src/platform/event-store/event-store.ts for why global_position alone can skip events.
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  event_id uuid NOT NULL UNIQUE,
  stream_id text NOT NULL,
  version bigint NOT NULL CHECK (version > 0),
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  recorded_at timestamptz NOT NULL,
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);

CREATE INDEX events_transaction_position_idx ON events (transaction_id, global_position);

-- Events are facts: nothing may change or remove them. Statement-level, so even a statement that
-- matches no row fails and a mistaken code path is found on its first run.
CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are immutable: % on events is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER events_immutable
  BEFORE UPDATE OR DELETE OR TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();

-- Messages for the bus, written in the same transaction as the state change that caused them.
-- Rows are not events: the relay sets published_at, and may later prune published rows.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id uuid NOT NULL UNIQUE,
  topic text NOT NULL,
  key text NOT NULL,
  payload jsonb NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL,
  published_at timestamptz
);

CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Where each catch-up subscription has read up to, updated in the transaction of its handler.
CREATE TABLE subscription_checkpoints (
  name text PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT '0'::xid8,
  global_position bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL
) WITH (fillfactor = 70);
