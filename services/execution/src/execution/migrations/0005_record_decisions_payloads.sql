-- The outbox messages of a commit come as a bytea[] beside the JSON document, not inside it
-- as escaped JSON strings: they were two thirds of the document Postgres parsed on every
-- commit (about 15 us per kB; a busy minute close sent half a megabyte). The document names
-- the header the message id goes under and carries the trace context once.
--
-- p_doc: as in 0004, except "outbox": [{id, subject, msg_id, gate, deployment_id}] (message
-- n's payload is p_payloads[n]) and "headers": {...} (common to every message), with
-- "id_header" naming the message-id header.
--
-- A new overload, not a replacement: replicas of the previous release still call 0004's
-- three-argument form while a rolling upgrade runs. Drop it in a later release.

CREATE FUNCTION record_decisions(p_owner text, p_ids uuid[], p_doc jsonb, p_payloads bytea[])
RETURNS TABLE (out_kind text, out_id text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    ok uuid[];
    fresh text[];
BEGIN
    -- lock in id order, like every other multi-row lock here, so commits never deadlock
    PERFORM 1 FROM deployments d WHERE d.id = ANY(p_ids) ORDER BY d.id FOR UPDATE;

    IF p_doc ? 'advance' THEN
        WITH upd AS (
            UPDATE deployments d SET last_bar_start = u.bar, last_price_paise = u.price,
                state = COALESCE(u.state, d.state),
                state_seq = CASE WHEN u.state IS NULL THEN d.state_seq ELSE u.seq END,
                last_bar_seq = COALESCE(u.seq, d.last_bar_seq), updated_at = now()
            FROM jsonb_to_recordset(p_doc->'advance')
                AS u(id uuid, bar timestamptz, state jsonb, price bigint, seq bigint)
            WHERE d.id = ANY(p_ids) AND d.id = u.id
              AND (d.last_bar_start IS NULL OR d.last_bar_start < u.bar)
              AND d.owner = p_owner AND d.status IN ('active', 'paused')
            RETURNING d.id)
        SELECT array_agg(upd.id) INTO ok FROM upd;
    ELSIF p_owner IS NOT NULL THEN
        SELECT array_agg(d.id) INTO ok FROM deployments d
        WHERE d.id = ANY(p_ids) AND d.owner = p_owner AND d.status IN ('active', 'paused');
    ELSE
        ok := p_ids;
    END IF;
    ok := coalesce(ok, '{}');
    IF jsonb_array_length(p_doc->'intents') + jsonb_array_length(p_doc->'logs') = 0 THEN
        RETURN QUERY SELECT 'deployment'::text, k::text FROM unnest(ok) AS k;
        RETURN;
    END IF;

    WITH ins AS (
        INSERT INTO intents (intent_id, deployment_id, user_id, account_id, leg, action, side,
                             quantity, trade_ids, bar_start, created_at)
        SELECT x.intent_id, x.deployment_id, x.user_id, x.account_id, x.leg, x.action, x.side,
               x.quantity, x.trade_ids, x.bar_start, x.created_at
        FROM jsonb_to_recordset(p_doc->'intents') AS x(
            intent_id text, deployment_id uuid, user_id text, account_id text, leg text,
            action text, side text, quantity int, trade_ids jsonb, bar_start timestamptz,
            created_at timestamptz)
        WHERE x.deployment_id = ANY(ok)
        ON CONFLICT DO NOTHING
        RETURNING intents.intent_id)
    SELECT array_agg(ins.intent_id) INTO fresh FROM ins;
    fresh := coalesce(fresh, '{}');

    INSERT INTO trades (id, deployment_id, user_id, strategy_id, account_id, segment,
                        security_id, symbol, direction, entry_intent_id)
    SELECT x.id, x.deployment_id, x.user_id, x.strategy_id, x.account_id, x.segment,
           x.security_id, x.symbol, x.direction, x.id
    FROM jsonb_to_recordset(p_doc->'trades') AS x(
        id text, deployment_id uuid, user_id text, strategy_id text, account_id text,
        segment text, security_id text, symbol text, direction text)
    WHERE x.id = ANY(fresh)
    ON CONFLICT DO NOTHING;

    IF jsonb_array_length(p_doc->'exits') > 0 THEN
        UPDATE trades t SET exit_intent_id = x.intent_id, exit_reason = x.reason,
            updated_at = now()
        FROM jsonb_to_recordset(p_doc->'exits') AS x(trade_id text, intent_id text, reason text)
        WHERE t.id = ANY(ARRAY(SELECT jsonb_array_elements_text(
                  jsonb_path_query_array(p_doc->'exits', '$[*].trade_id'))))
          AND t.id = x.trade_id AND x.intent_id = ANY(fresh);
    END IF;

    INSERT INTO outbox (id, subject, payload, headers)
    SELECT (e.v->>'id')::uuid, e.v->>'subject', p_payloads[e.n],
           coalesce(p_doc->'headers', '{}'::jsonb)
               || jsonb_build_object(p_doc->>'id_header', e.v->>'msg_id')
    FROM jsonb_array_elements(p_doc->'outbox') WITH ORDINALITY AS e(v, n)
    WHERE CASE WHEN e.v->>'gate' IS NULL THEN (e.v->>'deployment_id')::uuid = ANY(ok)
               ELSE e.v->>'gate' = ANY(fresh) END
    ORDER BY e.n  -- the outbox sequence keeps the order they were written in
    ON CONFLICT (id) DO NOTHING;

    INSERT INTO exec_logs (deployment_id, user_id, ts, kind, action, message, reasons, bar,
                           "values", intent_id)
    SELECT x.deployment_id, x.user_id, x.ts, x.kind, x.action, x.message, x.reasons, x.bar,
           x."values", x.intent_id
    FROM jsonb_to_recordset(p_doc->'logs') AS x(
        deployment_id uuid, user_id text, ts timestamptz, kind text, action text,
        message text, reasons jsonb, bar jsonb, "values" jsonb, intent_id text)
    WHERE CASE WHEN x.intent_id IS NULL THEN x.deployment_id = ANY(ok)
               ELSE x.intent_id = ANY(fresh) END;

    RETURN QUERY
        SELECT 'deployment'::text, k::text FROM unnest(ok) AS k
        UNION ALL
        SELECT 'intent'::text, f FROM unnest(fresh) AS f;
END
$$;
