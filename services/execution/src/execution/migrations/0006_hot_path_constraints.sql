-- Fewer checks on the rows a decision writes. A busy minute close writes an intent, a trade
-- and a log row for every decision, and the foreign keys to deployments checked each of them
-- with a query of its own (a fifth of record_decisions' time, measured on replayed commits).
--
-- What they guarded holds without them: these rows are written only by record_decisions
-- (intents, trades, log rows of decisions) and by the service's own handlers, always for a
-- deployment row they have just read or locked, and deployments are never deleted (a stopped
-- one keeps its row, its history hangs off it).
--
-- trades.entry_intent_id is the trade's own id (a strategy trade is named after the intent
-- that opened it), so its unique index repeated the primary key's on every insert.

ALTER TABLE intents DROP CONSTRAINT IF EXISTS intents_deployment_id_fkey;
ALTER TABLE trades DROP CONSTRAINT IF EXISTS trades_deployment_id_fkey;
ALTER TABLE exec_logs DROP CONSTRAINT IF EXISTS exec_logs_deployment_id_fkey;
ALTER TABLE trades DROP CONSTRAINT IF EXISTS trades_entry_intent_id_key;
