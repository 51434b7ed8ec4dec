-- Quiet hours per client (Alertmanager's mute_time_intervals on the client's route): on the
-- listed ISO weekdays (1 Monday … 7 Sunday, comma-separated), from start_minute to end_minute
-- after local midnight in time_zone (an end at or before the start is the next day), alarms of
-- the listed severities (space-separated; empty: every one) are not told.
CREATE TABLE quiet_hours (
    id            INTEGER PRIMARY KEY,
    client_id     INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    weekdays      TEXT NOT NULL,
    start_minute  INTEGER NOT NULL,
    end_minute    INTEGER NOT NULL,
    time_zone     TEXT NOT NULL,
    severities    TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
);
CREATE INDEX quiet_hours_client ON quiet_hours (client_id);
