import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, hasRoute, type Schemas } from "../../api/client";
import { toast } from "../../lib/toasts";
import { Badge, Button, Card, ListState, Modal, PageTitle, inr, when } from "../../components/ui";
import { LinkDhan, LinkPaper } from "./LinkForms";

type Account = Schemas["Account"];

export const STATUS_TONE: Record<string, "green" | "amber" | "red" | "slate"> = {
  active: "green", pending_consent: "amber", reauth_required: "red", disconnected: "red", inactive: "slate",
};

export function useAccounts() {
  return useQuery({ queryKey: ["account"], queryFn: () => call(api.GET("/api/brokerages")) });
}

export function Brokerage() {
  const list = useAccounts();
  const [adding, setAdding] = useState<"dhan" | "paper" | null>(null);
  return (
    <>
      <PageTitle actions={
        <div className="flex gap-2">
          <Button onClick={() => setAdding("dhan")}>Link Dhan account</Button>
          <Button variant="secondary" onClick={() => setAdding("paper")}>Link paper account</Button>
        </div>
      }>Brokerage accounts</PageTitle>
      {adding === "dhan" && <LinkDhan onDone={() => setAdding(null)} />}
      {adding === "paper" && <LinkPaper onDone={() => setAdding(null)} />}
      <ListState loading={list.isLoading} error={list.error} empty={!list.data?.items.length}
        emptyText="No accounts linked yet. Link a Dhan account to trade, or a paper account to practise.">
        <div className="grid gap-4 md:grid-cols-2">
          {list.data?.items.map((a) => <AccountCard key={a.id} account={a} />)}
        </div>
      </ListState>
    </>
  );
}

function AccountCard({ account: a }: { account: Account }) {
  const qc = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const health = useQuery({
    queryKey: ["account", a.id, "status"],
    queryFn: () => call(api.GET("/api/brokerages/{accountId}/status", { params: { path: { accountId: a.id } } })),
  });
  const test = useMutation({
    mutationFn: () => call(api.POST("/api/brokerages/{accountId}/test", { params: { path: { accountId: a.id } } })),
    onSuccess: (r) => toast(r.ok ? "Connection works" : "Connection failed", r.message, r.ok ? "success" : "error"),
    onError: (e: Error) => toast("Connection test failed", e.message, "error"),
  });
  const unlink = useMutation({
    mutationFn: () => call(api.DELETE("/api/brokerages/{accountId}", { params: { path: { accountId: a.id } } })),
    onSuccess: () => {
      setConfirming(false);
      qc.invalidateQueries({ queryKey: ["account"] });
    },
  });
  const kill = useMutation({
    mutationFn: (activate: boolean) => call(api.POST("/api/brokerages/killswitch", { body: { accountId: a.id, activate, cancelOpenOrders: activate } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["account"] }),
  });
  return (
    <Card title={<span data-testid="account-label">{a.label}</span>} actions={<Badge tone={STATUS_TONE[a.status] ?? "slate"}>{a.status.replace("_", " ")}</Badge>}>
      <dl className="grid grid-cols-2 gap-y-1 text-sm">
        <dt className="text-slate-500">Broker</dt><dd>{a.broker === "paper" ? "Paper (simulated)" : "Dhan"}</dd>
        {a.dhanClientId && <><dt className="text-slate-500">Client id</dt><dd>{a.dhanClientId}</dd></>}
        {a.startingCapital && <><dt className="text-slate-500">Starting capital</dt><dd>{inr(a.startingCapital)}</dd></>}
        {a.tokenExpiresAt && <><dt className="text-slate-500">Token expires</dt><dd>{when(a.tokenExpiresAt)}</dd></>}
        <dt className="text-slate-500">Last synced</dt><dd>{when(a.lastSyncedAt)}</dd>
        {health.data && <><dt className="text-slate-500">Open orders</dt><dd>{health.data.openOrders ?? 0}</dd></>}
        {health.data?.lastError && <><dt className="text-slate-500">Last error</dt><dd className="text-rose-600">{health.data.lastError}</dd></>}
        {a.killSwitch && <><dt className="text-slate-500">Kill switch</dt><dd><Badge tone="red">ON — trading stopped</Badge></dd></>}
      </dl>
      <div className="mt-4 flex flex-wrap gap-2">
        <Button variant="secondary" onClick={() => test.mutate()} disabled={test.isPending}>Test connection</Button>
        {hasRoute("/api/brokerages/killswitch") && (
          <Button variant={a.killSwitch ? "secondary" : "danger"} onClick={() => (a.killSwitch || confirm("Stop all trading on this account and cancel its open orders?")) && kill.mutate(!a.killSwitch)}>
            {a.killSwitch ? "Release kill switch" : "Kill switch"}
          </Button>
        )}
        <Button variant="ghost" onClick={() => setConfirming(true)}>Unlink</Button>
      </div>
      {confirming && (
        <Modal title={`Unlink ${a.label}?`} onClose={() => setConfirming(false)}>
          <p className="mb-4 text-sm">Its stored credentials are deleted. Orders and trades stay in your history.</p>
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={() => setConfirming(false)}>Keep it</Button>
            <Button variant="danger" onClick={() => unlink.mutate()} disabled={unlink.isPending}>Unlink</Button>
          </div>
        </Modal>
      )}
    </Card>
  );
}
