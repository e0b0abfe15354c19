import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { Badge, Button, Card, Field, FormError, ListState, fieldErrors, td, th, when } from "../../components/ui";

/** NATS credentials for the user's own event feed (issue 9 §3); the password is shown once. */
export function EventFeed() {
  const q = useQuery({ queryKey: ["event-credentials"], queryFn: () => call(api.GET("/api/user/event-credentials")) });
  const [made, setMade] = useState<Schemas["EventCredentialSecret"] | null>(null);
  const create = useMutation({
    mutationFn: (name: string) => call(api.POST("/api/user/event-credentials", { body: { name } })),
    onSuccess: (r) => {
      setMade(r);
      q.refetch();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => call(api.DELETE("/api/user/event-credentials/{id}", { params: { path: { id } } })),
    onSuccess: () => q.refetch(),
  });
  const fe = fieldErrors(create.error);
  return (
    <div className="space-y-4">
      <Card title="New event-feed credential">
        <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
          A NATS login that may read your own events (orders, signals, trades, notifications…) from stream
          EVENTS with one durable consumer, and nothing else. Use it to feed your own tools; the
          example consumer in the docs replays what it missed while offline.
        </p>
        <form className="grid gap-3 sm:grid-cols-[1fr_auto] sm:items-end" onSubmit={(e) => {
          e.preventDefault();
          create.mutate(String(new FormData(e.currentTarget).get("name") ?? ""));
        }}>
          <Field label="Credential name" name="name" placeholder="my trading bot" error={fe.name} />
          <Button type="submit" disabled={create.isPending}>Create</Button>
        </form>
        <FormError error={create.error} />
        {made && (
          <div className="mt-3 space-y-1 rounded-md bg-amber-50 p-3 text-sm dark:bg-amber-950" data-testid="event-credential-secret">
            <p className="font-medium">Copy these now; the password is not shown again.</p>
            <dl className="grid grid-cols-[8rem_1fr] gap-x-2 font-mono text-xs">
              <dt>server</dt><dd className="break-all">{made.natsUrl}</dd>
              <dt>user</dt><dd>{made.natsUser}</dd>
              <dt>password</dt><dd className="break-all" data-testid="event-credential-password">{made.password}</dd>
              <dt>subject</dt><dd>{made.subject}</dd>
              <dt>stream</dt><dd>{made.stream}</dd>
              <dt>durable</dt><dd>{made.durable}</dd>
              <dt>inbox prefix</dt><dd>{made.inboxPrefix}</dd>
            </dl>
          </div>
        )}
      </Card>
      <Card title="Your event-feed credentials">
        <ListState loading={q.isLoading} error={q.error} empty={!q.data?.length} emptyText="No credentials yet.">
          <div className="overflow-x-auto">
            <table className="w-full" data-testid="event-credentials">
              <thead><tr><th className={th}>Name</th><th className={th}>User</th><th className={th}>Created</th><th className={th}></th></tr></thead>
              <tbody>
                {q.data?.map((c) => (
                  <tr key={c.id} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={td}>{c.name}</td><td className={`${td} font-mono`}>{c.natsUser}</td><td className={td}>{when(c.createdAt)}</td>
                    <td className={td}>{c.revokedAt ? <Badge>revoked</Badge>
                      : <Button variant="ghost" onClick={() => confirm(`Revoke ${c.name}? Its connections are dropped at once.`) && revoke.mutate(c.id)}>Revoke</Button>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </ListState>
        <FormError error={revoke.error} />
      </Card>
    </div>
  );
}
