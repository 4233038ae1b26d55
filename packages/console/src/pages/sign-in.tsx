import { useState, type FormEvent } from 'react';
import { createApi, describeError } from '../api/client.js';
import type { Session } from '../session.js';

/**
 * Sign-in with an access key. The secret goes from the form's state into the API client's closure
 * and the form is cleared; nothing is written to storage, cookies or the address bar, and the
 * fields carry autocomplete="off" so the browser does not offer to remember it.
 */
export function SignInPage({ onSignIn, note }: { onSignIn: (session: Session) => void; note?: string | undefined }) {
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secretAccessKey, setSecretAccessKey] = useState('');
  const [region, setRegion] = useState('us-east-1');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const api = createApi({ accessKeyId: accessKeyId.trim(), secretAccessKey }, region.trim());
    try {
      const identity = await api.whoAmI();
      setSecretAccessKey('');
      onSignIn({ api, arn: identity.Arn, account: identity.Account, accessKeyId: accessKeyId.trim() });
    } catch (failure) {
      // Not a session: its client goes, with any signing key it derived (a network failure may
      // follow a correct secret).
      api.dispose();
      setError(describeError(failure));
      setBusy(false);
    }
  };

  return (
    <main className="sign-in" id="main">
      <form onSubmit={submit} aria-labelledby="sign-in-title" autoComplete="off">
        <h1 id="sign-in-title">Coffer console</h1>
        <p>Sign in with an access key. The secret stays in this tab's memory: reloading or closing the tab signs you out.</p>
        {note && <p className="notice" role="status">{note}</p>}
        <label htmlFor="access-key-id">Access key ID</label>
        <input id="access-key-id" name="access-key-id" value={accessKeyId} onChange={(e) => setAccessKeyId(e.target.value)}
          required autoComplete="off" spellCheck={false} autoFocus />
        <label htmlFor="secret-access-key">Secret access key</label>
        <input id="secret-access-key" name="secret-access-key" type="password" value={secretAccessKey}
          onChange={(e) => setSecretAccessKey(e.target.value)} required autoComplete="off" spellCheck={false} />
        <label htmlFor="region">Region</label>
        <input id="region" name="region" value={region} onChange={(e) => setRegion(e.target.value)} required spellCheck={false} />
        {error && <p className="notice error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
