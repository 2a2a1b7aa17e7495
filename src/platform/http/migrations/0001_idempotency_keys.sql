-- Responses to POST requests that carried an Idempotency-Key, so a retry gets the first answer.
CREATE TABLE idempotency_keys (
  scope           text        NOT NULL, -- who sent it and to which route: keys of two callers never meet
  key             text        NOT NULL,
  request_hash    text        NOT NULL,
  state           text        NOT NULL CHECK (state IN ('in_progress', 'done')),
  response_status integer,
  response_type   text,
  response_body   text,
  created_at      timestamptz NOT NULL,
  locked_until    timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
