/**
 * Raw RSA keyring (framework/raw-rsa-keyring.md). Wraps the data key with RSA under a
 * caller-held key pair. EDK: provider ID = key namespace, provider info = key name, ciphertext =
 * RSA ciphertext (modulus length). Encrypting needs the public key (never derived from the
 * private key); decrypting needs the private key.
 */
import { constants, createPrivateKey, createPublicKey, KeyObject, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { KeyringError, NoDecryptionKeyError } from '../errors.js';
import { pkcs1v15DecryptImplicit } from '../internal/rsa-pkcs1v15.js';
import { withDataKey, withEncryptedDataKey, type DecryptionMaterials, type EncryptedDataKey, type EncryptionMaterials } from '../materials.js';
import { assertOptions, assertRawKeyNamespace, type Keyring } from './keyring.js';

/** Paddings of the spec; the MGF1 hash always equals the OAEP hash. */
export const RsaPadding = Object.freeze({
  PKCS1: 'pkcs1',
  OAEP_SHA1: 'oaep-sha1',
  OAEP_SHA256: 'oaep-sha256',
  OAEP_SHA384: 'oaep-sha384',
  OAEP_SHA512: 'oaep-sha512',
} as const);
export type RsaPadding = (typeof RsaPadding)[keyof typeof RsaPadding];

const OAEP_HASH: Readonly<Record<RsaPadding, string | null>> = {
  pkcs1: null,
  'oaep-sha1': 'sha1',
  'oaep-sha256': 'sha256',
  'oaep-sha384': 'sha384',
  'oaep-sha512': 'sha512',
};

export interface RawRsaKeyringOptions {
  readonly keyNamespace: string;
  readonly keyName: string;
  readonly padding: RsaPadding;
  /** PEM SPKI, as text or bytes, or a KeyObject; required to encrypt. */
  readonly publicKey?: string | Uint8Array | KeyObject;
  /** PEM PKCS#8, as text or bytes, or a KeyObject; required to decrypt. */
  readonly privateKey?: string | Uint8Array | KeyObject;
}

export class RawRsaKeyring implements Keyring {
  readonly keyNamespace: string;
  readonly keyName: string;
  readonly padding: RsaPadding;
  readonly #keyNameBytes: Buffer;
  readonly #publicKey: KeyObject | undefined;
  readonly #privateKey: KeyObject | undefined;
  /** Per-instance secret for PKCS#1 v1.5 implicit rejection (see internal/rsa-pkcs1v15.ts). */
  readonly #rejectionSecret = randomBytes(32);

  constructor(options: RawRsaKeyringOptions) {
    assertOptions(options, 'RawRsaKeyring');
    assertRawKeyNamespace(options.keyNamespace, options.keyName);
    if (!Object.hasOwn(OAEP_HASH, options.padding)) throw new TypeError('unknown RSA padding');
    if (options.publicKey === undefined && options.privateKey === undefined) {
      throw new TypeError('a raw RSA keyring needs a public key, a private key, or both');
    }
    this.keyNamespace = options.keyNamespace;
    this.keyName = options.keyName;
    this.padding = options.padding;
    this.#keyNameBytes = Buffer.from(options.keyName, 'utf8');
    this.#publicKey = options.publicKey === undefined ? undefined : asKey(options.publicKey, 'public');
    this.#privateKey = options.privateKey === undefined ? undefined : asKey(options.privateKey, 'private');
  }

  async onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    if (this.#publicKey === undefined) throw new KeyringError('raw RSA keyring has no public key to encrypt with');
    let m = materials;
    if (m.plaintextDataKey === undefined) m = withDataKey(m, randomBytes(m.suite.dataKeyLength));
    const hash = OAEP_HASH[this.padding];
    let ciphertext: Buffer;
    try {
      ciphertext = publicEncrypt(
        hash === null
          ? { key: this.#publicKey, padding: constants.RSA_PKCS1_PADDING }
          : { key: this.#publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
        m.plaintextDataKey!,
      );
    } catch (cause) {
      // A modulus too small for the padding and data key (1024 bits with OAEP-SHA512): OpenSSL's own error, kept as cause.
      throw new KeyringError(`raw RSA keyring could not wrap a ${m.suite.dataKeyLength}-byte data key with ${this.padding} under this key`, { cause });
    }
    return withEncryptedDataKey(m, { providerId: this.keyNamespace, providerInfo: Buffer.from(this.#keyNameBytes), ciphertext });
  }

  async onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: readonly EncryptedDataKey[]): Promise<DecryptionMaterials> {
    if (materials.plaintextDataKey !== undefined) throw new TypeError('decryption materials already hold a data key');
    if (this.#privateKey === undefined) throw new NoDecryptionKeyError('raw RSA keyring has no private key to decrypt with');
    for (const edk of encryptedDataKeys) {
      if (edk.providerId !== this.keyNamespace || !this.#keyNameBytes.equals(edk.providerInfo)) continue;
      const dataKey = this.#unwrap(edk.ciphertext, materials.suite.dataKeyLength);
      if (dataKey !== null) return withDataKey(materials, dataKey);
    }
    throw new NoDecryptionKeyError('raw RSA keyring could not decrypt any encrypted data key');
  }

  /**
   * The data key, or null to try the next EDK. PKCS#1 v1.5 never returns null for a
   * well-sized ciphertext (implicit rejection), so a corrupted matching EDK ends the search
   * and the message then fails its header tag: the price of not exposing a padding oracle.
   */
  #unwrap(ciphertext: Uint8Array, dataKeyLength: number): Buffer | null {
    const key = this.#privateKey!;
    const hash = OAEP_HASH[this.padding];
    try {
      if (hash === null) return pkcs1v15DecryptImplicit(key, ciphertext, dataKeyLength, this.#rejectionSecret);
      const out = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ciphertext);
      if (out.length === dataKeyLength) return out;
      out.fill(0);
      return null;
    } catch {
      return null;
    }
  }
}

function asKey(key: unknown, type: 'public' | 'private'): KeyObject {
  let k: KeyObject;
  if (key instanceof KeyObject) {
    k = key;
  } else if (typeof key === 'string' || key instanceof Uint8Array) {
    // Bytes as read from a file are PEM text too (node:crypto reads a Buffer key as PEM).
    const pem = typeof key === 'string' ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    try {
      k = type === 'public' ? createPublicKey(pem) : createPrivateKey(pem);
    } catch (cause) {
      throw new TypeError(`${type}Key is not a PEM RSA ${type} key`, { cause });
    }
  } else {
    throw new TypeError(`${type}Key must be PEM text (a string or its bytes) or a KeyObject`);
  }
  if (k.type !== type || k.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`${type}Key must be an RSA ${type} key; it is ${k.asymmetricKeyType === undefined ? 'a secret' : `an ${k.asymmetricKeyType} ${k.type}`} key`);
  }
  return k;
}
