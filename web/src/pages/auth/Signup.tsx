import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, call } from "../../api/client";
import { Button, Field, FormError, fieldErrors } from "../../components/ui";
import { AuthFrame } from "./AuthFrame";

export function Signup() {
  const [error, setError] = useState<unknown>(null);
  const [email, setEmail] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const user = await call(api.POST("/api/auth/register", {
        body: { name: String(f.get("name")), email: String(f.get("email")), password: String(f.get("password")), phone: null },
      }));
      setEmail(user.email);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (email) {
    return (
      <AuthFrame title="Check your inbox" footer={<Link className="text-indigo-600" to="/login">Go to log in</Link>}>
        <p className="text-sm" data-testid="signup-done">We sent a verification link to <b>{email}</b>. Open it to verify your address, then log in.</p>
      </AuthFrame>
    );
  }
  const fe = fieldErrors(error);
  return (
    <AuthFrame title="Create your account" footer={<>Already registered? <Link className="text-indigo-600" to="/login">Log in</Link></>}>
      <form onSubmit={submit} className="space-y-4" noValidate>
        <Field label="Name" name="name" autoComplete="name" required error={fe.name} />
        <Field label="E-mail" name="email" type="email" autoComplete="email" required error={fe.email} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required error={fe.password}
          hint="At least 10 characters with letters and digits." />
        <FormError error={error} />
        <Button type="submit" disabled={busy} className="w-full">Sign up</Button>
      </form>
    </AuthFrame>
  );
}
