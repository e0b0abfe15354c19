-- Third-party event credentials (/api/user/event-credentials): one NATS identity each,
-- allowed to read only its owner's evt.<userId>.> (contracts.natsperms). The password is
-- shown once and stored as a bcrypt hash, the form nats-server verifies directly.
CREATE TABLE event_credentials (
    id            text PRIMARY KEY,          -- ec_<hex>: the NATS user, durable and inbox name
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX event_credentials_user ON event_credentials (user_id, created_at DESC);
CREATE INDEX event_credentials_live ON event_credentials (id) WHERE revoked_at IS NULL;
