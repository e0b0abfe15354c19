import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, call } from "../../api/client";
import { useSession } from "../../lib/session";
import { Badge, Button, Card, ListState, PageTitle, td, th, when } from "../../components/ui";

function useAdmin() {
  return useSession().user?.role === "admin";
}

/** What a non-admin sees at an admin address (the API refuses them too). */
function AdminOnly() {
  return (
    <Card>
      <p className="text-sm" data-testid="admin-only">This page is for administrators. Your account cannot see other users or the audit log.</p>
    </Card>
  );
}

export function AdminUsers() {
  const [q, setQ] = useState("");
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: ["admin-users", q, page],
    queryFn: () => call(api.GET("/api/admin/users", { params: { query: { q: q || undefined, page, pageSize: 25 } } })),
    enabled: useAdmin(),
  });
  const setStatus = useMutation({
    mutationFn: (a: { userId: string; status: "active" | "suspended" }) =>
      call(api.PUT("/api/admin/users/{userId}/status", { params: { path: { userId: a.userId } }, body: { status: a.status, reason: null } })),
    onSuccess: () => list.refetch(),
  });
  if (!useAdmin()) return <AdminOnly />;
  const pages = list.data ? Math.max(1, Math.ceil(list.data.total / list.data.pageSize)) : 1;
  return (
    <>
      <PageTitle>Users</PageTitle>
      <Card>
        <input placeholder="Search name or e-mail" value={q} onChange={(e) => { setQ(e.target.value); setPage(1); }}
          className="mb-3 w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm sm:w-80 dark:border-slate-700 dark:bg-slate-900" />
        <ListState loading={list.isLoading} error={list.error} empty={!list.data?.items.length} emptyText="No users match.">
          <div className="overflow-x-auto">
            <table className="w-full">
              <thead><tr><th className={th}>Name</th><th className={th}>E-mail</th><th className={th}>Role</th><th className={th}>Status</th><th className={th}>Joined</th><th className={th}></th></tr></thead>
              <tbody>
                {list.data?.items.map((u) => (
                  <tr key={u.id} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={td}>{u.name}</td><td className={td}>{u.email}</td><td className={td}>{u.role}</td>
                    <td className={td}><Badge tone={u.status === "active" ? "green" : "red"}>{u.status}</Badge></td>
                    <td className={td}>{when(u.createdAt)}</td>
                    <td className={td}>
                      <Button variant="ghost" onClick={() => setStatus.mutate({ userId: u.id, status: u.status === "active" ? "suspended" : "active" })}>
                        {u.status === "active" ? "Suspend" : "Reactivate"}
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={page} pages={pages} setPage={setPage} />
        </ListState>
      </Card>
    </>
  );
}

export function AdminAudit() {
  const [page, setPage] = useState(1);
  const [action, setAction] = useState("");
  const list = useQuery({
    queryKey: ["admin-audit", page, action],
    queryFn: () => call(api.GET("/api/admin/logs", { params: { query: { page, pageSize: 50, action: action || undefined } } })),
    enabled: useAdmin(),
  });
  if (!useAdmin()) return <AdminOnly />;
  const pages = list.data ? Math.max(1, Math.ceil(list.data.total / list.data.pageSize)) : 1;
  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <Card>
        <input placeholder="Filter by action" value={action} onChange={(e) => { setAction(e.target.value); setPage(1); }}
          className="mb-3 w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm sm:w-80 dark:border-slate-700 dark:bg-slate-900" />
        <ListState loading={list.isLoading} error={list.error} empty={!list.data?.items.length} emptyText="No audit entries.">
          <div className="overflow-x-auto">
            <table className="w-full">
              <thead><tr><th className={th}>Time</th><th className={th}>User</th><th className={th}>Action</th><th className={th}>Outcome</th><th className={th}>IP</th></tr></thead>
              <tbody>
                {list.data?.items.map((a) => (
                  <tr key={a.id} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={td}>{when(a.ts)}</td><td className={`${td} font-mono text-xs`}>{a.userId ?? "—"}</td>
                    <td className={td}>{a.action}</td><td className={td}>{a.outcome}</td><td className={td}>{a.ip ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={page} pages={pages} setPage={setPage} />
        </ListState>
      </Card>
    </>
  );
}

function Pager({ page, pages, setPage }: { page: number; pages: number; setPage: (p: number) => void }) {
  return (
    <div className="mt-3 flex items-center gap-2 text-sm">
      <Button variant="secondary" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</Button>
      <span>Page {page} of {pages}</span>
      <Button variant="secondary" disabled={page >= pages} onClick={() => setPage(page + 1)}>Next</Button>
    </div>
  );
}
