-- Results of creates sent with an Idempotency-Key, so a repeated request is answered without
-- a second vendor call, from any process.
CREATE TABLE idempotency_keys (
    app_id       TEXT   NOT NULL,
    consumer_id  TEXT   NOT NULL,
    key          TEXT   NOT NULL,
    request_hash TEXT   NOT NULL,
    status       INTEGER,
    body         BYTEA,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (app_id, consumer_id, key)
);
