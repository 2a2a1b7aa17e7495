-- Orders sent with an Idempotency-Key (issue 3, twelfth session).
--
-- The key store (idempotency_keys) and the journal are not written together: a process that dies
-- after journaling an order but before storing its answer leaves the key in progress, and the retry
-- that takes it over must not place the order again. The command's meta carries a digest of the
-- key and its scope (`requestKey`); the projector keeps it here, and order entry looks for it when a
-- retry resumes an unfinished request. Most orders have none, so the index holds only those that do.
ALTER TABLE exchange_orders ADD COLUMN request_key text;
CREATE INDEX exchange_orders_request_key ON exchange_orders (request_key) WHERE request_key IS NOT NULL;
