import { createHash, randomBytes } from 'node:crypto';
import type { RootKey } from '../root/root-key.js';
import type { Store } from '../store/store.js';
import type { KeyVersionRecord } from './key-record.js';
import type { RotationType } from './enums.js';

const MATERIAL_LENGTH = 32;

/** The AAD that binds a wrapped backing key to its key id and version. */
export const backingKeyAad = (keyId: string, version: number): Buffer =>
  Buffer.from(`coffer:backing-key:v1:${keyId}:${version}`, 'utf8');

export interface UnwrappedVersion {
  readonly material: Buffer;
  /** The version's KeyMaterialId, for responses. */
  readonly materialId: string;
}

export interface BackingKeyCacheLimits {
  /** Most unwrapped backing keys held at once. */
  readonly maxEntries: number;
  /** How long an unwrapped backing key may stay in memory, in ms. */
  readonly ttlMs: number;
}

/**
 * Makes, wraps and unwraps backing keys. Unwrapped keys are cached in memory, bounded in count and
 * age, so the root key is not asked on every request; a key's state is still read from the store
 * on every request, so the cache never outlives a disable or a deletion. Evicted buffers are left
 * to the garbage collector rather than zeroed: a request may still hold one across an await.
 */
export class BackingKeys {
  readonly #root: RootKey;
  readonly #store: Store;
  readonly #limits: BackingKeyCacheLimits;
  /** Map order is insertion order: the first entry is the oldest, evicted first. */
  readonly #cache = new Map<string, { version: UnwrappedVersion; expires: number }>();
  /** Lookups answered from the cache and not, read by the metrics on scrape (coffer_cache_*_total). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(root: RootKey, store: Store, limits: BackingKeyCacheLimits = { maxEntries: 10_000, ttlMs: 5 * 60_000 }) {
    this.#root = root;
    this.#store = store;
    this.#limits = limits;
  }

  /**
   * A new version, wrapped and ready to store: fresh 256-bit material from the CSPRNG, or the given
   * material (an asymmetric key's PKCS#8 private key, an HMAC key), wrapped the same way.
   */
  async create(keyId: string, version: number, createdAt: number, rotationType?: RotationType, given?: Buffer): Promise<KeyVersionRecord> {
    const material = given ?? randomBytes(MATERIAL_LENGTH);
    const wrappedMaterial = await this.#root.wrap(material, backingKeyAad(keyId, version));
    const materialId = given ? importedMaterialId(keyId, given) : createHash('sha256').update(wrappedMaterial).digest('hex');
    // Not cached here: the version may lose a race to be stored, and a cached material that the
    // store does not hold would seal ciphertexts nobody could ever open.
    return { keyId, version, materialId, wrappedMaterial, createdAt, ...(rotationType ? { rotationType } : {}) };
  }

  /** One stored version, unwrapped, or undefined if the store has no such version. */
  async version(keyId: string, version: number): Promise<UnwrappedVersion | undefined> {
    const id = `${keyId}:${version}`;
    const cached = this.#cache.get(id);
    if (cached && cached.expires > Date.now()) {
      this.stats.hits++;
      return cached.version;
    }
    this.stats.misses++;
    if (cached) this.#cache.delete(id);
    const record = await this.#store.getKeyVersion(keyId, version);
    if (!record) return undefined;
    const unwrapped: UnwrappedVersion = {
      material: Buffer.from(await this.#root.unwrap(record.wrappedMaterial, backingKeyAad(keyId, version))),
      materialId: record.materialId,
    };
    this.#remember(id, unwrapped);
    return unwrapped;
  }

  /**
   * Wraps another secret of a key under the root key (an import's wrapping private key), bound to
   * `purpose`; `unwrapSecret` throws unless given the same purpose.
   */
  wrapSecret(secret: Uint8Array, purpose: string): Promise<Uint8Array> {
    return this.#root.wrap(secret, Buffer.from(`coffer:${purpose}`, 'utf8'));
  }

  async unwrapSecret(wrapped: Uint8Array, purpose: string): Promise<Buffer> {
    return Buffer.from(await this.#root.unwrap(wrapped, Buffer.from(`coffer:${purpose}`, 'utf8')));
  }

  /** Drops every cached version of a key (it was deleted). */
  forget(keyId: string): void {
    for (const id of this.#cache.keys()) {
      if (id.startsWith(`${keyId}:`)) this.#cache.delete(id);
    }
  }

  #remember(id: string, version: UnwrappedVersion): void {
    this.#cache.delete(id);
    this.#cache.set(id, { version, expires: Date.now() + this.#limits.ttlMs });
    while (this.#cache.size > this.#limits.maxEntries) {
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
  }
}

/**
 * The KeyMaterialId of imported material: as AWS assigns it, from the key and the material, so
 * the same bytes imported into one key always have the one id (an import names the material it
 * brings back by it, and the same bytes cannot come back as "new" material under another id).
 * A SHA-256 over the key id and the material, domain-separated; the material is a key the caller
 * chose, of at least 128 bits, which its hash does not reveal.
 */
export function importedMaterialId(keyId: string, material: Uint8Array): string {
  return createHash('sha256').update('coffer:imported-key-material-id:v1\0').update(keyId).update('\0').update(material).digest('hex');
}
