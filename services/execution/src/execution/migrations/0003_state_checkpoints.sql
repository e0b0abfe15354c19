-- The evaluator state is stored every few bars (and with every decision), not on every bar:
-- state_seq is the MD_BARS sequence of the last bar the stored state includes. On a restart
-- the bars after it, up to last_bar_seq, are replayed through the evaluators without deciding
-- again (their decisions were committed with last_bar_seq), then live bars follow.
ALTER TABLE deployments ADD COLUMN state_seq bigint;
UPDATE deployments SET state_seq = last_bar_seq WHERE state IS NOT NULL;
-- room on each page for the per-bar update of the bar columns to stay a HOT update
ALTER TABLE deployments SET (fillfactor = 80);
