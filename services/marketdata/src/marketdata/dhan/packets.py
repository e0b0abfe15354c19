"""Decode Dhan's binary market feed (API.md §8.3-8.5) straight into `Tick` events.

A frame may hold several packets back to back (the header's length field splits them).
OI (5) and previous-close (6) packets only update per-instrument state that later ticks
carry. Prices become integer paise once, here; LTT becomes true UTC (`ltt - 19800`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.events.marketdata import Tick

INDEX, TICKER, QUOTE, OI, PREV_CLOSE, MARKET_STATUS, FULL, DISCONNECT = 1, 2, 4, 5, 6, 7, 8, 50
IST_SHIFT_S = 19_800
SEGMENTS = {0: "IDX_I", 1: "NSE_EQ", 2: "NSE_FNO", 3: "NSE_CURRENCY", 4: "BSE_EQ",
            5: "MCX_COMM", 7: "BSE_CURRENCY", 8: "BSE_FNO"}
SEGMENT_CODES = {name: code for code, name in SEGMENTS.items()}

_HEADER = struct.Struct("<BHBI")
_TICKER = struct.Struct("<fI")
_U32 = struct.Struct("<I")
_QUOTE = struct.Struct("<fHIfIIIffff")
_FULL = struct.Struct("<fHIfIIIIIIffff")
_LEVEL0 = struct.Struct("<IIHHff")
_U16 = struct.Struct("<H")


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The server's disconnect packet (code 50) with its reason (805-810)."""

    code: int


def paise(rupees: float) -> int:
    """Round a float32 rupee price to integer paise (API.md §8.5: never compare raw floats)."""
    return round(rupees * 100)


def ltt_to_utc(ist_shifted: int) -> datetime:
    """Convert Dhan's IST-shifted LTT epoch to a true UTC instant."""
    return datetime.fromtimestamp(ist_shifted - IST_SHIFT_S, UTC)


class Decoder:
    """Stateful decoder for one feed connection (remembers OI and previous close)."""

    def __init__(self, id_prefix: str = "t") -> None:
        self._prefix = id_prefix
        self._seq = 0
        self.prev_close: dict[tuple[str, str], int] = {}
        self.oi: dict[tuple[str, str], int] = {}
        self._ltt_cache: tuple[int, datetime] = (-1, datetime.min.replace(tzinfo=UTC))
        self.unknown = 0
        self._sids: dict[int, str] = {}

    def _ltt(self, raw: int) -> datetime:
        # Consecutive packets mostly share a second; skip re-creating the datetime.
        if raw != self._ltt_cache[0]:
            self._ltt_cache = (raw, ltt_to_utc(raw))
        return self._ltt_cache[1]

    def decode(self, frame: bytes, ts_init: datetime) -> tuple[list[Tick], Disconnect | None]:
        """Decode every packet of one frame into ticks (and a disconnect, if sent)."""
        ticks: list[Tick] = []
        offset, size = 0, len(frame)
        while offset + 8 <= size:
            code, length, seg_code, sid = _HEADER.unpack_from(frame, offset)
            if length < 8 or offset + length > size:
                length = _fallback_length(code, size - offset)
                if length is None:
                    self.unknown += 1
                    break
            segment = SEGMENTS.get(seg_code, str(seg_code))
            if code == DISCONNECT:
                return ticks, Disconnect(_U16.unpack_from(frame, offset + 8)[0])
            tick = self._packet(code, frame, offset, segment, self._sid(sid), ts_init)
            if tick is not None:
                ticks.append(tick)
            offset += length
        return ticks, None

    def _sid(self, sid: int) -> str:
        text = self._sids.get(sid)
        if text is None:
            text = self._sids[sid] = str(sid)
        return text

    def _packet(self, code: int, buf: bytes, off: int, segment: str, sid: str,
                ts_init: datetime) -> Tick | None:
        # Hot path (every tick): paise are inlined as round(x * 100), the same as `paise`.
        key = (segment, sid)
        if code == FULL:
            (ltp, ltq, ltt, atp, vol, _sell, _buy, oi, _oih, _oil, o, _c, h,
             lo) = _FULL.unpack_from(buf, off + 8)
            bid_q, ask_q, _bo, _ao, bid, ask = _LEVEL0.unpack_from(buf, off + 62)
            at = self._ltt(ltt)
            self._seq += 1
            return Tick(event_id=f"{self._prefix}{self._seq}", ts_event=at, ts_init=ts_init,
                        segment=segment, security_id=sid, ltp=round(ltp * 100), ltt=at, ltq=ltq,
                        volume=vol, atp=round(atp * 100),
                        oi=oi if segment in _OI_SEGMENTS else None,
                        bid=round(bid * 100) if bid_q else None,
                        ask=round(ask * 100) if ask_q else None, bid_qty=bid_q, ask_qty=ask_q,
                        day_open=round(o * 100), day_high=round(h * 100), day_low=round(lo * 100),
                        prev_close=self.prev_close.get(key))
        if code == QUOTE:
            ltp, ltq, ltt, atp, vol, _sell, _buy, o, _c, h, lo = _QUOTE.unpack_from(buf, off + 8)
            at = self._ltt(ltt)
            self._seq += 1
            return Tick(event_id=f"{self._prefix}{self._seq}", ts_event=at, ts_init=ts_init,
                        segment=segment, security_id=sid, ltp=round(ltp * 100), ltt=at, ltq=ltq,
                        volume=vol, atp=round(atp * 100), oi=self.oi.get(key),
                        day_open=round(o * 100), day_high=round(h * 100), day_low=round(lo * 100),
                        prev_close=self.prev_close.get(key))
        if code == TICKER or (code == INDEX and len(buf) - off >= 16):
            ltp, ltt = _TICKER.unpack_from(buf, off + 8)
            at = self._ltt(ltt)
            self._seq += 1
            return Tick(event_id=f"{self._prefix}{self._seq}", ts_event=at, ts_init=ts_init,
                        segment=segment, security_id=sid, ltp=round(ltp * 100), ltt=at,
                        prev_close=self.prev_close.get(key))
        if code == OI:
            self.oi[key] = _U32.unpack_from(buf, off + 8)[0]
        elif code == PREV_CLOSE:
            self.prev_close[key] = paise(_TICKER.unpack_from(buf, off + 8)[0])
        elif code != MARKET_STATUS:
            self.unknown += 1
        return None


_OI_SEGMENTS = frozenset({"NSE_FNO", "BSE_FNO", "MCX_COMM", "NSE_CURRENCY", "BSE_CURRENCY"})
_SIZES = {TICKER: 16, PREV_CLOSE: 16, OI: 12, QUOTE: 50, FULL: 162, DISCONNECT: 10}


def _fallback_length(code: int, remaining: int) -> int | None:
    # Some servers leave the length field zero; the SDK never reads it, so trust the layout.
    size = _SIZES.get(code)
    return size if size is not None and size <= remaining else None
