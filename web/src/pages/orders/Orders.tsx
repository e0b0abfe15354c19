import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { downloadCsv } from "../../lib/csv";
import { Badge, Button, Card, ListState, PageTitle, inr, td, th, when } from "../../components/ui";
import { OrderTicket } from "./OrderTicket";

type Order = Schemas["Order"];
const OPEN = new Set(["received", "sending", "placed", "accepted", "partially_filled"]);
const TONE: Record<string, "green" | "red" | "amber" | "slate" | "blue"> = {
  filled: "green", cancelled: "slate", rejected: "red", failed: "red", expired: "slate", stale: "amber",
  partially_filled: "blue", accepted: "blue", placed: "blue", received: "amber", sending: "amber",
};

export function Orders() {
  const [tab, setTab] = useState<"orders" | "trades">("orders");
  return (
    <>
      <PageTitle>Orders</PageTitle>
      <div className="grid gap-4 lg:grid-cols-[22rem_1fr]">
        <OrderTicket />
        <div>
          <div className="mb-2 flex gap-1">
            <Button variant={tab === "orders" ? "primary" : "secondary"} onClick={() => setTab("orders")}>Order book</Button>
            <Button variant={tab === "trades" ? "primary" : "secondary"} onClick={() => setTab("trades")}>Trades</Button>
          </div>
          {tab === "orders" ? <OrderBook /> : <Trades />}
        </div>
      </div>
    </>
  );
}

function OrderBook() {
  const qc = useQueryClient();
  const [status, setStatus] = useState("");
  const q = useQuery({
    queryKey: ["order", status],
    queryFn: () => call(api.GET("/api/orders", { params: { query: { pageSize: 100, status: (status || undefined) as Order["status"] | undefined } } })),
  });
  const cancel = useMutation({
    mutationFn: (orderId: string) => call(api.PUT("/api/orders/{orderId}/cancel", { params: { path: { orderId } } })),
    onSettled: () => qc.invalidateQueries({ queryKey: ["order"] }),
  });
  return (
    <Card title="Order book" actions={
      <select aria-label="Status filter" value={status} onChange={(e) => setStatus(e.target.value)} className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-700 dark:bg-slate-900">
        <option value="">All</option>
        {Object.keys(TONE).map((s) => <option key={s} value={s}>{s.replace("_", " ")}</option>)}
      </select>
    }>
      <ListState loading={q.isLoading} error={q.error} empty={!q.data?.items.length} emptyText="No orders yet.">
        <div className="overflow-x-auto">
          <table className="w-full" data-testid="order-book">
            <thead><tr><th className={th}>Time</th><th className={th}>Instrument</th><th className={th}>Side</th><th className={th}>Qty</th><th className={th}>Type</th><th className={th}>Price</th><th className={th}>Status</th><th className={th}></th></tr></thead>
            <tbody>
              {q.data?.items.map((o) => (
                <tr key={o.id} data-order-id={o.id} className="border-t border-slate-100 dark:border-slate-800">
                  <td className={td}>{when(o.createdAt)}</td>
                  <td className={td}>{o.exchangeSegment} {o.securityId}</td>
                  <td className={`${td} ${o.transactionType === "BUY" ? "text-emerald-600" : "text-rose-600"}`}>{o.transactionType}</td>
                  <td className={td}>{o.filledQuantity ?? 0}/{o.quantity}</td>
                  <td className={td}>{o.orderType}{o.deploymentId ? " · strategy" : ""}</td>
                  <td className={td}>{o.averagePrice ? inr(o.averagePrice) : o.price ? inr(o.price) : "market"}</td>
                  <td className={td}><Badge tone={TONE[o.status] ?? "slate"}><span data-testid="order-status">{o.status.replace("_", " ")}</span></Badge>{o.reason && <p className="text-xs text-slate-500">{o.reason}</p>}</td>
                  <td className={td}>{OPEN.has(o.status) && (
                    <Button variant="ghost" onClick={() => confirm("Cancel this order?") && cancel.mutate(o.id)}>Cancel</Button>
                  )}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ListState>
    </Card>
  );
}

function Trades() {
  // A broker's trade book can trail its order events (reconciliation records fills): poll too.
  const q = useQuery({
    queryKey: ["trade"], refetchInterval: 5000,
    queryFn: () => call(api.GET("/api/fills", { params: { query: { pageSize: 100 } } })),
  });
  return (
    <Card title="Trades" actions={
      <Button variant="secondary" disabled={!q.data?.items.length} onClick={() => downloadCsv("fills.csv", q.data!.items)}>Export CSV</Button>
    }>
      <ListState loading={q.isLoading} error={q.error} empty={!q.data?.items.length} emptyText="No trades yet.">
        <div className="overflow-x-auto">
          <table className="w-full">
            <thead><tr><th className={th}>Time</th><th className={th}>Instrument</th><th className={th}>Side</th><th className={th}>Qty</th><th className={th}>Price</th><th className={th}>Charges</th></tr></thead>
            <tbody>
              {q.data?.items.map((t) => (
                <tr key={t.id} className="border-t border-slate-100 dark:border-slate-800">
                  <td className={td}>{when(t.tradedAt)}</td><td className={td}>{t.exchangeSegment} {t.securityId}</td>
                  <td className={td}>{t.transactionType}</td><td className={td}>{t.quantity}</td>
                  <td className={td}>{inr(t.price)}</td><td className={td}>{inr(t.charges)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ListState>
    </Card>
  );
}
