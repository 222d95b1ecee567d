-- Process-wide values that several crmgate processes must share: the generated API key's hash
-- and the cursor signing key.
CREATE TABLE gateway_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- One CRM connection of one consumer of one application.
CREATE TABLE connections (
    app_id      TEXT    NOT NULL,
    consumer_id TEXT    NOT NULL,
    service_id  TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    settings    TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, consumer_id, service_id)
);
