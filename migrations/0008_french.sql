-- French joins English and German as a client's language. SQLite cannot change a CHECK
-- constraint in place, so the clients table is rebuilt the way SQLite documents
-- (https://sqlite.org/lang_altertable.html#otheralter): new table, copy, drop, rename.
--
-- The rebuild needs foreign keys off: with them on, dropping the old table would delete
-- every project, environment, membership, invitation, target and API token through their
-- ON DELETE CASCADE. `PRAGMA foreign_keys` does nothing inside a transaction, and sqlx runs
-- every SQLite migration inside one, so this file ends sqlx's transaction, rebuilds in its
-- own transaction with foreign keys off, and begins a new one for sqlx to record the
-- migration in and commit (https://github.com/launchbadge/sqlx/issues/2085). Running it
-- twice (a crash between the two commits) rebuilds the table again, which is harmless.
-- PostgreSQL: ALTER TABLE clients DROP CONSTRAINT ... , ADD CHECK (language IN ('en', 'de', 'fr')).
COMMIT;
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE clients_new (
    id              INTEGER PRIMARY KEY,
    agency_id       INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    slug            TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    language        TEXT    NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'de', 'fr')),
    created_at      INTEGER NOT NULL,
    retention_days  INTEGER NOT NULL DEFAULT 90 CHECK (retention_days BETWEEN 1 AND 3650)
);
INSERT INTO clients_new (id, agency_id, slug, name, language, created_at, retention_days)
    SELECT id, agency_id, slug, name, language, created_at, retention_days FROM clients;
DROP TABLE clients;
ALTER TABLE clients_new RENAME TO clients;
CREATE INDEX clients_agency ON clients (agency_id);

COMMIT;
PRAGMA foreign_keys = ON;
BEGIN;
