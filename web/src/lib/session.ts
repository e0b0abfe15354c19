// The signed-in session: the access token lives in memory only (the refresh token is an
// httpOnly cookie the browser keeps for /api/auth).
import { useSyncExternalStore } from "react";
import type { components } from "../api/schema";

type User = components["schemas"]["User"];
export type SessionState = { status: "loading" | "anonymous" | "signedIn" | "signedOut" | "expired"; user: User | null };

let token: string | null = null;
let state: SessionState = { status: "loading", user: null };
const listeners = new Set<() => void>();

function set(next: SessionState) {
  state = next;
  listeners.forEach((l) => l());
}

export const session = {
  token: () => token,
  get: () => state,
  signIn(accessToken: string, user: User) {
    token = accessToken;
    set({ status: "signedIn", user });
  },
  setUser(user: User) {
    set({ ...state, user });
  },
  /** Forget the session: "signedOut" after the user logs out, "anonymous" when none was found. */
  signOut(status: "anonymous" | "signedOut" = "signedOut") {
    token = null;
    set({ status, user: null });
  },
  /** Drop the session because the server no longer accepts it (the login page says so). */
  expire() {
    if (state.status !== "signedIn") return;
    token = null;
    set({ status: "expired", user: null });
  },
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

/** Return the current session and re-render when it changes. */
export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.get);
}
