-- Publish a transaction's rows in the order they were written. created_at is the time the
-- transaction started, shared by all of its rows, and ids are random (or derived from
-- message ids), so ordering by (created_at, id) could send "filled" before "placed".
ALTER TABLE outbox ADD COLUMN seq bigserial;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
