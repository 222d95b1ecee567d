-- How often each tenant's connections and custom mappings have changed, so every process can
-- tell with one indexed read whether what it cached for a connection is still current.
-- consumer_id '' counts the application layer's custom mappings. Rows are never deleted: a
-- count that went back to an earlier value would make a stale cache entry look current.
CREATE TABLE tenant_versions (
    app_id      TEXT   NOT NULL,
    consumer_id TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (app_id, consumer_id)
);
