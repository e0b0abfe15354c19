import { useQuery } from "@tanstack/react-query";
import { api, call, hasRoute } from "../../api/client";
import { Card, ListState, td, th, when } from "../../components/ui";

function days(seconds: number): string {
  const d = seconds / 86_400;
  return d >= 1 ? `${Math.round(d)} d` : `${Math.round(seconds / 60)} min`;
}

/** The deepest drawdowns of a backtest: when they began, bottomed and recovered. */
export function DrawdownCard({ strategyId, backtestId }: { strategyId: string; backtestId: string }) {
  const q = useQuery({
    queryKey: ["backtest", backtestId, "drawdown"],
    queryFn: () => call(api.GET("/api/analytics/drawdown/{id}", { params: { path: { id: strategyId }, query: { backtestId } } })),
    enabled: hasRoute("/api/analytics/drawdown/{id}"),
  });
  if (!hasRoute("/api/analytics/drawdown/{id}")) return null;
  const d = q.data;
  const periods = [...(d?.periods ?? [])].sort((a, b) => b.depthPct - a.depthPct).slice(0, 5);
  return (
    <Card title="Drawdowns" actions={d && <span className="text-sm" data-testid="max-drawdown">max {d.maxDrawdownPct.toFixed(2)} %</span>}>
      <ListState loading={q.isLoading} error={q.error} empty={!periods.length} emptyText="Equity never fell below a previous peak.">
        <div className="overflow-x-auto">
          <table className="w-full" data-testid="drawdowns">
            <thead><tr><th className={th}>Depth</th><th className={th}>From</th><th className={th}>Trough</th><th className={th}>Recovered</th><th className={th}>Lasted</th></tr></thead>
            <tbody>
              {periods.map((p) => (
                <tr key={p.start} className="border-t border-slate-100 dark:border-slate-800">
                  <td className={`${td} text-rose-600`}>{p.depthPct.toFixed(2)} %</td><td className={td}>{when(p.start)}</td>
                  <td className={td}>{when(p.trough)}</td><td className={td}>{p.recovery ? when(p.recovery) : "not yet"}</td>
                  <td className={td}>{days(p.durationSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ListState>
    </Card>
  );
}

/** Green for gains, red for losses, stronger with size (capped at ±`scale` %). */
function cellColour(v: number, scale: number): string {
  const a = Math.min(1, Math.abs(v) / scale) * 0.85 + 0.1;
  return v >= 0 ? `rgba(16, 185, 129, ${a})` : `rgba(244, 63, 94, ${a})`;
}

/** Compounded returns per month and year (daily bars) or per weekday and hour (intraday). */
export function HeatmapCard({ strategyId, backtestId }: { strategyId: string; backtestId: string }) {
  const q = useQuery({
    queryKey: ["backtest", backtestId, "heatmap"],
    queryFn: () => call(api.GET("/api/analytics/heatmap/{id}", { params: { path: { id: strategyId }, query: { backtestId } } })),
    enabled: hasRoute("/api/analytics/heatmap/{id}"),
  });
  if (!hasRoute("/api/analytics/heatmap/{id}")) return null;
  const h = q.data;
  const all = (h?.values ?? []).flat().filter((v): v is number => v !== null);
  const biggest = Math.max(0, ...all.map(Math.abs));
  const scale = Math.max(biggest, 0.01);
  const digits = biggest < 1 ? 2 : 1;
  // -0.00 says nothing a 0.00 does not
  const fmt = (v: number) => (Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v).toFixed(digits);
  const title = h?.kind === "weekday_by_hour" ? "Returns by weekday and hour (IST), %" : "Monthly returns, %";
  return (
    <Card title={title}>
      <ListState loading={q.isLoading} error={q.error} empty={!all.length} emptyText="No returns to show.">
        <div className="overflow-x-auto">
          <table className="border-separate border-spacing-0.5 text-xs" data-testid="heatmap">
            <thead><tr><th></th>{h?.cols.map((c) => <th key={c} className="px-1 font-medium text-slate-500">{c}</th>)}</tr></thead>
            <tbody>
              {h?.rows.map((r, i) => (
                <tr key={r}>
                  <th className="pr-2 text-right font-medium text-slate-500">{r}</th>
                  {h.values[i].map((v, j) => (
                    <td key={j} title={v === null ? `${r} ${h.cols[j]}: no trading` : `${r} ${h.cols[j]}: ${v.toFixed(2)} %`}
                      className="min-w-10 rounded px-1 py-1 text-center tabular-nums"
                      style={v === null ? undefined : { background: cellColour(v, scale), color: "#0f172a" }}>
                      {v === null ? "" : fmt(v)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ListState>
    </Card>
  );
}
