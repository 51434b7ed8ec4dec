-- Every mail Vitrine sends, written in the transaction of the change that causes it and
-- sent by a worker that retries with backoff: nothing is lost when the mail server is down
-- or Vitrine stops mid-send (a retry keeps the message's Message-ID).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    agency_id        INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    -- The client it is about, or NULL (a mail to agency people).
    client_id        INTEGER REFERENCES clients (id) ON DELETE CASCADE,
    -- alert, resolved, invitation, ...
    kind             TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body_text        TEXT    NOT NULL,
    body_html        TEXT    NOT NULL,
    -- <...@...>, kept across retries.
    message_id       TEXT    NOT NULL UNIQUE,
    -- pending, sent, failed (will be retried), dead (given up).
    state            TEXT    NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    last_error       TEXT,
    created_ms       INTEGER NOT NULL,
    sent_ms          INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
CREATE INDEX outbox_agency ON outbox (agency_id, created_ms);
