import { useEffect, useState } from "react";
import { useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { live } from "../../lib/ws";
import { Badge, Button, Card, ListState, Modal, PageTitle, inr, td, th, when } from "../../components/ui";
import { DEPLOY_TONE } from "./Deployments";
import { StrategyTrades } from "../trades/Trades";

type Kind = "signal" | "refusal" | "order" | "halt" | "info";
type Log = Schemas["ExecutionLog"];

/** The "why" of a signal: the rule's inputs at the bar it fired on. */
function Why({ log }: { log: Log }) {
  const values = Object.entries(log.values ?? {});
  return (
    <div className="text-xs text-slate-600 dark:text-slate-400">
      {values.length > 0 && <p className="font-mono">{values.map(([k, v]) => `${k} = ${typeof v === "number" ? v.toFixed(2) : String(v)}`).join(" · ")}</p>}
      {(log.reasons ?? []).length > 0 && <p className="text-rose-600">{(log.reasons ?? []).join("; ")}</p>}
    </div>
  );
}

/** A deployment live: status, stats, signals with their reasons, orders, controls and logs. */
export function DeploymentMonitor() {
  const { id = "" } = useParams();
  const qc = useQueryClient();
  const [kind, setKind] = useState<Kind | "">("");
  const [stopping, setStopping] = useState(false);
  const dep = useQuery({ queryKey: ["deployment", id], queryFn: () => call(api.GET("/api/deployments/{id}", { params: { path: { id } } })) });
  const signals = useQuery({
    queryKey: ["deployment", id, "signals"],
    queryFn: () => call(api.GET("/api/deployments/{id}/logs", { params: { path: { id }, query: { kind: "signal", pageSize: 50 } } })),
  });
  const logs = useQuery({
    queryKey: ["deployment", id, "logs", kind],
    queryFn: () => call(api.GET("/api/deployments/{id}/logs", { params: { path: { id }, query: { kind: kind || null, pageSize: 100 } } })),
  });
  const orders = useQuery({
    queryKey: ["order", "deployment", id],
    queryFn: () => call(api.GET("/api/orders", { params: { query: { deploymentId: id, pageSize: 50 } } })),
  });
  useEffect(() => live.onEvent((e) => {
    if (e.data.deploymentId === id) {
      qc.invalidateQueries({ queryKey: ["deployment", id] });
      qc.invalidateQueries({ queryKey: ["trades", id] });
    }
  }), [id, qc]);
  const act = useMutation({
    mutationFn: (a: "pause" | "resume" | "stop") => a === "stop"
      ? call(api.DELETE("/api/deployments/{id}", { params: { path: { id } } }))
      : call(api.PUT(a === "pause" ? "/api/deployments/{id}/pause" : "/api/deployments/{id}/resume", { params: { path: { id } } })),
    onSuccess: () => {
      setStopping(false);
      qc.invalidateQueries({ queryKey: ["deployment"] });
    },
  });
  const d = dep.data;
  if (dep.isLoading) return <p className="text-sm text-slate-500">Loading…</p>;
  if (!d) return <p className="text-sm text-rose-600">{dep.error?.message}</p>;
  const s = d.stats;
  const done = d.status === "stopped";
  return (
    <>
      <PageTitle actions={!done && (
        <div className="flex gap-2">
          {d.status === "active" && <Button variant="secondary" onClick={() => act.mutate("pause")}>Pause</Button>}
          {d.status === "paused" && <Button variant="secondary" onClick={() => act.mutate("resume")}>Resume</Button>}
          <Button variant="danger" onClick={() => setStopping(true)}>Stop</Button>
        </div>
      )}>
        {d.name} <span className="text-sm font-normal text-slate-500">v{d.strategyVersion} · {d.symbol} · {d.timeframe} · {d.broker}</span>
      </PageTitle>
      <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
        {[
          ["Status", <Badge tone={DEPLOY_TONE[d.status]}><span data-testid="deployment-status">{d.status}</span></Badge>],
          ["Position", `${s?.netQuantity ?? 0} @ ${inr(s?.lastPrice)}`], ["Orders", `${s?.successfulOrders ?? 0} ok / ${s?.failedOrders ?? 0} failed`],
          ["Realised P&L", inr(s?.realizedPnl)], ["Unrealised P&L", inr(s?.unrealizedPnl)], ["Last bar", when(s?.lastBarAt)],
        ].map(([label, v]) => (
          <div key={String(label)} className="rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900">
            <p className="text-xs text-slate-500">{label}</p><div className="font-semibold">{v}</div>
          </div>
        ))}
      </div>
      {(d.entriesPaused || d.errorMessage) && <p className="mb-4 rounded-md bg-amber-50 p-3 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200">{d.errorMessage ?? `Entries paused: ${d.entriesPaused}`}</p>}
      <div className="grid gap-4 xl:grid-cols-2">
        <Card title="Signals">
          <ListState loading={signals.isLoading} error={signals.error} empty={!signals.data?.items.length} emptyText="No signal yet: the rules have not fired.">
            <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="signals">
              {signals.data?.items.map((l) => (
                <li key={l.id} className="py-2 text-sm">
                  <p><Badge tone="blue">{l.action}</Badge> {l.message} <span className="text-xs text-slate-500">{when(l.ts)}</span></p>
                  <Why log={l} />
                </li>
              ))}
            </ul>
          </ListState>
        </Card>
        <Card title="Orders">
          <ListState loading={orders.isLoading} error={orders.error} empty={!orders.data?.items.length} emptyText="No orders yet.">
            <table className="w-full" data-testid="deployment-orders">
              <thead><tr><th className={th}>Time</th><th className={th}>Side</th><th className={th}>Qty</th><th className={th}>Price</th><th className={th}>Status</th></tr></thead>
              <tbody>{orders.data?.items.map((o) => (
                <tr key={o.id} className="border-t border-slate-100 dark:border-slate-800">
                  <td className={td}>{when(o.createdAt)}</td><td className={td}>{o.transactionType}</td><td className={td}>{o.filledQuantity ?? 0}/{o.quantity}</td>
                  <td className={td}>{inr(o.averagePrice ?? o.price)}</td><td className={td}>{o.status}</td>
                </tr>))}</tbody>
            </table>
          </ListState>
        </Card>
      </div>
      <Card className="mt-4" title="Trades">
        <StrategyTrades deploymentId={id} pageSize={50} exportName={`trades-${id}.csv`} />
      </Card>
      <Card className="mt-4" title="Logs" actions={
        <select aria-label="Log kind" value={kind} onChange={(e) => setKind(e.target.value as Kind | "")} className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-700 dark:bg-slate-900">
          <option value="">All</option>{["signal", "refusal", "order", "halt", "info"].map((k) => <option key={k}>{k}</option>)}
        </select>
      }>
        <ListState loading={logs.isLoading} error={logs.error} empty={!logs.data?.items.length} emptyText="No log entries.">
          <ul className="max-h-96 divide-y divide-slate-100 overflow-auto font-mono text-xs dark:divide-slate-800">
            {logs.data?.items.map((l) => <li key={l.id} className="py-1"><span className="text-slate-500">{when(l.ts)}</span> [{l.kind}] {l.message}</li>)}
          </ul>
        </ListState>
      </Card>
      {stopping && (
        <Modal title="Stop this deployment?" onClose={() => setStopping(false)}>
          <p className="mb-4 text-sm">It stops evaluating and sends no new orders. A stopped deployment cannot be resumed; deploy again to restart.</p>
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={() => setStopping(false)}>Keep running</Button>
            <Button variant="danger" onClick={() => act.mutate("stop")} disabled={act.isPending}>Stop</Button>
          </div>
        </Modal>
      )}
    </>
  );
}
