import { useEffect, useState } from "react";
import { useMutation } from "@tanstack/react-query";
import QRCode from "qrcode";
import { api, call, type Schemas } from "../../api/client";
import { session, useSession } from "../../lib/session";
import { Button, Card, Field, FormError, fieldErrors } from "../../components/ui";

export function TwoFactor() {
  const { user } = useSession();
  const [setup, setSetup] = useState<Schemas["TwoFactorSetup"] | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);

  useEffect(() => {
    // The QR code is drawn here from the otpauth URL: the secret never leaves the browser.
    if (setup) QRCode.toDataURL(setup.otpauthUrl, { margin: 1, width: 200 }).then(setQr);
  }, [setup]);

  const start = useMutation({ mutationFn: () => call(api.POST("/api/auth/enable-2fa", {})), onSuccess: setSetup });
  const verify = useMutation({
    mutationFn: (code: string) => call(api.POST("/api/auth/verify-2fa", { body: { code } })),
    onSuccess: (r) => {
      setCodes(r.recoveryCodes);
      setSetup(null);
      if (user) session.setUser({ ...user, twoFactorEnabled: true });
    },
  });
  const disable = useMutation({
    mutationFn: (body: { password: string; code: string; recoveryCode: null }) => call(api.POST("/api/auth/disable-2fa", { body })),
    onSuccess: () => user && session.setUser({ ...user, twoFactorEnabled: false }),
  });

  if (codes) {
    return (
      <Card title="Recovery codes">
        <p className="mb-3 text-sm">Two-factor authentication is on. Keep these codes somewhere safe: each one signs you in once without your phone. They are shown only now.</p>
        <ul className="grid grid-cols-2 gap-2 font-mono text-sm" data-testid="recovery-codes">
          {codes.map((c) => <li key={c} className="rounded bg-slate-100 px-2 py-1 dark:bg-slate-800">{c}</li>)}
        </ul>
        <Button className="mt-4" variant="secondary" onClick={() => setCodes(null)}>I saved them</Button>
      </Card>
    );
  }
  if (user?.twoFactorEnabled) {
    const fe = fieldErrors(disable.error);
    return (
      <Card title="Two-factor authentication">
        <p className="mb-4 text-sm text-emerald-600" data-testid="2fa-on">Two-factor authentication is on.</p>
        <form className="space-y-3" onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          disable.mutate({ password: String(f.get("password")), code: String(f.get("code")), recoveryCode: null });
        }}>
          <Field label="Password" name="password" type="password" error={fe.password} />
          <Field label="Authenticator code" name="code" inputMode="numeric" error={fe.code} />
          <FormError error={disable.error} />
          <Button type="submit" variant="danger">Turn off 2FA</Button>
        </form>
      </Card>
    );
  }
  const fe = fieldErrors(verify.error);
  return (
    <Card title="Two-factor authentication">
      {!setup ? (
        <>
          <p className="mb-4 text-sm">Protect your account with a code from an authenticator app (Google Authenticator, Authy, 1Password…).</p>
          <FormError error={start.error} />
          <Button onClick={() => start.mutate()} disabled={start.isPending}>Enable 2FA</Button>
        </>
      ) : (
        <form className="space-y-4" onSubmit={(e) => {
          e.preventDefault();
          verify.mutate(String(new FormData(e.currentTarget).get("code")).trim());
        }}>
          <ol className="list-decimal space-y-1 pl-5 text-sm">
            <li>Scan this QR code with your authenticator app.</li>
            <li>Enter the 6-digit code it shows.</li>
          </ol>
          {qr && <img src={qr} alt="2FA QR code" className="rounded bg-white p-2" width={200} height={200} />}
          <p className="text-xs text-slate-500">Can't scan? Enter this key: <code data-testid="totp-secret" className="font-mono">{setup.secret}</code></p>
          <Field label="Code" name="code" inputMode="numeric" autoComplete="one-time-code" error={fe.code} />
          <FormError error={verify.error} />
          <Button type="submit" disabled={verify.isPending}>Confirm</Button>
        </form>
      )}
    </Card>
  );
}
