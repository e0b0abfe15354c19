// The prominent, always-visible kill switch: stops trading on every account at once.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, call } from "../api/client";
import { toast } from "../lib/toasts";
import { Button, FormError, Modal } from "./ui";

export function KillSwitch() {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const kill = useMutation({
    mutationFn: () => call(api.POST("/api/killswitch", { body: { brokerKillSwitch: true, reason: "kill switch in the web app" } })),
    onSuccess: (r) => {
      setOpen(false);
      toast("Kill switch on", `${r.stoppedDeployments} deployment(s) stopped, ${r.cancelledOrders} open order(s) cancelled, ${r.exitIntents} position(s) being closed.`, "error");
      qc.invalidateQueries();
    },
  });
  return (
    <>
      <button onClick={() => setOpen(true)} className="rounded-md bg-rose-600 px-3 py-1 text-sm font-semibold text-white hover:bg-rose-500">
        Kill switch
      </button>
      {open && (
        <Modal title="Stop all trading?" onClose={() => setOpen(false)}>
          <p className="mb-4 text-sm">Every deployment stops, open orders are cancelled, positions are closed, and every linked account refuses new orders. Release the accounts one by one on the Brokerage page.</p>
          <FormError error={kill.error} />
          <div className="mt-4 flex justify-end gap-2">
            <Button variant="secondary" onClick={() => setOpen(false)}>Keep trading</Button>
            <Button variant="danger" onClick={() => kill.mutate()} disabled={kill.isPending}>Stop everything</Button>
          </div>
        </Modal>
      )}
    </>
  );
}
