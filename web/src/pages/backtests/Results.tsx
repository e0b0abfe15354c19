import { useMemo } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, call, hasRoute, type Schemas } from "../../api/client";
import { EquityChart } from "../../components/EquityChart";
import { Button, Card, FormError, ListState, inr, td, th, when } from "../../components/ui";
import { TradesChart } from "./TradesChart";
import { DrawdownCard, HeatmapCard } from "./Analytics";

/** Turn `total_return_pct` or `totalReturnPct` into "Total return %". */
export function metricLabel(k: string): string {
  const words = k.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase().replace(/ pct$/, " %");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function metricValue(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-IN") : v.toLocaleString("en-IN", { maximumFractionDigits: 2 });
  return v === null || v === undefined ? "—" : String(v);
}

export function Results({ backtest }: { backtest: Schemas["Backtest"] }) {
  const id = backtest.id;
  const results = useQuery({
    queryKey: ["backtest", id, "results"],
    queryFn: () => call(api.GET("/api/backtests/{id}/results", { params: { path: { id }, query: { page: 1, pageSize: 500 } } })),
  });
  const strategy = useQuery({
    queryKey: ["strategy", backtest.strategyId],
    queryFn: () => call(api.GET("/api/strategies/{id}", { params: { path: { id: backtest.strategyId }, query: {} } })),
  });
  const dist = useQuery({
    queryKey: ["backtest", id, "distribution"],
    queryFn: () => call(api.GET("/api/analytics/distribution/{id}", { params: { path: { id: backtest.strategyId }, query: { backtestId: id } } })),
    enabled: hasRoute("/api/analytics/distribution/{id}"),
  });
  const exp = useMutation({
    mutationFn: async (query: Schemas["ExportBacktestBody"]) => {
      const r = await api.GET("/api/backtests/{id}/export", { params: { path: { id }, query }, parseAs: "blob" });
      if (!r.response.ok) throw new Error(`Export failed (${r.response.status})`);
      const name = /filename="?([^";]+)"?/.exec(r.response.headers.get("Content-Disposition") ?? "")?.[1] ?? `backtest-${id}.${query.format}`;
      return { blob: r.data as Blob, name };
    },
    onSuccess: ({ blob, name }) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      a.click();
      URL.revokeObjectURL(a.href);
    },
  });
  const r = results.data;
  const bins = useMemo(() => (dist.data?.counts ?? []).map((c, i) => {
    const lo = dist.data!.edges[i], hi = dist.data!.edges[i + 1];
    return { name: `${Math.round(lo)}…${Math.round(hi)}`, count: c, mid: (lo + hi) / 2 };
  }), [dist.data]);
  return (
    <ListState loading={results.isLoading} error={results.error} empty={!r} emptyText="No results.">
      {r && (
        <div className="space-y-4">
          {exp.error && <FormError error={exp.error} />}
          <Card title="Metrics" actions={
            <div className="flex flex-wrap gap-2">
              <Button variant="secondary" onClick={() => exp.mutate({ format: "csv", part: "trades" })}>Trades CSV</Button>
              <Button variant="secondary" onClick={() => exp.mutate({ format: "csv", part: "equity" })}>Equity CSV</Button>
              <Button variant="secondary" onClick={() => exp.mutate({ format: "pdf", part: "trades" })}>PDF report</Button>
            </div>
          }>
            <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-6" data-testid="metrics">
              {Object.entries(r.metrics).filter(([, v]) => typeof v !== "object").map(([k, v]) => (
                <div key={k} className="rounded-md bg-slate-50 p-2 dark:bg-slate-950">
                  <dt className="text-xs text-slate-500">{metricLabel(k)}</dt><dd className="font-semibold">{metricValue(v)}</dd>
                </div>
              ))}
            </dl>
          </Card>
          <Card title="Equity and drawdown">
            <ListState loading={false} error={null} empty={r.equityCurve.length < 2} emptyText="No equity curve.">
              <EquityChart points={r.equityCurve} />
            </ListState>
          </Card>
          <div className="grid gap-4 lg:grid-cols-2">
            <DrawdownCard strategyId={backtest.strategyId} backtestId={id} />
            <HeatmapCard strategyId={backtest.strategyId} backtestId={id} />
          </div>
          <div className="grid gap-4 lg:grid-cols-2">
            {hasRoute("/api/analytics/distribution/{id}") && (
              <Card title="Trade P&L distribution">
                <ListState loading={dist.isLoading} error={dist.error} empty={!bins.length} emptyText="No trades to chart.">
                  <div style={{ height: 260 }} data-testid="distribution">
                    <ResponsiveContainer width="100%" height="100%">
                      <BarChart data={bins}>
                        <CartesianGrid strokeDasharray="3 3" strokeOpacity={0.3} />
                        <XAxis dataKey="name" fontSize={11} /><YAxis allowDecimals={false} fontSize={11} /><Tooltip />
                        <Bar dataKey="count" name="Trades">{bins.map((b) => <Cell key={b.name} fill={b.mid >= 0 ? "#10b981" : "#f43f5e"} />)}</Bar>
                      </BarChart>
                    </ResponsiveContainer>
                  </div>
                </ListState>
              </Card>
            )}
            {strategy.data && (
              <Card title={`Trades on ${strategy.data.instrument.symbol}`}>
                <TradesChart instrument={strategy.data.instrument} params={backtest.params} trades={r.trades.items} />
              </Card>
            )}
          </div>
          <Card title={`Trades (${r.trades.total})`}>
            <ListState loading={false} error={null} empty={!r.trades.items.length} emptyText="The strategy made no trades in this period.">
              <div className="max-h-96 overflow-auto">
                <table className="w-full" data-testid="bt-trades">
                  <thead><tr><th className={th}>#</th><th className={th}>Side</th><th className={th}>Entry</th><th className={th}>Exit</th><th className={th}>Qty</th><th className={th}>Net P&L</th><th className={th}>Exit reason</th></tr></thead>
                  <tbody>
                    {r.trades.items.map((t) => (
                      <tr key={t.seq} className="border-t border-slate-100 dark:border-slate-800">
                        <td className={td}>{t.seq}</td><td className={td}>{t.side}</td>
                        <td className={td}>{inr(t.entryPrice)}<br /><span className="text-xs text-slate-500">{when(t.entryTime)}</span></td>
                        <td className={td}>{inr(t.exitPrice)}<br /><span className="text-xs text-slate-500">{when(t.exitTime)}</span></td>
                        <td className={td}>{t.qty}</td>
                        <td className={`${td} ${Number(t.pnlNet) >= 0 ? "text-emerald-600" : "text-rose-600"}`}>{inr(t.pnlNet)}</td>
                        <td className={td}>{t.exitReason}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </ListState>
          </Card>
        </div>
      )}
    </ListState>
  );
}
