import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, call } from "../../api/client";
import { Badge, Card, ListState, PageTitle, inr, td, th, when } from "../../components/ui";

export const DEPLOY_TONE = { active: "green", paused: "amber", stopped: "slate", halted: "red", error: "red" } as const;

export function Deployments() {
  const list = useQuery({ queryKey: ["deployment", "list"], queryFn: () => call(api.GET("/api/deployments", { params: { query: { pageSize: 100 } } })) });
  return (
    <>
      <PageTitle>Deployments</PageTitle>
      <Card>
        <ListState loading={list.isLoading} error={list.error} empty={!list.data?.items.length} emptyText="Nothing deployed. Deploy a strategy from its page.">
          <div className="overflow-x-auto">
            <table className="w-full">
              <thead><tr><th className={th}>Strategy</th><th className={th}>Instrument</th><th className={th}>Status</th><th className={th}>Orders</th><th className={th}>P&L</th><th className={th}>Deployed</th></tr></thead>
              <tbody>
                {list.data?.items.map((d) => (
                  <tr key={d.id} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={td}><Link className="text-indigo-600" to={`/deployments/${d.id}`}>{d.name} v{d.strategyVersion}</Link></td>
                    <td className={td}>{d.symbol} · {d.timeframe}</td>
                    <td className={td}><Badge tone={DEPLOY_TONE[d.status]}>{d.status}</Badge></td>
                    <td className={td}>{d.stats?.totalOrders ?? 0}</td>
                    <td className={td}>{inr(d.stats?.totalPnl)}</td>
                    <td className={td}>{when(d.deployedAt)}</td>
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
