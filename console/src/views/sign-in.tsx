import { useState } from 'preact/hooks';
import { type Session, signIn } from '../session';
import { Field, ProblemView } from '../ui';

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn(token.trim()));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="center">
      <form class="card sign-in" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">
          <span class="brand-mark" aria-hidden="true">P</span> Portico console
        </h1>
        <p class="muted">
          Sign in with an API key. It is kept in this tab only (sessionStorage) and sent with every call; what you see is what the key may see.
        </p>
        <Field label="API key" hint="The admin token that `make run` printed, or any key made with POST /admin/api-keys.">
          <input
            class="input"
            type="password"
            name="token"
            autoComplete="off"
            spellcheck={false}
            required
            value={token}
            onInput={(event) => setToken(event.currentTarget.value)}
            placeholder="ptk_…"
            autoFocus
          />
        </Field>
        {error !== undefined ? <ProblemView error={error} /> : null}
        <button type="submit" class="button button-primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
