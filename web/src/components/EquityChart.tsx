// Equity curve with its drawdown underneath (lightweight-charts, two price scales).
import { useEffect, useRef } from "react";
import { AreaSeries, ColorType, HistogramSeries, createChart, type UTCTimestamp } from "lightweight-charts";

export type EquityPt = { ts: string; equity: number; drawdownPct: number };

export function EquityChart({ points, height = 320 }: { points: EquityPt[]; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const dark = document.documentElement.classList.contains("dark");
    const chart = createChart(el.current, {
      height, autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: dark ? "#cbd5e1" : "#334155" },
      grid: { vertLines: { visible: false }, horzLines: { color: dark ? "#1e293b" : "#f1f5f9" } },
      timeScale: { timeVisible: true },
    });
    // One point per second at most: the chart needs strictly increasing times.
    const seen = new Set<number>();
    const pts = points.map((p) => ({ ...p, t: Math.floor(new Date(p.ts).getTime() / 1000) + 19800 }))
      .filter((p) => (seen.has(p.t) ? false : (seen.add(p.t), true)));
    const eq = chart.addSeries(AreaSeries, { lineColor: "#6366f1", topColor: "rgba(99,102,241,0.25)", bottomColor: "rgba(99,102,241,0)", priceScaleId: "right" });
    eq.setData(pts.map((p) => ({ time: p.t as UTCTimestamp, value: p.equity })));
    eq.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.3 } });
    const dd = chart.addSeries(HistogramSeries, { color: "rgba(244,63,94,0.6)", priceScaleId: "dd", priceFormat: { type: "percent" } });
    dd.setData(pts.map((p) => ({ time: p.t as UTCTimestamp, value: -Math.abs(p.drawdownPct) })));
    chart.priceScale("dd").applyOptions({ scaleMargins: { top: 0.75, bottom: 0 } });
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [points, height]);
  return <div ref={el} style={{ height }} data-testid="equity-chart" />;
}
