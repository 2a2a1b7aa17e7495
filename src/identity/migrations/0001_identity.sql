-- Identity: users, API keys for exchange members, revoked access tokens, and an append-only audit log.
-- No column ever holds a plaintext password, token or API key secret.

CREATE TABLE identity_users (
  id uuid PRIMARY KEY,
  -- Kept as typed for display; uniqueness and lookup are case-insensitive through the index below.
  login_id text NOT NULL CHECK (char_length(login_id) BETWEEN 1 AND 64),
  roles text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['admin', 'customer']::text[]),
  -- scrypt$N$r$p$salt$hash (base64url); parameters travel with the hash so they can be raised later.
  password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  must_change_password boolean NOT NULL DEFAULT false,
  failed_login_count integer NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
  locked_until timestamptz,
  -- Bumped on password change and reset: tokens carry the epoch they were issued in, older ones stop working.
  session_epoch integer NOT NULL DEFAULT 0 CHECK (session_epoch >= 0),
  customer_id text CHECK (customer_id IS NULL OR char_length(customer_id) BETWEEN 1 AND 64),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE UNIQUE INDEX identity_users_login_id_key ON identity_users (lower(login_id));
CREATE INDEX identity_users_admin_idx ON identity_users (id) WHERE 'admin' = ANY (roles);

CREATE TABLE identity_api_keys (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  role text NOT NULL CHECK (role IN ('member')),
  -- SHA-256 of the secret part: the secret is 256 random bits, so a fast hash is enough.
  secret_sha256 bytea NOT NULL CHECK (octet_length(secret_sha256) = 32),
  created_by uuid REFERENCES identity_users (id),
  created_at timestamptz NOT NULL,
  revoked_at timestamptz
);

CREATE UNIQUE INDEX identity_api_keys_active_name_key ON identity_api_keys (lower(name)) WHERE revoked_at IS NULL;

-- Tokens revoked before they expire (logout). Rows past expires_at are useless and purged on insert.
CREATE TABLE identity_revoked_tokens (
  jti uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES identity_users (id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL
);

CREATE INDEX identity_revoked_tokens_expires_idx ON identity_revoked_tokens (expires_at);

-- The audit trail of every identity state change (login outcomes, lock-outs, password changes, keys).
CREATE TABLE identity_events (
  position bigserial PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  subject_id uuid NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  occurred_at timestamptz NOT NULL
);

CREATE INDEX identity_events_subject_idx ON identity_events (subject_id, position);
