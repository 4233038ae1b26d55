import { useEffect, useState } from 'react';
import { listAllAliases } from '../api/keys.js';
import type { KeyMetadata, Tag } from '../api/types.js';
import { useAsync } from '../components/async.js';
import { useLastActionPage } from '../components/last-action.js';
import { Done, ErrorNotice } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { formatTime, visibleText } from '../format.js';
import { Link, navigate } from '../router.js';
import { useSession } from '../session.js';
import { KeyActions } from './key-actions.js';
import { KeyAliases } from './key-aliases.js';
import { KeyGrants } from './key-grants.js';
import { KeyRotation } from './key-rotation.js';
import { PolicyEditor } from './policy-editor.js';

/** A key id as KMS makes them: the only form every call of the key page takes. */
const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/**
 * One key, by its id; by an alias or an ARN (a link someone wrote), the key's own page once
 * DescribeKey has named its id: GetKeyPolicy, ListGrants, CreateAlias and the rest take no alias.
 */
export function KeyDetailPage({ keyId }: { keyId: string }) {
  return KEY_ID.test(keyId) ? <KeyDetail keyId={keyId} /> : <KeyByOtherName name={keyId} />;
}

function KeyByOtherName({ name }: { name: string }) {
  const { api } = useSession();
  const meta = useAsync(() => api.kms<{ KeyMetadata: KeyMetadata }>('DescribeKey', { KeyId: name }).then((r) => r.KeyMetadata), [api, name]);
  const resolved = meta.data?.KeyId;
  useEffect(() => {
    if (resolved !== undefined && KEY_ID.test(resolved)) navigate(`/keys/${resolved}`, { replace: true });
  }, [resolved]);
  return (
    <section aria-labelledby="key-title">
      <p className="crumbs"><Link to="/keys">Keys</Link> / <span className="mono">{visibleText(name)}</span></p>
      <div className="page-head"><h1 id="key-title">Key {visibleText(name)}</h1></div>
      <ErrorNotice error={meta.error} />
    </section>
  );
}

/** One key: metadata and tags, actions, aliases, rotations, key policy and grants. */
function KeyDetail({ keyId }: { keyId: string }) {
  const { api } = useSession();
  const [note, setNote] = useState<string>();
  // Bumped by each action, so that the rotations it may have added are read again.
  const [version, setVersion] = useState(0);
  // An action started in any panel makes every other outcome shown no longer current: a "Key
  // disabled." left beside a later refusal in another panel reads as that action's outcome.
  const lastAction = useLastActionPage(() => setNote(undefined));
  const meta = useAsync(() => api.kms<{ KeyMetadata: KeyMetadata }>('DescribeKey', { KeyId: keyId }).then((r) => r.KeyMetadata), [api, keyId]);
  const aliases = useAsync(() => listAllAliases(api, keyId), [api, keyId]);
  const tags = useAsync(() => api.kms<{ Tags: Tag[] }>('ListResourceTags', { KeyId: keyId }).then((r) => r.Tags), [api, keyId]);

  // After an action, or a refusal that says the page is out of date: read the key and its aliases
  // again, keeping what is shown until the answer comes. Starting afresh would unmount the panels
  // while it loads, and with them the outcome another panel shows (a refusal, when two actions overlap).
  const readAgain = () => {
    meta.reload();
    aliases.reload();
  };
  const changed = () => {
    readAgain();
    setVersion((v) => v + 1);
  };
  const m = meta.data;
  return (
    <section aria-labelledby="key-title">
      <p className="crumbs"><Link to="/keys">Keys</Link> / <span className="mono">{visibleText(keyId)}</span></p>
      <div className="page-head">
        <h1 id="key-title">Key {visibleText(aliases.data?.[0]?.AliasName ?? keyId)}</h1>
        {m && <StateBadge state={m.KeyState} />}
      </div>
      <ErrorNotice error={meta.error} />
      <Done text={note} />
      {m && (
        <>
          <dl className="meta">
            <dt>Key ID</dt><dd className="mono">{m.KeyId}</dd>
            <dt>ARN</dt><dd className="mono">{visibleText(m.Arn)}</dd>
            <dt>Description</dt><dd><bdi>{m.Description ? visibleText(m.Description) : '—'}</bdi></dd>
            <dt>State</dt><dd>{m.KeyState}{m.DeletionDate ? ` (deleted on ${formatTime(m.DeletionDate)})` : ''}</dd>
            <dt>Spec / usage</dt><dd>{m.KeySpec} / {m.KeyUsage}</dd>
            <dt>Origin</dt><dd>{m.Origin}</dd>
            <dt>Regions</dt><dd>{m.MultiRegion ? 'multi-Region primary key, no replicas' : 'single-Region'}</dd>
            <dt>Created</dt><dd>{formatTime(m.CreationDate)}</dd>
            <dt>Tags</dt>
            <dd>
              {tags.error ? <ErrorNotice error={tags.error} /> : tags.data?.length ? <TagList tags={tags.data} /> : '—'}
            </dd>
            <dt>Audit</dt><dd><Link to={`/audit?key=${encodeURIComponent(m.KeyId)}`}>Requests that named this key</Link></dd>
          </dl>
          <KeyActions meta={m} lastAction={lastAction} onChanged={(text) => { setNote(text); changed(); }} onStale={readAgain} />
          <KeyAliases keyId={keyId} aliases={aliases.data} listError={aliases.error} lastAction={lastAction} onChanged={changed} onStale={readAgain} />
          {m.KeySpec === 'SYMMETRIC_DEFAULT' && <KeyRotation keyId={keyId} origin={m.Origin} version={version} lastAction={lastAction} onStale={readAgain} />}
        </>
      )}
      <PolicyEditor keyId={keyId} lastAction={lastAction} />
      <KeyGrants keyId={keyId} lastAction={lastAction} />
    </section>
  );
}

/**
 * One tag a line, key and value each JSON-quoted (as grant constraints are), so no value can pass
 * for another pair: joined as `k=v, k=v`, the one tag env=`dev, owner=security` read as two, and
 * key `team=ops` with value `x` as key `team` with value `ops=x`. Each quoted part is isolated, so
 * right-to-left or override characters in one cannot reorder another; JSON.stringify leaves those
 * as they are, so they go through visibleText too.
 */
function TagList({ tags }: { tags: readonly Tag[] }) {
  return (
    <ul className="tags">
      {tags.map((t) => (
        <li key={t.TagKey} className="mono">
          <bdi>{visibleText(JSON.stringify(t.TagKey))}</bdi> = <bdi>{visibleText(JSON.stringify(t.TagValue))}</bdi>
        </li>
      ))}
    </ul>
  );
}
