-- Silences (Alertmanager's): while one is active, the alerts of its client that its matchers
-- match send no mail and show as muted; one that starts later is a planned maintenance.
CREATE TABLE silences (
    id          INTEGER PRIMARY KEY,
    -- The id Alertmanager's API and amtool show: a random UUID.
    uuid        TEXT    NOT NULL UNIQUE,
    agency_id   INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- [{"name": ..., "value": ..., "isRegex": false, "isEqual": true}, ...]
    matchers    TEXT    NOT NULL,
    -- Milliseconds since the epoch; ended early: ends_ms set to the time it was ended.
    starts_ms   INTEGER NOT NULL,
    ends_ms     INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    comment     TEXT    NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX silences_client ON silences (client_id, ends_ms);

-- What the client was last told about each threshold (Alertmanager's notification log):
-- firing = 1 after the alarm mail, 0 after the all-clear; since_ms: when that alarm started.
-- The mails and this row are written in one transaction, so a restart neither repeats nor
-- forgets a notification.
CREATE TABLE notification_log (
    threshold_id  INTEGER PRIMARY KEY REFERENCES thresholds (id) ON DELETE CASCADE,
    firing        INTEGER NOT NULL,
    since_ms      INTEGER NOT NULL
);

-- The mail's threshold, for the threshold's history ("which mails went out"); the chart the
-- HTML part shows inline (a PNG, Content-ID chart@host).
ALTER TABLE outbox ADD COLUMN threshold_id INTEGER REFERENCES thresholds (id) ON DELETE SET NULL;
ALTER TABLE outbox ADD COLUMN chart_png BLOB;
CREATE INDEX outbox_threshold ON outbox (threshold_id, created_ms);

-- What an API token may do besides reading (`read`, always): a space-separated list of
-- `silences:write`.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read';
