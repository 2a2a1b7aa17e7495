-- Core ledger: TigerBeetle's double-entry model on PostgreSQL (src/banking/ledger).
-- ledger_transfers is the source of truth and append-only; ledger_accounts' balance columns and
-- ledger_pending_timeouts are caches of it, written in the same transaction as each transfer and
-- re-derivable at any time (Ledger.verifyBalances / recomputeBalances).
-- Flag bits (src/banking/ledger/flags.ts): account 1 linked, 2 debits_must_not_exceed_credits,
-- 4 credits_must_not_exceed_debits; transfer 1 linked, 2 pending, 4 post_pending, 8 void_pending,
-- 64 closing_debit, 128 closing_credit.

CREATE TABLE ledger_accounts (
  id uuid PRIMARY KEY,
  ledger int4 NOT NULL CHECK (ledger > 0),
  code int4 NOT NULL CHECK (code BETWEEN 1 AND 65535),
  owner text NOT NULL CHECK (owner <> '' AND length(owner) <= 128),
  flags int4 NOT NULL,
  created_at timestamptz NOT NULL,
  -- Balance cache (minor units), updated under FOR NO KEY UPDATE in each transfer's transaction.
  debits_pending int8 NOT NULL DEFAULT 0,
  debits_posted int8 NOT NULL DEFAULT 0,
  credits_pending int8 NOT NULL DEFAULT 0,
  credits_posted int8 NOT NULL DEFAULT 0,
  -- Derived too: some closing hold on the account was not voided.
  closed boolean NOT NULL DEFAULT false,
  -- Latest transfer timestamp on the account: keeps each account's timestamps in lock order, so an
  -- asOf cut is always a prefix of its history.
  last_transfer_at timestamptz,
  CONSTRAINT ledger_accounts_balances_not_negative
    CHECK (debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0),
  -- The limit flags, enforced a second time by PostgreSQL: a bug in the decision code cannot commit.
  CONSTRAINT ledger_accounts_debits_must_not_exceed_credits
    CHECK ((flags & 2) = 0 OR debits_pending + debits_posted <= credits_posted),
  CONSTRAINT ledger_accounts_credits_must_not_exceed_debits
    CHECK ((flags & 4) = 0 OR credits_pending + credits_posted <= debits_posted)
) WITH (fillfactor = 70); -- room for HOT updates of the balance columns

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % refused: transfers are append-only and accounts are never deleted (a correction is a new transfer)',
    TG_OP, TG_TABLE_NAME;
END
$$;

-- Accounts are never deleted: transfers name them for ever.
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE OR TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE TABLE ledger_transfers (
  id uuid PRIMARY KEY,
  -- Total order of transfers. No sequence CACHE: per account, seq must follow lock order.
  seq int8 GENERATED ALWAYS AS IDENTITY,
  -- No foreign keys: every transfer is decided against its two account rows, locked in the same
  -- transaction, and a post or void against its pending transfer, read in it; accounts are never
  -- deleted and transfers never change (triggers below). Per-row FK triggers cost a third of a batch,
  -- even for a NULL pending_id.
  debit_account_id uuid NOT NULL,
  credit_account_id uuid NOT NULL,
  amount int8 NOT NULL CHECK (amount > 0),
  pending_id uuid,
  ledger int4 NOT NULL,
  code int4 NOT NULL,
  flags int4 NOT NULL,
  timeout_seconds int4 NOT NULL DEFAULT 0 CHECK (timeout_seconds >= 0),
  reference text CHECK (length(reference) <= 128),
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  CHECK (debit_account_id <> credit_account_id),
  CHECK ((pending_id IS NOT NULL) = ((flags & 12) <> 0))
);

CREATE INDEX ledger_transfers_debit_account ON ledger_transfers (debit_account_id, seq);
CREATE INDEX ledger_transfers_credit_account ON ledger_transfers (credit_account_id, seq);
-- A pending transfer resolves at most once (post, void or expiry).
CREATE UNIQUE INDEX ledger_transfers_pending_id ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;

CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_transfers
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Holds with a timeout that are still pending: the timeout sweep's work list.
CREATE TABLE ledger_pending_timeouts (
  pending_id uuid PRIMARY KEY,
  expires_at timestamptz NOT NULL
);

CREATE INDEX ledger_pending_timeouts_expires_at ON ledger_pending_timeouts (expires_at, pending_id);

-- What each transfer did to each of its two accounts, derived from transfers alone: a pending
-- transfer adds to the pending column; a post moves the pending amount out and the posted amount in;
-- a void (or expiry) moves the pending amount out. Balances, asOf and history are sums over this.
CREATE VIEW ledger_transfer_effects AS
SELECT t.seq, t.id AS transfer_id, t.created_at, t.debit_account_id AS account_id,
  CASE WHEN (t.flags & 2) <> 0 THEN t.amount WHEN t.pending_id IS NOT NULL THEN -p.amount ELSE 0 END
    AS debits_pending,
  CASE WHEN (t.flags & 10) <> 0 THEN 0 ELSE t.amount END AS debits_posted,
  0::int8 AS credits_pending,
  0::int8 AS credits_posted
FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
UNION ALL
SELECT t.seq, t.id, t.created_at, t.credit_account_id,
  0::int8,
  0::int8,
  CASE WHEN (t.flags & 2) <> 0 THEN t.amount WHEN t.pending_id IS NOT NULL THEN -p.amount ELSE 0 END,
  CASE WHEN (t.flags & 10) <> 0 THEN 0 ELSE t.amount END
FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id;
