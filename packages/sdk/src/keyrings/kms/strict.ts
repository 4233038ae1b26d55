/**
 * The AWS KMS keyring (framework/aws-kms/aws-kms-keyring.md) and its multi-Region-aware twin
 * (framework/aws-kms/aws-kms-mrk-keyring.md): one named KMS key, used to generate or encrypt
 * the data key and, on decrypt, only for EDKs that key wrote.
 */
import { NoDecryptionKeyError } from '../../errors.js';
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials } from '../../materials.js';
import { assertOptions, triedAndFailed, type Keyring } from '../keyring.js';
import { isValidKmsIdentifier, mrkMatchForDecrypt, regionOf } from './arn.js';
import { decryptDataKey, encryptDataKey, generateDataKey, kmsKeyArnOfEdk } from './calls.js';
import { resolveClientSupplier, resolveGrantTokens, type KmsClientLike, type KmsClientSupplier } from './client.js';

export interface AwsKmsKeyringOptions {
  /** Key ARN (recommended: decrypt matches EDKs by ARN), key id, alias or alias ARN. */
  readonly keyId: string;
  /** A `KMSClient` (or anything with its `send`). Mutually exclusive with `clientSupplier`. */
  readonly client?: KmsClientLike;
  /** Called with the key ARN's region; default: one `KMSClient` per region. */
  readonly clientSupplier?: KmsClientSupplier;
  readonly grantTokens?: readonly string[];
}

export class AwsKmsKeyring implements Keyring {
  readonly keyId: string;
  readonly grantTokens: readonly string[];
  readonly #clientSupplier: KmsClientSupplier;

  constructor(options: AwsKmsKeyringOptions) {
    // #initialization: the identifier MUST be a valid AWS KMS identifier; a client MUST be given (or supplied).
    assertOptions(options, new.target.name);
    if (!isValidKmsIdentifier(options.keyId)) throw new TypeError('keyId must be a valid AWS KMS key identifier');
    this.keyId = options.keyId;
    this.grantTokens = resolveGrantTokens(options.grantTokens);
    this.#clientSupplier = resolveClientSupplier(options);
  }

  async #client(): Promise<KmsClientLike> {
    return this.#clientSupplier(regionOf(this.keyId));
  }

  /** #onencrypt: GenerateDataKey when there is no data key yet, otherwise Encrypt. */
  async onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    const client = await this.#client();
    return materials.plaintextDataKey === undefined
      ? generateDataKey(client, this.keyId, materials, this.grantTokens)
      : encryptDataKey(client, this.keyId, materials, this.grantTokens);
  }

  /** #ondecrypt: materials that already hold a data key "MUST fail" here (the MRK keyring returns them). */
  protected alreadyDecrypted(_materials: DecryptionMaterials): DecryptionMaterials {
    throw new TypeError('decryption materials already hold a data key');
  }

  /** Whether this keyring may try `providerInfo` (#ondecrypt: "MUST match the configured identifier"). */
  protected matches(providerInfo: string): boolean {
    return providerInfo === this.keyId;
  }

  /** #ondecrypt: filter, then Decrypt each match with KeyId = the configured identifier; first success wins. */
  async onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: readonly EncryptedDataKey[]): Promise<DecryptionMaterials> {
    if (materials.plaintextDataKey !== undefined) return this.alreadyDecrypted(materials);
    const candidates = encryptedDataKeys.filter((edk) => {
      const arn = kmsKeyArnOfEdk(edk);
      return arn !== null && this.matches(arn);
    });
    const errors: unknown[] = [];
    for (const edk of candidates) {
      try {
        return await decryptDataKey(await this.#client(), this.keyId, edk, materials, this.grantTokens);
      } catch (e) {
        errors.push(e);
      }
    }
    throw new NoDecryptionKeyError(triedAndFailed('AWS KMS keyring could not decrypt any encrypted data key', errors), {
      cause: new AggregateError(errors, 'KMS decrypt failures'),
    });
  }
}

/**
 * framework/aws-kms/aws-kms-mrk-keyring.md: as the KMS keyring, but an EDK written under a
 * replica of the same multi-Region key (`mrk-` id, any region) also matches, and is decrypted
 * with this keyring's own identifier, i.e. in this keyring's region.
 */
export class AwsKmsMrkKeyring extends AwsKmsKeyring {
  /** aws-kms-mrk-keyring.md#ondecrypt: "MUST immediately return the unmodified decryption materials". */
  protected override alreadyDecrypted(materials: DecryptionMaterials): DecryptionMaterials {
    return materials;
  }

  protected override matches(providerInfo: string): boolean {
    return mrkMatchForDecrypt(this.keyId, providerInfo);
  }
}
