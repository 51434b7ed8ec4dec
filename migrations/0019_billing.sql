-- Billing: the agency's catalogue of a base plan and add-ons, each client's contract (the
-- items it bought, billed through the agency's Stripe account or recorded by hand), the
-- agency's Stripe keys (sealed), and the Stripe events received (the webhook's durable queue,
-- one row per event id). Times are milliseconds.

CREATE TABLE catalogue_items (
    id               INTEGER PRIMARY KEY,
    agency_id        INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    -- Stable name in addresses and in the Stripe metadata: status-page, error-mails, ...
    key              TEXT    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('base', 'addon')),
    -- What it switches on or raises: one of billing::Grant's keys; amount for the limits.
    grants           TEXT    NOT NULL,
    amount           INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
    name_en          TEXT    NOT NULL,
    name_de          TEXT    NOT NULL DEFAULT '',
    name_fr          TEXT    NOT NULL DEFAULT '',
    -- What the client gains, in the client's words.
    value_en         TEXT    NOT NULL DEFAULT '',
    value_de         TEXT    NOT NULL DEFAULT '',
    value_fr         TEXT    NOT NULL DEFAULT '',
    -- In the currency's smallest unit (cents).
    monthly_cents    INTEGER NOT NULL CHECK (monthly_cents >= 0),
    setup_cents      INTEGER NOT NULL DEFAULT 0 CHECK (setup_cents >= 0),
    -- ISO 4217, lower case as Stripe writes it.
    currency         TEXT    NOT NULL DEFAULT 'eur',
    -- The agency's recurring Stripe price for it; '' until set (then it cannot be sold by Stripe).
    stripe_price_id  TEXT    NOT NULL DEFAULT '',
    stripe_setup_price_id TEXT NOT NULL DEFAULT '',
    position         INTEGER NOT NULL,
    -- No longer offered; contracts that have it keep it.
    archived         INTEGER NOT NULL DEFAULT 0,
    updated_ms       INTEGER NOT NULL,
    UNIQUE (agency_id, key)
);

-- One contract per client.
CREATE TABLE contracts (
    client_id               INTEGER PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    agency_id               INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    -- 'recorded': billed by the agency itself (bank transfer), set by hand; 'stripe'.
    billing                 TEXT    NOT NULL CHECK (billing IN ('recorded', 'stripe')),
    -- active | checkout (waiting for the client admin to pay) | past_due | canceled
    status                  TEXT    NOT NULL CHECK (status IN ('active', 'checkout', 'past_due', 'canceled')),
    stripe_customer_id      TEXT,
    stripe_subscription_id  TEXT,
    stripe_checkout_id      TEXT,
    -- The `created` time (seconds) of the newest Stripe event applied: an older one arriving
    -- later changes nothing.
    stripe_event_created    INTEGER NOT NULL DEFAULT 0,
    -- Set while a failed payment or a cancellation runs out: the paid features stop then.
    grace_until_ms          INTEGER,
    note                    TEXT    NOT NULL DEFAULT '',
    updated_ms              INTEGER NOT NULL
);

CREATE TABLE contract_items (
    client_id       INTEGER NOT NULL REFERENCES contracts (client_id) ON DELETE CASCADE,
    item_id         INTEGER NOT NULL REFERENCES catalogue_items (id) ON DELETE RESTRICT,
    -- The Stripe subscription item that bills it.
    stripe_item_id  TEXT,
    PRIMARY KEY (client_id, item_id)
);

-- Each agency's own Stripe account: the secret key and the webhook signing secret, sealed.
CREATE TABLE stripe_accounts (
    agency_id       INTEGER PRIMARY KEY REFERENCES agencies (id) ON DELETE CASCADE,
    secret_key      TEXT    NOT NULL,
    webhook_secret  TEXT    NOT NULL,
    updated_ms      INTEGER NOT NULL
);

-- Every Stripe event received, once by its id; the worker applies those not yet processed.
CREATE TABLE stripe_events (
    agency_id     INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    event_id      TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    created       INTEGER NOT NULL,
    payload       TEXT    NOT NULL,
    received_ms   INTEGER NOT NULL,
    processed_ms  INTEGER,
    -- What went wrong applying it, if anything (shown to the agency; the event is kept).
    problem       TEXT,
    PRIMARY KEY (agency_id, event_id)
);
CREATE INDEX stripe_events_pending ON stripe_events (processed_ms) WHERE processed_ms IS NULL;

-- The clients that existed before billing: at the next start each gets the default catalogue's
-- every item as a recorded contract, so nothing that worked switches off.
CREATE TABLE billing_backfill (client_id INTEGER PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE);
INSERT INTO billing_backfill (client_id) SELECT id FROM clients;
