"""SQL of the marketdata schema: instruments, candles, fetched-history days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import asyncpg

from .dhan.scripmaster import COLUMNS

CANDLE_COLS = ("segment", "security_id", "interval", "ts", "open", "high", "low", "close",
               "volume", "oi", "source")
_SEGMENT_ORDER = ("CASE segment WHEN 'NSE_EQ' THEN 0 WHEN 'IDX_I' THEN 1 WHEN 'BSE_EQ' THEN 2 "
                  "WHEN 'NSE_FNO' THEN 3 ELSE 4 END")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def trigram_schema(conn: asyncpg.Connection) -> str | None:
    """Return the schema of a usable pg_trgm extension, or None (substring fallback)."""
    return await conn.fetchval(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm' AND has_schema_privilege(n.nspname, 'USAGE')")


async def import_instruments(conn: asyncpg.Connection, rows: Iterable[dict], source: str) -> int:
    """Upsert a parsed scrip master in one transaction; return the row count."""
    records = [tuple(r[c] for c in COLUMNS) for r in rows]
    async with conn.transaction():
        await conn.execute("CREATE TEMP TABLE scrip_in (LIKE instruments INCLUDING DEFAULTS)"
                           " ON COMMIT DROP")
        await conn.copy_records_to_table("scrip_in", records=records, columns=list(COLUMNS))
        cols = ", ".join(COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[2:])
        await conn.execute(
            f"INSERT INTO instruments ({cols}, imported_at)"
            f" SELECT DISTINCT ON (segment, security_id) {cols}, now() FROM scrip_in"
            f" ON CONFLICT (segment, security_id) DO UPDATE SET {updates}, imported_at = now()")
        # Expired contracts that the new master no longer lists are gone for good.
        await conn.execute(
            "DELETE FROM instruments i WHERE i.expiry < now() AND NOT EXISTS"
            " (SELECT 1 FROM scrip_in s WHERE s.segment = i.segment AND s.security_id = i.security_id)")
        await conn.execute("INSERT INTO scrip_imports (source, rows) VALUES ($1, $2)",
                           source[:500], len(records))
    return len(records)


async def search(conn: asyncpg.Connection, q: str, segment: str | None, kind: str | None,
                 limit: int, offset: int, trgm: str | None) -> tuple[list[asyncpg.Record], int]:
    """Exact symbol, then prefix, then substring/fuzzy matches; return (page, total)."""
    text = q.strip().upper()
    prefix, anywhere = _like(text) + "%", "%" + _like(text) + "%"
    hay = "upper(symbol || ' ' || display_name)"
    fuzzy, score = "", "0"
    if trgm:
        fuzzy = f" OR {hay} OPERATOR(\"{trgm}\".%) $1"
        score = f"\"{trgm}\".similarity({hay}, $1)"
    rows = await conn.fetch(
        f"SELECT *, count(*) OVER () AS total_count,"
        f" CASE WHEN upper(symbol) = $1 THEN 0 WHEN upper(symbol) LIKE $2 THEN 1"
        f" WHEN upper(display_name) LIKE $2 OR upper(name) LIKE $2 THEN 2"
        f" WHEN upper(symbol) LIKE $3 OR upper(display_name) LIKE $3 OR upper(name) LIKE $3 THEN 3"
        f" ELSE 4 END AS rank, {score} AS score"
        f" FROM instruments WHERE ($4::text IS NULL OR segment = $4)"
        f" AND ($5::text IS NULL OR instrument = $5)"
        f" AND (upper(symbol) LIKE $3 OR upper(display_name) LIKE $3 OR upper(name) LIKE $3{fuzzy})"
        f" ORDER BY rank, score DESC, {_SEGMENT_ORDER}, length(symbol), symbol"
        f" LIMIT $6 OFFSET $7",
        text, prefix, anywhere, segment, kind.upper() if kind else None, limit, offset)
    total = rows[0]["total_count"] if rows else 0
    if not rows and offset:
        total = await conn.fetchval(
            f"SELECT count(*) FROM instruments WHERE ($3::text IS NULL OR segment = $3)"
            f" AND ($4::text IS NULL OR instrument = $4) AND (upper(symbol) LIKE $2"
            f" OR upper(display_name) LIKE $2 OR upper(name) LIKE $2{fuzzy})",
            text, anywhere, segment, kind.upper() if kind else None)
    return rows, total


async def by_symbol(conn: asyncpg.Connection, symbol: str, segment: str | None) -> asyncpg.Record | None:
    """Find an instrument by trading symbol (NSE_EQ, then IDX_I, then BSE_EQ without a segment)."""
    return await conn.fetchrow(
        f"SELECT * FROM instruments WHERE upper(symbol) = $1 AND ($2::text IS NULL OR segment = $2)"
        f" ORDER BY {_SEGMENT_ORDER} LIMIT 1", symbol.strip().upper(), segment)


async def by_id(conn: asyncpg.Connection, segment: str, security_id: str) -> asyncpg.Record | None:
    """Find an instrument by (segment, securityId)."""
    return await conn.fetchrow("SELECT * FROM instruments WHERE segment = $1 AND security_id = $2",
                               segment, security_id)


async def insert_bars(conn: asyncpg.Connection, rows: list[tuple]) -> set[tuple]:
    """Store newly closed bars in one statement; return the keys that were new."""
    cols = list(zip(*rows))
    inserted = await conn.fetch(
        "INSERT INTO candles (segment, security_id, interval, ts, open, high, low, close, volume,"
        " oi, source) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],"
        " $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],"
        " $11::text[]) ON CONFLICT DO NOTHING RETURNING segment, security_id, interval, ts",
        *(list(c) for c in cols))
    return {tuple(r) for r in inserted}


async def correct_bar(conn: asyncpg.Connection, row: tuple) -> None:
    """Overwrite a stored bar with its published correction."""
    await conn.execute(
        "INSERT INTO candles (segment, security_id, interval, ts, open, high, low, close, volume,"
        " oi, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (segment, security_id, interval, ts) DO UPDATE SET open = EXCLUDED.open,"
        " high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,"
        " volume = EXCLUDED.volume, oi = EXCLUDED.oi, revision = candles.revision + 1", *row)


async def store_candles(conn: asyncpg.Connection, rows: list[tuple]) -> None:
    """Bulk-insert backfilled candles, keeping bars the feed already published."""
    if not rows:
        return
    async with conn.transaction():
        await conn.execute("CREATE TEMP TABLE candles_in (LIKE candles INCLUDING DEFAULTS)"
                           " ON COMMIT DROP")
        await conn.copy_records_to_table("candles_in", records=rows, columns=list(CANDLE_COLS))
        cols = ", ".join(CANDLE_COLS)
        await conn.execute(f"INSERT INTO candles ({cols}) SELECT DISTINCT ON (segment,"
                           f" security_id, interval, ts) {cols} FROM candles_in ON CONFLICT DO NOTHING")


async def fetched_days(conn: asyncpg.Connection, seg: str, sid: str, interval: str,
                       start: date, end: date) -> set[date]:
    """Return the days already fetched from Dhan in [start, end]."""
    rows = await conn.fetch("SELECT day FROM history_fetched WHERE segment = $1 AND security_id = $2"
                            " AND interval = $3 AND day BETWEEN $4 AND $5", seg, sid, interval,
                            start, end)
    return {r["day"] for r in rows}


async def mark_fetched(conn: asyncpg.Connection, seg: str, sid: str, interval: str,
                       days: list[date]) -> None:
    """Record days whose candles are complete in the store."""
    await conn.executemany("INSERT INTO history_fetched (segment, security_id, interval, day)"
                           " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                           [(seg, sid, interval, d) for d in days])


async def candles(conn: asyncpg.Connection, seg: str, sid: str, interval: str, start: datetime,
                  end: datetime, limit: int) -> list[asyncpg.Record]:
    """Return stored candles with start in [start, end), oldest first."""
    return await conn.fetch(
        "SELECT ts, open, high, low, close, volume, oi FROM candles WHERE segment = $1"
        " AND security_id = $2 AND interval = $3 AND ts >= $4 AND ts < $5 ORDER BY ts LIMIT $6",
        seg, sid, interval, start, end, limit)


async def mark_published(conn: asyncpg.Connection, keys: list[tuple]) -> None:
    """Mark bars (segment, securityId, interval, ts) as confirmed on the stream."""
    segs, sids, ivs, tss = (list(c) for c in zip(*keys))
    await conn.execute(
        "UPDATE candles SET published_at = now() WHERE (segment, security_id, interval, ts) IN"
        " (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]))",
        segs, sids, ivs, tss)


async def unpublished(conn: asyncpg.Connection, older_than_s: float) -> list[asyncpg.Record]:
    """Return feed bars stored but never confirmed published (oldest first)."""
    return await conn.fetch(
        "SELECT * FROM candles WHERE published_at IS NULL AND source = 'feed'"
        " AND stored_at < now() - make_interval(secs => $1) ORDER BY stored_at LIMIT 5000"
        " FOR UPDATE SKIP LOCKED", older_than_s)
