-- The application's `nonce` of a two-step (confirmed) authorization, returned with the
-- confirm token after the callback.
ALTER TABLE oauth_flows ADD COLUMN nonce TEXT;
