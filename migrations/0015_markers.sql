-- Markers on the time axis of a client's dashboards (Grafana's annotations): a deployment, a
-- newsletter, a DDoS attack, and every alarm of a threshold from when it was raised to when it
-- was over. A marker may belong to one project and one environment (slug and name; NULL: all).
CREATE TABLE markers (
    id             INTEGER PRIMARY KEY,
    client_id      INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    project        TEXT,
    environment    TEXT,
    time_ms        INTEGER NOT NULL,
    time_end_ms    INTEGER NOT NULL,
    text           TEXT    NOT NULL,
    -- A JSON list of strings.
    tags           TEXT    NOT NULL DEFAULT '[]',
    -- As Grafana's API was given them; Vitrine draws a marker on every panel of its place.
    dashboard_uid  TEXT,
    panel_id       INTEGER,
    -- Set on the markers of alarms.
    threshold_id   INTEGER REFERENCES thresholds (id) ON DELETE SET NULL,
    created_by     TEXT    NOT NULL,
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL
);
CREATE INDEX markers_client ON markers (client_id, time_ms);
CREATE INDEX markers_threshold ON markers (threshold_id, time_ms);
