-- Idempotent consumers: one row per (consumer, message) handled, written in the transaction of the
-- handler's effects, so a redelivered message finds its row and has no second effect.
CREATE TABLE processed_messages (
  consumer text NOT NULL,
  message_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

-- For pruning old rows once redeliveries of them can no longer happen.
CREATE INDEX processed_messages_processed_at_idx ON processed_messages (processed_at);
