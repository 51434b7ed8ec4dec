-- Prometheus' recording rules, per client: at every evaluation round the expression (confined
-- to its project and environment) is evaluated and its result written back into the client's
-- store as the series `record`, with the rule's labels and its place's.
CREATE TABLE recording_rules (
    id              INTEGER PRIMARY KEY,
    agency_id       INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id       INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    project_id      INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- NULL: every environment of the project.
    environment_id  INTEGER REFERENCES environments (id) ON DELETE CASCADE,
    -- The metric name written, e.g. job:http_requests:rate5m.
    record          TEXT NOT NULL,
    -- As written (confined to the place at evaluation).
    expr            TEXT NOT NULL,
    -- The labels set on every recorded series, as JSON pairs sorted by name.
    labels          TEXT NOT NULL,
    created_ms      INTEGER NOT NULL
);
CREATE INDEX recording_rules_client ON recording_rules (client_id);
CREATE UNIQUE INDEX recording_rules_unique ON recording_rules (project_id, IFNULL(environment_id, 0), record, labels);
