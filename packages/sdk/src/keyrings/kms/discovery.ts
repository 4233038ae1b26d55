/**
 * Discovery keyrings: decrypt-only, trying whichever KMS key an EDK names
 * (framework/aws-kms/aws-kms-discovery-keyring.md), optionally limited by a discovery filter
 * (same file, #initialization: a partition and a set of accounts). The MRK-aware variant
 * (framework/aws-kms/aws-kms-mrk-discovery-keyring.md) is bound to one region and decrypts
 * multi-Region EDKs from any region with its local replica.
 *
 * With `client`, every call goes to that one client, as the spec describes; with
 * `clientSupplier`, the plain discovery keyring asks for the client of each EDK key's region
 * (as the official JavaScript SDK's clientProvider does), so one keyring serves all regions.
 */
import { KeyringError, NoDecryptionKeyError } from '../../errors.js';
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials } from '../../materials.js';
import { assertOptions, triedAndFailed, type Keyring } from '../keyring.js';
import { formatKmsArn, isMultiRegionArn, parseKmsArn, type KmsArn } from './arn.js';
import { decryptDataKey, kmsKeyArnOfEdk } from './calls.js';
import { resolveClientSupplier, resolveGrantTokens, type KmsClientLike, type KmsClientSupplier } from './client.js';

export interface DiscoveryFilter {
  /** e.g. `aws`, `aws-cn`, `aws-us-gov`. */
  readonly partition: string;
  /** Only keys in these accounts are tried. */
  readonly accountIds: readonly string[];
}

export interface AwsKmsDiscoveryKeyringOptions {
  readonly client?: KmsClientLike;
  /** Called with each EDK's key region; default: one `KMSClient` per region. */
  readonly clientSupplier?: KmsClientSupplier;
  readonly discoveryFilter?: DiscoveryFilter;
  readonly grantTokens?: readonly string[];
}

function resolveFilter(f: DiscoveryFilter | undefined): DiscoveryFilter | undefined {
  if (f === undefined) return undefined;
  if (typeof f !== 'object' || f === null || typeof f.partition !== 'string' || f.partition === '' || !Array.isArray(f.accountIds) || f.accountIds.length === 0 ||
    f.accountIds.some((a) => typeof a !== 'string' || a === '')) {
    throw new TypeError('discoveryFilter needs a partition and a non-empty list of account ids');
  }
  return Object.freeze({ partition: f.partition, accountIds: Object.freeze([...f.accountIds]) });
}

function passesFilter(f: DiscoveryFilter | undefined, arn: KmsArn): boolean {
  return f === undefined || (f.partition === arn.partition && f.accountIds.includes(arn.account));
}

abstract class DiscoveryBase implements Keyring {
  readonly discoveryFilter: DiscoveryFilter | undefined;
  readonly grantTokens: readonly string[];
  protected readonly clientSupplier: KmsClientSupplier;

  constructor(options: AwsKmsDiscoveryKeyringOptions) {
    assertOptions(options ?? {}, new.target.name);
    this.discoveryFilter = resolveFilter(options?.discoveryFilter);
    this.grantTokens = resolveGrantTokens(options?.grantTokens);
    this.clientSupplier = resolveClientSupplier(options ?? {});
  }

  /** #onencrypt: "This function MUST fail." */
  async onEncrypt(_materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    throw new KeyringError('a discovery keyring cannot encrypt');
  }

  /** Checks made once the client can be asked (its region is a promise): none here. */
  protected async checkClient(): Promise<void> {}

  /** The KeyId to send for an EDK that passed the filter, and the client's region, or null to skip it. */
  protected abstract route(arn: KmsArn, providerInfo: string): { keyId: string; region: string } | null;

  /** #ondecrypt: filter (provider, key ARN, discovery filter), Decrypt one at a time, collect errors. */
  async onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: readonly EncryptedDataKey[]): Promise<DecryptionMaterials> {
    if (materials.plaintextDataKey !== undefined) throw new TypeError('decryption materials already hold a data key');
    await this.checkClient();
    const routes: { edk: EncryptedDataKey; keyId: string; region: string }[] = [];
    for (const edk of encryptedDataKeys) {
      const info = kmsKeyArnOfEdk(edk);
      if (info === null) continue;
      const arn = parseKmsArn(info)!;
      if (!passesFilter(this.discoveryFilter, arn)) continue;
      const route = this.route(arn, info);
      if (route !== null) routes.push({ edk, ...route });
    }
    const errors: unknown[] = [];
    for (const { edk, keyId, region } of routes) {
      try {
        // The response KeyId MUST equal the requested KeyId (checked in decryptDataKey).
        return await decryptDataKey(await this.clientSupplier(region), keyId, edk, materials, this.grantTokens);
      } catch (e) {
        errors.push(e);
      }
    }
    throw new NoDecryptionKeyError(triedAndFailed('AWS KMS discovery keyring could not decrypt any encrypted data key', errors), {
      cause: new AggregateError(errors, 'KMS decrypt failures'),
    });
  }
}

/** Tries the key each EDK names, in that key's region; KeyId = the provider info. */
export class AwsKmsDiscoveryKeyring extends DiscoveryBase {
  protected route(arn: KmsArn, providerInfo: string) {
    return { keyId: providerInfo, region: arn.region };
  }
}

export interface AwsKmsMrkDiscoveryKeyringOptions extends AwsKmsDiscoveryKeyringOptions {
  /** The region of this keyring's client; multi-Region EDKs are decrypted with the replica here. */
  readonly region: string;
}

export class AwsKmsMrkDiscoveryKeyring extends DiscoveryBase {
  readonly region: string;
  /** A given client's configured region (an AWS SDK client's `config.region`), when it has one. */
  readonly #clientRegion: (() => Promise<unknown>) | undefined;

  constructor(options: AwsKmsMrkDiscoveryKeyringOptions) {
    assertOptions(options, 'AwsKmsMrkDiscoveryKeyring');
    super(options);
    if (typeof options.region !== 'string' || options.region === '') throw new TypeError('region must be a non-empty string');
    this.region = options.region;
    const configured = (options.client as { config?: { region?: unknown } } | undefined)?.config?.region;
    if (configured !== undefined) this.#clientRegion = async () => (typeof configured === 'function' ? configured() : configured);
  }

  /**
   * aws-kms-mrk-discovery-keyring.md#initialization: the keyring "SHOULD fail initialization if
   * the provided region does not match the region of the KMS client". An AWS SDK client's region
   * is a promise, so it is asked here, before any EDK is sent to a client of another region.
   */
  protected override async checkClient(): Promise<void> {
    if (this.#clientRegion === undefined) return;
    const clientRegion = await this.#clientRegion();
    if (typeof clientRegion === 'string' && clientRegion !== this.region) {
      throw new KeyringError(`the KMS client is configured for region ${clientRegion}, not this keyring's region ${this.region}`);
    }
  }

  /**
   * A single-Region key must live in this keyring's region; a multi-Region key is asked for as
   * the ARN with its region replaced by this keyring's region.
   */
  protected route(arn: KmsArn, providerInfo: string) {
    if (!isMultiRegionArn(arn)) return arn.region === this.region ? { keyId: providerInfo, region: this.region } : null;
    return { keyId: formatKmsArn({ ...arn, region: this.region }), region: this.region };
  }
}
