"""Import Dhan's scrip master from a URL or a file, at start and then daily."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
from svckit.logging import get_logger

from . import repository as repo
from .dhan.scripmaster import parse

log = get_logger(__name__)


async def read_source(source: str) -> str:
    """Return the CSV text of a URL (http/https/file) or a local path."""
    if source.startswith(("http://", "https://")):
        async with httpx.AsyncClient(timeout=120, follow_redirects=True) as http:
            resp = await http.get(source)
            resp.raise_for_status()
            return resp.text
    path = Path(source.removeprefix("file://"))
    return await asyncio.to_thread(path.read_text, encoding="utf-8-sig")


async def import_scrip_master(pool: asyncpg.Pool, source: str) -> int:
    """Download, parse and upsert the instrument master; return the number of rows."""
    text = await read_source(source)
    rows = await asyncio.to_thread(lambda: list(parse(text)))
    async with pool.acquire() as conn:
        count = await repo.import_instruments(conn, rows, source)
    log.info("instruments.imported", rows=count, source=source)
    return count


async def needs_import(pool: asyncpg.Pool, max_age_s: float) -> bool:
    """Tell whether the last import is missing or older than `max_age_s`."""
    age = await pool.fetchval("SELECT extract(epoch FROM now() - max(imported_at)) FROM scrip_imports")
    return age is None or float(age) > max_age_s


async def refresh_daily(pool: asyncpg.Pool, source: str, every_s: float) -> None:
    """Re-import the master every `every_s` seconds (Dhan regenerates it daily)."""
    while True:
        await asyncio.sleep(every_s)  # the refresh period itself
        try:
            await import_scrip_master(pool, source)
        except (httpx.HTTPError, OSError, ValueError, asyncpg.PostgresError) as exc:
            log.error("instruments.import_failed", error=str(exc), source=source)
