import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call } from "../../api/client";
import { live } from "../../lib/ws";
import { Badge, Button, Card, FormError, PageTitle, when } from "../../components/ui";
import { Results } from "./Results";

const TONE = { queued: "slate", running: "blue", completed: "green", failed: "red", cancelled: "amber" } as const;

/** One backtest: live progress while it runs (from /ws), then its results. */
export function BacktestPage() {
  const { id = "" } = useParams();
  const qc = useQueryClient();
  const [progress, setProgress] = useState<{ percent: number; stage: string } | null>(null);
  const bt = useQuery({
    queryKey: ["backtest", id],
    queryFn: () => call(api.GET("/api/backtests/{id}", { params: { path: { id } } })),
    // Events drive progress; a slow poll covers a socket that was down.
    refetchInterval: (q) => (q.state.data && ["queued", "running"].includes(q.state.data.status) ? 5000 : false),
  });
  useEffect(() => live.onEvent((e) => {
    const [, , domain, name] = e.subject.split(".");
    if (domain !== "backtest" || e.data.backtestId !== id) return;
    if (name === "progress") setProgress({ percent: Number(e.data.percent ?? 0), stage: String(e.data.stage ?? "") });
    else qc.invalidateQueries({ queryKey: ["backtest", id] });
  }), [id, qc]);
  const cancel = useMutation({
    mutationFn: () => call(api.POST("/api/backtests/{id}/cancel", { params: { path: { id } } })),
    onSuccess: () => bt.refetch(),
  });
  const b = bt.data;
  if (bt.isLoading) return <p className="text-sm text-slate-500">Loading…</p>;
  if (!b) return <FormError error={bt.error} />;
  const running = b.status === "queued" || b.status === "running";
  const pct = Math.max(progress?.percent ?? 0, b.progress ?? 0);
  return (
    <>
      <PageTitle actions={<Link to="/backtests" className="text-sm text-indigo-600">History</Link>}>
        {b.strategyName} <span className="text-sm font-normal text-slate-500">v{b.strategyVersion} · {b.params.fromDate} → {b.params.toDate} · {b.params.interval}</span>
      </PageTitle>
      <Card className="mb-4">
        <div className="flex flex-wrap items-center gap-3">
          <Badge tone={TONE[b.status]}><span data-testid="bt-status">{b.status}</span></Badge>
          <span className="text-sm text-slate-500">started {when(b.startedAt ?? b.createdAt)}{b.completedAt ? ` · finished ${when(b.completedAt)}` : ""}</span>
          {running && <Button variant="secondary" className="ml-auto" onClick={() => cancel.mutate()}>Cancel</Button>}
        </div>
        {running && (
          <div className="mt-3">
            <div className="h-3 w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-800" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
              <div className="h-full bg-indigo-600 transition-all" style={{ width: `${pct}%` }} />
            </div>
            <p className="mt-1 text-xs text-slate-500" data-testid="bt-progress">{pct}%{progress?.stage ? ` · ${progress.stage}` : ""}</p>
          </div>
        )}
        {b.error && <p className="mt-2 text-sm text-rose-600">{b.error}</p>}
      </Card>
      {b.status === "completed" && <Results backtest={b} />}
    </>
  );
}
