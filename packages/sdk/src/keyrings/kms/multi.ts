/**
 * The everyday KMS keyring, the shape of the official SDK's `KmsKeyringNode` and of
 * framework/aws-kms/aws-kms-multi-keyrings.md (and aws-kms-mrk-multi-keyrings.md): a generator
 * key that calls GenerateDataKey, then one Encrypt per additional key; on decrypt each named key
 * tries only the EDKs it wrote. Given materials that already hold a data key (as a child of
 * another multi-keyring), every key, the generator too, wraps that key with Encrypt, as the
 * official `KmsKeyringNode` does; a multi-keyring with a generator would refuse them.
 */
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials } from '../../materials.js';
import { assertOptions, type Keyring } from '../keyring.js';
import { MultiKeyring } from '../multi.js';
import { assertMrksAreUnique } from './arn.js';
import { resolveClientSupplier, type KmsClientLike, type KmsClientSupplier } from './client.js';
import { AwsKmsKeyring, AwsKmsMrkKeyring } from './strict.js';

export interface KmsKeyringOptions {
  /** Key that generates the data key (GenerateDataKey). Without it, the keyring can only wrap an existing data key or decrypt. */
  readonly generatorKeyId?: string;
  /** Keys that each wrap the data key too (Encrypt), and may each decrypt. */
  readonly keyIds?: readonly string[];
  readonly client?: KmsClientLike;
  readonly clientSupplier?: KmsClientSupplier;
  readonly grantTokens?: readonly string[];
  /** Treat `mrk-` keys as matching their replicas in other regions on decrypt (AwsKmsMrkKeyring). */
  readonly multiRegionAware?: boolean;
}

export class KmsKeyring implements Keyring {
  readonly generatorKeyId: string | undefined;
  readonly keyIds: readonly string[];
  readonly #inner: MultiKeyring;
  /** Every key as a child: for materials that already hold a data key. */
  readonly #wrapOnly: MultiKeyring;

  constructor(options: KmsKeyringOptions) {
    assertOptions(options, 'KmsKeyring');
    const { generatorKeyId, keyIds = [], multiRegionAware = false, grantTokens } = options;
    if (!Array.isArray(keyIds)) throw new TypeError('keyIds must be an array');
    // Said here, in this keyring's terms, before the multi-keyring inside would say it in its own.
    if (generatorKeyId === undefined && keyIds.length === 0) {
      throw new TypeError('a KmsKeyring needs a generatorKeyId or at least one of keyIds (to decrypt with any key, use AwsKmsDiscoveryKeyring)');
    }
    // One supplier (and so one client per region) shared by every key.
    const common = { clientSupplier: resolveClientSupplier(options), ...(grantTokens === undefined ? {} : { grantTokens }) };
    const Strict = multiRegionAware ? AwsKmsMrkKeyring : AwsKmsKeyring;
    if (multiRegionAware) {
      // aws-kms-mrk-multi-keyrings.md: the generator and key ids MUST pass "AWS KMS MRK are unique".
      assertMrksAreUnique([...(generatorKeyId === undefined ? [] : [generatorKeyId]), ...keyIds]);
    }
    this.generatorKeyId = generatorKeyId;
    this.keyIds = Object.freeze([...keyIds]);
    const generator = generatorKeyId === undefined ? undefined : new Strict({ keyId: generatorKeyId, ...common });
    const children = keyIds.map((keyId) => new Strict({ keyId, ...common }));
    this.#inner = new MultiKeyring({ ...(generator === undefined ? {} : { generator }), children });
    this.#wrapOnly = generator === undefined ? this.#inner : new MultiKeyring({ children: [generator, ...children] });
  }

  onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    return (materials?.plaintextDataKey === undefined ? this.#inner : this.#wrapOnly).onEncrypt(materials);
  }

  onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: readonly EncryptedDataKey[]): Promise<DecryptionMaterials> {
    return this.#inner.onDecrypt(materials, encryptedDataKeys);
  }
}
