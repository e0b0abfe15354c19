import { Link } from "react-router";
import { hasRoute } from "../api/client";
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
          <Card title="Quick actions">
            <div className="flex flex-wrap gap-2 text-sm">
              {hasRoute("/api/brokerages") && <Link className="rounded-md bg-indigo-600 px-3 py-2 text-white" to="/brokerage">Link an account</Link>}
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
