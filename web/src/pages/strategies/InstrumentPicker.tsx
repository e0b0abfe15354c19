// Pick an instrument by searching the market's instrument list (↑/↓ and Enter work too).
import { useState, type KeyboardEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";

type Picked = Schemas["StrategyInstrument"];

export function InstrumentPicker({ value, onChange, error }: { value: Picked | null; onChange: (i: Picked) => void; error?: string }) {
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const q = text.trim();
  const res = useQuery({
    queryKey: ["market", "search", q],
    queryFn: () => call(api.GET("/api/market/instruments", { params: { query: { q, pageSize: 8 } } })),
    enabled: q.length > 0,
  });
  const items = res.data?.items ?? [];
  function pick(i: (typeof items)[number]) {
    onChange({ segment: i.segment as Picked["segment"], securityId: i.securityId, symbol: i.symbol });
    setText("");
  }
  function onKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === "ArrowDown") { e.preventDefault(); setActive((a) => Math.min(a + 1, items.length - 1)); }
    if (e.key === "ArrowUp") { e.preventDefault(); setActive((a) => Math.max(a - 1, 0)); }
    if (e.key === "Enter" && items[active]) { e.preventDefault(); pick(items[active]); }
  }
  return (
    <div className="relative space-y-1">
      <label htmlFor="f-instrument" className="block text-sm font-medium">Instrument</label>
      <input id="f-instrument" role="combobox" aria-expanded={items.length > 0} value={text} onKeyDown={onKey}
        onChange={(e) => { setText(e.target.value); setActive(0); }}
        placeholder={value ? `${value.symbol} (${value.segment})` : "Search, e.g. RELIANCE"}
        className={`w-full rounded-md border bg-white px-3 py-2 text-sm dark:bg-slate-900 ${error ? "border-rose-500" : "border-slate-300 dark:border-slate-700"}`} />
      {value && <p className="text-xs text-slate-500" data-testid="picked-instrument">Selected: <b>{value.symbol}</b> · {value.segment} · {value.securityId}</p>}
      {error && <p role="alert" data-field-error="instrument" className="text-xs text-rose-600">{error}</p>}
      {q && items.length > 0 && (
        <ul role="listbox" className="absolute z-10 mt-1 w-full rounded-md border border-slate-200 bg-white shadow-lg dark:border-slate-700 dark:bg-slate-900">
          {items.map((i, n) => (
            <li key={`${i.segment}-${i.securityId}`} role="option" aria-selected={n === active} onMouseDown={() => pick(i)}
              className={`cursor-pointer px-3 py-2 text-sm ${n === active ? "bg-indigo-50 dark:bg-indigo-950" : ""}`}>
              <b>{i.symbol}</b> <span className="text-slate-500">{i.displayName || i.name} · {i.segment}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
