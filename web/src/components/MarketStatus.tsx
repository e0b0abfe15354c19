// The top bar's market status (NSE equity session), from /api/market/status.
import { useQuery } from "@tanstack/react-query";
import { api, call } from "../api/client";

export function MarketStatus() {
  const q = useQuery({ queryKey: ["market", "status"], queryFn: () => call(api.GET("/api/market/status", { params: { query: {} } })), refetchInterval: 60_000 });
  const nse = q.data?.segments.find((s) => s.segment === "NSE_EQ") ?? q.data?.segments[0];
  if (!nse) return null;
  return (
    <span className="flex items-center gap-1 text-xs" data-testid="market-status">
      <span className={`inline-block h-2 w-2 rounded-full ${nse.open ? "bg-emerald-500" : "bg-rose-500"}`} />
      NSE {nse.open ? "open" : nse.holiday ? `closed (${nse.holiday})` : "closed"}
    </span>
  );
}
