-- "Forgot your password?": single-use links that expire, only their SHA-256 kept. Using one
-- sets the password and ends every session of the person.
CREATE TABLE password_resets (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- A single-use link in a mail (password reset, invitation): hidden on the outbox page.
ALTER TABLE outbox ADD COLUMN private_link TEXT;
