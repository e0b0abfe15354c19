// Small building blocks every screen uses: fields with API errors, cards, list states.
import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react";
import { ApiError } from "../api/client";

export function Button({ variant = "primary", className = "", ...p }:
  ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "secondary" | "danger" | "ghost" }) {
  const styles = {
    primary: "bg-indigo-600 text-white hover:bg-indigo-500",
    secondary: "border border-slate-300 dark:border-slate-700 hover:bg-slate-100 dark:hover:bg-slate-800",
    danger: "bg-rose-600 text-white hover:bg-rose-500",
    ghost: "hover:bg-slate-100 dark:hover:bg-slate-800",
  }[variant];
  return <button className={`rounded-md px-3 py-2 text-sm font-medium disabled:opacity-50 ${styles} ${className}`} {...p} />;
}

/** A labelled input; `error` (from the API's details[].field) is shown under it. */
export function Field({ label, error, hint, ...p }:
  InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string; hint?: ReactNode }) {
  const id = p.id ?? `f-${p.name}`;
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium">{label}</label>
      <input id={id} aria-invalid={!!error} aria-describedby={error ? `${id}-err` : undefined}
        className={`w-full rounded-md border bg-white px-3 py-2 text-sm dark:bg-slate-900 ${error ? "border-rose-500" : "border-slate-300 dark:border-slate-700"}`} {...p} />
      {hint && !error && <p className="text-xs text-slate-500">{hint}</p>}
      {error && <p id={`${id}-err`} role="alert" data-field-error={p.name} className="text-xs text-rose-600">{error}</p>}
    </div>
  );
}

export function Select({ label, error, children, ...p }:
  SelectHTMLAttributes<HTMLSelectElement> & { label: string; error?: string }) {
  const id = p.id ?? `f-${p.name}`;
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium">{label}</label>
      <select id={id} className="w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm dark:border-slate-700 dark:bg-slate-900" {...p}>{children}</select>
      {error && <p role="alert" data-field-error={p.name} className="text-xs text-rose-600">{error}</p>}
    </div>
  );
}

export function Card({ title, actions, children, className = "" }:
  { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900 ${className}`}>
      {(title || actions) && (
        <header className="mb-3 flex items-center justify-between gap-2">
          {title && <h2 className="text-sm font-semibold uppercase tracking-wide text-slate-500">{title}</h2>}
          {actions}
        </header>
      )}
      {children}
    </section>
  );
}

/** The message of a failed form: the API's message unless every detail is on a field. */
export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof ApiError ? error.message : "Something went wrong; try again.";
  return <div role="alert" className="rounded-md bg-rose-50 p-3 text-sm text-rose-700 dark:bg-rose-950 dark:text-rose-300">{msg}</div>;
}

export function fieldErrors(error: unknown): Record<string, string> {
  return error instanceof ApiError ? error.fields : {};
}

/** Loading, error and empty states of a list; renders children only when there are rows. */
export function ListState({ loading, error, empty, emptyText, children }:
  { loading: boolean; error: unknown; empty: boolean; emptyText: string; children: ReactNode }) {
  if (loading) return <p className="py-6 text-center text-sm text-slate-500" data-state="loading">Loading…</p>;
  if (error) return <p className="py-6 text-center text-sm text-rose-600" data-state="error">Could not load: {error instanceof Error ? error.message : "error"}</p>;
  if (empty) return <p className="py-6 text-center text-sm text-slate-500" data-state="empty">{emptyText}</p>;
  return <>{children}</>;
}

export function Badge({ children, tone = "slate" }: { children: ReactNode; tone?: "green" | "red" | "amber" | "slate" | "blue" }) {
  const t = {
    green: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200",
    red: "bg-rose-100 text-rose-800 dark:bg-rose-900 dark:text-rose-200",
    amber: "bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200",
    blue: "bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-200",
    slate: "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300",
  }[tone];
  return <span className={`inline-block rounded-full px-2 py-0.5 text-xs font-medium ${t}`}>{children}</span>;
}

export function Modal({ title, children, onClose }: { title: string; children: ReactNode; onClose: () => void }) {
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/50 p-4" onClick={onClose}>
      <div role="dialog" aria-label={title} className="w-full max-w-md rounded-lg bg-white p-5 shadow-xl dark:bg-slate-900" onClick={(e) => e.stopPropagation()}>
        <h2 className="mb-4 text-lg font-semibold">{title}</h2>
        {children}
      </div>
    </div>
  );
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
      <h1 className="text-xl font-semibold">{children}</h1>
      {actions}
    </div>
  );
}

export const th = "px-2 py-2 text-left text-xs font-semibold uppercase text-slate-500";
export const td = "px-2 py-2 text-sm";

/** Format a decimal string as rupees; an absent value is an em dash, never a made-up 0. */
export function inr(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === "") return "—";
  const n = Number(v);
  return Number.isFinite(n) ? n.toLocaleString("en-IN", { style: "currency", currency: "INR", maximumFractionDigits: 2 }) : String(v);
}

/** Format an instant in India's time (the market's), whatever the browser's zone. */
export function when(v: string | null | undefined): string {
  return v ? new Date(v).toLocaleString("en-IN", { timeZone: "Asia/Kolkata", dateStyle: "medium", timeStyle: "medium" }) : "—";
}
