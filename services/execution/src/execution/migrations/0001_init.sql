-- Deployments, their engine state, intents, strategy trades and the execution log.

CREATE TABLE deployments (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    strategy_id text NOT NULL,
    strategy_version int NOT NULL,
    strategy_version_id text NOT NULL,
    name text NOT NULL,
    account_id text NOT NULL,
    broker text NOT NULL,
    segment text NOT NULL,
    security_id text NOT NULL,
    symbol text NOT NULL,
    timeframe text NOT NULL,
    entry_rule text NOT NULL,
    exit_rule text NOT NULL,
    stop_loss_pct numeric,
    target_pct numeric,
    direction text NOT NULL,
    product text NOT NULL,
    quantity int NOT NULL,
    lot_size int NOT NULL DEFAULT 1,
    max_positions int NOT NULL,
    max_quantity int,
    max_notional_paise bigint,
    daily_loss_limit_paise bigint,
    account_daily_loss_limit_paise bigint,
    status text NOT NULL DEFAULT 'active',
    entries_paused text,
    error_message text,
    deployed_at timestamptz NOT NULL,
    paused_at timestamptz,
    stopped_at timestamptz,
    -- engine state: evaluator snapshots and the last bar they have seen (the bar inbox)
    state jsonb,
    last_bar_start timestamptz,
    last_bar_seq bigint,
    last_price_paise bigint,
    -- which engine replica runs it, until when (heartbeat)
    owner text,
    lease_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployments_user ON deployments (user_id, created_at DESC);
CREATE INDEX deployments_running ON deployments (status) WHERE status IN ('active', 'paused');

CREATE TABLE intents (
    intent_id text PRIMARY KEY,
    deployment_id uuid NOT NULL REFERENCES deployments (id),
    user_id text NOT NULL,
    account_id text NOT NULL,
    leg text NOT NULL,
    action text NOT NULL,
    side text NOT NULL,
    quantity int NOT NULL,
    trade_ids jsonb NOT NULL DEFAULT '[]',
    bar_start timestamptz,
    status text NOT NULL DEFAULT 'sent',
    order_id text,
    filled_quantity int NOT NULL DEFAULT 0,
    average_price_paise bigint,
    reason text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX intents_deployment ON intents (deployment_id, created_at);

CREATE TABLE trades (
    id text PRIMARY KEY,
    deployment_id uuid NOT NULL REFERENCES deployments (id),
    user_id text NOT NULL,
    strategy_id text NOT NULL,
    account_id text NOT NULL,
    segment text NOT NULL,
    security_id text NOT NULL,
    symbol text NOT NULL,
    direction text NOT NULL,
    quantity int NOT NULL DEFAULT 0,
    exited_quantity int NOT NULL DEFAULT 0,
    entry_intent_id text NOT NULL UNIQUE,
    exit_intent_id text,
    entry_price_paise bigint,
    exit_price_paise bigint,
    exit_value_paise bigint NOT NULL DEFAULT 0,
    entry_time timestamptz,
    exit_time timestamptz,
    stop_paise bigint,
    target_paise bigint,
    pnl_paise bigint,
    status text NOT NULL DEFAULT 'pending',
    exit_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trades_user ON trades (user_id, created_at DESC);
CREATE INDEX trades_deployment ON trades (deployment_id, status);

CREATE TABLE exec_logs (
    id bigserial PRIMARY KEY,
    deployment_id uuid NOT NULL REFERENCES deployments (id),
    user_id text NOT NULL,
    ts timestamptz NOT NULL,
    kind text NOT NULL,
    action text NOT NULL,
    message text NOT NULL,
    reasons jsonb NOT NULL DEFAULT '[]',
    bar jsonb,
    "values" jsonb,
    intent_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exec_logs_deployment ON exec_logs (deployment_id, id DESC);
