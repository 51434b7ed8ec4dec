-- People who follow a client's status page by e-mail (double opt-in): unconfirmed rows are
-- forgotten after 7 days; `components` is a space-separated list of component ids, '' for all.
CREATE TABLE subscribers (
    id            INTEGER PRIMARY KEY,
    agency_id     INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id     INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    email         TEXT    NOT NULL,
    language      TEXT    NOT NULL,
    components    TEXT    NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL,
    confirmed_ms  INTEGER,
    UNIQUE (client_id, email)
);
