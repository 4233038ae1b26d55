import { isChangedElsewhere } from '../api/client.js';
import { useState } from 'react';
import type { KeyMetadata } from '../api/types.js';
import { useAction } from '../components/async.js';
import { ErrorNotice } from '../components/notice.js';
import { useLastAction, type LastAction } from '../components/last-action.js';
import { wholeDaysIn } from '../input.js';
import { useSession } from '../session.js';

/**
 * Enable/disable, schedule or cancel deletion, rotate now: each one KMS call, then `onChanged`.
 * Only the page's last action's outcome is shown (`lastAction`).
 */
export function KeyActions({ meta, lastAction, onChanged, onStale }: {
  meta: KeyMetadata;
  lastAction: LastAction;
  onChanged: (note: string | undefined) => void;
  /** A refusal said the key changed elsewhere: the page reads it again. */
  onStale: () => void;
}) {
  const { api } = useSession();
  // As typed: a blank or a fraction is not sent (it would reach the server as 0, or fail to parse).
  const [daysText, setDaysText] = useState('30');
  const days = wholeDaysIn(daysText, 7, 30);
  const [error, setError] = useState<unknown>();
  const { busy, run: once } = useAction();
  const started = useLastAction(lastAction, () => setError(undefined));

  const run = (operation: string, input: Record<string, unknown>, note: string) => once(async () => {
    setError(undefined);
    const current = started();
    try {
      await api.kms(operation, { KeyId: meta.KeyId, ...input });
      // The key changed either way; its note only while no later action has started.
      onChanged(current() ? note : undefined);
    } catch (failure) {
      if (current()) setError(failure);
      if (isChangedElsewhere(failure)) onStale();
    }
  });

  const pending = meta.KeyState === 'PendingDeletion';
  const symmetric = meta.KeySpec === 'SYMMETRIC_DEFAULT';
  return (
    <div className="panel" role="group" aria-labelledby="key-actions-title">
      <h2 id="key-actions-title">Actions</h2>
      <div className="actions">
        {meta.KeyState === 'Enabled' && (
          <button type="button" disabled={busy}
            onClick={() => { if (window.confirm(`Disable ${meta.KeyId}? Nothing can encrypt or decrypt with it until it is enabled again.`)) void run('DisableKey', {}, 'Key disabled.'); }}>
            Disable key
          </button>
        )}
        {meta.KeyState === 'Disabled' && (
          <button type="button" disabled={busy} onClick={() => run('EnableKey', {}, 'Key enabled.')}>Enable key</button>
        )}
        {symmetric && meta.KeyState === 'Enabled' && meta.Origin === 'AWS_KMS' && (
          <button type="button" disabled={busy} onClick={() => run('RotateKeyOnDemand', {}, 'Rotation started: new key material is current.')}>Rotate now</button>
        )}
        {pending ? (
          <button type="button" disabled={busy} onClick={() => run('CancelKeyDeletion', {}, 'Deletion cancelled; the key is disabled.')}>Cancel deletion</button>
        ) : (
          <span className="inline-form">
            <label htmlFor="deletion-days">Waiting period (days)</label>
            <input id="deletion-days" type="number" min={7} max={30} step={1} value={daysText} onChange={(e) => setDaysText(e.target.value)}
              aria-invalid={days === undefined ? true : undefined} aria-describedby={days === undefined ? 'deletion-days-hint' : undefined} />
            {days === undefined && <span id="deletion-days-hint" className="field-error">a whole number of days, 7 to 30</span>}
            <button type="button" className="danger" disabled={busy || days === undefined}
              onClick={() => { if (window.confirm(`Schedule deletion of ${meta.KeyId} in ${days} days?`)) void run('ScheduleKeyDeletion', { PendingWindowInDays: days }, `Deletion scheduled in ${days} days.`); }}>
              Schedule deletion
            </button>
          </span>
        )}
      </div>
      <ErrorNotice error={error} />
    </div>
  );
}
