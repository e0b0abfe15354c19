// The top bar's bell: unread count, refreshed by live notification events.
import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, call } from "../../api/client";

export function Bell() {
  const q = useQuery({ queryKey: ["notification", "unread"], queryFn: () => call(api.GET("/api/notifications/unread-count")) });
  const n = q.data?.count ?? 0;
  return (
    <Link to="/notifications" aria-label={`Notifications (${n} unread)`} className="relative rounded-md px-2 py-1 hover:bg-slate-100 dark:hover:bg-slate-800">
      <svg aria-hidden viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round">
        <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" /><path d="M13.73 21a2 2 0 0 1-3.46 0" />
      </svg>
      {n > 0 && (
        <span data-testid="unread-count" className="absolute -top-1 -right-1 min-w-5 rounded-full bg-rose-600 px-1 text-center text-xs font-semibold text-white">
          {n > 99 ? "99+" : n}
        </span>
      )}
    </Link>
  );
}
