"""Exports of a completed backtest: CSV (trades or equity) and a PDF report with charts."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from datetime import datetime
from typing import Any

import asyncpg
from contracts import backtest as C
from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig
from nats.js.errors import BucketNotFoundError
from nats.js.object_store import ObjectStore
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import backtest_sql as bsql
from .backtests import Backtests, trade_model

TRADE_HEADER = ("seq", "entry_time", "exit_time", "side", "qty", "entry_price", "exit_price",
                "pnl_gross", "charges", "pnl_net", "exit_reason", "holding_seconds")
PDF_TRADES = 40
METRIC_LABELS = (("totalReturnPct", "Total return %"), ("cagrPct", "CAGR %"),
                 ("netProfit", "Net profit (Rs)"), ("totalCharges", "Charges (Rs)"),
                 ("maxDrawdown", "Max drawdown (Rs)"), ("maxDrawdownPct", "Max drawdown %"),
                 ("sharpe", "Sharpe"), ("sortino", "Sortino"), ("winRatePct", "Win rate %"),
                 ("profitFactor", "Profit factor"), ("avgTradePnl", "Avg trade P&L (Rs)"),
                 ("totalTrades", "Trades"), ("avgHoldingSeconds", "Avg holding (s)"),
                 ("exposurePct", "Exposure %"))


def trades_csv(trades: list[C.Trade]) -> bytes:
    """Render trades as CSV (exact rupee amounts, IST times)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(TRADE_HEADER)
    for t in trades:
        w.writerow([t.seq, t.entry_time.isoformat(), t.exit_time.isoformat(), t.side, t.qty,
                    t.entry_price, t.exit_price, t.pnl_gross, t.charges, t.pnl_net, t.exit_reason,
                    t.holding_seconds])
    return buf.getvalue().encode()


def equity_csv(curve: list[dict[str, Any]]) -> bytes:
    """Render the stored equity curve as CSV."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(("ts", "equity", "drawdown", "drawdown_pct"))
    for p in curve:
        w.writerow((p["ts"], p["equity"], p["drawdown"], p["drawdownPct"]))
    return buf.getvalue().encode()


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _chart(title: str, curve: list[dict[str, Any]], key: str, color: colors.Color) -> Drawing:
    d = Drawing(170 * mm, 62 * mm)
    d.add(String(0, 58 * mm, title, fontName="Helvetica-Bold", fontSize=10))
    if len(curve) < 2:
        return d
    t0 = datetime.fromisoformat(curve[0]["ts"]).timestamp()
    days = [(datetime.fromisoformat(p["ts"]).timestamp() - t0) / 86400 for p in curve]
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 14 * mm, 8 * mm, 150 * mm, 46 * mm
    plot.data = [list(zip(days, (float(p[key]) for p in curve), strict=True))]
    plot.lines[0].strokeColor = color
    plot.lines[0].strokeWidth = 0.8
    plot.xValueAxis.labelTextFormat = "%d d"
    plot.yValueAxis.labelTextFormat = "%.1f" if key == "drawdownPct" else "%.0f"
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
    d.add(plot)
    return d


def pdf_report(b: Any, trades: list[C.Trade], total_trades: int, curve: list[dict[str, Any]]) -> bytes:
    """Render a one-backtest report: parameters, metrics, equity and drawdown charts, trades."""
    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"Backtest {b['id']}")
    p, m = b["params"], b["metrics"] or {}
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                       ("FONTSIZE", (0, 0), (-1, -1), 8),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)])
    story: list[Any] = [
        Paragraph(f"Backtest report: {b['strategy_name']} (version {b['strategy_version']})",
                  styles["Title"]),
        Paragraph(f"{p['from_date']} to {p['to_date']}, {p['interval']} bars, capital Rs "
                  f"{p['initial_capital']}, costs {'on' if p['costs'] else 'off'}, slippage "
                  f"{p['slippage_bps']} bps. Backtest {b['id']}.", styles["Normal"]),
        Spacer(1, 4 * mm),
    ]
    table = Table([("Metric", "Value")] + [(label, _fmt(m.get(k))) for k, label in METRIC_LABELS],
                  colWidths=(60 * mm, 50 * mm))
    table.setStyle(grid)
    story += [table, Spacer(1, 4 * mm),
              _chart("Equity (Rs) by days since start", curve, "equity", colors.darkblue),
              _chart("Drawdown (%)", curve, "drawdownPct", colors.firebrick)]
    if trades:
        story.append(Paragraph(f"First {len(trades)} of {total_trades} trades", styles["Heading3"]))
        rows = [("#", "Entry", "Exit", "Side", "Qty", "Entry Rs", "Exit Rs", "Net Rs", "Reason")]
        rows += [(t.seq, t.entry_time.strftime("%Y-%m-%d %H:%M"), t.exit_time.strftime("%Y-%m-%d %H:%M"),
                  t.side, t.qty, t.entry_price, t.exit_price, t.pnl_net, t.exit_reason) for t in trades]
        tt = Table(rows, repeatRows=1)
        tt.setStyle(grid)
        story.append(tt)
    doc.build(story)
    return buf.getvalue()


class Exports:
    """Files for download, base64 inside the reply (`ExportFile`)."""

    def __init__(self, pool: asyncpg.Pool, backtests: Backtests, js: JetStreamContext,
                 inline_max_bytes: int) -> None:
        self.pool = pool
        self.backtests = backtests
        self.js = js
        self.inline_max_bytes = inline_max_bytes

    async def export(self, user_id: str, q: C.ExportBacktest) -> C.ExportFile:
        """Render the requested file of a completed backtest."""
        async with self.pool.acquire() as conn:
            b = await self.backtests.completed(conn, user_id, q.id)
            stored = await bsql.results(conn, b["id"])
            limit = PDF_TRADES if q.format == "pdf" else None
            rows, total = await bsql.trades(conn, b["id"], limit)
        trades = [trade_model(r) for r in rows]
        if q.format == "pdf":
            data, ctype, name = pdf_report(b, trades, total, stored["equity_curve"]), \
                "application/pdf", f"backtest-{q.id}.pdf"
        elif q.part == "equity":
            data, ctype, name = equity_csv(stored["equity_curve"]), "text/csv", f"backtest-{q.id}-equity.csv"
        else:
            data, ctype, name = trades_csv(trades), "text/csv", f"backtest-{q.id}-trades.csv"
        if len(data) <= self.inline_max_bytes:
            return C.ExportFile(filename=name, content_type=ctype, size_bytes=len(data),
                                content_base64=base64.b64encode(data).decode())
        store = await ensure_bucket(self.js)
        object_name = f"{q.id}/{uuid.uuid4()}/{name}"
        await store.put(object_name, data)
        return C.ExportFile(filename=name, content_type=ctype, size_bytes=len(data),
                            bucket=C.EXPORT_BUCKET, object_name=object_name)


async def ensure_bucket(js: JetStreamContext) -> ObjectStore:
    """Return the exports bucket, creating it (objects expire after an hour) if missing."""
    try:
        return await js.object_store(C.EXPORT_BUCKET)
    except BucketNotFoundError:
        return await js.create_object_store(C.EXPORT_BUCKET, config=ObjectStoreConfig(
            description="Large backtest exports for download", ttl=3600))
