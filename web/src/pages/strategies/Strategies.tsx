import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { toast } from "../../lib/toasts";
import { Badge, Button, Card, ListState, Modal, PageTitle, td, th, when } from "../../components/ui";

type Strategy = Schemas["Strategy"];
export const STRATEGY_TONE: Record<Strategy["status"], "slate" | "blue" | "green" | "amber"> = {
  draft: "slate", backtested: "blue", live: "green", archived: "amber",
};

export function Strategies() {
  const qc = useQueryClient();
  const nav = useNavigate();
  const [status, setStatus] = useState("");
  const [search, setSearch] = useState("");
  const [deleting, setDeleting] = useState<Strategy | null>(null);
  const list = useQuery({
    queryKey: ["strategy", "list", status, search],
    queryFn: () => call(api.GET("/api/strategies", { params: { query: {
      pageSize: 100, status: (status || undefined) as Strategy["status"] | undefined, search: search || undefined,
    } } })),
  });
  const clone = useMutation({
    mutationFn: (id: string) => call(api.POST("/api/strategies/{id}/clone", { params: { path: { id } } })),
    onSuccess: (s) => nav(`/strategies/${s.id}`),
  });
  const remove = useMutation({
    mutationFn: (id: string) => call(api.DELETE("/api/strategies/{id}", { params: { path: { id } } })),
    onSuccess: (r) => {
      toast(r.archived ? "Strategy archived (it has history)" : "Strategy deleted", undefined, "success");
      setDeleting(null);
      qc.invalidateQueries({ queryKey: ["strategy"] });
    },
  });
  return (
    <>
      <PageTitle actions={<Link to="/strategies/new" className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white">New strategy</Link>}>Strategies</PageTitle>
      <Card title={
        <span className="flex flex-wrap gap-2 normal-case">
          <input aria-label="Search strategies" placeholder="Search" value={search} onChange={(e) => setSearch(e.target.value)}
            className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm font-normal dark:border-slate-700 dark:bg-slate-900" />
          <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value)}
            className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm font-normal dark:border-slate-700 dark:bg-slate-900">
            <option value="">All statuses</option>{Object.keys(STRATEGY_TONE).map((s) => <option key={s}>{s}</option>)}
          </select>
        </span>
      }>
        <ListState loading={list.isLoading} error={list.error} empty={!list.data?.items.length} emptyText="No strategies yet. Create one to backtest it.">
          <div className="overflow-x-auto">
            <table className="w-full">
              <thead><tr><th className={th}>Name</th><th className={th}>Instrument</th><th className={th}>Timeframe</th><th className={th}>Status</th><th className={th}>Version</th><th className={th}>Updated</th><th className={th}></th></tr></thead>
              <tbody>
                {list.data?.items.map((s) => (
                  <tr key={s.id} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={td}><Link className="font-medium text-indigo-600" to={`/strategies/${s.id}`}>{s.name}</Link></td>
                    <td className={td}>{s.instrument.symbol}</td><td className={td}>{s.timeframe}</td>
                    <td className={td}><Badge tone={STRATEGY_TONE[s.status]}>{s.status}</Badge></td>
                    <td className={td}>v{s.version}</td><td className={td}>{when(s.updatedAt)}</td>
                    <td className={`${td} whitespace-nowrap`}>
                      <Button variant="ghost" onClick={() => clone.mutate(s.id)}>Clone</Button>
                      <Button variant="ghost" onClick={() => setDeleting(s)}>Delete</Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </ListState>
      </Card>
      {deleting && (
        <Modal title={`Delete ${deleting.name}?`} onClose={() => setDeleting(null)}>
          <p className="mb-4 text-sm">A strategy with backtests or deployments is archived instead, so its history stays readable.</p>
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={() => setDeleting(null)}>Keep it</Button>
            <Button variant="danger" onClick={() => remove.mutate(deleting.id)} disabled={remove.isPending}>Delete</Button>
          </div>
        </Modal>
      )}
    </>
  );
}
