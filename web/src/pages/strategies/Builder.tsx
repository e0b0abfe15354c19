import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, hasRoute, type Schemas } from "../../api/client";
import { toast } from "../../lib/toasts";
import { Badge, Button, Card, Field, FormError, ListState, PageTitle, Select, fieldErrors, when } from "../../components/ui";
import { RuleEditor } from "./RuleEditor";
import { InstrumentPicker } from "./InstrumentPicker";
import { STRATEGY_TONE } from "./Strategies";
import { DeployModal } from "../deployments/DeployModal";

type Create = Schemas["CreateStrategy"];
type Instrument = Schemas["StrategyInstrument"];

export function StrategyBuilder() {
  const { id } = useParams();
  const nav = useNavigate();
  const qc = useQueryClient();
  const existing = useQuery({
    queryKey: ["strategy", id],
    queryFn: () => call(api.GET("/api/strategies/{id}", { params: { path: { id: id! }, query: {} } })),
    enabled: !!id,
  });
  const versions = useQuery({
    queryKey: ["strategy", id, "versions"],
    queryFn: () => call(api.GET("/api/strategies/{id}/versions", { params: { path: { id: id! } } })),
    enabled: !!id,
  });
  const [instrument, setInstrument] = useState<Instrument | null>(null);
  const [deploying, setDeploying] = useState(false);
  const [entry, setEntry] = useState("");
  const [exit, setExit] = useState("");
  useEffect(() => {
    if (existing.data) {
      setInstrument(existing.data.instrument);
      setEntry(existing.data.entryRule);
      setExit(existing.data.exitRule);
    }
  }, [existing.data]);

  const save = useMutation({
    mutationFn: (body: Create) => id
      ? call(api.PUT("/api/strategies/{id}", { params: { path: { id } }, body }))
      : call(api.POST("/api/strategies", { body })),
    onSuccess: (s) => {
      toast(id ? `Saved as version ${s.version}` : "Strategy created", s.name, "success");
      qc.invalidateQueries({ queryKey: ["strategy"] });
      if (!id) nav(`/strategies/${s.id}`, { replace: true });
    },
  });

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const s = (k: string) => String(f.get(k) ?? "").trim();
    save.mutate({
      name: s("name"), description: s("description"), instrument: instrument!, timeframe: s("timeframe") as Create["timeframe"],
      direction: s("direction") as Create["direction"], productType: s("productType") as Create["productType"],
      entryRule: entry, exitRule: exit, positionSize: Number(s("positionSize")), maxPositions: Number(s("maxPositions")),
      stopLossPct: s("stopLossPct") || null, targetPct: s("targetPct") || null,
    } as Create);
  }
  const fe = fieldErrors(save.error);
  const d = existing.data;
  if (id && existing.isLoading) return <p className="text-sm text-slate-500">Loading…</p>;
  if (id && existing.error) return <FormError error={existing.error} />;
  return (
    <>
      <PageTitle actions={d && (
        <div className="flex items-center gap-2">
          <Badge tone={STRATEGY_TONE[d.status]}>{d.status}</Badge>
          {hasRoute("/api/deployments") && <Button variant="secondary" onClick={() => setDeploying(true)}>Deploy</Button>}
          {hasRoute("/api/backtests") && <Link to={`/backtests/new?strategyId=${d.id}`} className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white">Backtest</Link>}
        </div>
      )}>{d ? d.name : "New strategy"}</PageTitle>
      <div className="grid gap-4 xl:grid-cols-[1fr_18rem]">
        <form onSubmit={submit} className="space-y-4" key={d?.versionId ?? "new"}>
          <Card title="Basics">
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Name" name="name" defaultValue={d?.name} error={fe.name} />
              <InstrumentPicker value={instrument} onChange={setInstrument} error={fe.instrument ?? fe["instrument.securityId"]} />
              <Select label="Timeframe" name="timeframe" defaultValue={d?.timeframe ?? "5m"} error={fe.timeframe}>
                {["1m", "5m", "15m", "1h", "1d"].map((t) => <option key={t}>{t}</option>)}
              </Select>
              <Select label="Direction" name="direction" defaultValue={d?.direction ?? "long"} error={fe.direction}>
                <option value="long">Long</option><option value="short">Short</option>
              </Select>
              <div className="sm:col-span-2"><Field label="Description" name="description" defaultValue={d?.description} error={fe.description} /></div>
            </div>
          </Card>
          <Card title="Rules">
            <div className="space-y-4">
              <RuleEditor name="entryRule" label="Entry rule" value={entry} onChange={setEntry} fieldError={fe.entryRule} />
              <RuleEditor name="exitRule" label="Exit rule" value={exit} onChange={setExit} fieldError={fe.exitRule} />
              <p className="text-xs text-slate-500">Example: <code>sma(close, 10) crosses above sma(close, 30) and time &gt;= 09:30</code></p>
            </div>
          </Card>
          <Card title="Risk">
            <div className="grid gap-3 sm:grid-cols-3">
              <Field label="Position size (qty)" name="positionSize" type="number" min={1} defaultValue={d?.positionSize ?? 1} error={fe.positionSize} />
              <Field label="Max positions" name="maxPositions" type="number" min={1} defaultValue={d?.maxPositions ?? 1} error={fe.maxPositions} />
              <Select label="Product" name="productType" defaultValue={d?.productType ?? "intraday"} error={fe.productType}>
                <option value="intraday">Intraday</option><option value="delivery">Delivery</option>
              </Select>
              <Field label="Stop loss %" name="stopLossPct" inputMode="decimal" defaultValue={d?.stopLossPct ?? ""} error={fe.stopLossPct} />
              <Field label="Target %" name="targetPct" inputMode="decimal" defaultValue={d?.targetPct ?? ""} error={fe.targetPct} />
            </div>
          </Card>
          <FormError error={save.error} />
          <Button type="submit" disabled={save.isPending || !instrument}>{id ? "Save new version" : "Create strategy"}</Button>
        </form>
        {id && (
          <Card title="Version history">
            <ListState loading={versions.isLoading} error={versions.error} empty={!versions.data?.versions.length} emptyText="No versions.">
              <ol className="space-y-3" data-testid="versions">
                {[...(versions.data?.versions ?? [])].reverse().map((v) => (
                  <li key={v.versionId} className="text-sm">
                    <p className="font-medium">v{v.version} <span className="font-normal text-slate-500">{when(v.createdAt)}</span></p>
                    <p className="truncate font-mono text-xs" title={v.entryRule}>in: {v.entryRule}</p>
                    <p className="truncate font-mono text-xs" title={v.exitRule}>out: {v.exitRule}</p>
                  </li>
                ))}
              </ol>
            </ListState>
          </Card>
        )}
      </div>
      {deploying && d && <DeployModal strategy={d} onClose={() => setDeploying(false)} />}
    </>
  );
}
