import { randomBytes } from 'node:crypto';
import type { AuditEvent } from '../audit/record.js';
import { RootKeyBehindError } from '../root/keyring-root-key.js';
import { RootKeyUnavailableError, type RootKey } from '../root/root-key.js';
import type { AccessKeyRecord, Store } from '../store/store.js';

/** A caller's signing secret, unwrapped. Never logged: its `toJSON` and inspect print [redacted]. */
export class SigningSecret {
  readonly #secret: string;
  constructor(secret: string) {
    this.#secret = secret;
  }
  /** The one place the secret is read: grep for `revealSecret`. */
  revealSecret(): string {
    return this.#secret;
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'SigningSecret [redacted]';
  }
}

export interface AccessKey {
  readonly accessKeyId: string;
  readonly principalArn: string;
  readonly secret: SigningSecret;
  /** When the key was made (epoch ms, by the clock of the node that made it). */
  readonly createdAt: number;
}

/** The AAD that binds a wrapped access-key secret to its access key id. */
export const accessKeySecretAad = (accessKeyId: string): Buffer => Buffer.from(`coffer:access-key:v1:${accessKeyId}`, 'utf8');
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An access key id in AWS's shape: `AKIA` and 16 characters of base32. */
function newAccessKeyId(): string {
  return 'AKIA' + [...randomBytes(16)].map((b) => BASE32[b & 31]).join('');
}

/** 40 characters, as AWS secret access keys are. */
function newSecret(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
}

/** AWS's AccessKeyIdType: 16 to 128 word characters. */
const ACCESS_KEY_ID = /^\w{16,128}$/;

/**
 * Access keys: created with a fresh secret that is stored only wrapped by the root key, and looked
 * up by id when a request is signed. Unwrapped secrets are cached for a short while so a burst of
 * requests does not unwrap on every call. A status change or deletion made on this node is seen at
 * once (`forget`); one made on another node once the entry expires, within 250 ms (docs/store.md:
 * a change is enforced by every node within one second).
 */
export class AccessKeys {
  readonly #store: Store;
  readonly #root: RootKey;
  readonly #cache = new Map<string, { key: AccessKey | undefined; createdAt?: number; expires: number }>();
  /** Lookups answered from the cache and not, read by the metrics on scrape (coffer_cache_*_total). */
  readonly stats = { hits: 0, misses: 0 };
  readonly #ttlMs: number;
  /** Counts `forget` calls, so a lookup that started before one does not cache what it read. */
  #forgotten = 0;

  constructor(store: Store, root: RootKey, ttlMs = 250) {
    this.#store = store;
    this.#root = root;
    this.#ttlMs = ttlMs;
  }

  /** A new active key; `audit` is written with it in one transaction (the admin API's CreateAccessKey). */
  async create(principalArn: string, now: number, audit?: AuditEvent): Promise<AccessKey> {
    for (;;) {
      const key = await this.createGiven(principalArn, newAccessKeyId(), newSecret(), now, audit);
      if (key) return key;
    }
  }

  /** An active key with a given id and secret (a seed's), stored wrapped like any other; undefined if the id is taken. */
  async createGiven(principalArn: string, accessKeyId: string, secret: string, now: number, audit?: AuditEvent): Promise<AccessKey | undefined> {
    const wrappedSecret = await this.#root.wrap(Buffer.from(secret, 'utf8'), accessKeySecretAad(accessKeyId));
    if (!(await this.#store.createAccessKey({ accessKeyId, principalArn, wrappedSecret, status: 'Active', createdAt: now }, audit))) return undefined;
    return { accessKeyId, principalArn, secret: new SigningSecret(secret), createdAt: now };
  }

  /** The active access key with this id, or undefined (unknown or inactive). */
  async findActive(accessKeyId: string): Promise<AccessKey | undefined> {
    // No id of another shape can exist (IAM's, as the admin API and seeds take them): such an id
    // (an unauthenticated client's, up to 16 KiB of header) is neither looked up nor cached, where
    // 10,000 of them stayed in the cache until it was cleared.
    if (!ACCESS_KEY_ID.test(accessKeyId)) return undefined;
    const cached = this.#cache.get(accessKeyId);
    if (cached && cached.expires > Date.now()) {
      this.stats.hits++;
      return cached.key;
    }
    this.stats.misses++;
    const generation = this.#forgotten;
    const record = await this.#store.getAccessKey(accessKeyId);
    const key = record && record.status === 'Active'
      ? { accessKeyId, principalArn: record.principalArn, secret: await this.#secretOf(record, cached), createdAt: record.createdAt }
      : undefined;
    if (this.#cache.size > 10_000) this.#cache.clear();
    // A lookup that raced a `forget` may have read the old record: it answers, but is not cached.
    if (generation === this.#forgotten) this.#cache.set(accessKeyId, { key, createdAt: record?.createdAt, expires: Date.now() + this.#ttlMs });
    return key;
  }

  /**
   * The record's secret, unwrapped. An access key's secret never changes, only its wrapping: when
   * this node cannot unwrap it now (another node re-wrapped it under a root key this node was not
   * given, or the root key's token is away), the secret this node unwrapped before, for the same
   * key (same id, creation time and principal, and still active: the record is read afresh),
   * still authenticates its caller. So the operator can still ask this node what is wrong
   * (GetRootKeyStatus), and calls that need no key material (ListKeys, DescribeKey, the admin API)
   * still work, while requests that need the root key are refused as before.
   */
  async #secretOf(record: AccessKeyRecord, cached: { key: AccessKey | undefined; createdAt?: number } | undefined): Promise<SigningSecret> {
    try {
      return new SigningSecret(Buffer.from(await this.#root.unwrap(record.wrappedSecret, accessKeySecretAad(record.accessKeyId))).toString('utf8'));
    } catch (error) {
      const known = cached?.key;
      const cannotUnwrapNow = error instanceof RootKeyBehindError || error instanceof RootKeyUnavailableError;
      if (cannotUnwrapNow && known && cached.createdAt === record.createdAt && known.principalArn === record.principalArn) return known.secret;
      throw error;
    }
  }

  /** A stored key's secret, active or not: for a seed, which checks the secret it names of a key it finds. */
  storedSecret(record: AccessKeyRecord): Promise<SigningSecret> {
    return this.#secretOf(record, undefined);
  }

  /** Unwraps a stored key's secret (active or not), throwing RootKeyMismatchError if it does not unwrap: for `coffer store check`. */
  async checkSecret(record: AccessKeyRecord): Promise<void> {
    await this.#root.unwrap(record.wrappedSecret, accessKeySecretAad(record.accessKeyId));
  }

  /** The key was deactivated, reactivated or deleted on this node: look it up afresh on its next use. */
  forget(accessKeyId: string): void {
    this.#forgotten += 1;
    this.#cache.delete(accessKeyId);
  }
}
