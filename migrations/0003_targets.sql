-- Scrape targets, one row per endpoint, per environment of a client's project.
CREATE TABLE targets (
    id              INTEGER PRIMARY KEY,
    agency_id       INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id       INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    project_id      INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment_id  INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    job             TEXT    NOT NULL,
    -- The address shown in lists (never with credentials).
    url             TEXT    NOT NULL,
    -- A prometheus.yml document with this one job and target. Holds the
    -- credentials; never shown again after it is saved.
    config          TEXT    NOT NULL,
    -- Set for the demo's own targets, whose address changes at every start.
    builtin         TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (environment_id, job, url)
);
CREATE INDEX targets_client ON targets (client_id);
