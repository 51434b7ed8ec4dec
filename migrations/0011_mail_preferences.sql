-- What error mails a person wants from a client (no row: every one). alerts = 0 after the
-- one-click unsubscribe (RFC 8058) or when switched off on the account page.
CREATE TABLE mail_preferences (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    alerts      INTEGER NOT NULL DEFAULT 1,
    -- The severities wanted, space-separated (critical warning info).
    severities  TEXT    NOT NULL DEFAULT 'critical warning info',
    -- The projects wanted as a JSON array of slugs; NULL: all of them.
    projects    TEXT,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- The signed unsubscribe link of a mail, sent as List-Unsubscribe (and hidden on the outbox page).
ALTER TABLE outbox ADD COLUMN unsubscribe_url TEXT;
