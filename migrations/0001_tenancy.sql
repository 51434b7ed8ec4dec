-- Agencies, their clients (the tenants), projects, environments, people.
-- Every tenant-owned row carries agency_id and client_id so that every query
-- can be scoped by them. Times are Unix seconds (portable to PostgreSQL).

CREATE TABLE agencies (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE clients (
    id          INTEGER PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    language    TEXT    NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'de')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX clients_agency ON clients (agency_id);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    slug        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (client_id, slug)
);

CREATE TABLE environments (
    id          INTEGER PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX environments_client ON environments (client_id);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,
    -- argon2id PHC string; NULL until the person has set a password.
    password_hash  TEXT,
    -- 'en' or 'de'; NULL follows the browser.
    language       TEXT,
    created_at     INTEGER NOT NULL
);

-- One membership per person: either in the agency (client_id NULL, role
-- agency_owner/agency_admin/agency_staff) or in one client (client_admin/client_viewer).
CREATE TABLE memberships (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    agency_id   INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id   INTEGER REFERENCES clients (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (
        (client_id IS NULL AND role IN ('agency_owner', 'agency_admin', 'agency_staff'))
        OR (client_id IS NOT NULL AND role IN ('client_admin', 'client_viewer'))
    )
);

-- A single-use link that lets a person set a password and join a client.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('client_admin', 'client_viewer')),
    -- SHA-256 of the token; the token itself is only in the link.
    token_hash  TEXT    NOT NULL UNIQUE,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
