-- Thresholds: the product's central object. One threshold of an environment (or of a whole
-- project when environment_id is NULL) drives one alert rule: `(expr) comparator value`,
-- held for `for_secs` before it fires.
CREATE TABLE thresholds (
    id                    INTEGER PRIMARY KEY,
    agency_id             INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id             INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    project_id            INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment_id        INTEGER REFERENCES environments (id) ON DELETE CASCADE,
    name                  TEXT    NOT NULL,
    -- The template it was made from (rules::templates), or NULL.
    template              TEXT,
    -- The measured value, as written (confined to the place at evaluation).
    expr                  TEXT    NOT NULL,
    -- One of > >= < <= == !=.
    comparator            TEXT    NOT NULL,
    value                 REAL    NOT NULL,
    -- An earlier line drawn beside the value (the band's warning edge), or NULL.
    warning               REAL,
    for_secs              INTEGER NOT NULL,
    keep_firing_for_secs  INTEGER NOT NULL DEFAULT 0,
    -- critical, warning or info.
    severity              TEXT    NOT NULL,
    -- A Grafana unit id: percentunit, percent, s, ms, bytes, reqps, short, ...
    unit                  TEXT    NOT NULL,
    -- {"en": {"meaning": ..., "action": ..., "audience": ...}, "de": {...}, "fr": {...}}
    explanations          TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (project_id, environment_id, name)
);
CREATE INDEX thresholds_client ON thresholds (client_id);

-- The alerts of each threshold that are pending, firing or recently resolved: restored at
-- start (Prometheus' for-state restore).
CREATE TABLE threshold_alerts (
    threshold_id        INTEGER NOT NULL REFERENCES thresholds (id) ON DELETE CASCADE,
    -- The alert's label set as JSON pairs, sorted by name.
    labels              TEXT    NOT NULL,
    state               TEXT    NOT NULL,
    value               REAL    NOT NULL,
    active_at           INTEGER NOT NULL,
    fired_at            INTEGER NOT NULL,
    resolved_at         INTEGER NOT NULL,
    keep_firing_since   INTEGER NOT NULL,
    PRIMARY KEY (threshold_id, labels)
);

-- Every change of an alert's state, for the threshold's history.
CREATE TABLE threshold_events (
    id            INTEGER PRIMARY KEY,
    threshold_id  INTEGER NOT NULL REFERENCES thresholds (id) ON DELETE CASCADE,
    labels        TEXT    NOT NULL,
    -- pending, firing, inactive (resolved) or forgotten (pending that went away).
    state         TEXT    NOT NULL,
    value         REAL    NOT NULL,
    at_ms         INTEGER NOT NULL
);
CREATE INDEX threshold_events_threshold ON threshold_events (threshold_id, at_ms);
