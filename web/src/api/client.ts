// The one HTTP client: types come from the generated schema.d.ts (scripts/gen-api.sh).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import spec from "./openapi.json";
import { session } from "../lib/session";

export type Schemas = components["schemas"];
export type User = Schemas["User"];
export type ApiErrorBody = Schemas["ApiError"];

// Calls that must never trigger a refresh-and-retry (they are how a session starts or ends).
const NO_RETRY = ["/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/register"];

let refreshing: Promise<boolean> | null = null;

/** Rotate the refresh cookie for a new access token; concurrent callers share one attempt. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" });
      if (!res.ok) return false;
      const body = (await res.json()) as Schemas["SessionTokens"];
      session.signIn(body.accessToken, body.user);
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => (refreshing = null), 0);
    }
  })();
  return refreshing;
}

function withToken(req: Request): Request {
  const token = session.token();
  if (token) req.headers.set("Authorization", `Bearer ${token}`);
  return req;
}

async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const res = await fetch(withToken(input));
  const path = new URL(input.url).pathname;
  if (res.status !== 401 || NO_RETRY.some((p) => path.startsWith(p))) return res;
  if (await refreshSession()) return fetch(withToken(retry));
  session.expire();
  return res;
}

export const api = createClient<paths>({ baseUrl: "", fetch: authFetch, credentials: "same-origin" });

/** Tell whether the gateway's route table (as generated) has this path. */
export function hasRoute(path: string): boolean {
  return Object.prototype.hasOwnProperty.call((spec as { paths: object }).paths, path);
}

/** An API error in the §6 shape, thrown by `call`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string>;

  constructor(status: number, body: Partial<ApiErrorBody> | undefined) {
    super(body?.message ?? `Request failed (${status})`);
    this.status = status;
    this.code = body?.error ?? "INTERNAL_ERROR";
    this.fields = {};
    const details = body?.details;
    if (Array.isArray(details)) {
      for (const d of details as { field?: string; message?: string }[]) {
        if (d.field && d.message && !this.fields[d.field]) this.fields[d.field] = d.message;
      }
    }
  }
}

/** Unwrap an openapi-fetch result: the data, or an ApiError. */
export async function call<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (error !== undefined || !response.ok) {
    throw new ApiError(response.status, error as Partial<ApiErrorBody> | undefined);
  }
  return data as T;
}
