-- API tokens of a client: for Grafana, promtool and other Prometheus API clients.
-- The token is 256 random bits, shown once; only its SHA-256 is stored.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    agency_id     INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id     INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_client ON api_tokens (client_id);
