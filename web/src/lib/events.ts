// What a live event means to a trader, for toasts and for re-reading affected queries.
import type { WsEvent } from "./ws";

type Described = { title: string; body?: string; tone: "info" | "error" | "success" };

const get = (d: Record<string, unknown>, camel: string, snake: string) => d[camel] ?? d[snake];

// Order changes that the notify service does not turn into a notification of its own.
const UNNOTIFIED_ORDER_EVENTS = new Set(["accepted", "partially_filled", "cancelled", "expired"]);

/**
 * Return a toast for an event, or null for events not worth interrupting for. When the
 * notify service runs (`notifications`), its notifications are the toasts and order events
 * only toast for the changes it does not notify about.
 */
export function describeEvent(e: WsEvent, notifications = false): Described | null {
  const [, , domain, name] = e.subject.split(".");
  const d = e.data;
  if (domain === "order") {
    if (notifications && !UNNOTIFIED_ORDER_EVENTS.has(name)) return null;
    const side = String(get(d, "transactionType", "transaction_type") ?? "");
    const qty = String(d.quantity ?? "");
    const sec = String(get(d, "securityId", "security_id") ?? "");
    const bad = ["rejected", "failed", "stale"].includes(name);
    return { title: `Order ${name.replace("_", " ")}`, body: `${side} ${qty} × ${sec}${d.reason ? ` — ${String(d.reason)}` : ""}`, tone: bad ? "error" : name === "filled" ? "success" : "info" };
  }
  if (domain === "account") {
    // Linking and unlinking are the user's own clicks, already confirmed on the page.
    if (name === "linked" || name === "unlinked") return null;
    return { title: `Account ${name.replace("_", " ")}`, body: d.reason ? String(d.reason) : undefined, tone: name === "linked" ? "success" : name === "unlinked" ? "info" : "error" };
  }
  if (domain === "deployment" && ["halted", "entries_paused"].includes(name)) {
    return { title: name === "halted" ? "Deployment halted" : "Entries paused", body: d.reason ? String(d.reason) : undefined, tone: "error" };
  }
  if (domain === "notification") {
    if (name !== "created") return null; // a read, a delete or a grouped repeat is not news
    const sev = String(d.severity ?? "info");
    return { title: String(d.title ?? "Notification"), body: d.message ? String(d.message) : undefined,
      tone: sev === "success" ? "success" : sev === "error" || sev === "critical" ? "error" : "info" };
  }
  return null;
}

/** Query keys to re-read when an event of this domain arrives. */
export function affectedQueries(subject: string): string[] {
  const domain = subject.split(".")[2];
  if (domain === "order") return ["order", "trade", "portfolio", "deployment"];
  if (domain === "trade") return ["trade", "portfolio", "deployment"];
  if (domain === "signal" || domain === "deployment") return ["deployment", "strategy"];
  if (domain === "backtest") return ["backtest", "strategy"];
  if (domain === "account") return ["account", "portfolio"];
  if (domain === "notification") return ["notification"];
  return [domain];
}
