import { createHmac, timingSafeEqual } from 'node:crypto';
import { GENESIS_HASH, type AuditEvent, type AuditRecord } from './record.js';

/**
 * The audit chain. Each record's hash is an HMAC-SHA256, under an audit key that is stored only
 * wrapped by the root key, over its predecessor's hash and its own canonical form. Removing,
 * reordering or altering a record breaks the chain from that record on, and someone who can write
 * the database but not read the root key cannot forge a replacement chain.
 */
export function chainRecord(auditKey: Uint8Array, event: AuditEvent, seq: number, prevHash: string): AuditRecord {
  const unsigned = { ...event, seq, prevHash };
  return { ...unsigned, hash: recordHash(auditKey, unsigned) };
}

function recordHash(auditKey: Uint8Array, record: Omit<AuditRecord, 'hash'>): string {
  return createHmac('sha256', auditKey).update(record.prevHash).update('\n').update(canonicalJson(record)).digest('hex');
}

/** JSON with object keys sorted at every level, so equal records hash alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export type ChainVerdict =
  | { readonly ok: true; readonly records: number }
  | { readonly ok: false; readonly seq: number; readonly problem: string };

/**
 * Checks records in seq order against each other and against the stored head (the last seq and
 * hash, kept apart from the records so that removing the newest record is seen too).
 */
export function verifyChain(
  auditKey: Uint8Array,
  records: Iterable<AuditRecord>,
  head: { seq: number; hash: string } | undefined,
): ChainVerdict {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for (const record of records) {
    if (record.seq !== expectedSeq) {
      return { ok: false, seq: expectedSeq, problem: record.seq > expectedSeq ? `record ${expectedSeq} is missing` : `record ${record.seq} is out of order` };
    }
    if (record.prevHash !== prevHash) return { ok: false, seq: record.seq, problem: `record ${record.seq} does not follow record ${record.seq - 1}` };
    const { hash, ...unsigned } = record;
    if (!sameHex(hash, recordHash(auditKey, unsigned))) return { ok: false, seq: record.seq, problem: `record ${record.seq} was altered` };
    prevHash = hash;
    expectedSeq++;
  }
  const last = expectedSeq - 1;
  if ((head?.seq ?? 0) !== last) {
    return { ok: false, seq: last + 1, problem: `the chain ends at record ${last} but record ${head?.seq ?? 0} was written` };
  }
  if (head && !sameHex(head.hash, prevHash)) return { ok: false, seq: last, problem: `record ${last} is not the record that was written last` };
  return { ok: true, records: last };
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
