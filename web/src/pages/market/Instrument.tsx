import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, call } from "../../api/client";
import { live, type WsStatus } from "../../lib/ws";
import { CandleChart, type CandleChartHandle } from "../../components/CandleChart";
import { Button, Card, ListState, PageTitle, inr, when } from "../../components/ui";

const INTERVALS = { "1m": [60, 1], "5m": [300, 5], "15m": [900, 15], "1d": [86400, 365] } as const;
type Interval = keyof typeof INTERVALS;

/** An instrument: quote, candles from history, and live ticks from /ws on top. */
export function InstrumentPage() {
  const { segment = "", securityId = "" } = useParams();
  const [params] = useSearchParams();
  const symbol = params.get("symbol") ?? securityId;
  const [interval, setInterval] = useState<Interval>("1m");
  const [ltp, setLtp] = useState<{ price: number; at: string; dir: number } | null>(null);
  const [ws, setWs] = useState<WsStatus | null>(null);
  const chart = useRef<CandleChartHandle>(null);
  const seg = segment as "NSE_EQ";

  const quote = useQuery({
    queryKey: ["market", "quote", segment, securityId],
    queryFn: () => call(api.GET("/api/market/quote/{symbol}", { params: { path: { symbol }, query: { segment: seg, securityId } } })),
  });
  // History ends at the market's own "now" (the quote's time), which may be a simulated clock.
  const to = quote.data?.asOf;
  const history = useQuery({
    queryKey: ["market", "history", segment, securityId, interval, to],
    enabled: !!to,
    queryFn: () => {
      const end = new Date(to!);
      const from = new Date(end.getTime() - INTERVALS[interval][1] * 86400_000);
      return call(api.GET("/api/market/historical", { params: { query: {
        segment: seg, securityId, interval, from: from.toISOString(), to: end.toISOString(),
      } } }));
    },
  });
  const bars = useMemo(() => (history.data?.candles ?? []).map((c) => ({
    time: Math.floor(new Date(c.ts).getTime() / 1000),
    open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close),
  })), [history.data]);

  useEffect(() => live.onStatus(setWs), []);
  useEffect(() => live.onTick({ segment, securityId }, (t) => {
    // Ticks carry integer paise.
    const price = Number(t.ltp) / 100;
    const at = String(t.ltt ?? new Date().toISOString());
    setLtp((prev) => ({ price, at, dir: prev ? Math.sign(price - prev.price) : 0 }));
    chart.current?.tick(price, Math.floor(new Date(at).getTime() / 1000));
  }), [segment, securityId]);

  const q = quote.data;
  const price = ltp?.price ?? (q ? Number(q.ltp) : null);
  const prev = q?.prevClose ? Number(q.prevClose) : null;
  const change = price !== null && prev ? price - prev : null;
  return (
    <>
      <PageTitle actions={<Link to="/market" className="text-sm text-indigo-600">Search</Link>}>
        {symbol} <span className="text-sm font-normal text-slate-500">{segment} · {securityId}</span>
      </PageTitle>
      <div className="grid gap-4 lg:grid-cols-[1fr_18rem]">
        <Card title="Chart" actions={
          <div className="flex gap-1">{(Object.keys(INTERVALS) as Interval[]).map((i) => (
            <Button key={i} variant={i === interval ? "primary" : "secondary"} onClick={() => setInterval(i)}>{i}</Button>
          ))}</div>
        }>
          <ListState loading={quote.isLoading || history.isLoading} error={quote.error ?? history.error} empty={!bars.length} emptyText="No candles for this period.">
            <CandleChart ref={chart} bars={bars} bucketSec={INTERVALS[interval][0]} />
          </ListState>
        </Card>
        <Card title="Quote">
          <ListState loading={quote.isLoading} error={quote.error} empty={!q} emptyText="No quote.">
            <p className={`text-3xl font-semibold ${ltp?.dir === 1 ? "text-emerald-600" : ltp?.dir === -1 ? "text-rose-600" : ""}`} data-testid="ltp">{inr(price)}</p>
            {change !== null && prev && (
              <p className={change >= 0 ? "text-emerald-600" : "text-rose-600"}>{change >= 0 ? "+" : ""}{change.toFixed(2)} ({((change / prev) * 100).toFixed(2)}%)</p>
            )}
            <p className="mt-1 text-xs text-slate-500" data-testid="tick-time">
              {ltp ? `live · ${when(ltp.at)}` : ws?.marketData === "unavailable" ? "live prices unavailable" : `as of ${when(q?.asOf)}`}
            </p>
            <dl className="mt-4 grid grid-cols-2 gap-y-1 text-sm">
              <dt className="text-slate-500">Open</dt><dd>{inr(q?.open)}</dd>
              <dt className="text-slate-500">High</dt><dd>{inr(q?.high)}</dd>
              <dt className="text-slate-500">Low</dt><dd>{inr(q?.low)}</dd>
              <dt className="text-slate-500">Prev close</dt><dd>{inr(q?.prevClose)}</dd>
              <dt className="text-slate-500">Bid / Ask</dt><dd>{inr(q?.bid)} / {inr(q?.ask)}</dd>
              <dt className="text-slate-500">Volume</dt><dd>{q?.volume?.toLocaleString("en-IN") ?? "—"}</dd>
            </dl>
          </ListState>
        </Card>
      </div>
    </>
  );
}
