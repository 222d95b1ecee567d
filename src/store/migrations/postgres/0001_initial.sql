-- The PostgreSQL schema; the same tables as the SQLite migrations, in one step.
CREATE TABLE gateway_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE connections (
    app_id      TEXT    NOT NULL,
    consumer_id TEXT    NOT NULL,
    service_id  TEXT    NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    settings    TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (app_id, consumer_id, service_id)
);

CREATE TABLE custom_mappings (
    app_id      TEXT   NOT NULL,
    consumer_id TEXT   NOT NULL,
    service_id  TEXT   NOT NULL,
    resource    TEXT   NOT NULL,
    key         TEXT   NOT NULL,
    value       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, consumer_id, service_id, resource, key)
);

CREATE TABLE applications (
    id         TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT   PRIMARY KEY,
    app_id     TEXT   NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    key_sha256 TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE consumers (
    app_id      TEXT   NOT NULL,
    consumer_id TEXT   NOT NULL,
    metadata    TEXT   NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, consumer_id)
);
