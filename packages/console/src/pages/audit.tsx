import { useRef, useState, type FormEvent } from 'react';
import { isUnreadable, type AuditEntry, type AuditEvent } from '../api/types.js';
import { describeError } from '../api/client.js';
import { ErrorNotice } from '../components/notice.js';
import { OutcomeBadge } from '../components/state-badge.js';
import { formatTime, shortArn, visibleText } from '../format.js';
import { useSession } from '../session.js';
import { useAction, useAsync } from '../components/async.js';
import { Link, useRoute } from '../router.js';

interface Filters {
  start: string;
  end: string;
  principal: string;
  keyId: string;
  operation: string;
  outcome: string;
}

const EMPTY: Filters = { start: '', end: '', principal: '', keyId: '', operation: '', outcome: '' };

/** A `datetime-local` value (local time) as epoch seconds. */
const epochSeconds = (local: string): number | undefined => (local ? new Date(local).getTime() / 1000 : undefined);

function queryOf(filters: Filters): Record<string, unknown> {
  const start = epochSeconds(filters.start);
  const end = epochSeconds(filters.end);
  return {
    ...(start !== undefined ? { StartTime: start } : {}),
    ...(end !== undefined ? { EndTime: end } : {}),
    ...(filters.principal.trim() ? { PrincipalArn: filters.principal.trim() } : {}),
    ...(filters.keyId.trim() ? { KeyId: filters.keyId.trim() } : {}),
    ...(filters.operation.trim() ? { Operation: filters.operation.trim() } : {}),
    ...(filters.outcome.trim() ? { Outcome: filters.outcome.trim() } : {}),
  };
}

/** The audit trail (QueryAuditRecords), newest first, with filters and a one-click chain check. */
export function AuditPage() {
  const { api } = useSession();
  const { query } = useRoute();
  // Other pages link here with a filter set: /audit?key=<key id>, ?principal=<ARN>, ?operation=, ?outcome=.
  const [initial] = useState<Filters>(() => ({
    ...EMPTY,
    keyId: query.get('key') ?? '', principal: query.get('principal') ?? '',
    operation: query.get('operation') ?? '', outcome: query.get('outcome') ?? '',
  }));
  const [draft, setDraft] = useState<Filters>(initial);
  const [applied, setApplied] = useState<Filters>(initial);
  const [more, setMore] = useState<{ records: AuditEntry[]; next?: string }>({ records: [] });
  const [moreError, setMoreError] = useState<unknown>();
  const page = useAsync(async () => {
    setMore({ records: [] });
    return api.admin<{ Records: AuditEntry[]; NextToken?: string }>('QueryAuditRecords', { ...queryOf(applied), Limit: 50 });
  }, [api, applied]);
  const [verdict, setVerdict] = useState<{ text: string; ok: boolean }>();
  const [verifying, setVerifying] = useState(false);

  const records = [...(page.data?.Records ?? []), ...more.records];
  const nextToken = more.next ?? (more.records.length ? undefined : page.data?.NextToken);

  // The filters shown now: a page of older records asked for under others is not theirs.
  const shown = useRef(applied);
  shown.current = applied;
  // One page at a time: a double click loaded the same page twice, every row in it twice.
  const { busy: loadingMore, run } = useAction();
  const loadMore = () => run(async () => {
    const asked = applied;
    setMoreError(undefined);
    try {
      const answer = await api.admin<{ Records: AuditEntry[]; NextToken?: string }>('QueryAuditRecords', { ...queryOf(asked), Limit: 50, NextToken: nextToken });
      if (shown.current !== asked) return;
      setMore((m) => ({ records: [...m.records, ...answer.Records], ...(answer.NextToken ? { next: answer.NextToken } : {}) }));
    } catch (failure) {
      if (shown.current === asked) setMoreError(failure);
    }
  });

  const verify = async () => {
    setVerifying(true);
    setVerdict(undefined);
    try {
      const answer = await api.admin<{ Valid: boolean; Records: number; BrokenAt?: number; Problem?: string }>('VerifyAuditChain');
      setVerdict(answer.Valid
        ? { ok: true, text: `The audit chain is intact: ${answer.Records} records verified.` }
        : { ok: false, text: `The audit chain is broken at record ${answer.BrokenAt}: ${answer.Problem}` });
    } catch (failure) {
      setVerdict({ ok: false, text: describeError(failure) });
    } finally {
      setVerifying(false);
    }
  };

  const field = (name: keyof Filters) => ({
    id: `audit-${name}`, value: draft[name],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [name]: e.target.value })),
  });

  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit trail</h1>
        <button type="button" onClick={verify} disabled={verifying}>{verifying ? 'Verifying…' : 'Verify chain'}</button>
      </div>
      {verdict && <p className={`notice ${verdict.ok ? 'ok' : 'error'}`} role="status" id="chain-verdict">{verdict.text}</p>}
      {/* A new object each time: Apply with the same filters reads again (records made since), and
          either button drops an older page's failure, which is no longer about what is shown. */}
      <form className="filters wrap" role="search" onSubmit={(e: FormEvent) => { e.preventDefault(); setMoreError(undefined); setApplied({ ...draft }); }}>
        <span><label htmlFor="audit-start">From</label><input type="datetime-local" step={1} {...field('start')} /></span>
        <span><label htmlFor="audit-end">Until</label><input type="datetime-local" step={1} {...field('end')} /></span>
        <span><label htmlFor="audit-principal">Principal ARN</label><input {...field('principal')} spellCheck={false} /></span>
        <span><label htmlFor="audit-keyId">Key ID or ARN</label><input {...field('keyId')} spellCheck={false} /></span>
        <span><label htmlFor="audit-operation">Operation</label><input {...field('operation')} placeholder="Encrypt" spellCheck={false} /></span>
        <span>
          <label htmlFor="audit-outcome">Outcome</label>
          <input {...field('outcome')} list="outcomes" placeholder="success, failure, or an error name" spellCheck={false} />
          <datalist id="outcomes"><option value="success" /><option value="failure" /><option value="AccessDeniedException" /></datalist>
        </span>
        <span className="actions">
          <button type="submit">Apply</button>
          <button type="button" className="secondary" onClick={() => { setMoreError(undefined); setDraft(EMPTY); setApplied({ ...EMPTY }); }}>Clear</button>
        </span>
      </form>
      <ErrorNotice error={page.error} />
      <table className="data" aria-busy={page.loading}>
        <caption className="visually-hidden">Audit records, newest first</caption>
        <thead>
          <tr>
            <th scope="col">#</th><th scope="col">Time</th><th scope="col">Principal</th><th scope="col">Operation</th>
            <th scope="col">Key</th><th scope="col">Outcome</th><th scope="col">Source</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (isUnreadable(r)
            ? <UnreadableRow key={`unreadable-${r.seq}`} seq={r.seq} why={r.unreadable} />
            : <EventRow key={r.eventID} event={r} />))}
          {!page.loading && !page.error && records.length === 0 && <tr><td colSpan={7}>No record matches.</td></tr>}
        </tbody>
      </table>
      <ErrorNotice error={moreError} />
      {nextToken && <button type="button" className="secondary" disabled={loadingMore} onClick={() => void loadMore()}>Load older records</button>}
    </section>
  );
}

function EventRow({ event: r }: { event: AuditEvent }) {
  return (
    <tr data-operation={r.eventName ?? ''}>
      <td>{r.seq}</td>
      <td>{formatTime(r.eventTime)}</td>
      <td className="mono" title={visibleText(r.userIdentity.arn ?? '')}>{visibleText(shortArn(r.userIdentity.arn)) || 'unauthenticated'}</td>
      <td>{r.eventName === null ? <em>(unknown operation)</em> : visibleText(r.eventName)}</td>
      <td className="mono">
        {(r.resources ?? []).map((res, i) => (
          // An alias (of an alias operation) links by its name, which the key page resolves.
          <span key={res.ARN}>{i > 0 ? ', ' : ''}<Link to={`/keys/${encodeURIComponent(shortArn(res.ARN))}`}>{visibleText(shortArn(res.ARN))}</Link></span>
        ))}
      </td>
      <td className="free"><OutcomeBadge error={r.errorCode} />{r.errorMessage ? <span className="hint"> {visibleText(r.errorMessage)}</span> : null}</td>
      <td>{visibleText(r.sourceIPAddress ?? '')}</td>
    </tr>
  );
}

/**
 * A stored record the server could not read stands in its place with the server's reason, so the
 * rows around it still show; Verify chain says whether the chain breaks there.
 */
function UnreadableRow({ seq, why }: { seq: number; why: string }) {
  return (
    <tr className="unreadable" data-unreadable={seq}>
      <td>{seq}</td>
      <td colSpan={6}><span className="notice-inline" role="note">{visibleText(why)}</span></td>
    </tr>
  );
}
