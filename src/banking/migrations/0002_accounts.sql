-- The bank's customers, customer accounts, account opening, notifications and the history read model
-- (src/banking/accounts, onboarding, pii, read-models). Every column holding personal data or a
-- secret stores a sealed value 'pii1:<keyId>:<iv>:<ciphertext>:<tag>' (AES-256-GCM, src/banking/pii),
-- never the plaintext.

CREATE TABLE bank_customers (
  id uuid PRIMARY KEY,
  application_id uuid NOT NULL UNIQUE,
  full_name text NOT NULL,
  email text NOT NULL,
  phone_number text NOT NULL,
  birth_date text NOT NULL,
  id_type text NOT NULL,
  id_number text NOT NULL,
  postal_code text NOT NULL,
  street_address text NOT NULL,
  created_at timestamptz NOT NULL
);

-- One row per customer account; id is the ledger account id (code 1, the currency's ledger).
CREATE TABLE bank_accounts (
  id uuid PRIMARY KEY,
  -- branch (3 digits) + serial (7 digits) + Luhn check digit (src/banking/accounts/account-number.ts)
  account_number text NOT NULL UNIQUE CHECK (account_number ~ '^[0-9]{11}$'),
  customer_id uuid NOT NULL,
  currency text NOT NULL,
  account_type text NOT NULL,
  status text NOT NULL CHECK (status IN ('open', 'closed')),
  opened_at timestamptz NOT NULL
);

CREATE INDEX bank_accounts_customer ON bank_accounts (customer_id, opened_at);

-- The 7-digit serial of account numbers (per installation; the branch is configuration).
CREATE SEQUENCE bank_account_serial_seq MINVALUE 1 MAXVALUE 9999999 NO CYCLE;

-- Account applications: the list read model of the application-<id> streams, written in the same
-- transaction as each event (the stream is the truth; this table serves ?status lists and locking).
CREATE TABLE bank_applications (
  application_id uuid PRIMARY KEY,
  transaction_id uuid NOT NULL UNIQUE,
  status text NOT NULL,
  account_type text NOT NULL,
  currency text NOT NULL,
  last_step text,
  submitted_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE INDEX bank_applications_status ON bank_applications (status, submitted_at, application_id);

-- The applicant's personal data, sealed per field (bound to the field name and application id). Kept
-- out of the append-only event log so that it can be re-encrypted under a new key and erased.
CREATE TABLE bank_application_pii (
  application_id uuid PRIMARY KEY REFERENCES bank_applications (application_id),
  full_name text NOT NULL,
  email text NOT NULL,
  phone_number text NOT NULL,
  birth_date text NOT NULL,
  id_type text NOT NULL,
  id_number text NOT NULL,
  postal_code text NOT NULL,
  street_address text NOT NULL
);

-- The temporary password of a new login, sealed: one copy for the admin's first read after
-- completion, one for the customer notification. Each is set to NULL when used; the login itself
-- only has the password's scrypt hash (identity).
CREATE TABLE bank_application_secrets (
  application_id uuid PRIMARY KEY REFERENCES bank_applications (application_id),
  display_password text,
  notification_password text
);

-- Customer notifications: the hand-off point to a mail/SMS gateway, which reads undelivered rows,
-- unseals the body and the customer's address, sends, and sets delivered_at.
CREATE TABLE bank_notifications (
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL,
  application_id uuid,
  kind text NOT NULL,
  channel text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL,
  delivered_at timestamptz
);

CREATE INDEX bank_notifications_undelivered ON bank_notifications (created_at) WHERE delivered_at IS NULL;

-- What a ledger transfer means to a customer, written by whoever creates the transfer, before it.
CREATE TABLE bank_posting_details (
  ledger_transfer_id uuid PRIMARY KEY,
  type text NOT NULL,
  description text NOT NULL,
  counterparty text,
  transfer_id uuid
);

-- History read model: one row per ledger posting per customer account, projected from the ledger's
-- transfers and bank_posting_details (src/banking/read-models); `kinyu projections rebuild` redoes it.
CREATE TABLE bank_account_history (
  account_id uuid NOT NULL,
  id uuid NOT NULL, -- the ledger transfer
  seq int8 NOT NULL, -- the ledger's total order; the page cursor
  time timestamptz NOT NULL,
  type text NOT NULL,
  amount int8 NOT NULL CHECK (amount > 0),
  direction text NOT NULL CHECK (direction IN ('debit', 'credit')),
  balance_after int8 NOT NULL, -- posted balance (credits - debits) right after the posting
  available_after int8 NOT NULL,
  description text NOT NULL,
  counterparty text,
  transfer_id uuid,
  PRIMARY KEY (account_id, seq)
);

CREATE UNIQUE INDEX bank_account_history_transfer ON bank_account_history (account_id, id);

-- Per account: the last ledger seq projected and the balance it left (the balance read model, and
-- the projector's change detector).
CREATE TABLE bank_account_balances (
  account_id uuid PRIMARY KEY,
  last_seq int8 NOT NULL DEFAULT 0,
  debits_pending int8 NOT NULL DEFAULT 0,
  debits_posted int8 NOT NULL DEFAULT 0,
  credits_pending int8 NOT NULL DEFAULT 0,
  credits_posted int8 NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL
);
