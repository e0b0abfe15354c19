import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, call } from "../../api/client";
import { Badge, Button, Card, Field, FormError, ListState, fieldErrors, td, th, when } from "../../components/ui";

export function ApiKeys() {
  const q = useQuery({ queryKey: ["apikeys"], queryFn: () => call(api.GET("/api/user/api-keys")) });
  const [shown, setShown] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: { name: string; expiresInDays: number | null }) => call(api.POST("/api/user/api-keys", { body })),
    onSuccess: (r) => {
      setShown(r.key);
      q.refetch();
    },
  });
  const revoke = useMutation({
    mutationFn: (keyId: string) => call(api.DELETE("/api/user/api-keys/{keyId}", { params: { path: { keyId } } })),
    onSuccess: () => q.refetch(),
  });
  const fe = fieldErrors(create.error);
  return (
    <div className="space-y-4">
      <Card title="New API key">
        <form className="grid gap-3 sm:grid-cols-[1fr_10rem_auto] sm:items-end" onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const days = String(f.get("expiresInDays") || "");
          create.mutate({ name: String(f.get("name")), expiresInDays: days ? Number(days) : null });
        }}>
          <Field label="Name" name="name" error={fe.name} />
          <Field label="Expires in (days)" name="expiresInDays" type="number" min={1} error={fe.expiresInDays} />
          <Button type="submit">Create</Button>
        </form>
        <FormError error={create.error} />
        {shown && <p className="mt-3 text-sm">Copy this key now; it is not shown again: <code className="break-all font-mono">{shown}</code></p>}
      </Card>
      <Card title="Your API keys">
        <ListState loading={q.isLoading} error={q.error} empty={!q.data?.length} emptyText="No API keys yet.">
          <div className="overflow-x-auto">
            <table className="w-full">
              <thead><tr><th className={th}>Name</th><th className={th}>Prefix</th><th className={th}>Created</th><th className={th}>Last used</th><th className={th}></th></tr></thead>
              <tbody>
                {q.data?.map((k) => (
                  <tr key={k.id} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={td}>{k.name}</td><td className={`${td} font-mono`}>{k.prefix}</td>
                    <td className={td}>{when(k.createdAt)}</td><td className={td}>{when(k.lastUsedAt)}</td>
                    <td className={td}>{k.revokedAt ? <Badge>revoked</Badge> : <Button variant="ghost" onClick={() => confirm(`Revoke ${k.name}?`) && revoke.mutate(k.id)}>Revoke</Button>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </ListState>
      </Card>
    </div>
  );
}
