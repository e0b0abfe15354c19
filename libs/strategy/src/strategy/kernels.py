"""Indicator formulas over whole arrays (numpy float64, NaN = no value yet).

Every formula is written as an explicit order of IEEE operations that the incremental evaluator
repeats bar by bar, so both evaluators give bit-identical values:

- window sum over n bars: recomputed per window in a fixed order (see `window_sum`), never a
  running add/subtract, so no drift and no dependence on where the history starts.
- SMA(n)    = window_sum / n.
- WMA(n)    = (1*x[t-n+1] + 2*x[t-n+2] + ... + n*x[t]) / (n(n+1)/2), summed oldest first.
- STDEV(n)  = sqrt(sum((x_i - SMA)^2) / n): POPULATION standard deviation (ddof=0), the
  Bollinger convention; the squared deviations are summed oldest first, one by one.
- BB(n, k)  : middle = SMA(n), upper = middle + k*STDEV(n), lower = middle - k*STDEV(n).
- EMA(n)    : alpha = 2/(n+1); the first value is the SMA of the first n inputs, then
  y = y + alpha*(x - y) (the update polars' ewm_mean(adjust=False) performs).
- RSI(n)    : Wilder. d = x[t] - x[t-1]; gain = max(d, 0), loss = max(-d, 0); the first
  averages are the simple means of the first n gains/losses, then Wilder smoothing
  avg = avg + (1/n)*(value - avg); RSI = 100*avg_gain/(avg_gain + avg_loss), which equals
  100 - 100/(1 + RS), and RSI = 100 when avg_loss = 0. First value at bar n.
- MACD(f, s, sig): macd = EMA(f) - EMA(s); signal = EMA(sig) of macd; hist = macd - signal.
- ATR(n)    : Wilder. TR[t] = max(high-low, |high-close[t-1]|, |low-close[t-1]|) from the
  second bar on (bar 0 has no previous close); first ATR = mean of the first n TRs (at bar n),
  then avg = avg + (1/n)*(TR - avg).
- VWAP      : per IST session day, cumsum(tp*volume)/cumsum(volume) with the typical price
  tp = ((high + low) + close)/3, sums running bar by bar from the day's first bar; no value
  while the day's volume is still 0 (index data carries no volume).
- highest/lowest(n): max/min of the last n values INCLUDING the current bar.

Missing inputs: a window containing a missing value gives no value. The recursive indicators
(EMA, RSI, MACD, ATR) skip a missing input: their state is unchanged and that bar has no value.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import polars as pl

NAN = np.nan


def _empty(n: int) -> np.ndarray:
    return np.full(n, NAN)


@functools.cache
def _blocks(n: int) -> tuple[int, ...]:
    """Split a window length into powers of two, largest (oldest) first: 30 -> (16, 8, 4, 2)."""
    return tuple(1 << k for k in reversed(range(n.bit_length())) if n >> k & 1)


def window_total(values: list[float]) -> float:
    """Sum one window in the canonical order (see `window_sum`); used bar by bar."""
    acc, start = 0.0, 0
    for i, size in enumerate(_blocks(len(values))):
        level = values[start : start + size]
        while len(level) > 1:
            level = [level[j] + level[j + 1] for j in range(0, len(level), 2)]
        acc = level[0] if i == 0 else acc + level[0]
        start += size
    return acc


def _doubling(x: np.ndarray, n: int, op) -> np.ndarray:
    out = _empty(len(x))
    m = len(x) - n + 1
    if m <= 0:
        return out
    levels = {1: x}
    cur, p = x, 1
    while p * 2 <= n:
        cur = op(cur[:-p], cur[p:])  # level 2p at j combines level p at j (older) and j+p
        p *= 2
        levels[p] = cur
    acc, off = None, 0
    for size in _blocks(n):
        block = levels[size][off : off + m]
        acc = block.copy() if acc is None else op(acc, block, out=acc)
        off += size
    out[n - 1 :] = acc
    return out


def window_sum(x: np.ndarray, n: int) -> np.ndarray:
    """Return each n-bar window's sum in the canonical order (NaN before the first full window).

    The window is split into power-of-two blocks, oldest and largest first (30 = 16+8+4+2);
    each block is summed as a balanced pairwise tree and the block sums are added oldest first.
    Whole arrays get this in log2(n) vectorized passes; `window_total` repeats it per bar.
    """
    return _doubling(x, n, np.add)


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Return the simple moving average."""
    return window_sum(x, n) / n


def wma(x: np.ndarray, n: int) -> np.ndarray:
    """Return the linearly weighted moving average (newest bar weight n)."""
    out = _empty(len(x))
    m = len(x) - n + 1
    if m <= 0:
        return out
    s = x[0:m] * 1.0
    for k in range(1, n):
        s += x[k : k + m] * float(k + 1)
    out[n - 1 :] = s / (n * (n + 1) / 2)
    return out


def stdev(x: np.ndarray, n: int) -> np.ndarray:
    """Return the population (ddof=0) standard deviation over n bars."""
    out = _empty(len(x))
    m = len(x) - n + 1
    if m <= 0:
        return out
    mean = window_sum(x, n)[n - 1 :] / n
    d = x[0:m] - mean
    s = d * d
    for k in range(1, n):
        d = x[k : k + m] - mean
        s += d * d
    out[n - 1 :] = np.sqrt(s / n)
    return out


def highest(x: np.ndarray, n: int) -> np.ndarray:
    """Return the max of the last n values including the current one."""
    return _doubling(x, n, np.maximum)  # NaN propagates: a gap gives no value


def lowest(x: np.ndarray, n: int) -> np.ndarray:
    """Return the min of the last n values including the current one."""
    return _doubling(x, n, np.minimum)


def _seed(v: np.ndarray, n: int) -> float:
    return window_total([float(a) for a in v[:n]]) / n


def _ewm(seed: float, rest: np.ndarray, alpha: float) -> np.ndarray:
    # polars' ewm_mean(adjust=False) computes y = y + alpha*(x - y) starting from the first value
    series = pl.Series(np.concatenate([[seed], rest]), dtype=pl.Float64)
    return series.ewm_mean(alpha=alpha, adjust=False).to_numpy()


def seeded_ewm(x: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """Return the SMA-seeded exponential average of the non-missing values of x."""
    out = _empty(len(x))
    idx = np.flatnonzero(~np.isnan(x))
    v = x[idx]
    if len(v) < n:
        return out
    out[idx[n - 1 :]] = _ewm(_seed(v, n), v[n:], alpha)
    return out


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Return the EMA with alpha 2/(n+1), seeded with the SMA of the first n values."""
    return seeded_ewm(x, n, 2.0 / (n + 1))


def rsi(x: np.ndarray, n: int) -> np.ndarray:
    """Return Wilder's RSI."""
    out = _empty(len(x))
    idx = np.flatnonzero(~np.isnan(x))
    v = x[idx]
    if len(v) < n + 1:
        return out
    d = v[1:] - v[:-1]
    gain = np.maximum(d, 0.0)
    loss = np.maximum(-d, 0.0)
    alpha = 1.0 / n
    ag = _ewm(_seed(gain, n), gain[n:], alpha)
    al = _ewm(_seed(loss, n), loss[n:], alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(al == 0.0, 100.0, 100.0 * ag / (ag + al))
    out[idx[n:]] = value
    return out


def macd(
    x: np.ndarray, fast: int, slow: int, signal: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (macd, signal, hist)."""
    line = ema(x, fast) - ema(x, slow)
    sig = ema(line, signal)
    return line, sig, line - sig


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Return the true range; bar 0 has none (no previous close)."""
    out = _empty(len(high))
    if len(high) < 2:
        return out
    pc = close[:-1]
    h, lo = high[1:], low[1:]
    out[1:] = np.maximum(np.maximum(h - lo, np.abs(h - pc)), np.abs(lo - pc))
    return out


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """Return Wilder's ATR."""
    return seeded_ewm(true_range(high, low, close), n, 1.0 / n)


def roc(x: np.ndarray, n: int) -> np.ndarray:
    """Return the rate of change in percent, 100*(x/x[t-n] - 1); no value when x[t-n] is 0."""
    out = _empty(len(x))
    if len(x) <= n:
        return out
    base = x[:-n]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 * (x[n:] / base - 1.0)
    out[n:] = np.where(base == 0.0, NAN, value)
    return out


def vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Return the session VWAP; `day` labels each bar's IST calendar day."""
    tp = ((high + low) + close) / 3.0
    pv = tp * volume
    cpv = np.empty_like(pv)
    cv = np.empty_like(pv)
    starts = np.flatnonzero(np.diff(day, prepend=day[:1] - 1) != 0) if len(day) else []
    bounds = [*starts, len(day)]
    for a, b in itertools.pairwise(bounds):  # one loop per session, never per bar
        np.cumsum(pv[a:b], out=cpv[a:b])  # add.accumulate: strictly sequential, like bar by bar
        np.cumsum(volume[a:b], out=cv[a:b])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cv != 0.0, cpv / cv, NAN)
