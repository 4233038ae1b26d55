/**
 * The cryptographic materials cache (framework/cryptographic-materials-cache.md,
 * framework/local-cryptographic-materials-cache.md): a small interface so a shared cache can be
 * plugged into the caching materials manager, and the in-memory LRU default.
 *
 * Usage accounting lives in the cache, not the manager: `getEncryptionEntry` adds the
 * caller's usage to the entry and returns the totals in one step, so a cache shared between
 * processes can make that step atomic.
 */
import type { DecryptionMaterials, EncryptionMaterials } from '../materials.js';

export interface CacheUsage {
  readonly messagesEncrypted: number;
  readonly bytesEncrypted: number;
}

export interface EncryptionCacheEntry extends CacheUsage {
  readonly materials: EncryptionMaterials;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface DecryptionCacheEntry {
  readonly materials: DecryptionMaterials;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * A cache owns the materials put in it and hands out materials of the caller's own: the local
 * cache zeroes an entry's plaintext data key when the entry leaves it (evicted, expired, deleted
 * or replaced), and every get returns a copy, so a message still using a key it got is never
 * touched by that zeroing (framework/local-cryptographic-materials-cache.md; the official SDKs
 * zero evicted materials too).
 */
export interface CryptographicMaterialsCache {
  /** The entry with `usage` already added to its totals, or undefined. The caller checks limits (and expiry, again). */
  getEncryptionEntry(id: string, usage: CacheUsage): Promise<EncryptionCacheEntry | undefined>;
  putEncryptionEntry(id: string, entry: EncryptionCacheEntry): Promise<void>;
  getDecryptionEntry(id: string): Promise<DecryptionCacheEntry | undefined>;
  putDecryptionEntry(id: string, entry: DecryptionCacheEntry): Promise<void>;
  deleteEntry(id: string): Promise<void>;
}

type Entry = { kind: 'encrypt'; value: EncryptionCacheEntry } | { kind: 'decrypt'; value: DecryptionCacheEntry };

/** The same materials with a plaintext data key of their own. */
export function withOwnDataKey<M extends EncryptionMaterials | DecryptionMaterials>(materials: M): M {
  const key = materials.plaintextDataKey;
  if (key === undefined) return materials;
  const copy: M = { ...materials, plaintextDataKey: Buffer.from(key) };
  return Object.freeze(copy);
}

/** An entry leaves the cache: its data key is not needed any more, and nobody else holds that copy. */
function discard(e: Entry): void {
  e.value.materials.plaintextDataKey?.fill(0);
}

/** Least recently used entries checked for expiry on every get (local-cryptographic-materials-cache.md#entry-pruning-tail-size). */
const PRUNING_TAIL_SIZE = 10;

export interface LocalMaterialsCacheOptions {
  /** Test hook: the clock, in epoch milliseconds; give the caching manager the same one. */
  readonly testOnlyNow?: () => number;
}

/**
 * In-memory LRU cache of at most `capacity` entries (encryption and decryption together; 0 keeps none). A get
 * never returns an entry past its `expiresAt` and evicts the expired ones among the least recently
 * used (framework/local-cryptographic-materials-cache.md#get-cache-entry), so data keys nobody asks
 * for again do not stay in memory until they are pushed out.
 */
export class LocalMaterialsCache implements CryptographicMaterialsCache {
  readonly capacity: number;
  /** A Map iterates in insertion order: re-inserting on use keeps the least recent first. */
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(capacity = 1000, options: LocalMaterialsCacheOptions = {}) {
    // #entry-capacity: zero is accepted (nothing is kept), as the specification requires.
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError('cache capacity must be a non-negative integer');
    this.capacity = capacity;
    this.#now = options.testOnlyNow ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live entry for `id`, now the most recently used; expired entries are evicted on the way. */
  #touch(id: string): Entry | undefined {
    const now = this.#now();
    let checked = 0;
    for (const [key, e] of this.#entries) {
      if (checked++ === PRUNING_TAIL_SIZE) break;
      if (e.value.expiresAt <= now) this.#remove(key, e);
    }
    const e = this.#entries.get(id);
    if (e === undefined) return undefined;
    if (e.value.expiresAt <= now) {
      this.#remove(id, e);
      return undefined;
    }
    this.#entries.delete(id);
    this.#entries.set(id, e);
    return e;
  }

  #remove(id: string, e: Entry): void {
    this.#entries.delete(id);
    discard(e);
  }

  #put(id: string, e: Entry): void {
    const replaced = this.#entries.get(id);
    // The same materials put again are the new entry's: only other materials are discarded.
    if (replaced !== undefined && replaced.value.materials !== e.value.materials) this.#remove(id, replaced);
    else this.#entries.delete(id);
    this.#entries.set(id, e);
    while (this.#entries.size > this.capacity) {
      const [oldest, entry] = this.#entries.entries().next().value!;
      this.#remove(oldest, entry);
    }
  }

  async getEncryptionEntry(id: string, usage: CacheUsage): Promise<EncryptionCacheEntry | undefined> {
    const e = this.#touch(id);
    if (e?.kind !== 'encrypt') return undefined;
    const value: EncryptionCacheEntry = Object.freeze({
      ...e.value,
      messagesEncrypted: e.value.messagesEncrypted + usage.messagesEncrypted,
      bytesEncrypted: e.value.bytesEncrypted + usage.bytesEncrypted,
    });
    e.value = value;
    return Object.freeze({ ...value, materials: withOwnDataKey(value.materials) });
  }

  async putEncryptionEntry(id: string, entry: EncryptionCacheEntry): Promise<void> {
    this.#put(id, { kind: 'encrypt', value: Object.freeze({ ...entry }) });
  }

  async getDecryptionEntry(id: string): Promise<DecryptionCacheEntry | undefined> {
    const e = this.#touch(id);
    return e?.kind === 'decrypt' ? Object.freeze({ ...e.value, materials: withOwnDataKey(e.value.materials) }) : undefined;
  }

  async putDecryptionEntry(id: string, entry: DecryptionCacheEntry): Promise<void> {
    this.#put(id, { kind: 'decrypt', value: Object.freeze({ ...entry }) });
  }

  async deleteEntry(id: string): Promise<void> {
    const e = this.#entries.get(id);
    if (e !== undefined) this.#remove(id, e);
  }
}
