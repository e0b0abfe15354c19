import type { FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { Button, Card, Field, FormError, PageTitle, Select, fieldErrors } from "../../components/ui";

type Create = Schemas["CreateBacktest"];

export function BacktestForm() {
  const nav = useNavigate();
  const [params] = useSearchParams();
  const strategies = useQuery({ queryKey: ["strategy", "list", "", ""], queryFn: () => call(api.GET("/api/strategies", { params: { query: { pageSize: 100 } } })) });
  const run = useMutation({
    mutationFn: (body: Create) => call(api.POST("/api/backtests", { body })),
    onSuccess: (b) => nav(`/backtests/${b.id}`),
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const s = (k: string) => String(f.get(k) ?? "").trim();
    run.mutate({
      strategyId: s("strategyId"), strategyVersionId: null, fromDate: s("fromDate"), toDate: s("toDate"),
      interval: (s("interval") || null) as Create["interval"], initialCapital: s("initialCapital"),
      slippageBps: Number(s("slippageBps")), costs: f.get("costs") === "on",
    });
  }
  const fe = fieldErrors(run.error);
  return (
    <>
      <PageTitle>New backtest</PageTitle>
      <Card className="max-w-2xl">
        <form onSubmit={submit} className="grid gap-3 sm:grid-cols-2">
          <div className="sm:col-span-2">
            <Select label="Strategy" name="strategyId" defaultValue={params.get("strategyId") ?? undefined} key={strategies.data ? "loaded" : "loading"} error={fe.strategyId}>
              {strategies.data?.items.map((s) => <option key={s.id} value={s.id}>{s.name} (v{s.version}, {s.instrument.symbol} {s.timeframe})</option>)}
            </Select>
          </div>
          <Field label="From" name="fromDate" type="date" defaultValue="2024-01-01" error={fe.fromDate} />
          <Field label="To" name="toDate" type="date" defaultValue="2024-12-31" error={fe.toDate} />
          <Select label="Interval" name="interval" defaultValue="" error={fe.interval}>
            <option value="">Strategy's timeframe</option>{["1m", "5m", "15m", "1h", "1d"].map((i) => <option key={i}>{i}</option>)}
          </Select>
          <Field label="Initial capital (₹)" name="initialCapital" type="number" min={1} defaultValue={100000} error={fe.initialCapital} />
          <Field label="Slippage (bps)" name="slippageBps" type="number" min={0} step="0.1" defaultValue={5} error={fe.slippageBps} />
          <label className="flex items-center gap-2 self-end pb-2 text-sm"><input type="checkbox" name="costs" defaultChecked /> Include Indian charges (brokerage, STT, GST…)</label>
          <div className="sm:col-span-2"><FormError error={run.error} /></div>
          <div className="sm:col-span-2"><Button type="submit" disabled={run.isPending}>Run backtest</Button></div>
        </form>
      </Card>
    </>
  );
}
