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
  const verifier = new ChainVerifier(auditKey);
  for (const record of records) if (!verifier.add(record)) break;
  return verifier.finish(head);
}

/**
 * verifyChain one record at a time, so that a chain read page by page is checked in bounded
 * memory. `add` returns false once the chain is broken; `finish` gives the verdict.
 */
export class ChainVerifier {
  readonly #auditKey: Uint8Array;
  #expectedSeq = 1;
  #prevHash = GENESIS_HASH;
  #broken: ChainVerdict | undefined;

  constructor(auditKey: Uint8Array) {
    this.#auditKey = auditKey;
  }

  /** The seq of the last record that checked out (0 before the first). */
  get verified(): number {
    return this.#expectedSeq - 1;
  }

  add(record: AuditRecord): boolean {
    if (this.#broken) return false;
    const expectedSeq = this.#expectedSeq;
    if (record.seq !== expectedSeq) {
      const found = expectedSeq === 1 ? `record ${record.seq} comes first` : `record ${record.seq} follows record ${expectedSeq - 1}`;
      this.#broken = { ok: false, seq: expectedSeq, problem: record.seq > expectedSeq ? `record ${expectedSeq} is missing (${found})` : `record ${record.seq} is out of order` };
    } else if (record.prevHash !== this.#prevHash) {
      this.#broken = { ok: false, seq: record.seq, problem: `record ${record.seq} does not follow record ${record.seq - 1}` };
    } else {
      const { hash, ...unsigned } = record;
      if (!sameHex(hash, recordHash(this.#auditKey, unsigned))) {
        this.#broken = { ok: false, seq: record.seq, problem: `record ${record.seq} was altered` };
      } else {
        this.#prevHash = hash;
        this.#expectedSeq++;
      }
    }
    return this.#broken === undefined;
  }

  finish(head: { seq: number; hash: string } | undefined): ChainVerdict {
    if (this.#broken) return this.#broken;
    const last = this.#expectedSeq - 1;
    if ((head?.seq ?? 0) !== last) {
      return { ok: false, seq: last + 1, problem: `the chain ends at record ${last} but record ${head?.seq ?? 0} was written` };
    }
    if (head && !sameHex(head.hash, this.#prevHash)) return { ok: false, seq: last, problem: `record ${last} is not the record that was written last` };
    return { ok: true, records: last };
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
