import type { SnapshotRow, SnapshotRowKind } from '../store/store.js';
import { rowName } from '../store/row-invariants.js';
import { BackupFormatError } from './errors.js';

/**
 * The archive's content, once decrypted: newline-delimited JSON, one line per object
 * (docs/backup.md, "Format"). A header line, one line per stored row, an end line with the counts,
 * so a restore knows the archive is whole. In a row, a value the store keeps wrapped by its root
 * key is plain (base64) and named for what it is (`material`, `secret`): the archive is not tied
 * to any root key, which is why it is encrypted as a whole.
 */
export const CONTENT_VERSION = 1;

export interface ArchiveHeader {
  readonly type: 'header';
  readonly format: 'coffer-backup';
  readonly version: number;
  /** ISO 8601, when the snapshot was taken. */
  readonly createdAt: string;
  /** `sqlite` or `postgresql`: the backend the rows came from. */
  readonly source: string;
}

export type RowCounts = Partial<Record<SnapshotRowKind, number>>;

export interface ArchiveEnd {
  readonly type: 'end';
  readonly rows: number;
  readonly counts: RowCounts;
}

export const ROW_KINDS: readonly SnapshotRowKind[] = ['key', 'keyVersion', 'alias', 'principal', 'identityPolicy', 'accessKey', 'grant', 'audit', 'auditHead', 'meta'];

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** One line for a row whose root-wrapped values have been replaced by their plain bytes. */
export function encodeRow(row: SnapshotRow): string {
  switch (row.kind) {
    case 'key': {
      const { pendingMaterial, ...key } = row.key;
      if (!pendingMaterial) return line({ type: 'row', kind: 'key', key });
      const { wrappedMaterial, ...pending } = pendingMaterial;
      return line({ type: 'row', kind: 'key', key: { ...key, pendingMaterial: { ...pending, material: wrappedMaterial } } });
    }
    case 'keyVersion': {
      const { wrappedMaterial, ...version } = row.version;
      return line({ type: 'row', kind: 'keyVersion', version: { ...version, material: b64(wrappedMaterial) } });
    }
    case 'accessKey': {
      const { wrappedSecret, ...accessKey } = row.accessKey;
      return line({ type: 'row', kind: 'accessKey', accessKey: { ...accessKey, secret: b64(wrappedSecret) } });
    }
    case 'meta':
      return line({ type: 'row', kind: 'meta', name: row.name, value: b64(row.value) });
    default:
      return line({ type: 'row', ...row });
  }
}

export const line = (value: object): string => `${JSON.stringify(value)}\n`;

/** The row a line holds, its plain values in the slots the store keeps wrapped ones in. */
export function decodeRow(value: Record<string, unknown>, lineNumber: number): SnapshotRow {
  const bad = (what: string) => new BackupFormatError(`line ${lineNumber} of the archive (${rowName(value)}): ${what}`);
  const object = (v: unknown, what: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} is missing`);
    return v as Record<string, unknown>;
  };
  const bytes = (v: unknown, what: string): Uint8Array => {
    if (typeof v !== 'string') throw bad(`${what} is missing`);
    const decoded = Buffer.from(v, 'base64');
    // Buffer.from skips what is not base64: a value that does not come back as written was not encodeRow's.
    if (decoded.toString('base64') !== v) throw bad(`${what} is not base64`);
    return new Uint8Array(decoded);
  };
  const kind = value.kind;
  switch (kind) {
    case 'key': {
      const { pendingMaterial, ...key } = object(value.key, 'the key');
      if (pendingMaterial === undefined) return { kind, key: key as never };
      const { material, ...pending } = object(pendingMaterial, 'the pending material');
      if (typeof material !== 'string') throw bad('the pending material is missing');
      return { kind, key: { ...key, pendingMaterial: { ...pending, wrappedMaterial: material } } as never };
    }
    case 'keyVersion': {
      const { material, ...version } = object(value.version, 'the version');
      return { kind, version: { ...version, wrappedMaterial: bytes(material, 'the material') } as never };
    }
    case 'accessKey': {
      const { secret, ...accessKey } = object(value.accessKey, 'the access key');
      return { kind, accessKey: { ...accessKey, wrappedSecret: bytes(secret, 'the secret') } as never };
    }
    case 'meta':
      if (typeof value.name !== 'string') throw bad('the meta name is missing');
      return { kind, name: value.name, value: bytes(value.value, 'the meta value') };
    case 'alias': return { kind, alias: object(value.alias, 'the alias') as never };
    case 'principal': return { kind, principal: object(value.principal, 'the principal') as never };
    case 'identityPolicy': return { kind, policy: object(value.policy, 'the policy') as never };
    case 'grant': return { kind, grant: object(value.grant, 'the grant') as never };
    case 'audit': return { kind, record: object(value.record, 'the audit record') as never };
    case 'auditHead':
      if (typeof value.seq !== 'number' || typeof value.hash !== 'string') throw bad('the audit head is incomplete');
      return { kind, seq: value.seq, hash: value.hash };
    default:
      throw bad(`a row of unknown kind ${JSON.stringify(kind)}`);
  }
}
