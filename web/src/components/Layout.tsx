// The signed-in shell: sidebar, top bar (live status, theme, account), toasts for live events.
import { useEffect, useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { api, hasRoute } from "../api/client";
import { session, useSession } from "../lib/session";
import { live, type WsStatus } from "../lib/ws";
import { applyTheme, currentTheme, type Theme } from "../lib/theme";
import { toast, Toaster } from "../lib/toasts";
import { KillSwitch } from "./KillSwitch";
import { MarketStatus } from "./MarketStatus";
import { Bell } from "../pages/notifications/Bell";
import { affectedQueries, describeEvent } from "../lib/events";

type NavItem = { to: string; label: string; route: string | null; admin?: boolean };
// An entry shows only when the generated schema has its API: no screen pretends.
const NAV: NavItem[] = [
  { to: "/", label: "Dashboard", route: null },
  { to: "/market", label: "Market", route: "/api/market/instruments" },
  { to: "/strategies", label: "Strategies", route: "/api/strategies" },
  { to: "/backtests", label: "Backtests", route: "/api/backtests/history" },
  { to: "/deployments", label: "Deployments", route: "/api/deployments" },
  { to: "/trades", label: "Trades", route: "/api/trades" },
  { to: "/brokerage", label: "Brokerage", route: "/api/brokerages" },
  { to: "/orders", label: "Orders", route: "/api/orders" },
  { to: "/portfolio", label: "Portfolio", route: "/api/portfolio/summary" },
  { to: "/notifications", label: "Notifications", route: "/api/notifications" },
  { to: "/settings", label: "Settings", route: null },
  { to: "/admin/users", label: "Users", route: "/api/admin/users", admin: true },
  { to: "/admin/audit", label: "Audit log", route: "/api/admin/logs", admin: true },
];

export function Layout() {
  const { user } = useSession();
  const [open, setOpen] = useState(false);
  const [theme, setTheme] = useState<Theme>(currentTheme());
  const [ws, setWs] = useState<WsStatus>({ connected: false, marketData: "unknown" });
  const nav = useNavigate();
  const qc = useQueryClient();

  useEffect(() => {
    live.start();
    const offStatus = live.onStatus(setWs);
    const offEvent = live.onEvent((e) => {
      const d = describeEvent(e, hasRoute("/api/notifications"));
      if (d) toast(d.title, d.body, d.tone);
      // Whatever the event touched is re-read over HTTP (the source of truth).
      affectedQueries(e.subject).forEach((k) => qc.invalidateQueries({ queryKey: [k] }));
    });
    return () => {
      offStatus();
      offEvent();
      live.stop();
    };
  }, [qc]);

  async function logout() {
    await api.POST("/api/auth/logout", { body: { refreshToken: null } });
    live.stop();
    // Leave first: a signed-out render of this page would remember it as the place to return to.
    nav("/login", { replace: true });
    session.signOut();
    qc.clear();
  }

  function cycleTheme() {
    const next: Theme = theme === "dark" ? "light" : "dark";
    applyTheme(next);
    setTheme(next);
  }

  const items = NAV.filter((n) => (!n.route || hasRoute(n.route)) && (!n.admin || user?.role === "admin"));
  return (
    <div className="flex min-h-full">
      <aside className={`${open ? "block" : "hidden"} fixed inset-y-0 left-0 z-40 w-56 border-r border-slate-200 bg-white p-4 md:static md:block dark:border-slate-800 dark:bg-slate-900`}>
        <p className="mb-6 text-lg font-bold text-indigo-600">AlgoTrade</p>
        <nav className="flex flex-col gap-1" aria-label="Main">
          {items.map((n) => (
            <NavLink key={n.to} to={n.to} end={n.to === "/"} onClick={() => setOpen(false)}
              className={({ isActive }) => `rounded-md px-3 py-2 text-sm ${isActive ? "bg-indigo-50 font-medium text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300" : "hover:bg-slate-100 dark:hover:bg-slate-800"}`}>
              {n.label}
            </NavLink>
          ))}
        </nav>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex items-center gap-3 border-b border-slate-200 bg-white px-4 py-2 dark:border-slate-800 dark:bg-slate-900">
          <button className="md:hidden" aria-label="Menu" onClick={() => setOpen(!open)}>☰</button>
          <span className="flex items-center gap-1 text-xs text-slate-500" data-testid="live-status">
            <span className={`inline-block h-2 w-2 rounded-full ${ws.connected ? "bg-emerald-500" : "bg-slate-400"}`} />
            {ws.connected ? "Live" : "Offline"}
          </span>
          {hasRoute("/api/market/status") && <MarketStatus />}
          <div className="ml-auto flex items-center gap-2">
            {hasRoute("/api/killswitch") && <KillSwitch />}
            {hasRoute("/api/notifications/unread-count") && <Bell />}
            <button onClick={cycleTheme} aria-label="Toggle theme" className="rounded-md px-2 py-1 text-sm hover:bg-slate-100 dark:hover:bg-slate-800">
              {theme === "dark" ? "☀" : "☾"}
            </button>
            <span className="hidden text-sm sm:inline" data-testid="user-name">{user?.name}</span>
            <button onClick={logout} className="rounded-md px-2 py-1 text-sm hover:bg-slate-100 dark:hover:bg-slate-800">Log out</button>
          </div>
        </header>
        {user && !user.emailVerified && (
          <div className="bg-amber-50 px-4 py-2 text-sm text-amber-800 dark:bg-amber-950 dark:text-amber-200">
            Verify your e-mail address to link accounts and trade. <ResendLink />
          </div>
        )}
        <main className="min-w-0 flex-1 p-4 md:p-6"><Outlet /></main>
      </div>
      <Toaster />
    </div>
  );
}

function ResendLink() {
  const [sent, setSent] = useState(false);
  if (sent) return <span>Sent.</span>;
  return (
    <button className="underline" onClick={async () => {
      const r = await api.POST("/api/auth/resend-verification", {});
      if (r.response.ok) setSent(true);
      else toast("Could not resend", (r.error as { message?: string })?.message, "error");
    }}>Resend the link</button>
  );
}
