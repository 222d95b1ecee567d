-- Each application's OAuth 2.0 client at a vendor (the secret sealed like connection settings),
-- and the authorization flows in progress: one row per /vault/authorize, taken (deleted) by the
-- callback, so a state is good for one exchange and no more.
CREATE TABLE oauth_clients (
    app_id            TEXT    NOT NULL,
    service_id        TEXT    NOT NULL,
    client_id         TEXT    NOT NULL,
    client_secret     TEXT    NOT NULL,
    scopes            TEXT,
    authorization_url TEXT,
    token_url         TEXT,
    redirect_uris     TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (app_id, service_id)
);

CREATE TABLE oauth_flows (
    id           TEXT    PRIMARY KEY NOT NULL,
    app_id       TEXT    NOT NULL,
    consumer_id  TEXT    NOT NULL,
    service_id   TEXT    NOT NULL,
    redirect_uri TEXT    NOT NULL,
    verifier     TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL
);
