import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { Badge, Button, Card, ListState, PageTitle, when } from "../../components/ui";
import { NotificationPrefs } from "./Prefs";

type NType = Schemas["NotificationType"];
const SEVERITY: Record<string, "red" | "amber" | "blue" | "slate"> = { critical: "red", error: "red", warning: "amber", info: "blue" };

export function Notifications() {
  const qc = useQueryClient();
  const [unread, setUnread] = useState(false);
  const [type, setType] = useState("");
  const [tab, setTab] = useState<"inbox" | "prefs">("inbox");
  const list = useQuery({
    queryKey: ["notification", "list", unread, type],
    queryFn: () => call(api.GET("/api/notifications", { params: { query: {
      pageSize: 50, isRead: unread ? false : undefined, type: (type || undefined) as NType | undefined,
    } } })),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ["notification"] });
  const read = useMutation({ mutationFn: (id: string) => call(api.PUT("/api/notifications/{id}/read", { params: { path: { id } } })), onSuccess: refresh });
  const readAll = useMutation({ mutationFn: () => call(api.PUT("/api/notifications/read-all")), onSuccess: refresh });
  const remove = useMutation({ mutationFn: (id: string) => call(api.DELETE("/api/notifications/{id}", { params: { path: { id } } })), onSuccess: refresh });
  return (
    <>
      <PageTitle actions={
        <div className="flex gap-2">
          <Button variant={tab === "inbox" ? "primary" : "secondary"} onClick={() => setTab("inbox")}>Inbox</Button>
          <Button variant={tab === "prefs" ? "primary" : "secondary"} onClick={() => setTab("prefs")}>Preferences</Button>
        </div>
      }>Notifications</PageTitle>
      {tab === "prefs" ? <NotificationPrefs /> : (
        <Card actions={<Button variant="secondary" onClick={() => readAll.mutate()}>Mark all read</Button>}
          title={
            <span className="flex flex-wrap items-center gap-3 normal-case">
              <label className="flex items-center gap-1 text-sm font-normal"><input type="checkbox" checked={unread} onChange={(e) => setUnread(e.target.checked)} /> Unread only</label>
              <select aria-label="Type" value={type} onChange={(e) => setType(e.target.value)} className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm font-normal dark:border-slate-700 dark:bg-slate-900">
                <option value="">All types</option>
                {TYPES.map((t) => <option key={t} value={t}>{label(t)}</option>)}
              </select>
            </span>
          }>
          <ListState loading={list.isLoading} error={list.error} empty={!list.data?.items.length} emptyText="No notifications.">
            <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="inbox">
              {list.data?.items.map((n) => (
                <li key={n.id} className={`flex items-start gap-3 py-3 ${n.isRead ? "opacity-70" : ""}`}>
                  <span className={`mt-1.5 inline-block h-2 w-2 shrink-0 rounded-full ${n.isRead ? "bg-transparent" : "bg-indigo-600"}`} />
                  <div className="min-w-0 flex-1">
                    <p className="text-sm font-medium">{n.title} {(n.count ?? 1) > 1 && <Badge>×{n.count}</Badge>} <Badge tone={SEVERITY[n.severity] ?? "slate"}>{n.severity}</Badge></p>
                    <p className="text-sm text-slate-600 dark:text-slate-400">{n.message}</p>
                    <p className="text-xs text-slate-500">{label(n.type)} · {when(n.createdAt)}</p>
                  </div>
                  {!n.isRead && <Button variant="ghost" onClick={() => read.mutate(n.id)}>Mark read</Button>}
                  <Button variant="ghost" aria-label="Delete" onClick={() => remove.mutate(n.id)}>✕</Button>
                </li>
              ))}
            </ul>
          </ListState>
        </Card>
      )}
    </>
  );
}

export const TYPES: NType[] = [
  "ORDER_PLACED", "ORDER_FILLED", "ORDER_FAILED", "STRATEGY_DEPLOYED", "STRATEGY_PAUSED", "PROFIT_TARGET_REACHED",
  "STOP_LOSS_TRIGGERED", "MARGIN_WARNING", "API_CONNECTION_LOST", "REAUTH_REQUIRED", "KILL_SWITCH_ACTIVATED",
  "FEED_STALE", "BACKTEST_COMPLETED", "BACKTEST_FAILED", "NEW_LOGIN", "PASSWORD_CHANGED",
];

export function label(t: string): string {
  return t.charAt(0) + t.slice(1).toLowerCase().replace(/_/g, " ");
}
