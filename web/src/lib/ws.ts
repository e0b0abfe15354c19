// The /ws connection: authenticate in the first message, then receive this user's events and
// (once marketdata serves them) ticks of subscribed instruments. Reconnects with backoff.
import { refreshSession } from "../api/client";
import { session } from "./session";

export type Instrument = { segment: string; securityId: string };
export type WsEvent = { subject: string; data: Record<string, unknown> };
type Tick = Record<string, unknown> & { segment?: string; securityId?: string };

const eventListeners = new Set<(e: WsEvent) => void>();
const tickListeners = new Map<string, Set<(t: Tick) => void>>();
const statusListeners = new Set<(s: WsStatus) => void>();
export type WsStatus = { connected: boolean; marketData: "unknown" | "live" | "unavailable" };

let socket: WebSocket | null = null;
let status: WsStatus = { connected: false, marketData: "unknown" };
let retryMs = 500;
let timer: ReturnType<typeof setTimeout> | null = null;
let wanted = false;

const key = (i: Instrument) => `${i.segment}:${i.securityId}`;

function setStatus(next: Partial<WsStatus>) {
  status = { ...status, ...next };
  statusListeners.forEach((l) => l(status));
}

function send(msg: object) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

function instruments(): Instrument[] {
  return [...tickListeners.keys()].map((k) => {
    const [segment, securityId] = k.split(":");
    return { segment, securityId };
  });
}

function connect() {
  const token = session.token();
  if (!wanted || !token || socket) return;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws`);
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { type: string; [k: string]: unknown };
    if (msg.type === "ready") {
      retryMs = 500;
      setStatus({ connected: true });
      const subs = instruments();
      if (subs.length) send({ type: "subscribe", instruments: subs });
    } else if (msg.type === "event") {
      const e = { subject: String(msg.subject), data: (msg.data ?? {}) as Record<string, unknown> };
      eventListeners.forEach((l) => l(e));
    } else if (msg.type === "tick") {
      const t = (msg.data ?? {}) as Tick;
      setStatus({ marketData: "live" });
      const ls = tickListeners.get(`${t.segment}:${t.securityId}`);
      ls?.forEach((l) => l(t));
    } else if (msg.type === "error" && msg.error === "NOT_AVAILABLE") {
      // The gateway has no market data yet: charts stay on history, quotes on HTTP.
      setStatus({ marketData: "unavailable" });
    }
  };
  ws.onclose = async (ev) => {
    socket = null;
    setStatus({ connected: false });
    if (!wanted) return;
    if (ev.code === 4401 && !(await refreshSession())) {
      session.expire();
      return;
    }
    timer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
}

export const live = {
  /** Open the socket for the signed-in user (idempotent). */
  start() {
    wanted = true;
    connect();
  },
  /** Close the socket (sign-out). */
  stop() {
    wanted = false;
    if (timer) clearTimeout(timer);
    socket?.close(1000);
    socket = null;
  },
  onEvent(l: (e: WsEvent) => void) {
    eventListeners.add(l);
    return () => {
      eventListeners.delete(l);
    };
  },
  onStatus(l: (s: WsStatus) => void) {
    statusListeners.add(l);
    l(status);
    return () => {
      statusListeners.delete(l);
    };
  },
  /** Receive ticks of one instrument until the returned function is called. */
  onTick(i: Instrument, l: (t: Tick) => void) {
    const k = key(i);
    let set = tickListeners.get(k);
    if (!set) {
      set = new Set();
      tickListeners.set(k, set);
      send({ type: "subscribe", instruments: [i] });
    }
    set.add(l);
    return () => {
      set.delete(l);
      if (set.size === 0) {
        tickListeners.delete(k);
        send({ type: "unsubscribe", instruments: [i] });
      }
    };
  },
};
