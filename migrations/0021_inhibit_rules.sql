-- Alertmanager's inhibition rules, per client: while an alert matching `source` fires, alerts
-- matching `target` whose labels named in `equal` (comma-separated) have the same values are
-- not told. Matchers as Alertmanager writes them, e.g. severity="critical", alertname=~"Disk.*".
CREATE TABLE inhibit_rules (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    target      TEXT NOT NULL,
    equal       TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
);
CREATE INDEX inhibit_rules_client ON inhibit_rules (client_id);
