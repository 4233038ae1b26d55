import { setImmediate as nextTurn } from 'node:timers/promises';
import { StoreUnavailableError, type Store } from '../store/store.js';
import { ChainVerifier, type ChainVerdict } from './chain.js';
import type { AuditRecord } from './record.js';

/**
 * Records read per page: bounded memory however long the trail is. SQLite reads synchronously, so
 * a page is also how long the server serves nothing else (~2.5 ms for 250 records: a trail of
 * 150,000 took 1.5 s in one piece); the check yields to other requests between pages.
 */
const PAGE = 250;

/** Pages read past the head before a check stops following records appended while it runs. */
const MAX_PAGES_PAST_HEAD = 10;

/**
 * Verifies the audit chain as the store holds it, page by page (chain.ts does the checking).
 *
 * The head is read first and the chain is checked up to it. Records past that head must then
 * chain on from it, and none may lie past the head as read at the end: the head and the record it
 * names are written in one transaction, so a record past the final head was not appended by the
 * server (or the head was set back to hide it). Records appended while the check runs are followed
 * for a few pages, then left for the next check.
 */
export function verifyStoredChain(store: Store, auditKey: Uint8Array): Promise<ChainVerdict> {
  // One check of a store at a time: callers that ask while one runs share its verdict, so many
  // requests at once cost one pass over the trail, not one each.
  let running = checks.get(store);
  if (!running) {
    running = check(store, auditKey).finally(() => checks.delete(store));
    checks.set(store, running);
  }
  return running;
}

const checks = new WeakMap<Store, Promise<ChainVerdict>>();

async function check(store: Store, auditKey: Uint8Array): Promise<ChainVerdict> {
  // The server numbers records from 1. A row numbered 0 or less (down to -(2^53 - 1), the least
  // seq a JavaScript number holds exactly; queries leave out every such row) is read by no page
  // below: it is named, as a record past the head is.
  const [first] = (await store.readAuditIndex({ afterSeq: -Number.MAX_SAFE_INTEGER, limit: 1, keys: [] })).rows;
  if (first !== undefined && first.seq < 1) {
    return { ok: false, seq: first.seq, problem: `record ${first.seq} lies before record 1, the first the server writes: it was not written by the server` };
  }
  const head = await store.getAuditHead();
  const verifier = new ChainVerifier(auditKey);
  const last = head?.seq ?? 0;
  let afterSeq = 0;
  let pastHead = 0;
  for (;;) {
    if (afterSeq >= last && ++pastHead > MAX_PAGES_PAST_HEAD) break;
    if (afterSeq > 0) await nextTurn();
    const page = await readPage(store, afterSeq);
    for (const record of page.records) {
      if (record.seq === last + 1) {
        // Everything up to the head checked out: the head itself must name the last of them.
        const atHead = verifier.finish(head);
        if (!atHead.ok) return atHead;
      }
      if (!verifier.add(record)) {
        const checked = page.records.slice(0, page.records.indexOf(record));
        return (await indexProblem(store, checked, afterSeq)) ?? (await renumbered(store, record, afterSeq, checked.length)) ?? verifier.finish(head);
      }
    }
    // The chain holds these records as written; what queries find them by must say the same.
    const misindexed = await indexProblem(store, page.records, afterSeq);
    if (misindexed !== undefined) return misindexed;
    if (page.unreadable !== undefined) {
      const seq = verifier.verified + 1;
      return { ok: false, seq, problem: `record ${seq} cannot be read (${page.unreadable})` };
    }
    if (page.records.length === 0) break;
    // The verifier accepted every record, so the last one's seq is the position to resume after.
    afterSeq = page.records[page.records.length - 1]!.seq;
  }
  const checked = verifier.verified;
  if (checked <= last) return verifier.finish(head);
  const finalHead = await store.getAuditHead();
  const finalSeq = finalHead?.seq ?? 0;
  if (checked > finalSeq) {
    return { ok: false, seq: finalSeq + 1, problem: `record ${finalSeq + 1} lies past the head, which names record ${finalSeq} as the last written` };
  }
  return checked === finalSeq ? verifier.finish(finalHead) : verifier.intact;
}

/**
 * The next page of records. A record that does not even parse as one ends the page early with
 * `unreadable` set, so that the verifier can name it as the next record it expected.
 */
async function readPage(store: Store, afterSeq: number): Promise<{ records: AuditRecord[]; unreadable?: string }> {
  let records: AuditRecord[];
  try {
    records = await store.readAudit({ afterSeq, limit: PAGE });
  } catch (error) {
    // A store that went away (a database restarted) could not be checked: that is no broken chain.
    if (error instanceof StoreUnavailableError) throw error;
    // Some record of the page does not parse: read the page one record at a time up to it.
    records = [];
    for (let position = afterSeq; records.length < PAGE;) {
      let next: AuditRecord[];
      try {
        next = await store.readAudit({ afterSeq: position, limit: 1 });
      } catch (error) {
        if (error instanceof StoreUnavailableError) throw error;
        // Not the parser's message: it quotes the stored text, which the verdict never repeats (as QueryAuditRecords).
        return { records, unreadable: error instanceof SyntaxError ? 'it is not JSON' : error instanceof Error ? error.message : String(error) };
      }
      const record = next[0];
      if (record === undefined) break;
      if (!isRecord(record)) return { records, unreadable: 'it is not an audit record' };
      records.push(record);
      position = record.seq;
    }
    return { records };
  }
  const bad = records.findIndex((r) => !isRecord(r));
  return bad < 0 ? { records } : { records: records.slice(0, bad), unreadable: 'it is not an audit record' };
}

function isRecord(value: unknown): value is AuditRecord {
  return typeof value === 'object' && value !== null
    && typeof (value as AuditRecord).seq === 'number' && typeof (value as AuditRecord).hash === 'string';
}

/**
 * A record whose JSON names another seq than the row it is stored in: the row is there, so the
 * record was altered, not missing (the verifier, which sees only the JSON, would call the row's
 * record missing when its seq was changed to the next one's). `position` is its index in the page
 * read after `afterSeq`.
 */
async function renumbered(store: Store, record: AuditRecord, afterSeq: number, position: number): Promise<ChainVerdict | undefined> {
  const row = (await store.readAuditIndex({ afterSeq, limit: position + 1, keys: [] })).rows[position];
  if (row === undefined || row.seq === record.seq) return undefined;
  return { ok: false, seq: row.seq, problem: `record ${row.seq} was altered` };
}

/**
 * Where the columns and key index that queries filter on (time, principal, operation, outcome,
 * the keys named) differ from the records the chain vouches for: changed there, a record would be
 * hidden from a query (or, for the columns, shown by another) though every hash is right. A row
 * added to the key index (a record shown under a key it does not name) is not looked for: the
 * index has no way in by seq, and such a record still says which keys it names.
 */
async function indexProblem(store: Store, records: readonly AuditRecord[], afterSeq: number): Promise<ChainVerdict | undefined> {
  if (records.length === 0) return undefined;
  const keys = records.flatMap((r) => [...new Set(r.keyArns)].map((arn) => [arn, r.seq] as const));
  const index = await store.readAuditIndex({ afterSeq, limit: records.length, keys });
  for (const [i, record] of records.entries()) {
    const row = index.rows[i];
    const problem = (what: string): ChainVerdict => ({ ok: false, seq: record.seq, problem: `record ${record.seq}'s ${what} in the index that queries read differs from the record` });
    if (row === undefined || row.seq !== record.seq) return problem('row');
    if (row.time !== record.time) return problem('time');
    if (row.principalArn !== (record.principalArn ?? null)) return problem('principal');
    if (row.operation !== (record.operation ?? null)) return problem('operation');
    if (row.outcome !== record.outcome) return problem('outcome');
    const missing = [...new Set(record.keyArns)].find((arn) => !index.keys.has(`${record.seq} ${arn}`));
    if (missing !== undefined) return { ok: false, seq: record.seq, problem: `record ${record.seq} is missing from the key index under ${missing}, so a query by that key does not find it` };
  }
  return undefined;
}
