import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { Badge, Button, Card, Field, FormError, ListState, fieldErrors, td, th, when } from "../../components/ui";
import { TYPES, label } from "../notifications/Notifications";

type NType = (typeof TYPES)[number];

/** Webhooks: signed JSON POSTs of the user's notifications to their own endpoints. */
export function Webhooks() {
  const q = useQuery({ queryKey: ["webhooks"], queryFn: () => call(api.GET("/api/notifications/webhooks")) });
  const [made, setMade] = useState<Schemas["Webhook"] | null>(null);
  const [types, setTypes] = useState<NType[]>([]);
  const [tested, setTested] = useState<Record<string, Schemas["WebhookTestResult"]>>({});
  const create = useMutation({
    mutationFn: (body: Schemas["CreateWebhook"]) => call(api.POST("/api/notifications/webhooks", { body })),
    onSuccess: (r) => {
      setMade(r);
      setTypes([]);
      q.refetch();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => call(api.DELETE("/api/notifications/webhooks/{id}", { params: { path: { id } } })),
    onSuccess: () => q.refetch(),
  });
  const test = useMutation({
    mutationFn: (id: string) => call(api.POST("/api/notifications/webhooks/{id}/test", { params: { path: { id } } })),
    onSuccess: (r, id) => setTested((t) => ({ ...t, [id]: r })),
  });
  const fe = fieldErrors(create.error);
  const items = q.data?.items ?? [];
  return (
    <div className="space-y-4">
      <Card title="New webhook">
        <form className="space-y-3" onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const secret = String(f.get("secret") || "");
          create.mutate({ url: String(f.get("url") ?? ""), description: String(f.get("description") ?? ""), secret: secret || null, types });
        }}>
          <Field label="Endpoint URL" name="url" type="url" placeholder="https://example.com/hooks/algotrade" error={fe.url} />
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label="Description" name="description" error={fe.description} />
            <Field label="Signing secret (optional)" name="secret" error={fe.secret} hint="At least 16 characters; leave empty for a random one." />
          </div>
          <fieldset>
            <legend className="mb-1 text-sm font-medium">Notification types <span className="font-normal text-slate-500">(none ticked: every type)</span></legend>
            <div className="grid grid-cols-2 gap-1 text-sm md:grid-cols-4">
              {TYPES.map((t) => (
                <label key={t} className="flex items-center gap-1">
                  <input type="checkbox" checked={types.includes(t)} onChange={(e) => setTypes((s) => e.target.checked ? [...s, t] : s.filter((x) => x !== t))} />
                  {label(t)}
                </label>
              ))}
            </div>
            {fe.types && <p role="alert" data-field-error="types" className="text-xs text-rose-600">{fe.types}</p>}
          </fieldset>
          <Button type="submit" disabled={create.isPending}>Add webhook</Button>
        </form>
        <FormError error={create.error} />
        {made?.secret && (
          <p className="mt-3 rounded-md bg-amber-50 p-3 text-sm dark:bg-amber-950" data-testid="webhook-secret">
            Copy the signing secret now; it is not shown again: <code className="break-all font-mono">{made.secret}</code>.
            Each delivery carries <code className="font-mono">X-Algotrade-Signature: t=&lt;unix time&gt;,v1=&lt;HMAC-SHA256 of "t.body"&gt;</code>.
          </p>
        )}
      </Card>
      <Card title="Your webhooks">
        <ListState loading={q.isLoading} error={q.error} empty={!items.length} emptyText="No webhooks yet.">
          <div className="overflow-x-auto">
            <table className="w-full" data-testid="webhooks">
              <thead><tr><th className={th}>URL</th><th className={th}>Types</th><th className={th}>Created</th><th className={th}>Last test</th><th className={th}></th></tr></thead>
              <tbody>
                {items.map((w) => {
                  const t = tested[w.id];
                  return (
                    <tr key={w.id} className="border-t border-slate-100 dark:border-slate-800">
                      <td className={`${td} break-all`}>{w.url}{w.description && <p className="text-xs text-slate-500">{w.description}</p>}</td>
                      <td className={td}>{w.types?.length ? w.types.map(label).join(", ") : "all"}</td>
                      <td className={td}>{when(w.createdAt)}</td>
                      <td className={td} data-testid="webhook-test-result">{t ? (t.ok ? <Badge tone="green">delivered ({t.status})</Badge>
                        : <Badge tone="red">{t.error ?? `failed (${t.status ?? "no answer"})`}</Badge>) : "—"}</td>
                      <td className={`${td} whitespace-nowrap`}>
                        <Button variant="ghost" onClick={() => test.mutate(w.id)} disabled={test.isPending}>Send test</Button>
                        <Button variant="ghost" onClick={() => confirm(`Delete the webhook to ${w.url}?`) && remove.mutate(w.id)}>Delete</Button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </ListState>
        <FormError error={test.error ?? remove.error} />
      </Card>
    </div>
  );
}
