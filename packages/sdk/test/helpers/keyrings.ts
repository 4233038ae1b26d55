/** Builds keyrings and materials managers from the vector manifests' key descriptions. */
import {
  MultiKeyring,
  RawAesKeyring,
  RawRsaKeyring,
  RequiredEncryptionContextCryptographicMaterialsManager,
  RsaPadding,
  withDataKey,
  type CryptographicMaterialsManager,
  type DecryptionMaterials,
  type EncryptionMaterials,
  type Keyring,
} from '../../src/index.js';

export interface KeyEntry {
  readonly type: string;
  readonly 'key-id': string;
  readonly material?: string;
  readonly decrypt?: boolean;
  readonly encrypt?: boolean;
}

export interface RawKeyDescription {
  readonly type: 'raw';
  readonly key: string;
  readonly 'provider-id': string;
  readonly 'encryption-algorithm': 'aes' | 'rsa';
  readonly 'padding-algorithm'?: 'pkcs1' | 'oaep-mgf1';
  readonly 'padding-hash'?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
}

export type KeyDescription =
  | RawKeyDescription
  | { readonly type: 'multi-keyring'; readonly generator: KeyDescription; readonly childKeyrings: readonly KeyDescription[] }
  | { readonly type: 'required-encryption-context-cmm'; readonly underlying: KeyDescription; readonly requiredEncryptionContextKeys: readonly string[] };

export type Keys = Readonly<Record<string, KeyEntry>>;

export function rsaPadding(d: RawKeyDescription): RsaPadding {
  if (d['padding-algorithm'] === 'pkcs1') return RsaPadding.PKCS1;
  switch (d['padding-hash']) {
    case 'sha1': return RsaPadding.OAEP_SHA1;
    case 'sha256': return RsaPadding.OAEP_SHA256;
    case 'sha384': return RsaPadding.OAEP_SHA384;
    case 'sha512': return RsaPadding.OAEP_SHA512;
    default: throw new Error(`unknown padding ${String(d['padding-algorithm'])}/${String(d['padding-hash'])}`);
  }
}

export function rawKeyring(keys: Keys, d: RawKeyDescription): Keyring {
  const key = keys[d.key];
  if (key === undefined || key.material === undefined) throw new Error(`no key material for ${d.key}`);
  const common = { keyNamespace: d['provider-id'], keyName: key['key-id'] };
  if (d['encryption-algorithm'] === 'aes') {
    return new RawAesKeyring({ ...common, wrappingKey: Buffer.from(key.material, 'base64') });
  }
  const padding = rsaPadding(d);
  return key.type === 'private'
    ? new RawRsaKeyring({ ...common, padding, privateKey: key.material })
    : new RawRsaKeyring({ ...common, padding, publicKey: key.material });
}

/** A keyring or manager for a v5 `decryptKeyDescription` (or `encryptKeyDescription`). */
export function fromDescription(keys: Keys, d: KeyDescription): Keyring | CryptographicMaterialsManager {
  switch (d.type) {
    case 'raw':
      return rawKeyring(keys, d);
    case 'multi-keyring':
      return new MultiKeyring({
        generator: fromDescription(keys, d.generator) as Keyring,
        children: d.childKeyrings.map((c) => fromDescription(keys, c) as Keyring),
      });
    case 'required-encryption-context-cmm':
      return new RequiredEncryptionContextCryptographicMaterialsManager({
        underlying: fromDescription(keys, d.underlying),
        requiredEncryptionContextKeys: d.requiredEncryptionContextKeys,
      });
  }
}

/** A keyring for a v4 `master-keys` list: keys that cannot decrypt are left out. */
export function fromMasterKeys(keys: Keys, masterKeys: readonly RawKeyDescription[], forDecrypt: boolean): Keyring {
  const usable = masterKeys.filter((m) => (forDecrypt ? keys[m.key]?.decrypt !== false : keys[m.key]?.encrypt !== false));
  const keyrings = usable.map((m) => rawKeyring(keys, m));
  if (keyrings.length === 1) return keyrings[0]!;
  return new MultiKeyring({ generator: keyrings[0]!, children: keyrings.slice(1) });
}

/** Ignores the EDKs and hands out a fixed data key: for vectors that give the data key directly. */
export class StaticDataKeyKeyring implements Keyring {
  readonly #dataKey: Buffer;
  constructor(dataKey: Uint8Array) {
    this.#dataKey = Buffer.from(dataKey);
  }
  async onEncrypt(_materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    throw new Error('StaticDataKeyKeyring is decrypt-only');
  }
  async onDecrypt(materials: DecryptionMaterials): Promise<DecryptionMaterials> {
    return withDataKey(materials, Buffer.from(this.#dataKey));
  }
}
