import { createHmac, timingSafeEqual } from 'node:crypto';
import { GENESIS_HASH, type AuditEvent, type AuditRecord } from './record.js';

/**
 * The audit chain. Each record's hash is an HMAC-SHA256, under an audit key that is stored only
 * wrapped by the root key, over its predecessor's hash and its own canonical form. Removing,
 * reordering or altering a record breaks the chain from that record on, and someone who can write
 * the database but not read the root key cannot forge a replacement chain.
 */
export function chainRecord(auditKey: Uint8Array, event: AuditEvent, seq: number, prevHash: string): AuditRecord {
  // Object.assign rather than `{ ...event, seq, prevHash }`: V8 builds a spread with members
  // after it on a slow path (~5 µs per record here, against ~0.3), on the server's hot path. The
  // two differ only for a member named `__proto__`, which an AuditEvent does not have. `hash` is
  // there from the start, undefined, so that setting it does not change the object's shape; the
  // canonical form leaves undefined members out, so the record is hashed as if it had none.
  const record = Object.assign({}, event, { seq, prevHash, hash: undefined }) as Omit<AuditRecord, 'hash'> & { hash?: string };
  record.hash = recordHash(auditKey, record);
  return record as AuditRecord;
}

function recordHash(auditKey: Uint8Array, record: Omit<AuditRecord, 'hash'>): string {
  return createHmac('sha256', auditKey).update(record.prevHash).update('\n').update(canonicalJson(record)).digest('hex');
}

/**
 * JSON with object keys sorted at every level, so equal records hash alike.
 *
 * Every record is hashed on the way in and again by each verification, so the common case takes
 * a fast path: the text written directly, keys in sorted order, primitives by JSON.stringify, with
 * no copy of the value made (building a sorted copy for JSON.stringify cost twice as much on the
 * server's hot path, the copies being dictionary-mode objects). Values where the definition below
 * gives something other than JSON (undefined or function array elements, functions, symbols,
 * bigints) or where JSON.stringify would not be the definition (toJSON) take the definition
 * itself. `test/audit-canonical-json.test.ts` holds the two to the same output.
 */
export function canonicalJson(value: unknown): string {
  try {
    return plainCanonicalJson(value);
  } catch (error) {
    if (error === NOT_PLAIN) return canonicalJsonByDefinition(value);
    throw error;
  }
}

const NOT_PLAIN = new Error('not plain JSON data: take the definition');

function plainCanonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
    case 'number':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw NOT_PLAIN;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) throw NOT_PLAIN;
      if (i > 0) text += ',';
      text += plainCanonicalJson(item);
    }
    return `${text}]`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
  // Object.keys lists what Object.entries does; sorted by code unit, as the definition compares.
  const keys = Object.keys(value).sort();
  let text = '{';
  let first = true;
  for (const key of keys) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    if (first) first = false;
    else text += ',';
    text += memberName(key);
    text += plainCanonicalJson(item);
  }
  return `${text}}`;
}

/** `"name":` for a member name. Records repeat the same few names, so their quoted forms are kept. */
function memberName(key: string): string {
  let quoted = MEMBER_NAMES.get(key);
  if (quoted === undefined) {
    quoted = `${JSON.stringify(key)}:`;
    // Bounded: encryption context keys are the caller's choice.
    if (MEMBER_NAMES.size < 1024) MEMBER_NAMES.set(key, quoted);
  }
  return quoted;
}
const MEMBER_NAMES = new Map<string, string>();

/** The definition: what `canonicalJson` returns for every value. */
export function canonicalJsonByDefinition(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJsonByDefinition).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJsonByDefinition(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export type ChainVerdict =
  /** `lastHash`: the hash of record `records`, to keep outside the store (docs/audit.md); absent for an empty trail. */
  | { readonly ok: true; readonly records: number; readonly lastHash?: string }
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
    return this.intact;
  }

  /** The verdict for the records added so far, all of which checked out. */
  get intact(): ChainVerdict {
    const last = this.#expectedSeq - 1;
    return last === 0 ? { ok: true, records: 0 } : { ok: true, records: last, lastHash: this.#prevHash };
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
