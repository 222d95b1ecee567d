-- Tenants' mapping layers: an application's (consumer_id = '') and a consumer's. A key that
-- names a unified field re-points it; any other key is a custom mapping.
CREATE TABLE custom_mappings (
    app_id      TEXT    NOT NULL,
    consumer_id TEXT    NOT NULL,
    service_id  TEXT    NOT NULL,
    resource    TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, consumer_id, service_id, resource, key)
);
