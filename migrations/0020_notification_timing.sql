-- When a client is told of an alarm, as an Alertmanager route's timers (seconds): the first
-- notice after group_wait, a change at the earliest group_interval after the last notice, an
-- unchanged alarm again every repeat_interval. A client without a row uses the server's.
CREATE TABLE notification_timing (
    client_id             INTEGER PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    group_wait_secs       INTEGER NOT NULL,
    group_interval_secs   INTEGER NOT NULL,
    repeat_interval_secs  INTEGER NOT NULL
);

-- What the client was last told of an alarm besides since when it lasts: when the notice went
-- out, and which alerts it named (their fingerprints, a JSON list; empty in rows written before
-- this, which the evaluator fills from the firing alerts at start).
ALTER TABLE notification_log ADD COLUMN notified_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notification_log ADD COLUMN alerts TEXT NOT NULL DEFAULT '[]';
UPDATE notification_log SET notified_ms = since_ms;
