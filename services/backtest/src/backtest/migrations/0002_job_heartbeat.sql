-- A running backtest's worker touches this with every in-progress ack; a backtest whose
-- heartbeat stopped long ago lost its worker on the job's last delivery and is failed.
ALTER TABLE backtests ADD COLUMN heartbeat_at timestamptz;
CREATE INDEX backtests_running ON backtests (heartbeat_at) WHERE status = 'running';
