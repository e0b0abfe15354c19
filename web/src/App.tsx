import { useEffect } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { hasRoute, refreshSession } from "./api/client";
import { session, useSession } from "./lib/session";
import { Layout } from "./components/Layout";
import { Login } from "./pages/auth/Login";
import { Signup } from "./pages/auth/Signup";
import { VerifyEmail } from "./pages/auth/VerifyEmail";
import { ForgotPassword, ResetPassword } from "./pages/auth/Password";
import { Dashboard } from "./pages/Dashboard";
import { Settings } from "./pages/settings/Settings";
import { AdminUsers, AdminAudit } from "./pages/admin/Admin";
import { Brokerage } from "./pages/brokerage/Brokerage";
import { Orders } from "./pages/orders/Orders";
import { Portfolio } from "./pages/portfolio/Portfolio";
import { MarketSearch } from "./pages/market/Search";
import { InstrumentPage } from "./pages/market/Instrument";
import { Notifications } from "./pages/notifications/Notifications";
import { Strategies } from "./pages/strategies/Strategies";
import { StrategyBuilder } from "./pages/strategies/Builder";
import { BacktestForm } from "./pages/backtests/BacktestForm";
import { BacktestPage } from "./pages/backtests/Backtest";
import { BacktestCompare, BacktestHistory } from "./pages/backtests/History";
import { Deployments } from "./pages/deployments/Deployments";
import { DeploymentMonitor } from "./pages/deployments/Monitor";
import { TradesPage } from "./pages/trades/Trades";


function Protected({ children }: { children: React.ReactNode }) {
  const s = useSession();
  const loc = useLocation();
  if (s.status === "loading") return <p className="p-8 text-center text-slate-500">Loading…</p>;
  if (s.status === "signedOut") return <Navigate to="/login" replace />;
  if (s.status !== "signedIn") {
    return <Navigate to="/login" replace state={{ from: loc.pathname, expired: s.status === "expired" }} />;
  }
  return <>{children}</>;
}

export function App() {
  useEffect(() => {
    // A reload keeps no access token: the refresh cookie, if valid, restores the session.
    refreshSession().then((ok) => ok || session.signOut("anonymous"));
  }, []);
  return (
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route path="/signup" element={<Signup />} />
      <Route path="/verify-email" element={<VerifyEmail />} />
      <Route path="/forgot-password" element={<ForgotPassword />} />
      <Route path="/reset-password" element={<ResetPassword />} />
      <Route element={<Protected><Layout /></Protected>}>
        <Route index element={<Dashboard />} />
        <Route path="settings/*" element={<Settings />} />
        <Route path="admin/users" element={<AdminUsers />} />
        <Route path="admin/audit" element={<AdminAudit />} />
        {hasRoute("/api/brokerages") && <Route path="brokerage" element={<Brokerage />} />}
        {hasRoute("/api/orders") && <Route path="orders" element={<Orders />} />}
        {hasRoute("/api/portfolio/summary") && <Route path="portfolio" element={<Portfolio />} />}
        {hasRoute("/api/market/instruments") && <Route path="market" element={<MarketSearch />} />}
        {hasRoute("/api/market/quote/{symbol}") && <Route path="market/:segment/:securityId" element={<InstrumentPage />} />}
        {hasRoute("/api/notifications") && <Route path="notifications" element={<Notifications />} />}
        {hasRoute("/api/strategies") && <Route path="strategies" element={<Strategies />} />}
        {hasRoute("/api/strategies") && <Route path="strategies/new" element={<StrategyBuilder />} />}
        {hasRoute("/api/strategies/{id}") && <Route path="strategies/:id" element={<StrategyBuilder />} />}
        {hasRoute("/api/backtests/history") && <Route path="backtests" element={<BacktestHistory />} />}
        {hasRoute("/api/backtests") && <Route path="backtests/new" element={<BacktestForm />} />}
        {hasRoute("/api/analytics/compare") && <Route path="backtests/compare" element={<BacktestCompare />} />}
        {hasRoute("/api/backtests/{id}") && <Route path="backtests/:id" element={<BacktestPage />} />}
        {hasRoute("/api/deployments") && <Route path="deployments" element={<Deployments />} />}
        {hasRoute("/api/deployments/{id}") && <Route path="deployments/:id" element={<DeploymentMonitor />} />}
        {hasRoute("/api/trades") && <Route path="trades" element={<TradesPage />} />}

      </Route>
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
