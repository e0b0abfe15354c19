import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, call, hasRoute } from "../api/client";
import { useSession } from "../lib/session";
import { Badge, Card, ListState, PageTitle } from "../components/ui";
import { STATUS_TONE, useAccounts } from "./brokerage/Brokerage";
import { SummaryTiles } from "./portfolio/Portfolio";

export function Dashboard() {
  const { user } = useSession();
  return (
    <>
      <PageTitle>Welcome, {user?.name}</PageTitle>
      <div className="space-y-4">
        {hasRoute("/api/portfolio/summary") && <SummaryTiles />}
        <div className="grid gap-4 lg:grid-cols-2">
          {hasRoute("/api/brokerages") && <Accounts />}
          {hasRoute("/api/strategies") && <StrategiesByStatus />}
          {hasRoute("/api/backtests/history") && <RecentBacktests />}
          <Card title="Quick actions">
            <div className="flex flex-wrap gap-2 text-sm">
              {hasRoute("/api/brokerages") && <Link className="rounded-md bg-indigo-600 px-3 py-2 text-white" to="/brokerage">Link an account</Link>}
              {hasRoute("/api/strategies") && <Link className="rounded-md border border-slate-300 px-3 py-2 dark:border-slate-700" to="/strategies/new">New strategy</Link>}
              {hasRoute("/api/orders") && <Link className="rounded-md border border-slate-300 px-3 py-2 dark:border-slate-700" to="/orders">Place an order</Link>}
              {hasRoute("/api/portfolio/summary") && <Link className="rounded-md border border-slate-300 px-3 py-2 dark:border-slate-700" to="/portfolio">Portfolio</Link>}
              {!user?.twoFactorEnabled && <Link className="rounded-md border border-slate-300 px-3 py-2 dark:border-slate-700" to="/settings/security">Turn on 2FA</Link>}
            </div>
          </Card>
        </div>
      </div>
    </>
  );
}

function Accounts() {
  const q = useAccounts();
  return (
    <Card title="Linked accounts" actions={<Link to="/brokerage" className="text-sm text-indigo-600">Manage</Link>}>
      <ListState loading={q.isLoading} error={q.error} empty={!q.data?.items.length} emptyText="No accounts linked yet.">
        <ul className="divide-y divide-slate-100 dark:divide-slate-800">
          {q.data?.items.map((a) => (
            <li key={a.id} className="flex items-center justify-between py-2 text-sm">
              <span>{a.label} <span className="text-slate-500">({a.broker})</span></span>
              <Badge tone={STATUS_TONE[a.status] ?? "slate"}>{a.status.replace("_", " ")}</Badge>
            </li>
          ))}
        </ul>
      </ListState>
    </Card>
  );
}

function StrategiesByStatus() {
  const q = useQuery({ queryKey: ["strategy", "list", "", ""], queryFn: () => call(api.GET("/api/strategies", { params: { query: { pageSize: 100 } } })) });
  const counts = new Map<string, number>();
  q.data?.items.forEach((s) => counts.set(s.status, (counts.get(s.status) ?? 0) + 1));
  return (
    <Card title="Strategies" actions={<Link to="/strategies" className="text-sm text-indigo-600">All</Link>}>
      <ListState loading={q.isLoading} error={q.error} empty={!q.data?.items.length} emptyText="No strategies yet.">
        <div className="flex flex-wrap gap-4">
          {[...counts].map(([status, n]) => (
            <div key={status}><p className="text-2xl font-semibold">{n}</p><p className="text-xs text-slate-500">{status}</p></div>
          ))}
        </div>
      </ListState>
    </Card>
  );
}

function RecentBacktests() {
  const q = useQuery({ queryKey: ["backtest", "history"], queryFn: () => call(api.GET("/api/backtests/history", { params: { query: { pageSize: 5 } } })) });
  return (
    <Card title="Recent backtests" actions={<Link to="/backtests" className="text-sm text-indigo-600">All</Link>}>
      <ListState loading={q.isLoading} error={q.error} empty={!q.data?.items.length} emptyText="No backtests yet.">
        <ul className="divide-y divide-slate-100 dark:divide-slate-800">
          {q.data?.items.slice(0, 5).map((b) => (
            <li key={b.id} className="flex items-center justify-between py-2 text-sm">
              <Link className="text-indigo-600" to={`/backtests/${b.id}`}>{b.strategyName} v{b.strategyVersion}</Link>
              <Badge tone={b.status === "completed" ? "green" : b.status === "failed" ? "red" : "blue"}>{b.status}</Badge>
            </li>
          ))}
        </ul>
      </ListState>
    </Card>
  );
}
