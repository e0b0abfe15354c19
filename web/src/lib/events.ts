// What a live event means to a trader, for toasts and for re-reading affected queries.
import type { WsEvent } from "./ws";

type Described = { title: string; body?: string; tone: "info" | "error" | "success" };

const get = (d: Record<string, unknown>, camel: string, snake: string) => d[camel] ?? d[snake];

/** Return a toast for an event, or null for events that are not worth interrupting for. */
export function describeEvent(e: WsEvent): Described | null {
  const [, , domain, name] = e.subject.split(".");
  const d = e.data;
  if (domain === "order") {
    const side = String(get(d, "transactionType", "transaction_type") ?? "");
    const qty = String(d.quantity ?? "");
    const sec = String(get(d, "securityId", "security_id") ?? "");
    const bad = ["rejected", "failed", "stale"].includes(name);
    return { title: `Order ${name.replace("_", " ")}`, body: `${side} ${qty} × ${sec}${d.reason ? ` — ${String(d.reason)}` : ""}`, tone: bad ? "error" : name === "filled" ? "success" : "info" };
  }
  if (domain === "account") {
    return { title: `Account ${name.replace("_", " ")}`, body: d.reason ? String(d.reason) : undefined, tone: name === "linked" ? "success" : name === "unlinked" ? "info" : "error" };
  }
  if (domain === "notification") {
    return { title: String(d.title ?? "Notification"), body: d.body ? String(d.body) : undefined, tone: "info" };
  }
  return null;
}

/** Query keys to re-read when an event of this domain arrives. */
export function affectedQueries(subject: string): string[] {
  const domain = subject.split(".")[2];
  if (domain === "order" || domain === "trade") return ["order", "trade", "portfolio"];
  if (domain === "account") return ["account", "portfolio"];
  return [domain];
}
