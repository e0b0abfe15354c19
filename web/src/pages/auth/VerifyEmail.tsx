import { useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, call } from "../../api/client";
import { session } from "../../lib/session";
import { AuthFrame } from "./AuthFrame";

export function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get("token");
  const [state, setState] = useState<{ ok: boolean; message: string } | null>(null);
  const sent = useRef(false);

  useEffect(() => {
    // The token is single-use: StrictMode's second effect run must not spend it twice.
    if (!token || sent.current) return;
    sent.current = true;
    call(api.POST("/api/auth/verify-email", { body: { token } }))
      .then((r) => {
        const u = session.get().user;
        if (u) session.setUser({ ...u, emailVerified: true });
        setState({ ok: true, message: r.message });
      })
      .catch((e: Error) => setState({ ok: false, message: e.message }));
  }, [token]);

  return (
    <AuthFrame title="E-mail verification" footer={<Link className="text-indigo-600" to="/login">Go to log in</Link>}>
      {!token && <p className="text-sm text-rose-600">This link has no token. Open the link from your e-mail.</p>}
      {token && !state && <p className="text-sm text-slate-500">Verifying…</p>}
      {state && (
        <p data-testid="verify-result" className={`text-sm ${state.ok ? "text-emerald-600" : "text-rose-600"}`}>
          {state.ok ? "Your e-mail address is verified." : state.message}
        </p>
      )}
    </AuthFrame>
  );
}
