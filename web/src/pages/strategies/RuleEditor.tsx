// A rule textarea validated as you type; the API's error position is underlined below it.
import { useEffect, useState } from "react";
import { api, call, type Schemas } from "../../api/client";

type Problem = Schemas["RuleProblem"];

/** Underline columns [col, endCol) of one line (1-based, as the validator reports them). */
function Underlined({ text, p }: { text: string; p: Problem }) {
  const line = text.split("\n")[p.line - 1] ?? "";
  const start = Math.max(0, p.col - 1);
  const end = Math.max(start + 1, (p.endCol ?? p.col) - 1);
  return (
    <pre className="overflow-x-auto rounded bg-slate-50 p-2 font-mono text-xs dark:bg-slate-950">
      {line.slice(0, start)}
      <span data-testid="rule-error-span" className="underline decoration-rose-500 decoration-wavy decoration-2">{line.slice(start, end) || " "}</span>
      {line.slice(end)}
    </pre>
  );
}

export function RuleEditor({ name, label, value, onChange, fieldError }:
  { name: "entryRule" | "exitRule"; label: string; value: string; onChange: (v: string) => void; fieldError?: string }) {
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checked, setChecked] = useState<"idle" | "ok" | "bad">("idle");

  useEffect(() => {
    if (!value.trim()) {
      setProblems([]);
      setChecked("idle");
      return;
    }
    let stale = false;
    const t = setTimeout(async () => {
      try {
        const r = await call(api.POST("/api/strategies/validate", { body: { entryRule: null, exitRule: null, [name]: value } }));
        if (stale) return;
        const check = r[name];
        setProblems(check?.errors ?? []);
        setChecked(check?.valid === false ? "bad" : "ok");
      } catch {
        if (!stale) setChecked("idle");
      }
    }, 300);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [name, value]);

  const first = problems[0];
  return (
    <div className="space-y-1">
      <label htmlFor={`f-${name}`} className="flex items-center justify-between text-sm font-medium">
        {label}
        {checked === "ok" && <span className="text-xs text-emerald-600" data-testid={`${name}-ok`}>✓ valid</span>}
      </label>
      <textarea id={`f-${name}`} name={name} rows={3} value={value} onChange={(e) => onChange(e.target.value)} spellCheck={false}
        aria-invalid={!!first || !!fieldError}
        className={`w-full rounded-md border bg-white px-3 py-2 font-mono text-sm dark:bg-slate-900 ${first || fieldError ? "border-rose-500" : "border-slate-300 dark:border-slate-700"}`} />
      {first && (
        <div role="alert" data-testid={`${name}-error`}>
          <Underlined text={value} p={first} />
          <p className="text-xs text-rose-600">Line {first.line}, column {first.col}: {first.message}</p>
        </div>
      )}
      {!first && fieldError && <p role="alert" data-field-error={name} className="text-xs text-rose-600">{fieldError}</p>}
    </div>
  );
}
