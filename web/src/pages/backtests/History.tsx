import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { Badge, Button, Card, ListState, PageTitle, td, th, when } from "../../components/ui";
import { metricLabel, metricValue } from "./Results";

const TONE = { queued: "slate", running: "blue", completed: "green", failed: "red", cancelled: "amber" } as const;

export function BacktestHistory() {
  const nav = useNavigate();
  const [picked, setPicked] = useState<string[]>([]);
  const list = useQuery({ queryKey: ["backtest", "history"], queryFn: () => call(api.GET("/api/backtests/history", { params: { query: { pageSize: 100 } } })) });
  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id]));
  return (
    <>
      <PageTitle actions={
        <div className="flex gap-2">
          <Button variant="secondary" disabled={picked.length < 2} onClick={() => nav(`/backtests/compare?ids=${picked.join(",")}`)}>Compare ({picked.length})</Button>
          <Link to="/backtests/new" className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white">New backtest</Link>
        </div>
      }>Backtests</PageTitle>
      <Card>
        <ListState loading={list.isLoading} error={list.error} empty={!list.data?.items.length} emptyText="No backtests yet.">
          <div className="overflow-x-auto">
            <table className="w-full">
              <thead><tr><th className={th}></th><th className={th}>Strategy</th><th className={th}>Period</th><th className={th}>Status</th><th className={th}>Created</th></tr></thead>
              <tbody>
                {list.data?.items.map((b) => (
                  <tr key={b.id} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={td}><input type="checkbox" aria-label={`Compare ${b.strategyName}`} disabled={b.status !== "completed"} checked={picked.includes(b.id)} onChange={() => toggle(b.id)} /></td>
                    <td className={td}><Link className="text-indigo-600" to={`/backtests/${b.id}`}>{b.strategyName} v{b.strategyVersion}</Link></td>
                    <td className={td}>{b.params.fromDate} → {b.params.toDate} · {b.params.interval}</td>
                    <td className={td}><Badge tone={TONE[b.status]}>{b.status}{b.status === "running" ? ` ${b.progress}%` : ""}</Badge></td>
                    <td className={td}>{when(b.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </ListState>
      </Card>
    </>
  );
}

export function BacktestCompare() {
  const ids = new URLSearchParams(location.search).get("ids")?.split(",").filter(Boolean) ?? [];
  const cmp = useQuery({
    queryKey: ["backtest", "compare", ids],
    queryFn: () => call(api.GET("/api/analytics/compare", { params: { query: { backtestIds: ids } } })),
    enabled: ids.length > 1,
  });
  const rows: Schemas["ComparisonRow"][] = cmp.data?.rows ?? [];
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.metrics).filter((k) => typeof r.metrics[k] !== "object")))];
  return (
    <>
      <PageTitle actions={<Link to="/backtests" className="text-sm text-indigo-600">History</Link>}>Compare backtests</PageTitle>
      <Card>
        <ListState loading={cmp.isLoading} error={cmp.error} empty={rows.length < 2} emptyText="Pick two or more completed backtests in the history.">
          <div className="overflow-x-auto">
            <table className="w-full" data-testid="compare-table">
              <thead><tr><th className={th}>Metric</th>{rows.map((r) => <th key={r.backtestId} className={th}>{r.strategyName} v{r.strategyVersion}<br /><span className="font-normal normal-case">{r.params.fromDate} → {r.params.toDate}</span></th>)}</tr></thead>
              <tbody>
                {keys.map((k) => (
                  <tr key={k} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={td}>{metricLabel(k)}</td>{rows.map((r) => <td key={r.backtestId} className={td}>{metricValue(r.metrics[k])}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </ListState>
      </Card>
    </>
  );
}
