// Candlesticks (lightweight-charts): history first, then live ticks update the last candle.
import { forwardRef, useEffect, useImperativeHandle, useRef } from "react";
import { CandlestickSeries, ColorType, createChart, type ISeriesApi, type Time, type UTCTimestamp } from "lightweight-charts";

export type Bar = { time: number; open: number; high: number; low: number; close: number };

// lightweight-charts draws UTC; shifting by IST's fixed +05:30 shows the exchange's clock.
const IST_S = 19800;
export type CandleChartHandle = { tick: (price: number, atSec: number) => void };

export const CandleChart = forwardRef<CandleChartHandle, { bars: Bar[]; bucketSec: number; height?: number }>(
  function CandleChart({ bars, bucketSec, height = 380 }, ref) {
    const el = useRef<HTMLDivElement>(null);
    const series = useRef<ISeriesApi<"Candlestick"> | null>(null);
    const last = useRef<Bar | null>(null);

    useEffect(() => {
      if (!el.current) return;
      const dark = document.documentElement.classList.contains("dark");
      const chart = createChart(el.current, {
        height, autoSize: true,
        layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: dark ? "#cbd5e1" : "#334155" },
        grid: { vertLines: { color: dark ? "#1e293b" : "#f1f5f9" }, horzLines: { color: dark ? "#1e293b" : "#f1f5f9" } },
        timeScale: { timeVisible: true, secondsVisible: false },
      });
      const s = chart.addSeries(CandlestickSeries, { upColor: "#10b981", downColor: "#f43f5e", wickUpColor: "#10b981", wickDownColor: "#f43f5e", borderVisible: false });
      s.setData(bars.map((b) => ({ ...b, time: (b.time + IST_S) as UTCTimestamp })));
      chart.timeScale().fitContent();
      series.current = s;
      last.current = bars.length ? { ...bars[bars.length - 1] } : null;
      return () => {
        series.current = null;
        chart.remove();
      };
    }, [bars, height]);

    useImperativeHandle(ref, () => ({
      tick(price: number, atSec: number) {
        const t = Math.floor(atSec / bucketSec) * bucketSec;
        const l = last.current;
        const bar = l && l.time === t
          ? { ...l, high: Math.max(l.high, price), low: Math.min(l.low, price), close: price }
          : l && t < l.time ? null : { time: t, open: price, high: price, low: price, close: price };
        if (!bar || !series.current) return;
        last.current = bar;
        series.current.update({ ...bar, time: (bar.time + IST_S) as Time });
      },
    }), [bucketSec]);

    return <div ref={el} style={{ height }} data-testid="candle-chart" />;
  });
