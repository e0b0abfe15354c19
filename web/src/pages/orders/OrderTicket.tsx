import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { toast } from "../../lib/toasts";
import { useAccounts } from "../brokerage/Brokerage";
import { Button, Card, Field, FormError, Modal, Select, fieldErrors } from "../../components/ui";

type Place = Schemas["PlaceOrder"];
const SEGMENTS: Schemas["ExchangeSegment"][] = ["NSE_EQ", "BSE_EQ", "NSE_FNO", "BSE_FNO", "NSE_CURRENCY", "BSE_CURRENCY", "MCX_COMM"];

/** The manual order ticket; every order is confirmed before it is sent. */
export function OrderTicket() {
  const qc = useQueryClient();
  const accounts = useAccounts();
  const [pending, setPending] = useState<Place | null>(null);
  const [orderType, setOrderType] = useState<Place["orderType"]>("LIMIT");
  const place = useMutation({
    mutationFn: (body: Place) => call(api.POST("/api/orders", { body })),
    onSuccess: (o) => {
      toast("Order sent", `${o.transactionType} ${o.quantity} × ${o.securityId}: ${o.status}`, "success");
      qc.invalidateQueries({ queryKey: ["order"] });
    },
    onSettled: () => setPending(null),
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const s = (k: string) => String(f.get(k) ?? "").trim();
    setPending({
      accountId: s("accountId"), exchangeSegment: s("exchangeSegment") as Place["exchangeSegment"], securityId: s("securityId"),
      transactionType: s("transactionType") as Place["transactionType"], quantity: Number(s("quantity")),
      orderType, productType: s("productType") as Place["productType"], validity: "DAY",
      clientOrderId: null, tag: null, price: s("price") || null, triggerPrice: s("triggerPrice") || null,
    });
  }
  const fe = fieldErrors(place.error);
  const usable = accounts.data?.items.filter((a) => a.status === "active") ?? [];
  return (
    <Card title="Order ticket">
      {accounts.isSuccess && !usable.length ? <p className="text-sm text-slate-500">Link an active account to place orders.</p> : (
        <form className="space-y-3" onSubmit={submit}>
          <Select label="Account" name="accountId" error={fe.accountId}>
            {usable.map((a) => <option key={a.id} value={a.id}>{a.label} ({a.broker})</option>)}
          </Select>
          <div className="grid grid-cols-2 gap-3">
            <Select label="Segment" name="exchangeSegment" error={fe.exchangeSegment}>{SEGMENTS.map((s) => <option key={s}>{s}</option>)}</Select>
            <Field label="Security id" name="securityId" placeholder="2885" required error={fe.securityId} />
            <Select label="Side" name="transactionType" error={fe.transactionType}><option>BUY</option><option>SELL</option></Select>
            <Field label="Quantity" name="quantity" type="number" min={1} defaultValue={1} error={fe.quantity} />
            <Select label="Type" name="orderType" value={orderType} onChange={(e) => setOrderType(e.target.value as Place["orderType"])} error={fe.orderType}>
              <option>LIMIT</option><option>MARKET</option><option>STOP_LOSS</option><option>STOP_LOSS_MARKET</option>
            </Select>
            <Select label="Product" name="productType" error={fe.productType}><option>INTRADAY</option><option>CNC</option><option>MARGIN</option><option>MTF</option></Select>
            {(orderType === "LIMIT" || orderType === "STOP_LOSS") && <Field label="Price" name="price" inputMode="decimal" error={fe.price} />}
            {orderType.startsWith("STOP") && <Field label="Trigger price" name="triggerPrice" inputMode="decimal" error={fe.triggerPrice} />}
          </div>
          <FormError error={place.error} />
          <Button type="submit" className="w-full">Review order</Button>
        </form>
      )}
      {pending && (
        <Modal title="Confirm order" onClose={() => setPending(null)}>
          <p className="mb-4 text-sm" data-testid="order-confirm">
            <b className={pending.transactionType === "BUY" ? "text-emerald-600" : "text-rose-600"}>{pending.transactionType}</b>{" "}
            {pending.quantity} × {pending.exchangeSegment} {pending.securityId}, {pending.orderType}
            {pending.price ? ` at ₹${pending.price}` : ""}{pending.triggerPrice ? `, trigger ₹${pending.triggerPrice}` : ""} ({pending.productType}).
          </p>
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={() => setPending(null)}>Back</Button>
            <Button onClick={() => place.mutate(pending)} disabled={place.isPending}>Place order</Button>
          </div>
        </Modal>
      )}
    </Card>
  );
}
