"""Where bars come from: `HistorySource`, served by marketdata over NATS in the platform.

`MarketdataHistory` asks marketdata's bulk-history subject for a Parquet export in the NATS
Object Store (prices in integer paise) and reads it back. `ParquetHistory` reads local files
named like `NSE_EQ-RELIANCE-1d.parquet`; it is for tests and benchmarks only, the running
service always goes through marketdata.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Protocol

import polars as pl
from contracts import marketdata as md
from nats.aio.client import Client
from svckit.errors import RemoteError, Unavailable
from svckit.nats import request

from .errors import BacktestError, HistoryUnavailable

FILE_PREFIX = {"IDX_I": "IDX"}
COLUMNS = ("ts", "open", "high", "low", "close", "volume")


class HistorySource(Protocol):
    """Bars of one instrument in [start, end) (UTC), oldest first, columns `COLUMNS`.

    `ts` is the bar's open time as a timezone-aware datetime; prices are float rupees.
    """

    async def bars(self, segment: str, security_id: str, symbol: str, interval: str,
                   start: datetime, end: datetime) -> pl.DataFrame: ...


def normalise(df: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """Keep [start, end), sort by time, cast to the engine's column types."""
    out = df.select(
        pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("ns"),
        *(pl.col(c).cast(pl.Float64) for c in ("open", "high", "low", "close")),
        pl.col("volume").cast(pl.Int64).fill_null(0),
    )
    out = out.filter((pl.col("ts") >= start) & (pl.col("ts") < end))
    if not out.get_column("ts").is_sorted():
        out = out.sort("ts")
    if out.height > 1 and (out.get_column("ts").to_physical().diff() == 0).any():
        out = out.unique("ts", keep="last", maintain_order=True)
    return out


class ParquetHistory:
    """Bars from `<dir>/<segment prefix>-<SYMBOL>-<interval>.parquet` (tests and benchmarks)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, segment: str, symbol: str, interval: str) -> Path:
        """Return the file that holds one instrument's bars."""
        return self.directory / f"{FILE_PREFIX.get(segment, segment)}-{symbol}-{interval}.parquet"

    async def bars(self, segment: str, security_id: str, symbol: str, interval: str,
                   start: datetime, end: datetime) -> pl.DataFrame:
        """Read and trim the instrument's file."""
        path = self.path(segment, symbol, interval)
        if not path.exists():
            raise BacktestError(f"no {interval} history for {segment}:{symbol}")
        return normalise(pl.read_parquet(path), start, end)


class MarketdataHistory:
    """Bars from the marketdata service: bulk export to the Object Store, then one read."""

    def __init__(self, nc: Client, timeout_s: float = 120.0) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._timeout_s = timeout_s

    async def bars(self, segment: str, security_id: str, symbol: str, interval: str,
                   start: datetime, end: datetime) -> pl.DataFrame:
        """Ask marketdata for the export and read it back as engine bars."""
        ask = md.BulkHistory(instruments=[md.InstrumentRef(segment=segment, security_id=security_id)],
                             interval=interval, from_=start, to=end)
        try:
            ready = await request(self._nc, md.BULK_HISTORY, ask, reply_model=md.BulkHistoryReady,
                                  timeout=self._timeout_s)
        except Unavailable as exc:
            raise HistoryUnavailable(f"marketdata unavailable: {exc}", delay_s=5.0) from exc
        except RemoteError as exc:
            if exc.api_error.code >= 500:
                raise HistoryUnavailable(f"marketdata failed: {exc}", delay_s=5.0) from exc
            raise BacktestError(f"history refused: {exc}") from exc
        if ready.rows == 0:
            return normalise(_empty(), start, end)
        store = await self._js.object_store(ready.bucket)
        obj = await store.get(ready.object_name)
        df = pl.read_parquet(io.BytesIO(obj.data))
        df = df.filter(pl.col("securityId") == security_id).with_columns(
            *(pl.col(c) / 100 for c in ("open", "high", "low", "close")))
        return normalise(df, start, end)


def _empty() -> pl.DataFrame:
    return pl.DataFrame({"ts": pl.Series([], dtype=pl.Datetime("ns", "UTC")),
                         **{c: pl.Series([], dtype=pl.Float64) for c in ("open", "high", "low", "close")},
                         "volume": pl.Series([], dtype=pl.Int64)})
