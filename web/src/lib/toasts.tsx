// Toasts for live events and confirmations.
import { useEffect, useState } from "react";

type Toast = { id: number; title: string; body?: string; tone: "info" | "error" | "success" };
let seq = 0;
const listeners = new Set<(t: Toast[]) => void>();
let toasts: Toast[] = [];

function emit() {
  listeners.forEach((l) => l(toasts));
}

/** Show a toast for a few seconds. */
export function toast(title: string, body?: string, tone: Toast["tone"] = "info") {
  const t = { id: ++seq, title, body, tone };
  toasts = [...toasts.slice(-4), t];
  emit();
  setTimeout(() => {
    toasts = toasts.filter((x) => x.id !== t.id);
    emit();
  }, 6000);
}

export function Toaster() {
  const [list, setList] = useState<Toast[]>([]);
  useEffect(() => {
    listeners.add(setList);
    return () => {
      listeners.delete(setList);
    };
  }, []);
  const tone = { info: "border-sky-500", error: "border-rose-500", success: "border-emerald-500" };
  return (
    <div className="pointer-events-none fixed right-4 bottom-4 z-50 flex w-80 flex-col gap-2" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} role="status" data-testid="toast" className={`pointer-events-auto rounded-md border-l-4 bg-white p-3 text-sm shadow-lg dark:bg-slate-800 ${tone[t.tone]}`}>
          <p className="font-medium">{t.title}</p>
          {t.body && <p className="text-slate-500 dark:text-slate-400">{t.body}</p>}
        </div>
      ))}
    </div>
  );
}
