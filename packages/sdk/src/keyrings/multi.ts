/**
 * Multi-keyring (framework/multi-keyring.md). Encrypt: the generator produces (or wraps) the
 * data key, then every child wraps it too; any failure fails the whole operation. Decrypt: the
 * generator, then each child, is tried on the untouched materials; the first success wins.
 */
import { timingSafeEqual } from 'node:crypto';
import { KeyringError, NoDecryptionKeyError } from '../errors.js';
import type { EncryptionContext } from '../encryption-context.js';
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials } from '../materials.js';
import { assertOptions, triedAndFailed, type Keyring } from './keyring.js';
import { assertMaterials } from '../internal/materials-checks.js';

export interface MultiKeyringOptions {
  readonly generator?: Keyring;
  readonly children?: readonly Keyring[];
}

export class MultiKeyring implements Keyring {
  readonly generator: Keyring | undefined;
  readonly children: readonly Keyring[];

  constructor(options: MultiKeyringOptions) {
    assertOptions(options, 'MultiKeyring');
    if (options.children !== undefined && !Array.isArray(options.children)) throw new TypeError('children must be an array of keyrings');
    this.generator = options.generator;
    this.children = Object.freeze([...(options.children ?? [])]);
    if (this.generator === undefined && this.children.length === 0) {
      throw new TypeError('a multi-keyring needs a generator or at least one child');
    }
    // Precondition: generator and children are keyrings. Checked here: on decrypt a child that is
    // not one would fail only as one more attempt, hidden inside NoDecryptionKeyError.
    if (this.generator !== undefined && !isKeyring(this.generator)) throw new TypeError('the multi-keyring generator must be a keyring');
    if (!this.children.every(isKeyring)) throw new TypeError('every multi-keyring child must be a keyring');
  }

  async onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    let m = materials;
    if (this.generator !== undefined) {
      // Precondition: with a generator, the data key must not exist yet (framework/multi-keyring.md#onencrypt).
      if (m.plaintextDataKey !== undefined) throw new KeyringError('multi-keyring with a generator received a data key');
      m = assertMaterials(await this.generator.onEncrypt(m), 'generator keyring');
    } else if (m.plaintextDataKey === undefined) {
      throw new KeyringError('multi-keyring without a generator cannot create a data key');
    }
    if (m.plaintextDataKey === undefined) throw new KeyringError('generator keyring did not produce a data key');
    for (const child of this.children) m = keptBy(m, assertMaterials(await child.onEncrypt(m), 'child keyring'));
    return m;
  }

  async onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: readonly EncryptedDataKey[]): Promise<DecryptionMaterials> {
    if (materials.plaintextDataKey !== undefined) throw new TypeError('decryption materials already hold a data key');
    const errors: unknown[] = [];
    const keyrings = this.generator === undefined ? this.children : [this.generator, ...this.children];
    for (const keyring of keyrings) {
      try {
        const result = await keyring.onDecrypt(materials, encryptedDataKeys);
        if (result.plaintextDataKey !== undefined) return result;
      } catch (e) {
        errors.push(e);
      }
    }
    throw new NoDecryptionKeyError(triedAndFailed('no keyring of the multi-keyring could decrypt any encrypted data key', errors), {
      cause: new AggregateError(errors, 'keyring failures'),
    });
  }
}

/**
 * A child's materials, refused unless they keep what it was given: it may only append encrypted
 * data keys (framework/keyring-interface.md#onencrypt). A child that put in another data key or
 * signing key made a message nobody could ever decrypt or verify. Compared by value: a child may
 * return copies of what it kept.
 */
function keptBy(given: EncryptionMaterials, returned: EncryptionMaterials): EncryptionMaterials {
  const before = given.plaintextDataKey!;
  const after = returned.plaintextDataKey;
  const sameKey = after instanceof Uint8Array && after.byteLength === before.byteLength && timingSafeEqual(after, before);
  if (!sameKey) throw new KeyringError('child keyring changed the data key');
  const signing = given.signingKey;
  if (signing === undefined ? returned.signingKey !== undefined : !(returned.signingKey === signing || returned.signingKey?.equals(signing))) {
    throw new KeyringError('child keyring changed the signing key');
  }
  if (returned.suite !== given.suite || !sameContext(returned.encryptionContext, given.encryptionContext)
    || !sameList(returned.requiredEncryptionContextKeys, given.requiredEncryptionContextKeys)) {
    throw new KeyringError('child keyring changed the suite or encryption context');
  }
  const edks = returned.encryptedDataKeys;
  if (!Array.isArray(edks) || edks.length < given.encryptedDataKeys.length || given.encryptedDataKeys.some((edk, i) => !sameEdk(edks[i], edk))) {
    throw new KeyringError('child keyring removed or replaced an encrypted data key');
  }
  return returned;
}

function sameContext(a: EncryptionContext, b: EncryptionContext): boolean {
  if (typeof a !== 'object' || a === null) return false;
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((k) => Object.hasOwn(a, k) && a[k] === b[k]);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return (a ?? []).length === (b ?? []).length && (b ?? []).every((v, i) => a?.[i] === v);
}

function sameEdk(a: EncryptedDataKey | undefined, b: EncryptedDataKey): boolean {
  return a === b || (a !== undefined && a !== null && a.providerId === b.providerId
    && a.providerInfo instanceof Uint8Array && Buffer.from(a.providerInfo).equals(b.providerInfo)
    && a.ciphertext instanceof Uint8Array && Buffer.from(a.ciphertext).equals(b.ciphertext));
}

function isKeyring(x: unknown): x is Keyring {
  return typeof (x as Keyring | null)?.onEncrypt === 'function' && typeof (x as Keyring | null)?.onDecrypt === 'function';
}
