"""Which trades happen: entry candidates, shared exits, stop/target scans, position limits.

An exit is encoded as a sortable *key*: ``2*bar`` for an exit at that bar's open (signal,
square-off at a bar's open) and ``2*bar + 1`` for an exit inside the bar or at its close (stop,
target, square-off at the day's last close, end of data). A position entered at the open of
bar ``e`` is still open at the open of ``e`` for every key ``> 2*e``.

Work is vectorised over bars with numpy; Python loops run over trades only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from btengine.bars import Bars
from btengine.settings import Settings

REASONS = ("signal", "stop", "target", "square_off", "end")
SIGNAL, STOP, TARGET, SQUARE_OFF, END = range(5)


@dataclass
class Plan:
    """Chosen trades: entry bar, exit key, exit reason and exit price before slippage."""

    entry_bar: np.ndarray
    exit_key: np.ndarray
    reason: np.ndarray
    exit_raw: np.ndarray


def entry_fills(b: Bars, entries: np.ndarray, exits: np.ndarray, s: Settings) -> np.ndarray:
    """Return the bars whose open fills an entry signal of the bar before.

    An exit signal on the same bar cancels the entry. With square-off, signals from a bar at
    or after the square-off time and fills at or after it are dropped, and on intraday bars
    a signal never carries over to the next day's open (no stale entries).
    """
    signal = np.flatnonzero(entries[:-1] & ~exits[:-1])
    if s.squares_off:
        cutoff = s.square_off_time.hour * 60 + s.square_off_time.minute
        minute = b.ist_minute
        keep = (minute[signal] < cutoff) & (minute[signal + 1] < cutoff)
        if not b.is_daily:
            day = b.ist_day
            keep &= day[signal] == day[signal + 1]
        signal = signal[keep]
    return signal + 1


def square_off_keys(b: Bars, s: Settings) -> np.ndarray:
    """Return, per bar, the exit key of its day's square-off."""
    day = b.ist_day
    n = len(b)
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    lasts = np.r_[starts[1:] - 1, n - 1]
    cutoff = s.square_off_time.hour * 60 + s.square_off_time.minute
    late = np.flatnonzero(b.ist_minute >= cutoff)
    day_key = 2 * lasts + 1
    if len(late):
        # first bar at/after the cutoff within each day, else the day's last close
        first_late = late[np.minimum(np.searchsorted(late, starts), len(late) - 1)]
        has_late = (first_late >= starts) & (first_late <= lasts)
        day_key = np.where(has_late, 2 * first_late, day_key)
    return np.repeat(day_key, lasts - starts + 1)


def common_exits(
    b: Bars, exits: np.ndarray, s: Settings, ef: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return each candidate's exit key and reason ignoring stops (signal, square-off, end)."""
    n = len(b)
    end_key = 2 * (n - 1) + 1
    xf = np.flatnonzero(exits[:-1]) + 1
    pos = np.searchsorted(xf, ef, side="right")
    key = np.full(len(ef), end_key, dtype=np.int64)
    reason = np.full(len(ef), END, dtype=np.int8)
    has = pos < len(xf)
    key[has] = 2 * xf[pos[has]]
    reason[has] = SIGNAL
    if s.squares_off:
        sq = square_off_keys(b, s)[ef]
        # ties: a signal at the same open wins; square-off wins over the end of data
        earlier = (sq < key) | ((sq == key) & (reason == END))
        key = np.where(earlier, sq, key)
        reason = np.where(earlier, SQUARE_OFF, reason).astype(np.int8)
    return key, reason


def exit_price_at_key(b: Bars, key: np.ndarray) -> np.ndarray:
    """Return the open of the bar for even keys, its close for odd keys."""
    bar = key // 2
    return np.where(key % 2 == 0, b.open[bar], b.close[bar])


class StopScanner:
    """Find the first stop or target hit in bar windows, with the gap rules of §8."""

    def __init__(self, b: Bars, s: Settings, entry_fill: np.ndarray) -> None:
        self.b = b
        self.long = s.sign > 0
        inf = np.full(len(entry_fill), np.inf)
        sl = s.stop_loss_pct / 100 if s.stop_loss_pct else None
        tp = s.target_pct / 100 if s.target_pct else None
        # levels per candidate; a missing side is a level that can never be touched
        if self.long:
            self.stop = entry_fill * (1 - sl) if sl else -inf
            self.target = entry_fill * (1 + tp) if tp else inf
        else:
            self.stop = entry_fill * (1 + sl) if sl else inf
            self.target = entry_fill * (1 - tp) if tp else -inf
        self.defer = 1 if s.stops_from_next_bar else 0

    def scan(self, cand: np.ndarray, ef: np.ndarray, ends: np.ndarray):
        """Scan windows [ef+defer, ends) of candidates ``cand``; return (bar|-1, reason, price)."""
        starts = ef + self.defer
        lengths = np.maximum(ends - starts, 0)
        k = len(cand)
        hit_bar = np.full(k, -1, dtype=np.int64)
        reason = np.zeros(k, dtype=np.int8)
        price = np.full(k, np.nan)
        total = int(lengths.sum())
        if total == 0:
            return hit_bar, reason, price
        wid = np.repeat(np.arange(k), lengths)
        offsets = np.cumsum(lengths) - lengths
        idx = np.arange(total) - np.repeat(offsets - starts, lengths)
        stop, target = self.stop[cand], self.target[cand]
        if self.long:
            hit = (self.b.low[idx] <= stop[wid]) | (self.b.high[idx] >= target[wid])
        else:
            hit = (self.b.high[idx] >= stop[wid]) | (self.b.low[idx] <= target[wid])
        pos = np.flatnonzero(hit)
        if len(pos) == 0:
            return hit_bar, reason, price
        w = wid[pos]
        first = np.r_[True, w[1:] != w[:-1]]
        w, j = w[first], idx[pos[first]]
        hit_bar[w] = j
        reason[w], price[w] = self._resolve(j, stop[w], target[w])
        return hit_bar, reason, price

    def scan_one(self, c: int, e: int, end: int) -> tuple[int, int, float]:
        """Scan one window [e+defer, end) of candidate ``c``; return (bar|-1, reason, price)."""
        lo, hi = e + self.defer, end
        if hi <= lo:
            return -1, 0, np.nan
        stop, target = self.stop[c], self.target[c]
        if self.long:
            hit = (self.b.low[lo:hi] <= stop) | (self.b.high[lo:hi] >= target)
        else:
            hit = (self.b.high[lo:hi] >= stop) | (self.b.low[lo:hi] <= target)
        i = int(np.argmax(hit))
        if not hit[i]:
            return -1, 0, np.nan
        j = np.array([lo + i])
        r, p = self._resolve(j, np.array([stop]), np.array([target]))
        return lo + i, int(r[0]), float(p[0])

    def _resolve(self, j: np.ndarray, stop: np.ndarray, target: np.ndarray):
        # the open comes first: a gap through a level fills there; after the open the path
        # inside the bar is unknown, so the stop is assumed hit before the target
        o = self.b.open[j]
        if self.long:
            stop_gap, target_gap, stop_in = o <= stop, o >= target, self.b.low[j] <= stop
        else:
            stop_gap, target_gap, stop_in = o >= stop, o <= target, self.b.high[j] >= stop
        is_stop = stop_gap | (~target_gap & stop_in)
        at_open = stop_gap | target_gap
        price = np.where(at_open, o, np.where(is_stop, stop, target))
        return np.where(is_stop, STOP, TARGET).astype(np.int8), price


def select_single(ef, ckey, creason, scanner: StopScanner | None, b: Bars) -> Plan:
    """Choose trades for ``max_positions == 1`` in vectorised rounds.

    Candidates sharing a shared-exit key form a group; only the first can enter. When its
    stop or target fires before the shared exit, the group's next candidate after that bar
    enters in the next round.
    """
    m = len(ef)
    head = np.ones(m, dtype=bool)
    head[1:] = ckey[:-1] <= 2 * ef[1:]
    pending = np.flatnonzero(head)
    if scanner is None:
        return Plan(
            ef[pending], ckey[pending], creason[pending], exit_price_at_key(b, ckey[pending])
        )
    parts = [(pending[:0], ckey[:0], creason[:0], np.zeros(0))]
    two_ef = 2 * ef
    while len(pending):
        k = ckey[pending]
        hit_bar, hit_reason, hit_price = scanner.scan(pending, ef[pending], (k + 1) // 2)
        stopped = hit_bar >= 0
        key = np.where(stopped, 2 * hit_bar + 1, k)
        reason = np.where(stopped, hit_reason, creason[pending]).astype(np.int8)
        price = np.where(stopped, hit_price, exit_price_at_key(b, k))
        parts.append((pending, key, reason, price))
        nxt = np.searchsorted(two_ef, key[stopped], side="left")
        ok = nxt < m
        ok[ok] = two_ef[nxt[ok]] < k[stopped][ok]
        pending = nxt[ok]
    idx, key, reason, price = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.argsort(idx, kind="stable")
    return Plan(ef[idx[order]], key[order], reason[order], price[order])


def select_general(ef, ckey, creason, scanner: StopScanner | None, b: Bars, maxpos: int) -> Plan:
    """Choose trades for any ``max_positions`` with a loop over candidates."""
    open_keys: list[int] = []
    rows: list[tuple[int, int, int, float]] = []
    for c in range(len(ef)):
        e = int(ef[c])
        open_keys = [k for k in open_keys if k > 2 * e]
        if len(open_keys) >= maxpos:
            continue
        key, reason = int(ckey[c]), int(creason[c])
        price = np.nan
        if scanner is not None:
            bar, r, p = scanner.scan_one(c, e, (key + 1) // 2)
            if bar >= 0:
                key, reason, price = 2 * bar + 1, r, p
        if np.isnan(price):
            price = float(b.open[key // 2] if key % 2 == 0 else b.close[key // 2])
        open_keys.append(key)
        rows.append((e, key, reason, price))
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return Plan(empty, empty.copy(), np.zeros(0, np.int8), np.zeros(0))
    e_, k_, r_, p_ = (np.array(col) for col in zip(*rows, strict=True))
    return Plan(e_.astype(np.int64), k_.astype(np.int64), r_.astype(np.int8), p_.astype(float))
