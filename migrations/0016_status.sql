-- Public status pages: HTTP probes next to the scrape targets, the components a page shows
-- (each derived from probes, targets and thresholds), and every change of a component's
-- state, from which the daily uptime bars are computed. Times are milliseconds.

-- An HTTP(S) check of one environment; its results go into the client's store under
-- blackbox_exporter's names (probe_success, probe_duration_seconds, ...).
CREATE TABLE probes (
    id                INTEGER PRIMARY KEY,
    agency_id         INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id         INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    project_id        INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment_id    INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    url               TEXT    NOT NULL,
    method            TEXT    NOT NULL DEFAULT 'GET',
    -- "Name: value" lines.
    headers           TEXT    NOT NULL DEFAULT '',
    body              TEXT    NOT NULL DEFAULT '',
    -- Accepted status codes: "200-399", "200,204", ...
    expect_status     TEXT    NOT NULL DEFAULT '200-399',
    keyword           TEXT    NOT NULL DEFAULT '',
    -- 1: the keyword must be absent (an error text), 0: present.
    keyword_absent    INTEGER NOT NULL DEFAULT 0,
    -- A JSON pointer (/status) and the value it must have, both empty for none.
    json_pointer      TEXT    NOT NULL DEFAULT '',
    json_value        TEXT    NOT NULL DEFAULT '',
    -- 0: no limit.
    max_latency_ms    INTEGER NOT NULL DEFAULT 0,
    follow_redirects  INTEGER NOT NULL DEFAULT 1,
    -- 1: a certificate no browser would accept still counts (its expiry is still read).
    tls_skip_verify   INTEGER NOT NULL DEFAULT 0,
    interval_secs     INTEGER NOT NULL DEFAULT 60 CHECK (interval_secs BETWEEN 1 AND 86400),
    timeout_secs      INTEGER NOT NULL DEFAULT 10 CHECK (timeout_secs BETWEEN 1 AND 120),
    -- Set for the demo's own probes, whose address changes at every start.
    builtin           TEXT,
    created_ms        INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL,
    UNIQUE (environment_id, name)
);
CREATE INDEX probes_client ON probes (client_id);

-- A client's public page: off until the agency publishes it.
CREATE TABLE status_pages (
    client_id   INTEGER PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    agency_id   INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    published   INTEGER NOT NULL DEFAULT 0,
    -- An IANA time zone name; days and times on the page are in it.
    time_zone   TEXT    NOT NULL DEFAULT 'UTC',
    updated_ms  INTEGER NOT NULL
);

CREATE TABLE components (
    id              INTEGER PRIMARY KEY,
    agency_id       INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id       INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- Components with the same group name are shown together under it; '' for none.
    group_name      TEXT    NOT NULL DEFAULT '',
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    position        INTEGER NOT NULL,
    -- Set by hand during an incident; it wins over what the sources say.
    override_state  TEXT CHECK (override_state IN
        ('operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance')),
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    UNIQUE (client_id, name)
);

-- What a component's state is derived from: a probe failing `failures` times in a row, a
-- scrape target down, a threshold in alarm, each with the impact it has.
CREATE TABLE component_sources (
    id            INTEGER PRIMARY KEY,
    agency_id     INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id     INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    component_id  INTEGER NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('probe', 'target', 'threshold')),
    -- The probe's, target's or threshold's id (removed with it by the code that removes it).
    source_id     INTEGER NOT NULL,
    impact        TEXT    NOT NULL CHECK (impact IN ('degraded_performance', 'partial_outage', 'major_outage')),
    failures      INTEGER NOT NULL DEFAULT 1 CHECK (failures BETWEEN 1 AND 100),
    UNIQUE (component_id, kind, source_id)
);
CREATE INDEX component_sources_client ON component_sources (client_id);

-- Every change of a component's state (the first row: its state when it was created).
CREATE TABLE component_states (
    id            INTEGER PRIMARY KEY,
    client_id     INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    component_id  INTEGER NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    state         TEXT    NOT NULL,
    at_ms         INTEGER NOT NULL
);
CREATE INDEX component_states_component ON component_states (component_id, at_ms);
