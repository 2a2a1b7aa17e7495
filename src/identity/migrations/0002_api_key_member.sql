-- A member firm holds several API keys: each key names the member it trades for. Keys issued before
-- this column existed keep trading as the member they were: their own id.
ALTER TABLE identity_api_keys ADD COLUMN member text;
UPDATE identity_api_keys SET member = id::text;
ALTER TABLE identity_api_keys ALTER COLUMN member SET NOT NULL;
ALTER TABLE identity_api_keys
  ADD CONSTRAINT identity_api_keys_member_check CHECK (member ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');

CREATE INDEX identity_api_keys_member_idx ON identity_api_keys (member);
