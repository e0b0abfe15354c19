-- marketdata: instruments (Dhan scrip master), candles (feed-built and backfilled), and the
-- record of which days were fetched from Dhan's historical API.
CREATE TABLE instruments (
    segment                 text NOT NULL,
    security_id             text NOT NULL,
    exchange                text NOT NULL,
    symbol                  text NOT NULL,
    display_name            text NOT NULL DEFAULT '',
    name                    text NOT NULL DEFAULT '',
    instrument              text NOT NULL,
    instrument_type         text NOT NULL DEFAULT '',
    series                  text NOT NULL DEFAULT '',
    lot_size                integer NOT NULL DEFAULT 1,
    tick_size               numeric(12, 4) NOT NULL,
    expiry                  timestamptz,
    strike                  numeric(18, 4),
    option_type             text,
    expiry_flag             text,
    isin                    text,
    underlying_security_id  text,
    underlying_symbol       text,
    imported_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment, security_id)
);
CREATE INDEX instruments_symbol ON instruments (upper(symbol) text_pattern_ops);
CREATE INDEX instruments_display ON instruments (upper(display_name) text_pattern_ops);

CREATE TABLE candles (
    segment      text NOT NULL,
    security_id  text NOT NULL,
    interval     text NOT NULL,
    ts           timestamptz NOT NULL,          -- bar open instant
    open         bigint NOT NULL,               -- paise
    high         bigint NOT NULL,
    low          bigint NOT NULL,
    close        bigint NOT NULL,
    volume       bigint NOT NULL DEFAULT 0,
    oi           bigint,
    source       text NOT NULL,                 -- feed | dhan
    revision     integer NOT NULL DEFAULT 0,    -- bumped by each published correction
    PRIMARY KEY (segment, security_id, interval, ts)
);

CREATE TABLE history_fetched (
    segment      text NOT NULL,
    security_id  text NOT NULL,
    interval     text NOT NULL,
    day          date NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment, security_id, interval, day)
);

CREATE TABLE scrip_imports (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL,
    rows         integer NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);

-- Fuzzy search uses pg_trgm when this role may create it (trusted extension, PG13+);
-- otherwise search falls back to substring matching (marketdata.repository).
DO $$
DECLARE nsp text;
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    SELECT n.nspname INTO nsp FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX instruments_trgm ON instruments USING gin '
                   '((upper(symbol || '' '' || display_name)) %I.gin_trgm_ops)', nsp);
EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR undefined_file
          OR invalid_schema_name OR undefined_object THEN
    RAISE NOTICE 'pg_trgm unavailable; instrument search uses the substring fallback';
END
$$;
