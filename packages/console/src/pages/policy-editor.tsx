import { useEffect, useState } from 'react';
import { describeError } from '../api/client.js';
import { useAction, useAsync } from '../components/async.js';
import { Done, ErrorNotice } from '../components/notice.js';
import { useLastAction, type LastAction } from '../components/last-action.js';
import { checkPolicyText } from '../policy.js';
import { useSession } from '../session.js';

/**
 * The key policy (GetKeyPolicy / PutKeyPolicy, policy name `default`). A syntax error is shown
 * under the editor as you type and blocks saving; what the server refuses
 * (MalformedPolicyDocumentException, ...) is shown in the same place.
 *
 * The editor holds the document exactly as stored and saves exactly what is in it: a round trip
 * through JSON.parse would turn 12345678901234567890 into 12345678901234567000, and re-indenting
 * would add whitespace that can take a policy near 32768 bytes past the limit.
 *
 * Only the page's last action's outcome is shown (`lastAction`): a save's, or another panel's.
 */
export function PolicyEditor({ keyId, lastAction }: { keyId: string; lastAction: LastAction }) {
  const { api } = useSession();
  const policy = useAsync(() => api.kms<{ Policy: string }>('GetKeyPolicy', { KeyId: keyId, PolicyName: 'default' }), [api, keyId]);
  const [text, setText] = useState<string | undefined>();
  const [serverError, setServerError] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const { busy, run } = useAction();
  const started = useLastAction(lastAction, () => { setServerError(undefined); setSaved(undefined); });

  useEffect(() => {
    if (policy.data && text === undefined) setText(policy.data.Policy);
  }, [policy.data, text]);

  const current = text ?? '';
  const syntaxError = text === undefined ? undefined : checkPolicyText(current);
  const problem = syntaxError ?? serverError;

  const save = () => run(async () => {
    setServerError(undefined);
    setSaved(undefined);
    const stillLast = started();
    try {
      await api.kms('PutKeyPolicy', { KeyId: keyId, PolicyName: 'default', Policy: current });
      if (stillLast()) setSaved('Key policy saved.');
      policy.reload();
    } catch (failure) {
      if (stillLast()) setServerError(describeError(failure));
    }
  });

  // Revert shows the policy stored now, read again: the copy read when the page opened may have
  // been replaced elsewhere since, and saving it back would undo that change unseen.
  const revert = () => run(async () => {
    setServerError(undefined);
    setSaved(undefined);
    const stillLast = started();
    try {
      // The editor's text is what Revert was asked for, whatever another panel did meanwhile;
      // only the outcome lines are the last action's.
      setText((await api.kms<{ Policy: string }>('GetKeyPolicy', { KeyId: keyId, PolicyName: 'default' })).Policy);
    } catch (failure) {
      if (stillLast()) setServerError(describeError(failure));
    }
  });

  return (
    <section className="panel" aria-labelledby="policy-title">
      <h2 id="policy-title">Key policy</h2>
      <ErrorNotice error={policy.error} />
      <label htmlFor="policy-text" className="visually-hidden">Key policy document (JSON)</label>
      <textarea id="policy-text" className="code" rows={16} spellCheck={false} value={current} disabled={text === undefined}
        aria-invalid={problem ? true : undefined} aria-describedby={problem ? 'policy-problem' : undefined}
        onChange={(e) => { setText(e.target.value); setServerError(undefined); setSaved(undefined); }} />
      {problem && <p id="policy-problem" className="notice error field-error" role="alert">{problem}</p>}
      <Done text={saved} />
      <div className="actions">
        <button type="button" disabled={busy || text === undefined || syntaxError !== undefined} onClick={save}>Save policy</button>
        <button type="button" className="secondary" disabled={busy || !policy.data} onClick={revert}>Revert</button>
      </div>
    </section>
  );
}
