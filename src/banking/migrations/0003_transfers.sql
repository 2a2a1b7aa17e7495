-- Transfer saga (src/banking/transfers). The saga's truth is its event stream `transfer-<id>`;
-- bank_transfers is the saga's index, written in the same transaction as every append to the stream,
-- so the sweeper can find transfers that stopped moving without reading streams.

CREATE TABLE bank_transfers (
  id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('RECEIVED', 'WITHDRAWING', 'DEPOSITING', 'COMPLETED', 'FAILED')),
  source_account_id uuid NOT NULL,
  target_account_id uuid NOT NULL,
  source_customer_id uuid NOT NULL,
  target_customer_id uuid NOT NULL,
  currency text NOT NULL,
  amount_minor int8 NOT NULL CHECK (amount_minor > 0),
  reason text,
  -- The stream's version after the last append: the row follows the stream, never leads it.
  version int8 NOT NULL CHECK (version > 0),
  created_at timestamptz NOT NULL,
  -- Last append; the sweeper calls a transfer stuck when this is older than KINYU_TRANSFER_STUCK_AFTER_MS.
  updated_at timestamptz NOT NULL,
  -- Times the sweeper re-enqueued the next step; bounded by transferLimits.redrivesMax.
  redrives int4 NOT NULL DEFAULT 0 CHECK (redrives >= 0),
  last_redrive_at timestamptz
);

-- The sweeper's work list: only transfers still in flight.
CREATE INDEX bank_transfers_in_flight ON bank_transfers (updated_at)
  WHERE status IN ('RECEIVED', 'WITHDRAWING', 'DEPOSITING');

-- Alerts for a human (stuck transfers, …): one open alert per kind and subject at a time.
CREATE TABLE bank_alerts (
  id uuid PRIMARY KEY,
  kind text NOT NULL,
  subject_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('open', 'resolved')),
  detail text NOT NULL,
  -- Automatic re-drives done while the alert was open.
  attempts int4 NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  raised_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  resolved_at timestamptz,
  CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);

CREATE UNIQUE INDEX bank_alerts_one_open ON bank_alerts (kind, subject_id) WHERE status = 'open';
CREATE INDEX bank_alerts_recent ON bank_alerts (raised_at DESC, id DESC);

-- Customer notifications of the saga's outcome (completed / failed), one per bus message.
CREATE TABLE bank_transfer_notifications (
  message_id text PRIMARY KEY,
  customer_id uuid NOT NULL,
  transfer_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('transfer.completed', 'transfer.failed')),
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE INDEX bank_transfer_notifications_customer ON bank_transfer_notifications (customer_id, created_at DESC);
