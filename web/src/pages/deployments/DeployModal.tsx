import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { useMutation } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { useAccounts } from "../brokerage/Brokerage";
import { Button, Field, FormError, Modal, Select, fieldErrors } from "../../components/ui";

type Create = Schemas["CreateDeployment"];

/** Deploy a strategy on an account, with its risk limits; the risk must be acknowledged. */
export function DeployModal({ strategy, onClose }: { strategy: Schemas["Strategy"]; onClose: () => void }) {
  const nav = useNavigate();
  const accounts = useAccounts();
  const [ack, setAck] = useState(false);
  const deploy = useMutation({
    mutationFn: (body: Create) => call(api.POST("/api/deployments", { body })),
    onSuccess: (d) => nav(`/deployments/${d.id}`),
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const s = (k: string) => String(f.get(k) ?? "").trim();
    const n = (k: string) => (s(k) ? Number(s(k)) : null);
    deploy.mutate({
      strategyId: strategy.id, strategyVersion: strategy.version, accountId: s("accountId"), riskAcknowledged: ack,
      quantity: n("quantity"), maxQuantity: n("maxQuantity"), maxPositions: n("maxPositions"),
      maxNotional: s("maxNotional") || null, dailyLossLimit: s("dailyLossLimit") || null, accountDailyLossLimit: s("accountDailyLossLimit") || null,
    });
  }
  const fe = fieldErrors(deploy.error);
  const usable = accounts.data?.items.filter((a) => a.status === "active") ?? [];
  return (
    <Modal title={`Deploy ${strategy.name} v${strategy.version}`} onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        <div role="note" className="rounded-md bg-amber-50 p-3 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200">
          <b>Risk warning.</b> A deployed strategy places real orders on its own whenever its rules fire. Past backtest results do not
          guarantee future returns; you can lose more than you expect. Use a paper account first, set limits, and keep the kill switch at hand.
        </div>
        <Select label="Account" name="accountId" error={fe.accountId}>
          {usable.map((a) => <option key={a.id} value={a.id}>{a.label} ({a.broker === "paper" ? "paper" : "Dhan — real money"})</option>)}
        </Select>
        <div className="grid grid-cols-2 gap-3">
          <Field label="Quantity per entry" name="quantity" type="number" min={1} defaultValue={strategy.positionSize} error={fe.quantity} />
          <Field label="Max quantity" name="maxQuantity" type="number" min={1} error={fe.maxQuantity} />
          <Field label="Max positions" name="maxPositions" type="number" min={1} defaultValue={strategy.maxPositions} error={fe.maxPositions} />
          <Field label="Max notional (₹)" name="maxNotional" inputMode="decimal" error={fe.maxNotional} />
          <Field label="Daily loss limit (₹)" name="dailyLossLimit" inputMode="decimal" error={fe.dailyLossLimit} />
          <Field label="Account daily loss limit (₹)" name="accountDailyLossLimit" inputMode="decimal" error={fe.accountDailyLossLimit} />
        </div>
        <label className="flex items-start gap-2 text-sm">
          <input type="checkbox" checked={ack} onChange={(e) => setAck(e.target.checked)} className="mt-1" />
          I understand the risk and that this strategy will trade without asking me.
        </label>
        {fe.riskAcknowledged && <p role="alert" className="text-xs text-rose-600">{fe.riskAcknowledged}</p>}
        <FormError error={deploy.error} />
        <div className="flex justify-end gap-2">
          <Button type="button" variant="secondary" onClick={onClose}>Cancel</Button>
          <Button type="submit" disabled={!ack || deploy.isPending || !usable.length}>Deploy</Button>
        </div>
      </form>
    </Modal>
  );
}
