-- Applications and their API keys (only a hash of each key is kept), and Vault consumers.
CREATE TABLE applications (
    id         TEXT    PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY NOT NULL,
    app_id     TEXT    NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    key_sha256 TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE consumers (
    app_id      TEXT    NOT NULL,
    consumer_id TEXT    NOT NULL,
    metadata    TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, consumer_id)
);

INSERT INTO consumers (app_id, consumer_id, created_at, updated_at)
SELECT app_id, consumer_id, MIN(created_at), MAX(updated_at) FROM connections GROUP BY app_id, consumer_id;
