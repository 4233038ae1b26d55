/**
 * Caching materials manager (framework/caching-cmm.md): reuses a data key for several messages
 * within explicit limits on age, messages and bytes, so a KMS keyring is not called per
 * message. Entries are keyed by the spec's cache identifiers (Appendix A), which start from a
 * per-manager partition id: managers sharing a cache share entries only when given the same
 * partition.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { DecryptionMaterials, EncryptionMaterials } from '../materials.js';
import type { Keyring } from '../keyrings/keyring.js';
import { u16 } from '../internal/bytes.js';
import { serializeEncryptedDataKeys } from '../serialize/encrypted-data-keys.js';
import { serializeEncryptionContext } from '../serialize/encryption-context.js';
import { encryptAllowed } from '../commitment-policy.js';
import { findSuite, getSuite, type AlgorithmSuite } from '../suites.js';
import { isCryptographicMaterialsManager, type CryptographicMaterialsManager, type DecryptMaterialsRequest, type EncryptionMaterialsRequest } from './cmm.js';
import { DefaultCryptographicMaterialsManager } from './default.js';
import { withOwnDataKey, type CryptographicMaterialsCache } from './materials-cache.js';
import { KeyringError } from '../errors.js';
import { assertMaterials, holdsDataKey } from '../internal/materials-checks.js';

/** #limit-messages default, and its maximum: 2^32. */
const DEFAULT_MAX_MESSAGES = 2 ** 32;
/** #limit-bytes default "no more than 2^63 - 1"; the largest exact integer here. */
const DEFAULT_MAX_BYTES = Number.MAX_SAFE_INTEGER;

export interface CachingCmmOptions {
  /** The manager to ask on a miss; a keyring is wrapped in the default manager. */
  readonly underlying: CryptographicMaterialsManager | Keyring;
  readonly cache: CryptographicMaterialsCache;
  /** #cache-limit-ttl: how long an entry may be used, in milliseconds (finite, > 0). Required. */
  readonly maxAge: number;
  /** #limit-messages: messages one data key may encrypt, 1 .. 2^32 (default 2^32). */
  readonly maxMessagesEncrypted?: number;
  /** #limit-bytes: plaintext bytes one data key may encrypt (default 2^53 - 1). */
  readonly maxBytesEncrypted?: number;
  /** #partition-id: managers share cache entries only when this is equal. Default: random per manager. */
  readonly partition?: string;
  /** Test hook: the clock, in epoch milliseconds. */
  readonly testOnlyNow?: () => number;
}

function sha512(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

function positiveInteger(x: unknown, what: string, fallback: number, max: number): number {
  if (x === undefined) return fallback;
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1 || x > max) throw new RangeError(`${what} must be an integer from 1 to ${max}`);
  return x;
}

export class CachingCryptographicMaterialsManager implements CryptographicMaterialsManager {
  readonly partition: string;
  readonly maxAge: number;
  readonly maxMessagesEncrypted: number;
  readonly maxBytesEncrypted: number;
  readonly #underlying: CryptographicMaterialsManager;
  readonly #cache: CryptographicMaterialsCache;
  readonly #partitionHash: Buffer;
  readonly #now: () => number;

  constructor(options: CachingCmmOptions) {
    // Precondition: an entry cannot be cached forever (#cache-limit-ttl: a time-to-live greater than zero), so Infinity is refused too.
    if (typeof options.maxAge !== 'number' || !Number.isFinite(options.maxAge) || !(options.maxAge > 0)) {
      throw new RangeError('maxAge must be a finite number of milliseconds greater than zero');
    }
    const cache = options.cache;
    if (typeof cache?.getEncryptionEntry !== 'function' || typeof cache.getDecryptionEntry !== 'function') throw new TypeError('cache must be a CryptographicMaterialsCache');
    if (options.partition !== undefined && typeof options.partition !== 'string') throw new TypeError('partition must be a string');
    // Two strings with lone surrogates can encode to the same UTF-8 bytes, and so to one partition.
    if (options.partition !== undefined && Buffer.from(options.partition, 'utf8').toString('utf8') !== options.partition) {
      throw new TypeError('partition must be well-formed Unicode (no lone surrogates)');
    }
    this.maxAge = options.maxAge;
    // Precondition: 2^32 messages is also the most one data key may encrypt (the official SDKs refuse more).
    this.maxMessagesEncrypted = positiveInteger(options.maxMessagesEncrypted, 'maxMessagesEncrypted', DEFAULT_MAX_MESSAGES, DEFAULT_MAX_MESSAGES);
    this.maxBytesEncrypted = positiveInteger(options.maxBytesEncrypted, 'maxBytesEncrypted', DEFAULT_MAX_BYTES, DEFAULT_MAX_BYTES);
    this.partition = options.partition ?? randomUUID();
    this.#partitionHash = sha512(Buffer.from(this.partition, 'utf8'));
    this.#cache = cache;
    this.#underlying = isCryptographicMaterialsManager(options.underlying)
      ? options.underlying
      : new DefaultCryptographicMaterialsManager(options.underlying);
    this.#now = options.testOnlyNow ?? Date.now;
  }

  /**
   * Appendix A, "Encryption Materials, Without/With Algorithm Suite"; with required encryption
   * context keys (which the materials carry, and which decide what the header holds), their names
   * are appended, so that only a request requiring the same keys meets these materials.
   */
  #encryptionId(request: EncryptionMaterialsRequest): string {
    const ec = sha512(serializeEncryptionContext(request.encryptionContext));
    const suite = request.suiteId === undefined ? Buffer.from([0x00]) : Buffer.concat([Buffer.from([0x01]), u16(request.suiteId)]);
    const required = request.requiredEncryptionContextKeys ?? [];
    return sha512(
      this.#partitionHash, suite, ec,
      ...(required.length > 0 ? [sha512(serializeEncryptionContext(Object.fromEntries(required.map((key) => [key, '']))))] : []),
    ).toString('base64');
  }

  /**
   * Appendix A, "Decryption Materials"; with a reproduced encryption context, its hash is appended.
   * The underlying manager judges that context (a required-encryption-context manager refuses a
   * request without its keys), so materials it gave for one reproduced context are no answer for
   * another: a hit must be a request it would have answered alike.
   */
  #decryptionId(request: DecryptMaterialsRequest): string {
    const edkHashes = request.encryptedDataKeys.map((edk) => sha512(serializeEncryptedDataKeys([edk]).subarray(2))).sort(Buffer.compare);
    const reproduced = request.reproducedEncryptionContext ?? {};
    return sha512(
      this.#partitionHash, u16(request.suite.id), ...edkHashes, Buffer.alloc(64), sha512(serializeEncryptionContext(request.encryptionContext)),
      ...(Object.keys(reproduced).length > 0 ? [sha512(serializeEncryptionContext(reproduced))] : []),
    ).toString('base64');
  }

  /**
   * Whether an entry is within this manager's maxAge, and within the one it was put with: managers
   * with other limits may share a cache and a partition, and each holds an entry to its own limits
   * (as the message and byte limits below), not to the limits of whichever manager put it there.
   */
  #young(entry: { readonly createdAt: number; readonly expiresAt: number }): boolean {
    const now = this.#now();
    return entry.expiresAt > now && now - entry.createdAt < this.maxAge;
  }

  async getEncryptionMaterials(request: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    const length = request.maxPlaintextLength;
    const suite = request.suiteId === undefined ? undefined : getSuite(request.suiteId);
    // #get-encryption-materials: identity-KDF suites and unknown lengths bypass the cache. So do
    // messages larger than the byte limit, which no entry could take.
    if (suite?.kdfHash === null || length === undefined || length > this.maxBytesEncrypted) {
      return this.#underlying.getEncryptionMaterials(request);
    }
    const id = this.#encryptionId(request);
    const entry = await this.#cache.getEncryptionEntry(id, { messagesEncrypted: 1, bytesEncrypted: length });
    if (entry !== undefined) {
      const fresh = this.#young(entry) && entry.messagesEncrypted <= this.maxMessagesEncrypted && entry.bytesEncrypted <= this.maxBytesEncrypted;
      // The identifier does not cover the commitment policy (Appendix A): materials of a suite this
      // request's policy forbids are not an answer for it, though they stay good for others.
      if (fresh && encryptAllowed(request.commitmentPolicy, entry.materials.suite)) return entry.materials;
      if (!fresh) await this.#cache.deleteEntry(id);
    }
    // On a miss the underlying request carries Max Plaintext Length = Limit Bytes.
    const made = cacheable(await this.#underlying.getEncryptionMaterials({ ...request, maxPlaintextLength: this.maxBytesEncrypted }));
    const materials = made.materials;
    if (made.suite.kdfHash !== null) {
      const now = this.#now();
      // The cache owns what it is given (it zeroes the key on eviction): it gets a copy, the caller the original.
      await this.#cache.putEncryptionEntry(id, { materials: withOwnDataKey(materials), createdAt: now, expiresAt: now + this.maxAge, messagesEncrypted: 1, bytesEncrypted: length });
    }
    return materials;
  }

  async decryptMaterials(request: DecryptMaterialsRequest): Promise<DecryptionMaterials> {
    // #decrypt-materials: identity-KDF suites bypass the cache.
    if (request.suite.kdfHash === null) return this.#underlying.decryptMaterials(request);
    // The identifier covers the reproduced context too: a hit is a request the underlying manager
    // answered alike, required-context checks included.
    const id = this.#decryptionId(request);
    const entry = await this.#cache.getDecryptionEntry(id);
    if (entry !== undefined) {
      if (this.#young(entry)) return entry.materials;
      await this.#cache.deleteEntry(id);
    }
    const { materials } = cacheable(await this.#underlying.decryptMaterials(request));
    const now = this.#now();
    await this.#cache.putDecryptionEntry(id, { materials: withOwnDataKey(materials), createdAt: now, expiresAt: now + this.maxAge });
    return materials;
  }
}

/**
 * What the underlying manager returned, checked as far as caching reads it: its suite is one of the
 * table's and its data key is bytes of that suite's length. The underlying manager may be the
 * caller's own code; the encrypt and decrypt paths check the rest, as they do without a cache.
 */
function cacheable<M extends EncryptionMaterials | DecryptionMaterials>(returned: M): { materials: M; suite: AlgorithmSuite } {
  const materials = assertMaterials(returned, 'underlying materials manager');
  const suite = findSuite(materials.suite?.id);
  if (suite === undefined) throw new KeyringError('the underlying materials manager returned materials of no known algorithm suite');
  if (!holdsDataKey(materials, suite)) throw new KeyringError('the underlying materials manager returned materials without a data key of the suite\'s length');
  return { materials, suite };
}
