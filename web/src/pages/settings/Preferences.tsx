import type { FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { applyTheme } from "../../lib/theme";
import { toast } from "../../lib/toasts";
import { Button, Card, Field, FormError, ListState, Select, fieldErrors } from "../../components/ui";

type Prefs = Schemas["Preferences"];

export function PreferencesForm() {
  const q = useQuery({ queryKey: ["preferences"], queryFn: () => call(api.GET("/api/user/preferences")) });
  const save = useMutation({
    mutationFn: (body: Prefs) => call(api.PUT("/api/user/preferences", { body })),
    onSuccess: (p) => {
      if (p.theme) applyTheme(p.theme);
      toast("Preferences saved", undefined, "success");
      q.refetch();
    },
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    save.mutate({
      ...q.data!,
      theme: f.get("theme") as Prefs["theme"],
      timezone: String(f.get("timezone")),
      emailNotifications: f.get("emailNotifications") === "on",
      smsNotifications: f.get("smsNotifications") === "on",
    });
  }
  const fe = fieldErrors(save.error);
  return (
    <Card title="Preferences">
      <ListState loading={q.isLoading} error={q.error} empty={false} emptyText="">
        {q.data && (
          <form className="space-y-4" onSubmit={submit}>
            <Select label="Theme" name="theme" defaultValue={q.data.theme ?? "system"} error={fe.theme}>
              <option value="system">System</option><option value="light">Light</option><option value="dark">Dark</option>
            </Select>
            <Field label="Time zone" name="timezone" defaultValue={q.data.timezone ?? "Asia/Kolkata"} error={fe.timezone} />
            <label className="flex items-center gap-2 text-sm"><input type="checkbox" name="emailNotifications" defaultChecked={q.data.emailNotifications} /> E-mail notifications</label>
            <label className="flex items-center gap-2 text-sm"><input type="checkbox" name="smsNotifications" defaultChecked={q.data.smsNotifications} /> SMS notifications</label>
            <FormError error={save.error} />
            <Button type="submit" disabled={save.isPending}>Save</Button>
          </form>
        )}
      </ListState>
    </Card>
  );
}
