-- Keys the read model's queries can walk in order (issue 3, ninth session).
--
-- Executions are listed in time order: (time, seq, fill). The sequencer never stamps a command
-- earlier than the one before it, so this is also seq order, and a time window is a range of the
-- same index. `fill` is the execution's numeric place within its command (the maker of trade n is
-- 2n - 1, its taker 2n): ordering by the text id put '18-10-T' before '18-2-T'.
ALTER TABLE exchange_executions ADD COLUMN fill integer;
UPDATE exchange_executions
   SET fill = 2 * split_part(id, '-', 2)::integer - CASE liquidity WHEN 'maker' THEN 1 ELSE 0 END;
ALTER TABLE exchange_executions
  ALTER COLUMN fill SET NOT NULL,
  ADD CONSTRAINT exchange_executions_fill CHECK (fill >= 1 AND (fill % 2 = 1) = (liquidity = 'maker'));

-- Three index entries per execution instead of five. The primary key serves a member's listing,
-- with or without a time window; (seq, fill) is unique, and so is this key that contains it.
ALTER TABLE exchange_executions DROP CONSTRAINT exchange_executions_pkey;
DROP INDEX exchange_executions_member_seq;
DROP INDEX exchange_executions_member_time;
DROP INDEX exchange_executions_member_symbol_seq;
DROP INDEX exchange_executions_order;
ALTER TABLE exchange_executions ADD PRIMARY KEY (member, time, seq, fill);
CREATE INDEX exchange_executions_member_symbol ON exchange_executions (member, symbol, time, seq, fill);
CREATE INDEX exchange_executions_order ON exchange_executions (order_id, time, seq, fill);

-- GET /v1/orders reads one ordered range per status (and symbol) and merges them, so every filter
-- walks only the member's matching orders; (member, order_id) could not skip the rest.
DROP INDEX exchange_orders_member_order;
CREATE INDEX exchange_orders_member_status ON exchange_orders (member, status, order_id);
