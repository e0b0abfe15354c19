-- One lease per engine replica instead of one per deployment. The heartbeat rewrote (and
-- locked) every row its replica ran, every few seconds: with 1,000 deployments that was most
-- of Postgres's work, and a bar's commit queued behind those locks. Now it touches one row;
-- a deployment is held while its owner's lease lives.
CREATE TABLE engine_leases (
    owner text PRIMARY KEY,
    lease_until timestamptz NOT NULL
);
INSERT INTO engine_leases (owner, lease_until)
SELECT owner, max(lease_until) FROM deployments
WHERE owner IS NOT NULL AND lease_until IS NOT NULL GROUP BY owner;
UPDATE deployments SET lease_until = NULL WHERE lease_until IS NOT NULL;
COMMENT ON COLUMN deployments.lease_until IS 'unused since 0002 (engine_leases)';
CREATE INDEX deployments_owner ON deployments (owner) WHERE owner IS NOT NULL;
