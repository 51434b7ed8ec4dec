-- Dashboards of a client's projects: the model is Vitrine's dashboard JSON (schema 1: title,
-- description and panels, each with its texts per language, queries, unit, width and the
-- thresholds it draws); the environment is chosen on the page.
CREATE TABLE dashboards (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    model       TEXT    NOT NULL,
    -- Order within the project.
    position    INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX dashboards_client ON dashboards (client_id, project_id, position);
