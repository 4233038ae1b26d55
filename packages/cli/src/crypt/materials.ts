import { DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  AlgorithmSuiteId, AwsKmsDiscoveryKeyring, CachingCryptographicMaterialsManager, CommitmentPolicy, DefaultCryptographicMaterialsManager,
  KmsKeyring, LocalMaterialsCache, NoDecryptionKeyError,
  PolicyViolationError, type CryptographicMaterialsManager, type Keyring,
} from '@coffer/sdk';
import type { Invocation, Option } from '../command.js';
import { UsageError } from '../usage.js';
import { integerIn, keyValues, oneOf } from '../values.js';

/** Flags that encrypt and decrypt share. */
export const SHARED_OPTIONS: Readonly<Record<string, Option>> = {
  output: { type: 'string', short: 'o', value: 'PATH', help: 'the output file, directory (--recursive) or - for standard output', complete: 'file' },
  recursive: { type: 'boolean', short: 'r', help: 'INPUT is a directory: mirror its tree of files into --output DIR' },
  suffix: { type: 'string', value: 'S', help: 'added on encrypt, removed on decrypt (default .encrypted)' },
  force: { type: 'boolean', help: 'replace output files that exist' },
  context: { type: 'string', multiple: true, value: 'K=V', help: 'encryption context pair; repeat for more' },
  'commitment-policy': { type: 'string', value: 'POLICY', help: 'default REQUIRE_ENCRYPT_REQUIRE_DECRYPT', complete: Object.values(CommitmentPolicy) },
  'max-encrypted-data-keys': { type: 'string', value: 'N', help: 'refuse messages with more encrypted data keys' },
  'cache-max-age': { type: 'string', value: 'SECONDS', help: 'reuse data keys for up to SECONDS (turns on caching; encrypt caches for files, not stdin)' },
  'cache-max-messages': { type: 'string', value: 'N', help: 'with caching: messages per data key (default 2^32)' },
  'cache-max-bytes': { type: 'string', value: 'N', help: 'with caching: plaintext bytes per data key' },
  'metadata-output': { type: 'string', value: 'FILE', help: 'append one JSON line per file: input, output, header facts', complete: 'file' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress bar' },
};

export const SUITE_NAMES = Object.keys(AlgorithmSuiteId) as (keyof typeof AlgorithmSuiteId)[];

/** A suite by name (AES_256_GCM_HKDF_SHA512_COMMIT_KEY) or hex id (0x0478). */
export function suiteOf(text: string | undefined): AlgorithmSuiteId | undefined {
  if (text === undefined) return undefined;
  if (/^0x[0-9a-f]{4}$/i.test(text)) {
    const id = Number.parseInt(text, 16);
    if ((Object.values(AlgorithmSuiteId) as number[]).includes(id)) return id as AlgorithmSuiteId;
  }
  if (!(SUITE_NAMES as readonly string[]).includes(text)) {
    throw new UsageError(`--suite '${text}' is not an algorithm suite`, `use a hex id as in the specification (0x0578, 0x0478, 0x0378, ...) or one of: ${SUITE_NAMES.join(', ')}`);
  }
  return AlgorithmSuiteId[text as keyof typeof AlgorithmSuiteId];
}

export function commitmentPolicyOf(inv: Invocation): CommitmentPolicy | undefined {
  return oneOf(inv.string('commitment-policy'), '--commitment-policy', Object.values(CommitmentPolicy));
}

export function contextOf(inv: Invocation): Record<string, string> {
  const context = keyValues(inv.strings('context'), '--context', '--context tenant=acme');
  // The SDK refuses these too, but as a policy violation: here they are a mistake in the command line.
  const reserved = Object.keys(context).find((key) => key.startsWith('aws-crypto-'));
  if (reserved !== undefined) throw new UsageError(`--context key '${reserved}' is reserved for the Encryption SDK (aws-crypto-...)`, 'choose another key name');
  return context;
}

export function maxEncryptedDataKeysOf(inv: Invocation): number | undefined {
  return integerIn(inv.string('max-encrypted-data-keys'), '--max-encrypted-data-keys', 1, 65535);
}

const KEY_ARN = /^arn:[^:]+:kms:[^:]*:[^:]*:key\//;
/** A key id (a UUID, `mrk-...`): no alias, no ARN. */
const BARE_KEY_ID = /^[^:/]+$/;

/**
 * The keys for encrypt: key ids and ARNs as given, since GenerateDataKey and Encrypt take either
 * and answer with the key's ARN, which the keyring records in the message (so a caller allowed
 * only kms:GenerateDataKey can encrypt). Aliases (and anything else) are looked up once with
 * DescribeKey, so that every file of a run is under the key the alias named at its start.
 */
export async function encryptKeyIdsOf(kms: KMSClient, keys: readonly string[]): Promise<string[]> {
  return Promise.all(keys.map((key) => (KEY_ARN.test(key) || BARE_KEY_ID.test(key) ? key : describedArnOf(kms, key))));
}

/**
 * Key ARNs for decrypt's key ids, ARNs and aliases: the keyring tries only the encrypted data
 * keys whose recorded ARN is the key it names (AWS Encryption SDK,
 * framework/aws-kms/aws-kms-keyring.md#ondecrypt), so all but ARNs are looked up once with DescribeKey.
 */
export async function decryptKeyArnsOf(kms: KMSClient, keys: readonly string[]): Promise<string[]> {
  return Promise.all(keys.map((key) => (KEY_ARN.test(key) ? key : describedArnOf(kms, key))));
}

async function describedArnOf(kms: KMSClient, key: string): Promise<string> {
  const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: key }));
  return KeyMetadata!.Arn!;
}

/** Wraps the keyring in the caching manager when --cache-max-age is given; the other cache flags need it. */
export function withCaching(inv: Invocation, keyring: Keyring): Keyring | CryptographicMaterialsManager {
  const maxAge = integerIn(inv.string('cache-max-age'), '--cache-max-age', 1, 86_400 * 365);
  const maxMessages = integerIn(inv.string('cache-max-messages'), '--cache-max-messages', 1, 2 ** 32);
  const maxBytes = integerIn(inv.string('cache-max-bytes'), '--cache-max-bytes', 1, Number.MAX_SAFE_INTEGER);
  if (maxAge === undefined) {
    if (maxMessages !== undefined || maxBytes !== undefined) {
      throw new UsageError('--cache-max-messages and --cache-max-bytes need --cache-max-age', 'caching needs an explicit age limit, e.g. --cache-max-age 300');
    }
    return keyring;
  }
  return new CachingCryptographicMaterialsManager({
    underlying: keyring,
    cache: new LocalMaterialsCache(1000),
    maxAge: maxAge * 1000,
    ...(maxMessages !== undefined ? { maxMessagesEncrypted: maxMessages } : {}),
    ...(maxBytes !== undefined ? { maxBytesEncrypted: maxBytes } : {}),
  });
}

export function encryptKeyring(kms: KMSClient, keyArns: readonly string[]): Keyring {
  return new KmsKeyring({ generatorKeyId: keyArns[0]!, keyIds: keyArns.slice(1), client: kms });
}

export function decryptKeyring(kms: KMSClient, keyArns: readonly string[], discovery: { partition: string; accountIds: string[] } | undefined): Keyring {
  if (discovery !== undefined) {
    return new AwsKmsDiscoveryKeyring({ client: kms, ...(discovery.accountIds.length ? { discoveryFilter: discovery } : {}) });
  }
  return new KmsKeyring({ keyIds: keyArns, client: kms });
}

/** Thrown when a message's encryption context does not hold a --context pair decrypt requires. */
export class ContextMismatchError extends PolicyViolationError {}

/**
 * A materials manager for decrypt's --context pairs, which decrypt also gives the SDK as the
 * reproduced encryption context. A pair the message stores must have the same value: a message
 * that stores another is refused before any key is asked. A pair it does not store is authenticated
 * with the rest (AWS Encryption SDK, client-apis/decrypt.md): a required-encryption-context
 * manager's messages store their required pairs nowhere, and decrypt only with them given back.
 * When no key decrypts with such pairs added, the error says they may be why.
 */
export function requiringContext(inner: Keyring | CryptographicMaterialsManager, required: Record<string, string>): CryptographicMaterialsManager {
  const manager: CryptographicMaterialsManager = 'decryptMaterials' in inner
    ? inner
    : new DefaultCryptographicMaterialsManager(inner);
  return {
    getEncryptionMaterials: (request) => manager.getEncryptionMaterials(request),
    decryptMaterials: async (request) => {
      const stored = request.encryptionContext;
      const unstored: string[] = [];
      for (const [key, value] of Object.entries(required)) {
        if (!Object.hasOwn(stored, key)) unstored.push(`${key}=${value}`);
        else if (stored[key] !== value) throw new ContextMismatchError(`the message's encryption context has ${key}=${stored[key]}, not ${key}=${value}`);
      }
      try {
        return await manager.decryptMaterials(request);
      } catch (error) {
        if (unstored.length === 0 || !(error instanceof NoDecryptionKeyError)) throw error;
        throw new ContextMismatchError(`the message does not store ${unstored.join(', ')}, and no key decrypted it with ${unstored.length === 1 ? 'that pair' : 'those pairs'} `
          + `added to its encryption context (they count only if the message was encrypted with them as required pairs): ${error.message}`);
      }
    },
  };
}

