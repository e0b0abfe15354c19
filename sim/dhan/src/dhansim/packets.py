"""Binary market-feed packets of API.md 8.3-8.4 (little-endian, float32 rupees)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from dhansim.clock import IST
from dhansim.market import Snapshot

TICKER, QUOTE, OI, PREV_CLOSE, MARKET_STATUS, FULL, DISCONNECT = 2, 4, 5, 6, 7, 8, 50
_TICKER = struct.Struct("<BHBIfI")
_OI = struct.Struct("<BHBII")
_QUOTE = struct.Struct("<BHBIfHIfIIIffff")
_FULL_HEAD = struct.Struct("<BHBIfHIfIIIIIIffff")
_LEVEL = struct.Struct("<IIHHff")
_DISCONNECT = struct.Struct("<BHBIH")


def ist_epoch(ts: datetime) -> int:
    """Encode a time as Dhan's LTT: IST wall-clock read as if it were UTC."""
    return int(ts.astimezone(IST).replace(tzinfo=UTC).timestamp())


def ticker(s: Snapshot) -> bytes:
    """Return a 16-byte ticker packet (code 2)."""
    return _TICKER.pack(TICKER, 16, s.inst.segment_code, int(s.inst.security_id), s.ltp,
                        ist_epoch(s.ltt))


def prev_close(s: Snapshot, prev_oi: int = 0) -> bytes:
    """Return a 16-byte previous-close packet (code 6)."""
    return _TICKER.pack(PREV_CLOSE, 16, s.inst.segment_code, int(s.inst.security_id),
                        s.prev_close, prev_oi)


def oi(s: Snapshot) -> bytes:
    """Return a 12-byte open-interest packet (code 5)."""
    return _OI.pack(OI, 12, s.inst.segment_code, int(s.inst.security_id), s.oi)


def _day_close(s: Snapshot) -> float:
    # The day close field is only meaningful after the session (API.md 8.4).
    ltt = s.ltt.astimezone(IST)
    return s.ltp if s.seq >= 0 and (ltt.hour, ltt.minute) >= (15, 29) else 0.0


def quote(s: Snapshot) -> bytes:
    """Return a 50-byte quote packet (code 4)."""
    return _QUOTE.pack(QUOTE, 50, s.inst.segment_code, int(s.inst.security_id), s.ltp,
                       min(s.ltq, 65535), ist_epoch(s.ltt), s.atp, s.volume, s.total_sell,
                       s.total_buy, s.open, _day_close(s), s.high, s.low)


def full(s: Snapshot) -> bytes:
    """Return a 162-byte full packet (code 8) with five depth levels."""
    head = _FULL_HEAD.pack(FULL, 162, s.inst.segment_code, int(s.inst.security_id), s.ltp,
                           min(s.ltq, 65535), ist_epoch(s.ltt), s.atp, s.volume, s.total_sell,
                           s.total_buy, s.oi, s.oi_high, s.oi_low, s.open, _day_close(s),
                           s.high, s.low)
    depth = b"".join(_LEVEL.pack(lv.bid_qty, lv.ask_qty, min(lv.bid_orders, 65535),
                                 min(lv.ask_orders, 65535), lv.bid, lv.ask) for lv in s.depth)
    return head + depth


def disconnect(code: int) -> bytes:
    """Return a 10-byte disconnect packet (code 50) carrying a reason (805-810)."""
    return _DISCONNECT.pack(DISCONNECT, 10, 0, 0, code)
