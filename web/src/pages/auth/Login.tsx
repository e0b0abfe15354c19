import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { api, call, type Schemas } from "../../api/client";
import { session } from "../../lib/session";
import { Button, Field, FormError, fieldErrors } from "../../components/ui";
import { AuthFrame } from "./AuthFrame";

type Tokens = Schemas["SessionTokens"];

export function Login() {
  const nav = useNavigate();
  const loc = useLocation();
  const state = (loc.state ?? {}) as { from?: string; expired?: boolean };
  const [challenge, setChallenge] = useState<string | null>(null);
  const [useRecovery, setUseRecovery] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  function done(t: Tokens) {
    session.signIn(t.accessToken, t.user);
    nav(state.from && state.from !== "/login" ? state.from : "/", { replace: true });
  }

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      if (challenge) {
        const code = String(f.get("code") ?? "").trim();
        const r = await call(api.POST("/api/auth/login/2fa", {
          body: useRecovery ? { challengeToken: challenge, code: null, recoveryCode: code } : { challengeToken: challenge, code, recoveryCode: null },
        }));
        if (r.tokens) done(r.tokens);
      } else {
        const r = await call(api.POST("/api/auth/login", {
          body: { email: String(f.get("email")), password: String(f.get("password")) },
        }));
        if (r.twoFactorRequired && r.challengeToken) setChallenge(r.challengeToken);
        else if (r.tokens) done(r.tokens);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const fe = fieldErrors(error);
  if (challenge) {
    return (
      <AuthFrame title="Two-factor authentication">
        <form onSubmit={submit} className="space-y-4">
          <p className="text-sm text-slate-500">
            {useRecovery ? "Enter one of your recovery codes." : "Enter the 6-digit code from your authenticator app."}
          </p>
          <Field key={String(useRecovery)} label={useRecovery ? "Recovery code" : "Code"} name="code" autoComplete="one-time-code"
            inputMode={useRecovery ? "text" : "numeric"} autoFocus required error={fe.code ?? fe.recoveryCode} />
          <FormError error={error} />
          <Button type="submit" disabled={busy} className="w-full">Verify</Button>
          <button type="button" className="text-sm text-indigo-600" onClick={() => setUseRecovery(!useRecovery)}>
            {useRecovery ? "Use an authenticator code" : "Use a recovery code"}
          </button>
        </form>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="Log in" footer={<>No account? <Link className="text-indigo-600" to="/signup">Sign up</Link></>}>
      {state.expired && (
        <p role="alert" data-testid="session-expired" className="mb-4 rounded-md bg-amber-50 p-3 text-sm text-amber-800 dark:bg-amber-950 dark:text-amber-200">
          Your session has expired. Please log in again.
        </p>
      )}
      <form onSubmit={submit} className="space-y-4">
        <Field label="E-mail" name="email" type="email" autoComplete="email" required error={fe.email} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={fe.password} />
        <FormError error={error} />
        <Button type="submit" disabled={busy} className="w-full">Log in</Button>
        <Link to="/forgot-password" className="block text-center text-sm text-indigo-600">Forgot your password?</Link>
      </form>
    </AuthFrame>
  );
}
