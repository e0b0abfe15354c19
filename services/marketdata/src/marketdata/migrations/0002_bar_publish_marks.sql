-- Bars are published straight after their insert commits (lower latency than the outbox
-- relay's sequential acks); a bar whose publish was not confirmed keeps published_at NULL
-- and is republished (same Nats-Msg-Id) by the recovery sweep.
ALTER TABLE candles ADD COLUMN published_at timestamptz;
ALTER TABLE candles ADD COLUMN stored_at timestamptz NOT NULL DEFAULT now();
UPDATE candles SET published_at = now();
CREATE INDEX candles_unpublished ON candles (stored_at) WHERE published_at IS NULL AND source = 'feed';
