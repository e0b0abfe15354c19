import { useEffect, useState, type KeyboardEvent } from "react";
import { useNavigate } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, call } from "../../api/client";
import { Card, ListState, PageTitle } from "../../components/ui";

/** Return `value` once it has stopped changing for `ms`. */
function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function instrumentPath(i: { segment: string; securityId: string; symbol: string }) {
  return `/market/${i.segment}/${i.securityId}?symbol=${encodeURIComponent(i.symbol)}`;
}

/** Instrument search: type, move with ↑/↓, open with Enter. */
export function MarketSearch() {
  const nav = useNavigate();
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const q = useDebounced(text.trim(), 200);
  const res = useQuery({
    queryKey: ["market", "search", q],
    queryFn: () => call(api.GET("/api/market/instruments", { params: { query: { q, pageSize: 20 } } })),
    enabled: q.length > 0,
  });
  const items = res.data?.items ?? [];
  useEffect(() => setActive(0), [q]);

  function onKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setActive((a) => Math.min(a + 1, items.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === "Enter" && items[active]) {
      nav(instrumentPath(items[active]));
    }
  }
  return (
    <>
      <PageTitle>Market</PageTitle>
      <Card>
        <input role="combobox" aria-expanded={items.length > 0} aria-controls="instrument-results" aria-label="Search instruments"
          autoFocus value={text} onChange={(e) => setText(e.target.value)} onKeyDown={onKey}
          placeholder="Search a symbol or name, e.g. RELIANCE"
          className="mb-3 w-full rounded-md border border-slate-300 bg-white px-3 py-2 dark:border-slate-700 dark:bg-slate-900" />
        {q ? (
          <ListState loading={res.isLoading} error={res.error} empty={!items.length} emptyText="No instrument matches.">
            <ul id="instrument-results" role="listbox" className="divide-y divide-slate-100 dark:divide-slate-800">
              {items.map((i, n) => (
                <li key={`${i.segment}-${i.securityId}`} role="option" aria-selected={n === active}
                  onMouseEnter={() => setActive(n)} onClick={() => nav(instrumentPath(i))}
                  className={`flex cursor-pointer items-center justify-between px-2 py-2 text-sm ${n === active ? "bg-indigo-50 dark:bg-indigo-950" : ""}`}>
                  <span><b>{i.symbol}</b> <span className="text-slate-500">{i.displayName || i.name}</span></span>
                  <span className="text-xs text-slate-500">{i.segment} · {i.instrumentType || i.instrument}</span>
                </li>
              ))}
            </ul>
          </ListState>
        ) : <p className="text-sm text-slate-500">Type to search NSE and BSE instruments.</p>}
      </Card>
    </>
  );
}
