import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, call, hasRoute } from "../../api/client";
import { useAccounts } from "../brokerage/Brokerage";
import { LineChart } from "../../components/LineChart";
import { PnlBars } from "../../components/PnlBars";
import { Card, ListState, PageTitle, inr, td, th } from "../../components/ui";

export function useSummary(accountId?: string) {
  return useQuery({
    queryKey: ["portfolio", "summary", accountId],
    queryFn: () => call(api.GET("/api/portfolio/summary", { params: { query: { accountId } } })),
  });
}

const pnlClass = (v?: string | null) => (v && Number(v) < 0 ? "text-rose-600" : v && Number(v) > 0 ? "text-emerald-600" : "");

export function SummaryTiles({ accountId }: { accountId?: string }) {
  const s = useSummary(accountId);
  const d = s.data;
  const tiles: [string, string | null | undefined][] = [
    ["Available funds", d?.availableFunds], ["Used margin", d?.usedMargin], ["Holdings value", d?.holdingsValue],
    ["Realised P&L", d?.realizedPnl], ["Unrealised P&L", d?.unrealizedPnl], ["Total P&L", d?.totalPnl],
  ];
  return (
    <ListState loading={s.isLoading} error={s.error} empty={false} emptyText="">
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
        {tiles.map(([label, v]) => (
          <div key={label} className="rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900">
            <p className="text-xs text-slate-500">{label}</p>
            <p className={`text-lg font-semibold ${label.includes("P&L") ? pnlClass(v) : ""}`}>{inr(v)}</p>
          </div>
        ))}
      </div>
    </ListState>
  );
}

export function Portfolio() {
  const accounts = useAccounts();
  const [accountId, setAccountId] = useState<string>("");
  const acc = accountId || undefined;
  const positions = useQuery({ queryKey: ["portfolio", "positions", acc], queryFn: () => call(api.GET("/api/portfolio/positions", { params: { query: { accountId: acc } } })) });
  const holdings = useQuery({ queryKey: ["portfolio", "holdings", acc], queryFn: () => call(api.GET("/api/portfolio/holdings", { params: { query: { accountId: acc } } })) });
  const history = useQuery({
    queryKey: ["portfolio", "history", acc],
    queryFn: () => call(api.GET("/api/portfolio/history", { params: { query: { accountId: acc } } })),
    enabled: hasRoute("/api/portfolio/history"),
  });
  const pnl = useQuery({ queryKey: ["portfolio", "pnl", acc], queryFn: () => call(api.GET("/api/portfolio/pnl", { params: { query: { accountId: acc } } })) });
  const pnlRows = useMemo(() => (pnl.data?.items ?? []).map((l) => ({
    name: l.securityId, realised: Number(l.realizedPnl), unrealised: Number(l.unrealizedPnl),
  })), [pnl.data]);
  const points = useMemo(() => (history.data?.items ?? []).map((p) => ({ time: p.date, value: Number(p.value) })), [history.data]);
  return (
    <>
      <PageTitle actions={
        <select aria-label="Account" value={accountId} onChange={(e) => setAccountId(e.target.value)} className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-700 dark:bg-slate-900">
          <option value="">All accounts</option>
          {accounts.data?.items.map((a) => <option key={a.id} value={a.id}>{a.label}</option>)}
        </select>
      }>Portfolio</PageTitle>
      <div className="space-y-4">
        <SummaryTiles accountId={acc} />
        <Card title="Portfolio value">
          <ListState loading={history.isLoading} error={history.error} empty={points.length < 2} emptyText="Not enough daily values yet for a chart.">
            <LineChart points={points} />
          </ListState>
        </Card>
        <Card title="P&L by instrument" actions={pnl.data && <span className="text-sm">Charges {inr(pnl.data.charges)} · Net <b>{inr(pnl.data.netPnl)}</b></span>}>
          <ListState loading={pnl.isLoading} error={pnl.error} empty={!pnlRows.length} emptyText="No P&L yet: nothing has traded.">
            <PnlBars rows={pnlRows} />
          </ListState>
        </Card>
        <Card title="Positions">
          <ListState loading={positions.isLoading} error={positions.error} empty={!positions.data?.items.length} emptyText="No open positions.">
            <div className="overflow-x-auto"><table className="w-full">
              <thead><tr><th className={th}>Instrument</th><th className={th}>Product</th><th className={th}>Net qty</th><th className={th}>Avg</th><th className={th}>LTP</th><th className={th}>Unrealised</th><th className={th}>Realised</th></tr></thead>
              <tbody>{positions.data?.items.map((p) => (
                <tr key={`${p.accountId}-${p.securityId}-${p.productType}`} className="border-t border-slate-100 dark:border-slate-800">
                  <td className={td}>{p.tradingSymbol || p.securityId}</td><td className={td}>{p.productType}</td><td className={td}>{p.netQuantity}</td>
                  <td className={td}>{inr(p.averagePrice)}</td><td className={td}>{inr(p.lastPrice)}</td>
                  <td className={`${td} ${pnlClass(p.unrealizedPnl)}`}>{inr(p.unrealizedPnl)}</td><td className={`${td} ${pnlClass(p.realizedPnl)}`}>{inr(p.realizedPnl)}</td>
                </tr>))}</tbody>
            </table></div>
          </ListState>
        </Card>
        <Card title="Holdings">
          <ListState loading={holdings.isLoading} error={holdings.error} empty={!holdings.data?.items.length} emptyText="No holdings.">
            <div className="overflow-x-auto"><table className="w-full">
              <thead><tr><th className={th}>Instrument</th><th className={th}>Qty</th><th className={th}>Avg</th><th className={th}>LTP</th><th className={th}>Value</th><th className={th}>Unrealised</th></tr></thead>
              <tbody>{holdings.data?.items.map((h) => (
                <tr key={`${h.accountId}-${h.securityId}`} className="border-t border-slate-100 dark:border-slate-800">
                  <td className={td}>{h.tradingSymbol || h.securityId}</td><td className={td}>{h.quantity}</td><td className={td}>{inr(h.averagePrice)}</td>
                  <td className={td}>{inr(h.lastPrice)}</td><td className={td}>{inr(h.value)}</td><td className={`${td} ${pnlClass(h.unrealizedPnl)}`}>{inr(h.unrealizedPnl)}</td>
                </tr>))}</tbody>
            </table></div>
          </ListState>
        </Card>
      </div>
    </>
  );
}
