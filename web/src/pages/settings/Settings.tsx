import { NavLink, Route, Routes } from "react-router";
import { PageTitle } from "../../components/ui";
import { Password, Profile } from "./Profile";
import { TwoFactor } from "./TwoFactor";
import { ApiKeys } from "./ApiKeys";
import { PreferencesForm } from "./Preferences";
import { EventFeed } from "./EventFeed";
import { Webhooks } from "./Webhooks";
import { hasRoute } from "../../api/client";

const TABS = [
  ["", "Profile", null], ["password", "Password", null], ["security", "Two-factor", null], ["api-keys", "API keys", null],
  ["preferences", "Preferences", null], ["webhooks", "Webhooks", "/api/notifications/webhooks"],
  ["event-feed", "Event feed", "/api/user/event-credentials"],
] as const;

export function Settings() {
  return (
    <div className="max-w-3xl">
      <PageTitle>Settings</PageTitle>
      <nav className="mb-4 flex flex-wrap gap-1 border-b border-slate-200 dark:border-slate-800">
        {TABS.filter(([, , route]) => !route || hasRoute(route)).map(([to, label]) => (
          <NavLink key={to} to={`/settings/${to}`} end
            className={({ isActive }) => `px-3 py-2 text-sm ${isActive ? "border-b-2 border-indigo-600 font-medium" : "text-slate-500"}`}>
            {label}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route index element={<Profile />} />
        <Route path="password" element={<Password />} />
        <Route path="security" element={<TwoFactor />} />
        <Route path="api-keys" element={<ApiKeys />} />
        <Route path="preferences" element={<PreferencesForm />} />
        <Route path="webhooks" element={<Webhooks />} />
        <Route path="event-feed" element={<EventFeed />} />
      </Routes>
    </div>
  );
}
