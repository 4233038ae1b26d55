import { useState } from 'react';
import { describeError, isChangedElsewhere } from '../api/client.js';
import { useAction, useAsync } from '../components/async.js';
import { ErrorNotice } from '../components/notice.js';
import { useLastAction, type LastAction } from '../components/last-action.js';
import { visibleText } from '../format.js';
import { checkPolicyText } from '../policy.js';
import { useSession } from '../session.js';

const TEMPLATE = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*' }],
}, null, 2);

/**
 * A user's or role's inline identity policies (List/Get/Put/DeletePrincipalPolicy): pick one to
 * edit, or write a new one. The editor checks JSON as you type, like the key policy editor, and
 * shows what the server refuses (MalformedPolicyDocumentException, LimitExceededException) below it.
 * Like the key policy editor, it shows a document exactly as stored and saves exactly what it holds.
 * Only the page's last action's outcome is shown (`lastAction`), here as in the panels beside it.
 */
export function PrincipalPolicies({ owner, lastAction, onChangedElsewhere }: {
  owner: { UserName: string } | { RoleName: string };
  lastAction: LastAction;
  /** A refusal that says something changed elsewhere: the principal itself may be gone. */
  onChangedElsewhere: () => void;
}) {
  const { api } = useSession();
  const names = useAsync(() => api.admin<{ PolicyNames: string[] }>('ListPrincipalPolicies', owner).then((r) => r.PolicyNames), [api]);
  const [editing, setEditing] = useState<{ name: string; text: string; isNew: boolean }>();
  const [serverError, setServerError] = useState<string>();
  const [error, setError] = useState<unknown>();
  const { busy, run } = useAction();
  const clearOutcome = () => { setError(undefined); setServerError(undefined); };
  const started = useLastAction(lastAction, clearOutcome);
  /** An action of this panel starts: what its earlier actions said goes, as it goes from the others. */
  const begin = () => {
    clearOutcome();
    return started();
  };

  const changedElsewhere = () => {
    names.reload();
    onChangedElsewhere();
  };

  const open = async (name: string) => {
    const current = begin();
    try {
      const policy = await api.admin<{ PolicyDocument: string }>('GetPrincipalPolicy', { ...owner, PolicyName: name });
      setEditing({ name, text: policy.PolicyDocument, isNew: false });
    } catch (failure) {
      if (current()) setError(failure);
      if (isChangedElsewhere(failure)) changedElsewhere();
    }
  };

  const save = () => run(async () => {
    if (!editing) return;
    const current = begin();
    const name = editing.name.trim();
    try {
      // PutPrincipalPolicy replaces a policy of the name: a new one must not do so unasked.
      if (editing.isNew) {
        const existing = (await api.admin<{ PolicyNames: string[] }>('ListPrincipalPolicies', owner)).PolicyNames;
        if (existing.includes(name) && !window.confirm(visibleText(`A policy named ${name} exists. Replace it with this one?`))) return;
      }
      await api.admin('PutPrincipalPolicy', { ...owner, PolicyName: name, PolicyDocument: editing.text });
      setEditing(undefined);
      names.reload();
    } catch (failure) {
      if (current()) setServerError(describeError(failure));
      if (isChangedElsewhere(failure)) changedElsewhere();
    }
  });

  const remove = (name: string) => run(async () => {
    if (!window.confirm(visibleText(`Delete the policy ${name}?`))) return;
    const current = begin();
    try {
      await api.admin('DeletePrincipalPolicy', { ...owner, PolicyName: name });
      if (editing?.name === name) setEditing(undefined);
      names.reload();
    } catch (failure) {
      if (current()) setError(failure);
      if (isChangedElsewhere(failure)) changedElsewhere();
    }
  });

  const syntaxError = editing ? checkPolicyText(editing.text) : undefined;
  const problem = syntaxError ?? serverError;
  return (
    <section aria-labelledby="identity-policies-title">
      <h3 id="identity-policies-title">Identity policies</h3>
      <ErrorNotice error={names.error ?? error} />
      <ul className="plain">
        {names.data?.map((name) => (
          <li key={name}>
            <span className="mono">{visibleText(name)}</span>{' '}
            <button type="button" className="secondary small" aria-label={`Edit policy ${visibleText(name)}`} onClick={() => void open(name)}>Edit</button>{' '}
            <button type="button" className="danger small" aria-label={`Delete policy ${visibleText(name)}`} disabled={busy} onClick={() => void remove(name)}>Delete</button>
          </li>
        ))}
        {names.data?.length === 0 && <li>None: this principal may do nothing with keys unless a key policy or grant allows it.</li>}
      </ul>
      {!editing && (
        <button type="button" className="secondary" onClick={() => { begin(); setEditing({ name: '', text: TEMPLATE, isNew: true }); }}>Add policy</button>
      )}
      {editing && (
        <div className="panel">
          <div className="filters">
            <label htmlFor="identity-policy-name">Policy name</label>
            <input id="identity-policy-name" value={editing.name} readOnly={!editing.isNew} spellCheck={false}
              onChange={(e) => setEditing({ ...editing, name: e.target.value })} />
          </div>
          <label htmlFor="identity-policy-text">Policy document (JSON)</label>
          <textarea id="identity-policy-text" className="code" rows={10} spellCheck={false} value={editing.text}
            aria-invalid={problem ? true : undefined} aria-describedby={problem ? 'identity-policy-problem' : undefined}
            onChange={(e) => { setEditing({ ...editing, text: e.target.value }); setServerError(undefined); }} />
          {problem && <p id="identity-policy-problem" className="notice error field-error" role="alert">{problem}</p>}
          <div className="actions">
            <button type="button" disabled={busy || syntaxError !== undefined || editing.name.trim() === ''} onClick={() => void save()}>Save policy</button>
            <button type="button" className="secondary" onClick={() => setEditing(undefined)}>Cancel</button>
          </div>
        </div>
      )}
    </section>
  );
}
