import { useState } from 'react';
import { listAllAliases } from '../api/keys.js';
import type { KeyMetadata, Tag } from '../api/types.js';
import { useAsync } from '../components/async.js';
import { Done, ErrorNotice } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { formatTime, visibleText } from '../format.js';
import { Link } from '../router.js';
import { useSession } from '../session.js';
import { KeyActions } from './key-actions.js';
import { KeyAliases } from './key-aliases.js';
import { KeyGrants } from './key-grants.js';
import { KeyRotation } from './key-rotation.js';
import { PolicyEditor } from './policy-editor.js';

/** One key: metadata and tags, actions, aliases, rotations, key policy and grants. */
export function KeyDetailPage({ keyId }: { keyId: string }) {
  const { api } = useSession();
  const [note, setNote] = useState<string>();
  // Bumped by each action, so that the parts an action may change read again.
  const [version, setVersion] = useState(0);
  // An action started in any panel makes the last outcome shown here no longer current: a
  // "Key disabled." left beside a later refusal in another panel reads as that action's outcome.
  const moveOn = () => setNote(undefined);
  const meta = useAsync(() => api.kms<{ KeyMetadata: KeyMetadata }>('DescribeKey', { KeyId: keyId }).then((r) => r.KeyMetadata), [api, keyId, version]);
  const aliases = useAsync(() => listAllAliases(api, keyId), [api, keyId, version]);
  const tags = useAsync(() => api.kms<{ Tags: Tag[] }>('ListResourceTags', { KeyId: keyId }).then((r) => r.Tags), [api, keyId]);

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
          <KeyActions meta={m} onAction={moveOn} onChanged={(text) => { setNote(text); setVersion((v) => v + 1); }} />
          <KeyAliases keyId={keyId} aliases={aliases.data} listError={aliases.error} onAction={moveOn} onChanged={() => setVersion((v) => v + 1)} />
          {m.KeySpec === 'SYMMETRIC_DEFAULT' && <KeyRotation keyId={keyId} version={version} onAction={moveOn} />}
        </>
      )}
      <PolicyEditor keyId={keyId} onAction={moveOn} />
      <KeyGrants keyId={keyId} onAction={moveOn} />
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
