/**
 * Raw AES keyring (framework/raw-aes-keyring.md). Wraps the data key with AES-GCM under a
 * caller-held 128/192/256-bit key, using the full encryption context as AAD (serialized in the
 * specification's order; on decrypt also in the official JavaScript SDK's default order).
 *
 * EDK: provider ID = key namespace; provider info = key name ‖ u32 tag length in bits (128)
 * ‖ u32 IV length (12) ‖ IV; ciphertext = encrypted data key ‖ tag.
 */
import { KeyObject, randomBytes } from 'node:crypto';
import { NoDecryptionKeyError } from '../errors.js';
import { gcmDecrypt, gcmEncrypt } from '../internal/aes-gcm.js';
import { u32 } from '../internal/bytes.js';
import { serializeEncryptionContext, serializeEncryptionContextInLocaleOrder } from '../serialize/encryption-context.js';
import { withDataKey, withEncryptedDataKey, type DecryptionMaterials, type EncryptedDataKey, type EncryptionMaterials } from '../materials.js';
import { assertOptions, assertRawKeyNamespace, type Keyring } from './keyring.js';

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const PROVIDER_INFO_SUFFIX = 4 + 4 + IV_LENGTH;

export interface RawAesKeyringOptions {
  readonly keyNamespace: string;
  readonly keyName: string;
  /** 16, 24 or 32 bytes, or a secret KeyObject of that size. The keyring keeps its own copy. */
  readonly wrappingKey: Uint8Array | KeyObject;
}

export class RawAesKeyring implements Keyring {
  readonly keyNamespace: string;
  readonly keyName: string;
  readonly #keyNameBytes: Buffer;
  readonly #wrappingKey: Buffer;

  constructor(options: RawAesKeyringOptions) {
    assertOptions(options, 'RawAesKeyring');
    assertRawKeyNamespace(options.keyNamespace, options.keyName);
    this.#wrappingKey = wrappingKeyBytes(options.wrappingKey);
    this.keyNamespace = options.keyNamespace;
    this.keyName = options.keyName;
    this.#keyNameBytes = Buffer.from(options.keyName, 'utf8');
  }

  async onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    let m = materials;
    if (m.plaintextDataKey === undefined) m = withDataKey(m, randomBytes(m.suite.dataKeyLength));
    const dataKey = m.plaintextDataKey!;
    const iv = randomBytes(IV_LENGTH);
    const { ciphertext, tag } = gcmEncrypt(this.#wrappingKey, iv, dataKey, serializeEncryptionContext(m.encryptionContext));
    return withEncryptedDataKey(m, {
      providerId: this.keyNamespace,
      providerInfo: Buffer.concat([this.#keyNameBytes, u32(TAG_LENGTH * 8), u32(IV_LENGTH), iv]),
      ciphertext: Buffer.concat([ciphertext, tag]),
    });
  }

  async onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: readonly EncryptedDataKey[]): Promise<DecryptionMaterials> {
    if (materials.plaintextDataKey !== undefined) throw new TypeError('decryption materials already hold a data key');
    const aad = serializeEncryptionContext(materials.encryptionContext);
    // The official JavaScript SDK's raw AES keyring, as built by default, authenticates the same
    // pairs in another order (serializeEncryptionContextInLocaleOrder): its data keys open with
    // that one. Either is the whole context, so accepting both authenticates exactly as much.
    let localeOrder: Buffer | undefined;
    for (const edk of encryptedDataKeys) {
      const iv = this.#matchingIv(edk, materials.suite.dataKeyLength);
      if (iv === null) continue;
      const split = edk.ciphertext.byteLength - TAG_LENGTH;
      const open = (additional: Buffer) => gcmDecrypt(this.#wrappingKey, iv, edk.ciphertext.subarray(0, split), edk.ciphertext.subarray(split), additional);
      let dataKey = open(aad);
      if (dataKey === null) {
        localeOrder ??= serializeEncryptionContextInLocaleOrder(materials.encryptionContext);
        if (!localeOrder.equals(aad)) dataKey = open(localeOrder);
      }
      if (dataKey !== null) return withDataKey(materials, dataKey);
    }
    throw new NoDecryptionKeyError('raw AES keyring could not decrypt any encrypted data key');
  }

  /** The IV of an EDK this keyring wrote (same namespace, name, tag and IV lengths), else null. */
  #matchingIv(edk: EncryptedDataKey, dataKeyLength: number): Buffer | null {
    const info = Buffer.from(edk.providerInfo.buffer, edk.providerInfo.byteOffset, edk.providerInfo.byteLength);
    if (edk.providerId !== this.keyNamespace) return null;
    if (info.length !== this.#keyNameBytes.length + PROVIDER_INFO_SUFFIX) return null;
    if (!info.subarray(0, this.#keyNameBytes.length).equals(this.#keyNameBytes)) return null;
    const rest = info.subarray(this.#keyNameBytes.length);
    if (rest.readUInt32BE(0) !== TAG_LENGTH * 8 || rest.readUInt32BE(4) !== IV_LENGTH) return null;
    if (edk.ciphertext.byteLength !== dataKeyLength + TAG_LENGTH) return null;
    return rest.subarray(8);
  }
}

/** A copy of the key's bytes; the type is checked before the length, so each message names the real mistake. */
function wrappingKeyBytes(key: unknown): Buffer {
  let bytes: Buffer;
  if (key instanceof KeyObject && key.type === 'secret') bytes = key.export();
  else if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else throw new TypeError('wrappingKey must be a Buffer, a Uint8Array or a secret KeyObject');
  if (![16, 24, 32].includes(bytes.length)) {
    const length = bytes.length;
    bytes.fill(0);
    throw new TypeError(`wrappingKey must be 16, 24 or 32 bytes; it is ${length}`);
  }
  return bytes;
}
