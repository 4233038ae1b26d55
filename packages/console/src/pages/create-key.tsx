import { useState, type FormEvent } from 'react';
import { KEY_SPEC_USAGES } from '../api/keys.js';
import { ErrorNotice } from '../components/notice.js';
import { useSession } from '../session.js';

/** `team=payments` lines -> KMS Tags; a line without `=` is an error the form shows. */
export function parseTags(text: string): { TagKey: string; TagValue: string }[] {
  return text.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`Tag "${line}" must have the form key=value.`);
    return { TagKey: line.slice(0, eq).trim(), TagValue: line.slice(eq + 1).trim() };
  });
}

/** CreateKey (with Tags) and then CreateAlias, from one form. */
export function CreateKeyForm({ onCreated, onCancel }: {
  /** `aliasFailure`: why the alias was not made, when the key was; the form closes, so the page shows it. */
  onCreated: (keyId: string, note: string, aliasFailure?: unknown) => void;
  onCancel: () => void;
}) {
  const { api } = useSession();
  const [spec, setSpec] = useState('SYMMETRIC_DEFAULT');
  const [usage, setUsage] = useState('ENCRYPT_DECRYPT');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [alias, setAlias] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const usages = KEY_SPEC_USAGES[spec] ?? [];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    let tagList;
    try {
      tagList = parseTags(tags);
    } catch (failure) {
      setError(failure);
      return;
    }
    setBusy(true);
    try {
      const created = await api.kms<{ KeyMetadata: { KeyId: string } }>('CreateKey', {
        KeySpec: spec, KeyUsage: usage,
        ...(description ? { Description: description } : {}),
        ...(tagList.length ? { Tags: tagList } : {}),
      });
      const keyId = created.KeyMetadata.KeyId;
      const aliasName = alias.trim() === '' ? '' : alias.trim().startsWith('alias/') ? alias.trim() : `alias/${alias.trim()}`;
      if (aliasName) {
        try {
          await api.kms('CreateAlias', { AliasName: aliasName, TargetKeyId: keyId });
        } catch (failure) {
          // The key exists now; say so, with why the alias was not made. The form closes, so the
          // reason goes to the page: set here, it would vanish with the form.
          setBusy(false);
          onCreated(keyId, `Created key ${keyId}, but not its alias ${aliasName}.`, failure);
          return;
        }
      }
      onCreated(keyId, `Created key ${keyId}${aliasName ? ` with alias ${aliasName}` : ''}.`);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <div className="grid">
        <label htmlFor="key-spec">Key spec</label>
        <select id="key-spec" autoFocus value={spec} onChange={(e) => { setSpec(e.target.value); setUsage(KEY_SPEC_USAGES[e.target.value]?.[0] ?? ''); }}>
          {Object.keys(KEY_SPEC_USAGES).map((s) => <option key={s}>{s}</option>)}
        </select>
        <label htmlFor="key-usage">Key usage</label>
        <select id="key-usage" value={usage} onChange={(e) => setUsage(e.target.value)}>
          {usages.map((u) => <option key={u}>{u}</option>)}
        </select>
        <label htmlFor="key-description">Description</label>
        <input id="key-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={8192} />
        <label htmlFor="key-alias">Alias</label>
        <input id="key-alias" value={alias} onChange={(e) => setAlias(e.target.value)} placeholder="alias/payments" spellCheck={false} />
        <label htmlFor="key-tags">Tags <span className="hint">(key=value, one a line)</span></label>
        <textarea id="key-tags" rows={3} value={tags} onChange={(e) => setTags(e.target.value)} spellCheck={false} />
      </div>
      <ErrorNotice error={error} />
      <div className="actions">
        <button type="submit" disabled={busy}>{busy ? 'Creating…' : 'Create key'}</button>
        <button type="button" className="secondary" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
