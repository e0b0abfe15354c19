import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, call } from "../../api/client";
import { session } from "../../lib/session";
import { toast } from "../../lib/toasts";
import { Badge, Button, Card, Field, FormError, ListState, fieldErrors } from "../../components/ui";

export function Profile() {
  const q = useQuery({ queryKey: ["profile"], queryFn: () => call(api.GET("/api/user/profile")) });
  const save = useMutation({
    mutationFn: (body: { name: string; phone: string | null }) => call(api.PUT("/api/user/profile", { body })),
    onSuccess: (u) => {
      session.setUser(u);
      q.refetch();
      toast("Profile saved", undefined, "success");
    },
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    save.mutate({ name: String(f.get("name")), phone: String(f.get("phone") || "") || null });
  }
  const fe = fieldErrors(save.error);
  return (
    <Card title="Profile">
      <ListState loading={q.isLoading} error={q.error} empty={false} emptyText="">
        {q.data && (
          <form onSubmit={submit} className="space-y-4">
            <p className="text-sm">{q.data.email} {q.data.emailVerified ? <Badge tone="green">verified</Badge> : <Badge tone="amber">not verified</Badge>} {q.data.role === "admin" && <Badge tone="blue">admin</Badge>}</p>
            <Field label="Name" name="name" defaultValue={q.data.name} error={fe.name} />
            <Field label="Phone" name="phone" defaultValue={q.data.phone ?? ""} error={fe.phone} />
            <FormError error={save.error} />
            <Button type="submit" disabled={save.isPending}>Save</Button>
          </form>
        )}
      </ListState>
    </Card>
  );
}

export function Password() {
  const [done, setDone] = useState(false);
  const change = useMutation({
    mutationFn: (body: { currentPassword: string; newPassword: string }) => call(api.PUT("/api/user/password", { body })),
    onSuccess: () => setDone(true),
  });
  const fe = fieldErrors(change.error);
  return (
    <Card title="Change password">
      {done ? <p className="text-sm text-emerald-600">Password changed. Your other sessions were signed out.</p> : (
        <form className="space-y-4" onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          change.mutate({ currentPassword: String(f.get("currentPassword")), newPassword: String(f.get("newPassword")) });
        }}>
          <Field label="Current password" name="currentPassword" type="password" autoComplete="current-password" error={fe.currentPassword} />
          <Field label="New password" name="newPassword" type="password" autoComplete="new-password" error={fe.newPassword} />
          <FormError error={change.error} />
          <Button type="submit" disabled={change.isPending}>Change password</Button>
        </form>
      )}
    </Card>
  );
}
