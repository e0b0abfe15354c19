import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { toast } from "../../lib/toasts";
import { Button, Card, Field, FormError, fieldErrors } from "../../components/ui";

function useLinked(onDone: () => void) {
  const qc = useQueryClient();
  return (a: Schemas["Account"]) => {
    qc.invalidateQueries({ queryKey: ["account"] });
    toast("Account linked", a.label, "success");
    onDone();
  };
}

export function LinkPaper({ onDone }: { onDone: () => void }) {
  const linked = useLinked(onDone);
  const link = useMutation({
    mutationFn: (body: Schemas["LinkAccount"]) => call(api.POST("/api/brokerages/link", { body })),
    onSuccess: linked,
  });
  const fe = fieldErrors(link.error);
  return (
    <Card title="Link a paper account" className="mb-4">
      <p className="mb-3 text-sm text-slate-500">A paper account trades on live prices with simulated fills. No money moves.</p>
      <form className="grid gap-3 sm:grid-cols-2" onSubmit={(e: FormEvent<HTMLFormElement>) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        link.mutate({ broker: "paper", accessToken: null, dhanClientId: null, label: String(f.get("label") || "Paper"), startingCapital: String(f.get("startingCapital")) });
      }}>
        <Field label="Label" name="label" defaultValue="Paper" error={fe.label} />
        <Field label="Starting capital (₹)" name="startingCapital" type="number" min={1} defaultValue={1000000} error={fe.startingCapital} />
        <div className="sm:col-span-2"><FormError error={link.error} /></div>
        <div className="flex gap-2 sm:col-span-2">
          <Button type="submit" disabled={link.isPending}>Link paper account</Button>
          <Button type="button" variant="ghost" onClick={onDone}>Cancel</Button>
        </div>
      </form>
    </Card>
  );
}

export function LinkDhan({ onDone }: { onDone: () => void }) {
  const [flow, setFlow] = useState<"token" | "apikey">("token");
  const [consent, setConsent] = useState<Schemas["ConsentStarted"] | null>(null);
  const linked = useLinked(onDone);
  const link = useMutation({ mutationFn: (body: Schemas["LinkAccount"]) => call(api.POST("/api/brokerages/link", { body })), onSuccess: linked });
  const start = useMutation({
    mutationFn: (body: Schemas["StartConsent"]) => call(api.POST("/api/brokerages/consent", { body })),
    onSuccess: (c) => {
      setConsent(c);
      window.open(c.loginUrl, "_blank", "noopener");
    },
  });
  const complete = useMutation({
    mutationFn: (tokenId: string) => call(api.POST("/api/brokerages/{accountId}/consent/complete", {
      params: { path: { accountId: consent!.accountId } }, body: { tokenId },
    })),
    onSuccess: linked,
  });
  const err = link.error ?? start.error ?? complete.error;
  const fe = fieldErrors(err);
  return (
    <Card title="Link a Dhan account" className="mb-4">
      <ol className="mb-4 list-decimal space-y-1 pl-5 text-sm">
        <li>Log in to <b>web.dhan.co</b> and open <i>My Profile → Access DhanHQ APIs</i>.</li>
        <li>Note your <b>client id</b> (shown at the top of your profile).</li>
        <li>Either generate an <b>access token</b> (valid for a limited time), or create an <b>API key and secret</b> to log in through Dhan's consent page.</li>
        <li><b>Static IP:</b> Dhan only accepts orders from the static IP registered on your account. Register the public IP of the machine running this platform before trading.</li>
      </ol>
      <div className="mb-3 flex gap-2 text-sm">
        <Button variant={flow === "token" ? "primary" : "secondary"} onClick={() => setFlow("token")}>Access token</Button>
        <Button variant={flow === "apikey" ? "primary" : "secondary"} onClick={() => setFlow("apikey")}>API key (consent)</Button>
      </div>
      {flow === "token" && (
        <form className="grid gap-3 sm:grid-cols-2" onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          link.mutate({ broker: "dhan", dhanClientId: String(f.get("dhanClientId")), accessToken: String(f.get("accessToken")), label: String(f.get("label") || "Dhan"), startingCapital: null });
        }}>
          <Field label="Client id" name="dhanClientId" error={fe.dhanClientId} />
          <Field label="Label" name="label" defaultValue="Dhan" error={fe.label} />
          <div className="sm:col-span-2"><Field label="Access token" name="accessToken" type="password" autoComplete="off" error={fe.accessToken} /></div>
          <div className="sm:col-span-2"><FormError error={err} /></div>
          <div className="flex gap-2 sm:col-span-2">
            <Button type="submit" disabled={link.isPending}>Link account</Button>
            <Button type="button" variant="ghost" onClick={onDone}>Cancel</Button>
          </div>
        </form>
      )}
      {flow === "apikey" && !consent && (
        <form className="grid gap-3 sm:grid-cols-2" onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          start.mutate({ accountId: null, dhanClientId: String(f.get("dhanClientId")), apiKey: String(f.get("apiKey")), apiSecret: String(f.get("apiSecret")), label: String(f.get("label") || "Dhan") });
        }}>
          <Field label="Client id" name="dhanClientId" error={fe.dhanClientId} />
          <Field label="Label" name="label" defaultValue="Dhan" error={fe.label} />
          <Field label="API key" name="apiKey" autoComplete="off" error={fe.apiKey} />
          <Field label="API secret" name="apiSecret" type="password" autoComplete="off" error={fe.apiSecret} />
          <div className="sm:col-span-2"><FormError error={err} /></div>
          <div className="flex gap-2 sm:col-span-2">
            <Button type="submit" disabled={start.isPending}>Continue to Dhan</Button>
            <Button type="button" variant="ghost" onClick={onDone}>Cancel</Button>
          </div>
        </form>
      )}
      {flow === "apikey" && consent && (
        <form className="space-y-3" onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          complete.mutate(String(new FormData(e.currentTarget).get("tokenId")));
        }}>
          <p className="text-sm">Log in on <a className="text-indigo-600 underline" href={consent.loginUrl} target="_blank" rel="noopener noreferrer">Dhan's consent page</a>. After you approve, Dhan redirects with a <code>tokenId</code> in the address: paste it here.</p>
          <Field label="tokenId" name="tokenId" error={fe.tokenId} />
          <FormError error={err} />
          <Button type="submit" disabled={complete.isPending}>Finish linking</Button>
        </form>
      )}
    </Card>
  );
}
