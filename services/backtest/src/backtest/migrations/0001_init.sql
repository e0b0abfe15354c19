-- Strategies (versioned), backtests, their results and the deployments that pin versions.
CREATE TABLE strategies (
    id                 uuid PRIMARY KEY,
    user_id            text NOT NULL,
    status             text NOT NULL DEFAULT 'draft'
                       CHECK (status IN ('draft', 'backtested', 'live', 'archived')),
    current_version_id uuid,
    latest_version     integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX strategies_user ON strategies (user_id, created_at DESC);

-- One row per edit; backtests and deployments reference the exact version they used.
CREATE TABLE strategy_versions (
    id            uuid PRIMARY KEY,
    strategy_id   uuid NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
    version       integer NOT NULL,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    segment       text NOT NULL,
    security_id   text NOT NULL,
    symbol        text NOT NULL,
    timeframe     text NOT NULL,
    entry_rule    text NOT NULL,
    exit_rule     text NOT NULL,
    stop_loss_pct numeric(5, 2),
    target_pct    numeric(5, 2),
    position_size integer NOT NULL,
    max_positions integer NOT NULL,
    product_type  text NOT NULL,
    direction     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (strategy_id, version)
);
ALTER TABLE strategies ADD FOREIGN KEY (current_version_id) REFERENCES strategy_versions (id)
    DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE strategy_deployments (
    deployment_id       text PRIMARY KEY,
    strategy_id         uuid NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
    strategy_version_id uuid,
    active              boolean NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX strategy_deployments_active ON strategy_deployments (strategy_id) WHERE active;

CREATE TABLE backtests (
    id                  uuid PRIMARY KEY,
    user_id             text NOT NULL,
    strategy_id         uuid NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
    strategy_version_id uuid NOT NULL REFERENCES strategy_versions (id),
    params              jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    progress            integer NOT NULL DEFAULT 0,
    attempts            integer NOT NULL DEFAULT 0,
    error               text,
    bars                integer,
    metrics             jsonb,
    equity_curve        jsonb,
    analytics           jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz
);
CREATE INDEX backtests_user ON backtests (user_id, created_at DESC);
CREATE INDEX backtests_strategy ON backtests (strategy_id, created_at DESC);

CREATE TABLE backtest_trades (
    backtest_id     uuid NOT NULL REFERENCES backtests (id) ON DELETE CASCADE,
    seq             integer NOT NULL,
    entry_time      timestamptz NOT NULL,
    exit_time       timestamptz NOT NULL,
    side            text NOT NULL,
    qty             integer NOT NULL,
    entry_paise     bigint NOT NULL,
    exit_paise      bigint NOT NULL,
    gross_paise     bigint NOT NULL,
    charges_paise   bigint NOT NULL,
    net_paise       bigint NOT NULL,
    exit_reason     text NOT NULL,
    PRIMARY KEY (backtest_id, seq)
);
