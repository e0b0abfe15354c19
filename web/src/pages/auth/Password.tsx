import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api, call } from "../../api/client";
import { Button, Field, FormError, fieldErrors } from "../../components/ui";
import { AuthFrame } from "./AuthFrame";

export function ForgotPassword() {
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setError(null);
    try {
      const r = await call(api.POST("/api/auth/forgot-password", { body: { email: String(f.get("email")) } }));
      setMessage(r.message);
    } catch (err) {
      setError(err);
    }
  }
  return (
    <AuthFrame title="Reset your password" footer={<Link className="text-indigo-600" to="/login">Back to log in</Link>}>
      {message ? <p className="text-sm">{message}</p> : (
        <form onSubmit={submit} className="space-y-4">
          <Field label="E-mail" name="email" type="email" required error={fieldErrors(error).email} />
          <FormError error={error} />
          <Button type="submit" className="w-full">Send reset link</Button>
        </form>
      )}
    </AuthFrame>
  );
}

export function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setError(null);
    try {
      await call(api.POST("/api/auth/reset-password", { body: { token, password: String(f.get("password")) } }));
      setDone(true);
    } catch (err) {
      setError(err);
    }
  }
  return (
    <AuthFrame title="Choose a new password" footer={<Link className="text-indigo-600" to="/login">Back to log in</Link>}>
      {done ? <p className="text-sm text-emerald-600">Your password was changed. Log in with it.</p> : (
        <form onSubmit={submit} className="space-y-4">
          <Field label="New password" name="password" type="password" autoComplete="new-password" required error={fieldErrors(error).password} />
          <FormError error={error} />
          <Button type="submit" className="w-full" disabled={!token}>Set password</Button>
        </form>
      )}
    </AuthFrame>
  );
}
