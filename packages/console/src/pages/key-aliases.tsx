import { isChangedElsewhere } from '../api/client.js';
import { useState, type FormEvent } from 'react';
import type { AliasListEntry } from '../api/types.js';
import { useAction } from '../components/async.js';
import { ErrorNotice } from '../components/notice.js';
import { useLastAction, type LastAction } from '../components/last-action.js';
import { visibleText } from '../format.js';
import { useSession } from '../session.js';

/** A key's aliases: add one (CreateAlias), delete one (DeleteAlias). */
export function KeyAliases({ keyId, aliases, listError, lastAction, onChanged, onStale }: {
  keyId: string;
  aliases: AliasListEntry[] | undefined;
  /** Why ListAliases failed: shown, so that a refusal does not look like a key without aliases. */
  listError: unknown;
  /** Only the page's last action's outcome is shown. */
  lastAction: LastAction;
  onChanged: () => void;
  /** A refusal said the key or an alias changed elsewhere: the page reads them again. */
  onStale: () => void;
}) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const { busy, run } = useAction();
  const started = useLastAction(lastAction, () => setError(undefined));

  const act = (fn: () => Promise<unknown>) => run(async () => {
    setError(undefined);
    const current = started();
    try {
      await fn();
      onChanged();
      return true;
    } catch (failure) {
      if (current()) setError(failure);
      if (isChangedElsewhere(failure)) onStale();
      return false;
    }
  });

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const aliasName = name.trim().startsWith('alias/') ? name.trim() : `alias/${name.trim()}`;
    if (await act(() => api.kms('CreateAlias', { AliasName: aliasName, TargetKeyId: keyId }))) setName('');
  };

  return (
    <section className="panel" aria-labelledby="aliases-title">
      <h2 id="aliases-title">Aliases</h2>
      <ErrorNotice error={listError} />
      <ul className="plain">
        {aliases?.map((a) => (
          <li key={a.AliasName}>
            <span className="mono">{visibleText(a.AliasName)}</span>{' '}
            <button type="button" className="danger small" disabled={busy} aria-label={`Delete alias ${visibleText(a.AliasName)}`}
              onClick={() => { if (window.confirm(`Delete ${visibleText(a.AliasName)}?`)) void act(() => api.kms('DeleteAlias', { AliasName: a.AliasName })); }}>
              Delete
            </button>
          </li>
        ))}
        {aliases?.length === 0 && <li>No aliases.</li>}
      </ul>
      <form className="filters" onSubmit={add} aria-label="Add an alias">
        <label htmlFor="new-alias">New alias</label>
        <input id="new-alias" value={name} onChange={(e) => setName(e.target.value)} placeholder="alias/name" required spellCheck={false} />
        <button type="submit" className="secondary" disabled={busy}>Add alias</button>
      </form>
      <ErrorNotice error={error} />
    </section>
  );
}
