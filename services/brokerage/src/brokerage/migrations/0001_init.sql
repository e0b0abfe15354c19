-- brokerage: linked accounts (envelope-encrypted credentials), orders, fills, daily values.
CREATE TABLE accounts (
    id               uuid PRIMARY KEY,
    user_id          text NOT NULL,
    broker           text NOT NULL CHECK (broker IN ('dhan', 'paper')),
    label            text NOT NULL DEFAULT '',
    dhan_client_id   text,
    status           text NOT NULL,
    starting_capital numeric(20, 2),
    credentials      bytea,
    credential_kid   text,
    has_api_key      boolean NOT NULL DEFAULT false,
    token_expires_at timestamptz,
    kill_switch      boolean NOT NULL DEFAULT false,
    last_error       text,
    last_synced_at   timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    unlinked_at      timestamptz
);
CREATE INDEX accounts_user ON accounts (user_id) WHERE unlinked_at IS NULL;

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    intent_id        text NOT NULL UNIQUE,
    user_id          text NOT NULL,
    account_id       uuid NOT NULL REFERENCES accounts (id),
    deployment_id    text,
    source           text NOT NULL DEFAULT 'manual',
    security_id      text NOT NULL,
    exchange_segment text NOT NULL,
    transaction_type text NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    order_type       text NOT NULL,
    product_type     text NOT NULL,
    validity         text NOT NULL,
    price            numeric(20, 4),
    trigger_price    numeric(20, 4),
    tag              text,
    status           text NOT NULL,
    broker_order_id  text,
    filled_quantity  integer NOT NULL DEFAULT 0,
    average_price    numeric(20, 4),
    reason           text,
    send_attempts    integer NOT NULL DEFAULT 0,
    sent_at          timestamptz,
    intent_ts        timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user ON orders (user_id, created_at DESC);
CREATE INDEX orders_open ON orders (account_id)
    WHERE status IN ('received', 'sending', 'placed', 'accepted', 'partially_filled');
CREATE UNIQUE INDEX orders_broker_id ON orders (account_id, broker_order_id)
    WHERE broker_order_id IS NOT NULL;

CREATE TABLE trades (
    id               uuid PRIMARY KEY,
    order_id         uuid NOT NULL REFERENCES orders (id),
    account_id       uuid NOT NULL REFERENCES accounts (id),
    user_id          text NOT NULL,
    broker_trade_id  text NOT NULL,
    security_id      text NOT NULL,
    exchange_segment text NOT NULL,
    transaction_type text NOT NULL,
    product_type     text NOT NULL,
    quantity         integer NOT NULL,
    price            numeric(20, 4) NOT NULL,
    charges          numeric(20, 2) NOT NULL DEFAULT 0,
    traded_at        timestamptz NOT NULL,
    UNIQUE (account_id, broker_trade_id)
);
CREATE INDEX trades_user ON trades (user_id, traded_at DESC);
CREATE INDEX trades_order ON trades (order_id);

CREATE TABLE portfolio_days (
    account_id uuid NOT NULL REFERENCES accounts (id),
    day        date NOT NULL,
    value      numeric(20, 2) NOT NULL,
    pnl        numeric(20, 2) NOT NULL,
    PRIMARY KEY (account_id, day)
);
