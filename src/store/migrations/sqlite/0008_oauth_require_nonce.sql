-- An application may require the two-step (`nonce`) authorization for a connector: its
-- authorize links then refuse to start a flow without one.
ALTER TABLE oauth_clients ADD COLUMN require_nonce INTEGER NOT NULL DEFAULT 0;
