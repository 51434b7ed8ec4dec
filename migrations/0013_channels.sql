-- A client's notification channels (Alertmanager's receivers) besides its people's mails: a
-- team address, a webhook (Alertmanager's JSON), a Slack incoming webhook or PagerDuty.
CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- email, webhook, slack, pagerduty
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    -- The address, URL or routing key, sealed under the secret key (context: the client).
    target      TEXT    NOT NULL,
    -- What pages show of it: the address, the URL's host, the routing key's end.
    shown       TEXT    NOT NULL,
    -- PagerDuty: the Events API URL (NULL: PagerDuty's own).
    url         TEXT,
    -- Space-separated severities it gets; NULL: every severity.
    severities  TEXT,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_ms  INTEGER NOT NULL,
    UNIQUE (client_id, name)
);

-- A message to a channel: which one, and for an HTTP channel the URL it is posted to (sealed;
-- the JSON body is body_text).
ALTER TABLE outbox ADD COLUMN channel_id INTEGER REFERENCES channels (id) ON DELETE SET NULL;
ALTER TABLE outbox ADD COLUMN http_url TEXT;
