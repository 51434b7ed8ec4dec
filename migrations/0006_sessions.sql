-- The sessions of a person end together: a session keeps the generation it was signed in
-- under, and "sign out everywhere" or a password change raises the person's generation.
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
-- An API token may stop working at a set time (seconds since the epoch; NULL: never).
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
