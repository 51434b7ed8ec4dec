-- Incidents on a client's status page: a title, an impact, the components it affects (with
-- the state each shows while it is open) and a timeline of updates (investigating →
-- identified → monitoring → resolved); texts are JSON objects by language ({"en": …, "de": …}).
CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY,
    agency_id     INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id     INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    impact        TEXT    NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical')),
    status        TEXT    NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    postmortem    TEXT    NOT NULL DEFAULT '{}',
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    monitoring_ms INTEGER,
    resolved_ms   INTEGER
);
CREATE INDEX incidents_client ON incidents (client_id, created_ms);

CREATE TABLE incident_updates (
    id           INTEGER PRIMARY KEY,
    client_id    INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status       TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_ms);

CREATE TABLE incident_components (
    client_id     INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    incident_id   INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    component_id  INTEGER NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    -- What the component shows while the incident is open.
    impact        TEXT    NOT NULL,
    PRIMARY KEY (incident_id, component_id)
);
