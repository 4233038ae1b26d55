import { isChangedElsewhere } from '../api/client.js';
import { useEffect, useState, type FormEvent } from 'react';
import type { AccessKeyMetadata } from '../api/types.js';
import { useAction, useAsync } from '../components/async.js';
import { Done, ErrorNotice } from '../components/notice.js';
import { useLastAction, useLastActionPage, type LastAction } from '../components/last-action.js';
import { formatTime, shortArn, visibleText } from '../format.js';
import { useSession } from '../session.js';
import { PrincipalPolicies } from './principal-policies.js';

interface PrincipalRow {
  kind: 'user' | 'role';
  name: string;
  id: string;
  arn: string;
  created: number;
}

/** The owner an admin call names: `{UserName}`, `{RoleName}`, or `{}` for the signed-in caller's own keys. */
type Owner = { kind: 'self' } | { kind: 'user' | 'role'; name: string };
const ownerInput = (owner: Owner) => (owner.kind === 'user' ? { UserName: owner.name } : owner.kind === 'role' ? { RoleName: owner.name } : {});
const ownerLabel = (owner: Owner) => (owner.kind === 'self' ? 'your own access keys' : visibleText(`${owner.kind}/${owner.name}`));

async function listPrincipals(api: ReturnType<typeof useSession>['api']): Promise<PrincipalRow[]> {
  const rows: PrincipalRow[] = [];
  for (const kind of ['user', 'role'] as const) {
    let marker: string | undefined;
    do {
      const op = kind === 'user' ? 'ListUsers' : 'ListRoles';
      const page = await api.admin<Record<string, unknown> & { IsTruncated: boolean; Marker?: string }>(op, { MaxItems: 1000, ...(marker ? { Marker: marker } : {}) });
      const list = (kind === 'user' ? page.Users : page.Roles) as Record<string, string | number>[];
      for (const p of list) {
        rows.push({
          kind, name: String(kind === 'user' ? p.UserName : p.RoleName), id: String(kind === 'user' ? p.UserId : p.RoleId),
          arn: String(p.Arn), created: Number(p.CreateDate),
        });
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
  }
  return rows;
}

/** Users and roles (admin API), and the access keys of one of them or of the signed-in caller. */
export function PrincipalsPage() {
  const { api, arn } = useSession();
  const principals = useAsync(() => listPrincipals(api), [api]);
  const [owner, setOwner] = useState<Owner>({ kind: 'self' });
  const [newKind, setNewKind] = useState<'user' | 'role'>('user');
  const [newName, setNewName] = useState('');
  const [error, setError] = useState<unknown>();
  const [note, setNote] = useState<string>();
  // Why the access-key panel went back to the caller's own keys, when it did so by itself.
  const [goneNote, setGoneNote] = useState<string>();
  const { busy, run } = useAction();
  // The operator moved on (an action here or in a panel below, another principal's keys): every
  // outcome shown before, up here or in a panel, is no longer current.
  const lastAction = useLastActionPage(() => {
    setError(undefined);
    setNote(undefined);
    setGoneNote(undefined);
  });

  /**
   * Runs one change and shows its outcome; `then` runs only when it succeeded. A refused change
   * leaves the page as it was beside the error: the name typed into the form, the principal whose
   * access keys are shown.
   */
  const act = (fn: () => Promise<unknown>, done: string, then?: () => void) => run(async () => {
    const mine = lastAction.onAction();
    try {
      await fn();
    } catch (failure) {
      if (lastAction.isLast(mine)) setError(failure);
      if (isChangedElsewhere(failure)) principals.reload();
      return;
    }
    if (lastAction.isLast(mine)) setNote(done);
    then?.();
    principals.reload();
  });

  const showKeysOf = (next: Owner) => {
    lastAction.onAction();
    setOwner(next);
  };

  // A principal deleted elsewhere (another tab, another operator) leaves the list on its next read;
  // its access-key panel would only show NotFoundException from then on, so the panel goes back to
  // the caller's own keys and says why. An error already shown up here stays. A panel's action
  // refused as changed elsewhere reads the list again (`onChangedElsewhere`): its principal may be
  // what is gone, and the panel alone cannot tell.
  const ownerGone = !principals.loading && principals.data !== undefined && owner.kind !== 'self'
    && !principals.data.some((p) => p.kind === owner.kind && p.name === owner.name);
  useEffect(() => {
    if (!ownerGone) return;
    setGoneNote(visibleText(`${owner.kind}/${owner.name} no longer exists: it was deleted elsewhere. Showing your own access keys.`));
    setOwner({ kind: 'self' });
  }, [ownerGone]);

  // A signed-in user is one of the users listed: that row is marked, rather than shown twice. A
  // role session or the account's root is not listed, so it gets a row of its own.
  const selfListed = principals.data?.some((p) => p.arn === arn) ?? false;

  const create = (event: FormEvent) => {
    event.preventDefault();
    const name = newName.trim();
    void act(() => api.admin(newKind === 'user' ? 'CreateUser' : 'CreateRole', newKind === 'user' ? { UserName: name } : { RoleName: name }), `Created ${newKind}/${name}.`,
      () => setNewName(''));
  };

  return (
    <section aria-labelledby="principals-title">
      <h1 id="principals-title">Principals and access keys</h1>
      <p>Signed in as <span className="mono">{visibleText(arn)}</span>.</p>
      <Done text={note} />
      <Done text={goneNote} />
      <ErrorNotice error={error ?? principals.error} />
      <form className="filters" onSubmit={create} aria-label="Create a principal">
        <label htmlFor="principal-kind">Kind</label>
        <select id="principal-kind" value={newKind} onChange={(e) => setNewKind(e.target.value as 'user' | 'role')}>
          <option value="user">user</option><option value="role">role</option>
        </select>
        <label htmlFor="principal-name">Name</label>
        <input id="principal-name" value={newName} onChange={(e) => setNewName(e.target.value)} required maxLength={64} pattern="[\w+=,.@\-]+" spellCheck={false} />
        <button type="submit" disabled={busy}>Create</button>
      </form>
      <table className="data" aria-busy={principals.loading}>
        <caption className="visually-hidden">Users and roles</caption>
        <thead><tr><th scope="col">Principal</th><th scope="col">Unique ID</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {!selfListed && (
            <tr>
              <td className="mono" title={visibleText(arn)}>{visibleText(shortArn(arn))} (you)</td><td></td><td></td>
              <td><button type="button" className="secondary" onClick={() => showKeysOf({ kind: 'self' })}>Access keys</button></td>
            </tr>
          )}
          {principals.data?.map((p) => (
            <tr key={p.arn}>
              <td className="mono" title={visibleText(p.arn)}>{visibleText(`${p.kind}/${p.name}`)}{p.arn === arn ? ' (you)' : ''}</td>
              <td className="mono">{visibleText(p.id)}</td>
              <td>{formatTime(p.created)}</td>
              <td className="actions">
                <button type="button" className="secondary" onClick={() => showKeysOf({ kind: p.kind, name: p.name })}>Access keys</button>
                <button type="button" className="danger" disabled={busy}
                  onClick={() => { if (window.confirm(visibleText(`Delete ${p.kind}/${p.name} with its access keys and policies?${p.arn === arn ? ' It is you: the console stops working until you sign in as someone else.' : ''}`))) void act(() => api.admin(p.kind === 'user' ? 'DeleteUser' : 'DeleteRole', p.kind === 'user' ? { UserName: p.name } : { RoleName: p.name }), visibleText(`Deleted ${p.kind}/${p.name}.`), () => setOwner({ kind: 'self' })); }}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <AccessKeys key={owner.kind === 'self' ? 'self' : `${owner.kind}/${owner.name}`} owner={owner} lastAction={lastAction}
        onChangedElsewhere={principals.reload} />
    </section>
  );
}

/** Only the page's last action's outcome is shown (`lastAction`), here as in the rest of the page. */
function AccessKeys({ owner, lastAction, onChangedElsewhere }: { owner: Owner; lastAction: LastAction; onChangedElsewhere: () => void }) {
  const { api, accessKeyId } = useSession();
  const keys = useAsync(() => api.admin<{ AccessKeyMetadata: AccessKeyMetadata[] }>('ListAccessKeys', ownerInput(owner)).then((r) => r.AccessKeyMetadata), [api]);
  const [error, setError] = useState<unknown>();
  // A new secret is shown once, here, and forgotten when this panel goes away.
  const [created, setCreated] = useState<{ id: string; secret: string }>();
  const { busy, run } = useAction();
  const started = useLastAction(lastAction, () => setError(undefined));

  const moveOn = () => {
    setError(undefined);
    return started();
  };
  const act = (fn: () => Promise<unknown>) => run(async () => {
    const current = moveOn();
    try {
      await fn();
      keys.reload();
    } catch (failure) {
      if (current()) setError(failure);
      if (isChangedElsewhere(failure)) {
        keys.reload();
        onChangedElsewhere();
      }
    }
  });

  return (
    <section className="panel" aria-labelledby="access-keys-title">
      <h2 id="access-keys-title">Access keys: {ownerLabel(owner)}</h2>
      <ErrorNotice error={error ?? keys.error} />
      {created && (
        <div className="notice ok" role="status">
          <p>New access key <span className="mono">{created.id}</span>. Its secret is shown this once: copy it now.</p>
          <p><label htmlFor="new-secret">Secret access key</label> <input id="new-secret" className="mono" readOnly value={created.secret} size={44} onFocus={(e) => e.target.select()} /></p>
          <button type="button" className="secondary" onClick={() => setCreated(undefined)}>I have copied it</button>
        </div>
      )}
      <table className="data">
        <thead><tr><th scope="col">Access key ID</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {keys.data?.map((k) => (
            <tr key={k.AccessKeyId}>
              <td className="mono">{k.AccessKeyId}</td>
              <td><span className={`badge ${k.Status === 'Active' ? 'good' : 'muted'}`}>{k.Status}</span></td>
              <td>{formatTime(k.CreateDate)}</td>
              <td className="actions">
                <button type="button" className="secondary" disabled={busy}
                  onClick={() => {
                    // Switching off the key this console signs with ends the session's every call.
                    if (k.Status === 'Active' && k.AccessKeyId === accessKeyId
                      && !window.confirm(`${k.AccessKeyId} is the access key you are signed in with: the console stops working until you sign in with another. Deactivate it?`)) return;
                    void act(() => api.admin('UpdateAccessKey', { ...ownerInput(owner), AccessKeyId: k.AccessKeyId, Status: k.Status === 'Active' ? 'Inactive' : 'Active' }));
                  }}>
                  {k.Status === 'Active' ? 'Deactivate' : 'Activate'}
                </button>
                <button type="button" className="danger" disabled={busy}
                  onClick={() => {
                    const own = k.AccessKeyId === accessKeyId ? ' It is the key you are signed in with: the console stops working until you sign in with another.' : '';
                    if (window.confirm(`Delete access key ${k.AccessKeyId}?${own}`)) void act(() => api.admin('DeleteAccessKey', { ...ownerInput(owner), AccessKeyId: k.AccessKeyId }));
                  }}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {keys.data?.length === 0 && <tr><td colSpan={4}>No access keys.</td></tr>}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void act(async () => {
          const answer = await api.admin<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>('CreateAccessKey', ownerInput(owner));
          setCreated({ id: answer.AccessKey.AccessKeyId, secret: answer.AccessKey.SecretAccessKey });
        })}>Create access key</button>
      </div>
      {owner.kind !== 'self' && <PrincipalPolicies owner={owner.kind === 'user' ? { UserName: owner.name } : { RoleName: owner.name }} lastAction={lastAction}
        onChangedElsewhere={onChangedElsewhere} />}
    </section>
  );
}
