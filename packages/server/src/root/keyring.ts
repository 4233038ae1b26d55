import type { Store } from '../store/store.js';
import { isRootKeyId, LEGACY_ROOT_KEY_ID } from './header.js';
import { StartupError } from './root-key.js';

/** The root-key providers, a closed set (docs/root-keys.md). */
export const ROOT_KEY_PROVIDERS = ['file', 'passphrase', 'pkcs11', 'kms'] as const;
export type RootKeyProviderName = (typeof ROOT_KEY_PROVIDERS)[number];

export function isRootKeyProvider(value: unknown): value is RootKeyProviderName {
  return typeof value === 'string' && (ROOT_KEY_PROVIDERS as readonly string[]).includes(value);
}

/** One root key as the store knows it: never its secret, only where it lives and how to open it. */
export interface RootKeyDescriptor {
  readonly id: string;
  readonly provider: RootKeyProviderName;
  /** Non-secret settings of the provider (a file path, scrypt parameters and salt, a token and key label, a remote key ARN and blob). */
  readonly settings: Readonly<Record<string, string | number>>;
  /** Base64 of 32 random bytes wrapped by this root key (with its header) under CHECK_AAD: proves a key is the right one. */
  readonly check: string;
  readonly createdAt: number;
}

/** The phases of a rewrap pass, in order (root/wrapped-values.ts enumerates each). */
export const REWRAP_PHASES = ['keys', 'access-keys', 'meta'] as const;
export type RewrapPhase = (typeof REWRAP_PHASES)[number];

/** A rotation under way: every value not yet under `current` is re-wrapped, then the others retire. */
export interface RotationProgress {
  readonly startedAt: number;
  readonly phase: RewrapPhase;
  /** The last item of the phase done (a key id, a principal ARN), to resume after it. */
  readonly after?: string;
  readonly rewrapped: number;
}

export interface KeyringRecord {
  readonly format: 1;
  readonly current: string;
  readonly keys: readonly RootKeyDescriptor[];
  readonly rotation?: RotationProgress;
}

/** The keyring as read, with the bytes it was read as: a write is a compare-and-set against them. */
export interface StoredKeyring {
  readonly record: KeyringRecord;
  /** Undefined for a store written before the keyring: one legacy file root key, nothing stored yet. */
  readonly raw: Uint8Array | undefined;
}

export const KEYRING_META = 'root-keyring';
/** The legacy check value (root.key's), kept as it was: a legacy store is a keyring of one key. */
export const LEGACY_CHECK_META = 'root-key-check';
export const CHECK_AAD = Buffer.from('coffer:root-key-check');
/** Where the legacy file root key lives, relative to the data directory. */
export const LEGACY_ROOT_KEY_FILE = 'root.key';

/** The store's keyring; undefined for a store no server has opened yet. */
export async function readKeyring(store: Store): Promise<StoredKeyring | undefined> {
  const raw = await store.getMeta(KEYRING_META);
  if (raw !== undefined) return { record: parseKeyring(raw), raw };
  const legacyCheck = await store.getMeta(LEGACY_CHECK_META);
  if (legacyCheck === undefined) return undefined;
  return {
    raw: undefined,
    record: {
      format: 1,
      current: LEGACY_ROOT_KEY_ID,
      keys: [{ id: LEGACY_ROOT_KEY_ID, provider: 'file', settings: { path: LEGACY_ROOT_KEY_FILE }, check: Buffer.from(legacyCheck).toString('base64'), createdAt: 0 }],
    },
  };
}

/** Compare-and-set of the keyring: false when another writer (a node, a rotation) changed it since `previous` was read. */
export async function writeKeyring(store: Store, previous: StoredKeyring | undefined, next: KeyringRecord): Promise<boolean> {
  const bytes = Buffer.from(JSON.stringify(next), 'utf8');
  return previous?.raw === undefined ? store.putMetaIfAbsent(KEYRING_META, bytes) : store.replaceMeta(KEYRING_META, previous.raw, bytes);
}

export function descriptorOf(record: KeyringRecord, id: string): RootKeyDescriptor | undefined {
  return record.keys.find((k) => k.id === id);
}

function parseKeyring(raw: Uint8Array): KeyringRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const record = parsed as Partial<KeyringRecord> | undefined;
  if (!record || record.format !== 1 || typeof record.current !== 'string' || !Array.isArray(record.keys)
    || !record.keys.every((k) => isRootKeyId(k.id) && isRootKeyProvider(k.provider) && typeof k.check === 'string')
    || !record.keys.some((k) => k.id === record.current)) {
    throw new StartupError(`The store's root keyring (meta '${KEYRING_META}') is damaged or of a newer Coffer: restore the store from backup or upgrade Coffer.`);
  }
  return record as KeyringRecord;
}
