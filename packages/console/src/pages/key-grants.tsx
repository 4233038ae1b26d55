import { isChangedElsewhere } from '../api/client.js';
import { useState } from 'react';
import { listAllGrants } from '../api/keys.js';
import type { GrantEntry } from '../api/types.js';
import { useAction, useAsync } from '../components/async.js';
import { ErrorNotice } from '../components/notice.js';
import { useLastAction, type LastAction } from '../components/last-action.js';
import { formatTime, visibleText } from '../format.js';
import { useSession } from '../session.js';

/**
 * A key's grants (ListGrants, every page), each revocable (RevokeGrant). Grants are made with
 * `coffer grants create` or the API. Only the page's last action's outcome is shown (`lastAction`).
 */
export function KeyGrants({ keyId, lastAction }: { keyId: string; lastAction: LastAction }) {
  const { api } = useSession();
  const grants = useAsync(() => listAllGrants(api, keyId), [api, keyId]);
  const [error, setError] = useState<unknown>();
  const { busy, run } = useAction();
  const started = useLastAction(lastAction, () => setError(undefined));

  const revoke = (grant: GrantEntry) => run(async () => {
    if (!window.confirm(visibleText(`Revoke grant ${grant.Name || grant.GrantId} for ${grant.GranteePrincipal ?? grant.GranteeServicePrincipal}?`))) return;
    setError(undefined);
    const current = started();
    try {
      await api.kms('RevokeGrant', { KeyId: keyId, GrantId: grant.GrantId });
      grants.reload();
    } catch (failure) {
      if (current()) setError(failure);
      if (isChangedElsewhere(failure)) grants.reload();
    }
  });

  return (
    <section className="panel" aria-labelledby="grants-title">
      <h2 id="grants-title">Grants</h2>
      <ErrorNotice error={grants.error ?? error} />
      <table className="data">
        <thead>
          <tr>
            <th scope="col">Grant</th><th scope="col">Grantee</th><th scope="col">Retiring principal</th><th scope="col">Operations</th>
            <th scope="col">Constraints</th><th scope="col">Created</th><th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {grants.data?.map((g) => (
            <tr key={g.GrantId}>
              {/* Long names and ARNs wrap (the API allows 256 characters), so the table keeps to the page. */}
              <td className="mono free" title={g.GrantId}>{g.Name ? <>{visibleText(g.Name)}<br /><small>{`${g.GrantId.slice(0, 16)}…`}</small></> : `${g.GrantId.slice(0, 16)}…`}</td>
              <td className="mono free">{visibleText(g.GranteePrincipal ?? g.GranteeServicePrincipal ?? '')}</td>
              <td className="mono free">{visibleText(g.RetiringPrincipal ?? g.RetiringServicePrincipal ?? '—')}</td>
              <td>{g.Operations.join(', ')}</td>
              <td className="free">{constraintsText(g.Constraints)}</td>
              <td>{formatTime(g.CreationDate)}</td>
              <td><button type="button" className="danger small" disabled={busy} onClick={() => void revoke(g)}>Revoke</button></td>
            </tr>
          ))}
          {grants.data?.length === 0 && <tr><td colSpan={7}>No grants.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

/**
 * A grant's constraints in one line: `equals {k=v}`, `subset {k=v}`, `source <arn>`; each pair
 * JSON-quoted, so no value can pass for another pair. JSON.stringify leaves bidirectional controls
 * as they are, so the line goes through visibleText too.
 */
function constraintsText(constraints: GrantEntry['Constraints']): string {
  return constraints ? visibleText(constraintsLine(constraints)) : '—';
}

function constraintsLine(constraints: NonNullable<GrantEntry['Constraints']>): string {
  const pairs = (map: Record<string, string>) => Object.entries(map).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(', ');
  return [
    ...(constraints.EncryptionContextEquals ? [`equals {${pairs(constraints.EncryptionContextEquals)}}`] : []),
    ...(constraints.EncryptionContextSubset ? [`subset {${pairs(constraints.EncryptionContextSubset)}}`] : []),
    ...(constraints.SourceArn ? [`source ${constraints.SourceArn}`] : []),
  ].join('; ');
}
