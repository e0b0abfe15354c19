// A value-over-time chart (lightweight-charts), following the page's theme.
import { useEffect, useRef } from "react";
import { AreaSeries, ColorType, createChart, type Time } from "lightweight-charts";

export function LineChart({ points, height = 240 }: { points: { time: string; value: number }[]; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const dark = document.documentElement.classList.contains("dark");
    const chart = createChart(el.current, {
      height,
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: dark ? "#cbd5e1" : "#334155" },
      grid: { vertLines: { color: dark ? "#1e293b" : "#f1f5f9" }, horzLines: { color: dark ? "#1e293b" : "#f1f5f9" } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false },
    });
    const series = chart.addSeries(AreaSeries, { lineColor: "#6366f1", topColor: "rgba(99,102,241,0.3)", bottomColor: "rgba(99,102,241,0)" });
    series.setData(points.map((p) => ({ time: p.time as Time, value: p.value })));
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [points, height]);
  return <div ref={el} style={{ height }} />;
}
