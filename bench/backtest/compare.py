"""Compare trade lists of the engine and its peers (used by run.py)."""

from __future__ import annotations

import numpy as np

# our fills are whole paise and stop/target levels come from the paisa-rounded entry
# fill, so a level may sit up to 0.005 × (1 + 4 %) + 0.005 rupees from a float engine's
PRICE_TOLERANCE = 0.0103


def closed_trades(result) -> np.ndarray:
    """Return entry bar, exit bar, entry and exit price of trades not closed by the end."""
    t = result.trades
    keep = t.reason != 4
    return np.column_stack(
        [t.entry_bar[keep], t.exit_bar[keep], t.entry_paise[keep] / 100, t.exit_paise[keep] / 100]
    )


def explain_signal_vs_stop(ours, theirs, bars, reasons) -> str:
    """Describe differing trades where our signal exit at an open met the peer's in-bar stop."""
    bad = np.flatnonzero(np.any(np.abs(ours - theirs) > PRICE_TOLERANCE, axis=1))
    bar = ours[bad, 1].astype(np.int64)
    same_bars = np.all(ours[bad, :2] == theirs[bad, :2], axis=1)
    ours_signal_at_open = (reasons[bad] == 0) & np.isclose(ours[bad, 3], bars["open"][bar])
    peer_inside_bar = (theirs[bad, 3] >= bars["low"][bar]) & (theirs[bad, 3] <= bars["high"][bar])
    explained = int(np.count_nonzero(same_bars & ours_signal_at_open & peer_inside_bar))
    return (
        f"; {explained} of these {len(bad)} are bars where our exit signal filled at the "
        "open while the peer let a stop/target inside that same bar win (§8: the signal "
        "at the open comes first)"
    )


def compare(ours: np.ndarray, theirs: np.ndarray, limit: int | None = None) -> str:
    """Return 'identical (N trades)' or a description of the first difference."""
    if limit is not None:
        ours = ours[ours[:, 1] < limit]
    if ours.shape != theirs.shape:
        return f"DIFFERENT: {len(ours)} vs {len(theirs)} trades"
    same_idx = np.array_equal(ours[:, :2].astype(np.int64), theirs[:, :2].astype(np.int64))
    price_gap = float(np.max(np.abs(ours[:, 2:] - theirs[:, 2:]))) if len(ours) else 0.0
    if not same_idx or price_gap > PRICE_TOLERANCE:
        bad = np.flatnonzero(np.any(np.abs(ours - theirs) > PRICE_TOLERANCE, axis=1))
        first = ", ".join(
            f"{ours[i].tolist()} vs {np.round(theirs[i], 4).tolist()}" for i in bad[:2]
        )
        return f"DIFFERENT: {len(bad)} of {len(ours)} trades, first at {bad[:1].tolist()}: {first}"
    return f"identical ({len(ours)} trades, max price gap {price_gap:.4f})"


def check(path, data, peer, case, mine, why, bars, limit) -> str:
    """Return one result-table row comparing our closed trades with a peer's."""
    if not path.exists():
        return f"| {data} | {peer} | engine ({case}) | not run |"
    theirs = np.load(path)
    verdict = compare(mine, theirs, limit)
    if verdict.startswith("DIFFERENT:") and len(theirs) == len(mine):
        verdict += explain_signal_vs_stop(mine, theirs, bars, why)
    return f"| {data} | {peer} | engine ({case}) | {verdict} |"
