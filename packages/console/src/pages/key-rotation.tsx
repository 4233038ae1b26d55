import { isChangedElsewhere } from '../api/client.js';
import { useState } from 'react';
import type { RotationEntry } from '../api/types.js';
import { useAction, useAsync } from '../components/async.js';
import { ErrorNotice } from '../components/notice.js';
import { useLastAction, type LastAction } from '../components/last-action.js';
import { formatTime } from '../format.js';
import { wholeDaysIn } from '../input.js';
import { useSession } from '../session.js';

/**
 * A symmetric key's rotation: automatic rotation on or off with its period (EnableKeyRotation,
 * DisableKeyRotation, GetKeyRotationStatus) and every rotation so far (ListKeyRotations).
 * `version` changes when the page's actions (Rotate now) may have added one; only the page's last
 * action's outcome is shown (`lastAction`).
 */
export function KeyRotation({ keyId, origin, version, lastAction, onStale }: {
  keyId: string;
  /** The key's Origin: automatic rotation is for key material Coffer made (AWS_KMS) only, as in AWS. */
  origin: string;
  version: number;
  lastAction: LastAction;
  /** A refusal said the key changed elsewhere (its state): the page reads it again. */
  onStale: () => void;
}) {
  const { api } = useSession();
  const [daysText, setDaysText] = useState('365');
  const days = wholeDaysIn(daysText, 90, 2560);
  const [error, setError] = useState<unknown>();
  const { busy, run } = useAction();
  const started = useLastAction(lastAction, () => setError(undefined));
  const rotation = useAsync(async () => {
    const [status, list] = await Promise.all([
      api.kms<{ KeyRotationEnabled: boolean; RotationPeriodInDays?: number; NextRotationDate?: number }>('GetKeyRotationStatus', { KeyId: keyId }),
      api.kms<{ Rotations: RotationEntry[] }>('ListKeyRotations', { KeyId: keyId, Limit: 1000 }),
    ]);
    return { status, rotations: list.Rotations };
  }, [api, keyId, version]);

  const act = (operation: string, input: Record<string, unknown>) => run(async () => {
    setError(undefined);
    const current = started();
    try {
      await api.kms(operation, { KeyId: keyId, ...input });
      rotation.reload();
    } catch (failure) {
      if (current()) setError(failure);
      if (isChangedElsewhere(failure)) {
        rotation.reload();
        onStale();
      }
    }
  });

  const status = rotation.data?.status;
  return (
    <section className="panel" aria-labelledby="rotation-title">
      <h2 id="rotation-title">Rotation</h2>
      <ErrorNotice error={rotation.error ?? error} />
      {status && (
        <div className="actions">
          <span>
            Automatic rotation: {status.KeyRotationEnabled
              ? `every ${status.RotationPeriodInDays ?? 365} days, next on ${formatTime(status.NextRotationDate)}`
              : 'off'}
          </span>
          {status.KeyRotationEnabled ? (
            <button type="button" className="secondary" disabled={busy} onClick={() => void act('DisableKeyRotation', {})}>Turn off</button>
          ) : origin !== 'AWS_KMS' ? (
            // EnableKeyRotation could only be refused (UnsupportedOperationException): nothing to offer.
            <span>(not available for imported key material: Origin {origin})</span>
          ) : (
            <span className="inline-form">
              <label htmlFor="rotation-days">Every (days)</label>
              <input id="rotation-days" type="number" min={90} max={2560} step={1} value={daysText} onChange={(e) => setDaysText(e.target.value)}
                aria-invalid={days === undefined ? true : undefined} aria-describedby={days === undefined ? 'rotation-days-hint' : undefined} />
              {days === undefined && <span id="rotation-days-hint" className="field-error">a whole number of days, 90 to 2560</span>}
              <button type="button" className="secondary" disabled={busy || days === undefined} onClick={() => void act('EnableKeyRotation', { RotationPeriodInDays: days })}>Turn on</button>
            </span>
          )}
        </div>
      )}
      {rotation.data && (
        <table className="data">
          <caption>Rotation history</caption>
          <thead><tr><th scope="col">Date</th><th scope="col">Type</th><th scope="col">Key material</th></tr></thead>
          <tbody>
            {rotation.data.rotations.map((r) => (
              <tr key={`${r.RotationDate}-${r.KeyMaterialId ?? ''}`}>
                <td>{formatTime(r.RotationDate)}</td><td>{r.RotationType}</td><td className="mono">{r.KeyMaterialId ?? ''}</td>
              </tr>
            ))}
            {rotation.data.rotations.length === 0 && <tr><td colSpan={3}>Never rotated.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}
