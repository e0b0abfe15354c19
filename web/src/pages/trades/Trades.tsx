import { useState } from "react";
import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { downloadCsv } from "../../lib/csv";
import { Badge, Button, Card, ListState, Modal, PageTitle, Select, inr, td, th, when } from "../../components/ui";

type Trade = Schemas["StrategyTrade"];
const STATUS_TONE = { pending: "amber", open: "blue", closed: "slate" } as const;

/** "2 h 05 m" from seconds (the API sets it when a trade closes). */
export function holding(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} m`;
  const h = Math.floor(m / 60);
  return h < 24 ? `${h} h ${String(m % 60).padStart(2, "0")} m` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

function pnlOf(t: Trade): string | null | undefined {
  return t.status === "closed" ? t.pnl : t.unrealizedPnl;
}

/** The round trips of the user's deployments (or of one): entry, exit, P&L, holding time. */
export function StrategyTrades({ deploymentId, status = "", pageSize = 100, exportName }:
  { deploymentId?: string; status?: string; pageSize?: number; exportName?: string }) {
  const [open, setOpen] = useState<string | null>(null);
  const q = useQuery({
    queryKey: ["trades", deploymentId ?? "", status, pageSize],
    queryFn: () => call(api.GET("/api/trades", { params: { query: { deploymentId: deploymentId || null, status: (status || null) as never, page: 1, pageSize } } })),
    refetchInterval: 10_000,
  });
  const items = q.data?.items ?? [];
  return (
    <>
      {exportName && (
        <div className="mb-2 flex justify-end">
          <Button variant="secondary" disabled={!items.length} onClick={() => downloadCsv(exportName, items.map((t) => ({
            id: t.id, deploymentId: t.deploymentId, symbol: t.symbol, direction: t.direction, quantity: t.quantity,
            entryTime: t.entryTime, entryPrice: t.entryPrice, exitTime: t.exitTime, exitPrice: t.exitPrice,
            exitReason: t.exitReason, pnl: t.pnl, pnlPercent: t.pnlPercent, holdingSeconds: t.holdingSeconds, status: t.status,
          })))}>Export CSV</Button>
        </div>
      )}
      <ListState loading={q.isLoading} error={q.error} empty={!items.length} emptyText="No trades yet: a trade starts when an entry order fills.">
        <div className="overflow-x-auto">
          <table className="w-full" data-testid="strategy-trades">
            <thead><tr>
              <th className={th}>Symbol</th><th className={th}>Side</th><th className={th}>Qty</th><th className={th}>Entry</th>
              <th className={th}>Exit</th><th className={th}>P&L</th><th className={th}>Held</th><th className={th}>Status</th>
            </tr></thead>
            <tbody>
              {items.map((t) => {
                const pnl = pnlOf(t);
                return (
                  <tr key={t.id} className="cursor-pointer border-t border-slate-100 hover:bg-slate-50 dark:border-slate-800 dark:hover:bg-slate-800/50"
                    onClick={() => setOpen(t.id)} data-trade-id={t.id}>
                    <td className={td}>{t.symbol}</td><td className={td}>{t.direction}</td><td className={td}>{t.status === "pending" ? <span className="text-slate-500">awaiting fill</span>
                      : <>{t.quantity}{t.status === "open" && t.openQuantity !== t.quantity && <span className="text-xs text-slate-500"> ({t.openQuantity} open)</span>}</>}</td>
                    <td className={td}>{inr(t.entryPrice)}<br /><span className="text-xs text-slate-500">{when(t.entryTime)}</span></td>
                    <td className={td}>{inr(t.exitPrice)}<br /><span className="text-xs text-slate-500">{t.exitReason ?? when(t.exitTime)}</span></td>
                    <td className={`${td} ${pnl == null ? "" : Number(pnl) >= 0 ? "text-emerald-600" : "text-rose-600"}`}>
                      {inr(pnl)}{t.status === "open" && pnl != null && <span className="text-xs text-slate-500"> (open)</span>}
                    </td>
                    <td className={td}>{holding(t.holdingSeconds)}</td>
                    <td className={td}><Badge tone={STATUS_TONE[t.status as keyof typeof STATUS_TONE] ?? "slate"}>{t.status}</Badge></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {q.data && q.data.total > items.length && <p className="mt-2 text-xs text-slate-500">Showing the latest {items.length} of {q.data.total}.</p>}
      </ListState>
      {open && <TradeDetail id={open} onClose={() => setOpen(null)} />}
    </>
  );
}

function TradeDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const q = useQuery({ queryKey: ["trade", id], queryFn: () => call(api.GET("/api/trades/{id}", { params: { path: { id } } })) });
  const t = q.data;
  return (
    <Modal title="Trade" onClose={onClose}>
      <ListState loading={q.isLoading} error={q.error} empty={!t} emptyText="Not found.">
        {t && (
          <dl className="grid grid-cols-[9rem_1fr] gap-x-3 gap-y-1 text-sm" data-testid="trade-detail">
            <dt className="text-slate-500">Instrument</dt><dd>{t.symbol} <span className="text-xs text-slate-500">{t.segment} {t.securityId}</span></dd>
            <dt className="text-slate-500">Side · quantity</dt><dd>{t.direction} · {t.quantity} ({t.openQuantity} open)</dd>
            <dt className="text-slate-500">Entry</dt><dd>{inr(t.entryPrice)} · {when(t.entryTime)}</dd>
            <dt className="text-slate-500">Stop loss · target</dt><dd>{inr(t.stopLoss)} · {inr(t.target)}</dd>
            <dt className="text-slate-500">Exit</dt><dd>{inr(t.exitPrice)} · {when(t.exitTime)}{t.exitReason && ` · ${t.exitReason}`}</dd>
            <dt className="text-slate-500">Realised P&L</dt><dd>{inr(t.pnl)}{t.pnlPercent != null && ` (${t.pnlPercent.toFixed(2)} %)`}</dd>
            <dt className="text-slate-500">Unrealised P&L</dt><dd>{inr(t.unrealizedPnl)}</dd>
            <dt className="text-slate-500">Held</dt><dd>{holding(t.holdingSeconds)}</dd>
            <dt className="text-slate-500">Deployment</dt><dd><Link className="text-indigo-600 hover:underline" to={`/deployments/${t.deploymentId}`} onClick={onClose}>open the monitor</Link></dd>
            <dt className="text-slate-500">Order intents</dt><dd className="break-all font-mono text-xs">{t.entryIntentId}{t.exitIntentId && ` → ${t.exitIntentId}`}</dd>
          </dl>
        )}
      </ListState>
      <div className="mt-4 flex justify-end"><Button variant="secondary" onClick={onClose}>Close</Button></div>
    </Modal>
  );
}

export function TradesPage() {
  const deployments = useQuery({ queryKey: ["deployment", "list"], queryFn: () => call(api.GET("/api/deployments", { params: { query: { pageSize: 100 } } })) });
  const [deploymentId, setDeploymentId] = useState("");
  const [status, setStatus] = useState("");
  return (
    <>
      <PageTitle>Strategy trades</PageTitle>
      <Card>
        <div className="mb-3 grid gap-3 sm:grid-cols-2 md:max-w-xl">
          <Select label="Deployment" name="deploymentId" value={deploymentId} onChange={(e) => setDeploymentId(e.target.value)}>
            <option value="">All deployments</option>
            {deployments.data?.items.map((d) => <option key={d.id} value={d.id}>{d.name} · {d.symbol}</option>)}
          </Select>
          <Select label="Status" name="status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any</option><option value="open">Open</option><option value="closed">Closed</option><option value="pending">Pending</option>
          </Select>
        </div>
        <StrategyTrades deploymentId={deploymentId || undefined} status={status} exportName="strategy-trades.csv" />
      </Card>
    </>
  );
}
