// The backtest's trades marked on the instrument's price chart.
import { useEffect, useRef } from "react";
import { useQuery } from "@tanstack/react-query";
import { CandlestickSeries, ColorType, createChart, createSeriesMarkers, type SeriesMarker, type UTCTimestamp } from "lightweight-charts";
import { api, call, type Schemas } from "../../api/client";
import { ListState } from "../../components/ui";

const IST_S = 19800;
const sec = (iso: string) => Math.floor(new Date(iso).getTime() / 1000) + IST_S;

export function TradesChart({ instrument, params, trades }:
  { instrument: Schemas["StrategyInstrument"]; params: Schemas["BacktestParams"]; trades: Schemas["contracts__backtest__Trade"][] }) {
  const el = useRef<HTMLDivElement>(null);
  const days = (new Date(params.toDate).getTime() - new Date(params.fromDate).getTime()) / 86400_000;
  // Long ranges are drawn daily: minute candles of a year would not be readable anyway.
  const interval = days > 60 ? "1d" : params.interval;
  const hist = useQuery({
    queryKey: ["market", "history", instrument.segment, instrument.securityId, interval, params.fromDate, params.toDate],
    queryFn: () => call(api.GET("/api/market/historical", { params: { query: {
      segment: instrument.segment as "NSE_EQ", securityId: instrument.securityId, interval,
      from: new Date(`${params.fromDate}T00:00:00+05:30`).toISOString(), to: new Date(`${params.toDate}T23:59:59+05:30`).toISOString(),
    } } })),
  });
  useEffect(() => {
    if (!el.current || !hist.data?.candles.length) return;
    const dark = document.documentElement.classList.contains("dark");
    const chart = createChart(el.current, {
      height: 360, autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: dark ? "#cbd5e1" : "#334155" },
      grid: { vertLines: { visible: false }, horzLines: { color: dark ? "#1e293b" : "#f1f5f9" } },
      timeScale: { timeVisible: interval !== "1d" },
    });
    const s = chart.addSeries(CandlestickSeries, { upColor: "#10b981", downColor: "#f43f5e", wickUpColor: "#10b981", wickDownColor: "#f43f5e", borderVisible: false });
    const candles = hist.data.candles.map((c) => ({ time: sec(c.ts) as UTCTimestamp, open: +c.open, high: +c.high, low: +c.low, close: +c.close }));
    s.setData(candles);
    // A marker sits on the candle its trade falls in.
    const times = candles.map((c) => c.time as number);
    const snap = (t: number) => {
      let lo = 0, hi = times.length - 1;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (times[mid] <= t) lo = mid; else hi = mid - 1; }
      return times[lo] as UTCTimestamp;
    };
    const markers: SeriesMarker<UTCTimestamp>[] = trades.flatMap((t) => {
      const long = t.side.toLowerCase().startsWith("l") || t.side.toUpperCase() === "BUY";
      return [
        { time: snap(sec(t.entryTime)), position: long ? "belowBar" : "aboveBar", color: "#2563eb", shape: long ? "arrowUp" : "arrowDown", text: `#${t.seq}` },
        { time: snap(sec(t.exitTime)), position: long ? "aboveBar" : "belowBar", color: Number(t.pnlNet) >= 0 ? "#10b981" : "#f43f5e", shape: "circle", text: "" },
      ] as SeriesMarker<UTCTimestamp>[];
    }).sort((a, b) => (a.time as number) - (b.time as number));
    createSeriesMarkers(s, markers);
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [hist.data, trades, interval]);
  return (
    <ListState loading={hist.isLoading} error={hist.error} empty={!hist.data?.candles.length} emptyText="No price history for this range.">
      <div ref={el} style={{ height: 360 }} data-testid="trades-chart" />
    </ListState>
  );
}
