import { useMutation, useQuery } from "@tanstack/react-query";
import { api, call } from "../../api/client";
import { toast } from "../../lib/toasts";
import { Card, FormError, ListState, th, td } from "../../components/ui";
import { TYPES, label } from "./Notifications";

const CHANNELS = [["in_app", "inApp", "In app"], ["email", "email", "E-mail"], ["sms", "sms", "SMS"], ["webhook", "webhook", "Webhook"]] as const;

/** Per-type, per-channel switches; each change is saved at once. */
export function NotificationPrefs() {
  const q = useQuery({ queryKey: ["notification", "prefs"], queryFn: () => call(api.GET("/api/notifications/preferences")) });
  const save = useMutation({
    mutationFn: (a: { type: (typeof TYPES)[number]; key: "inApp" | "email" | "sms" | "webhook"; on: boolean }) =>
      call(api.PUT("/api/notifications/preferences", { body: { channels: { [a.type]: { email: null, inApp: null, sms: null, webhook: null, [a.key]: a.on } }, phone: null, quietHours: null } })),
    onSuccess: () => {
      q.refetch();
      toast("Preferences saved", undefined, "success");
    },
  });
  const channels = (q.data?.channels ?? {}) as Record<string, Record<string, boolean>>;
  return (
    <Card title="Where each notification goes">
      <FormError error={save.error} />
      <ListState loading={q.isLoading} error={q.error} empty={false} emptyText="">
        <div className="overflow-x-auto">
          <table className="w-full">
            <thead><tr><th className={th}>Type</th>{CHANNELS.map(([, , l]) => <th key={l} className={th}>{l}</th>)}</tr></thead>
            <tbody>
              {TYPES.map((t) => (
                <tr key={t} className="border-t border-slate-100 dark:border-slate-800">
                  <td className={td}>{label(t)}</td>
                  {CHANNELS.map(([wire, key, l]) => (
                    <td key={wire} className={td}>
                      <input type="checkbox" aria-label={`${label(t)} by ${l}`} checked={!!channels[t]?.[wire]}
                        onChange={(e) => save.mutate({ type: t, key, on: e.target.checked })} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ListState>
    </Card>
  );
}
