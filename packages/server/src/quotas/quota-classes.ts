/**
 * Request quotas modelled on AWS KMS's ("Request quotas", AWS KMS Developer Guide): requests per
 * second, per account (and Region: one Coffer server is one Region). The cryptographic operations
 * share one quota per key type (symmetric, RSA, ECC, ML-DSA); each control-plane operation has its own.
 * Coffer's admin API (CofferAdmin.*) shares one class of its own.
 */

/** The cryptographic operations on symmetric keys (and HMAC keys, and GenerateRandom), as AWS lists them. */
const SYMMETRIC = [
  'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'GenerateMac', 'VerifyMac', 'GenerateRandom',
] as const;

/**
 * Operations whose class follows the algorithm named in the request (asymmetric use of
 * Encrypt/Decrypt/ReEncrypt, and Sign/Verify), with the members each reads: only the operation's
 * own, so a member it ignores cannot move a request to a cheaper class.
 */
const BY_ALGORITHM: Readonly<Record<string, readonly string[]>> = {
  Encrypt: ['EncryptionAlgorithm'],
  Decrypt: ['EncryptionAlgorithm'],
  ReEncrypt: ['SourceEncryptionAlgorithm', 'DestinationEncryptionAlgorithm'],
  Sign: ['SigningAlgorithm'],
  Verify: ['SigningAlgorithm'],
  DeriveSharedSecret: ['KeyAgreementAlgorithm'],
  // ML-KEM: AWS lists no quota of its own, so the asymmetric class that is not RSA.
  Encapsulate: ['EncapsulationAlgorithm'],
  Decapsulate: ['EncapsulationAlgorithm'],
};

/** AWS's per-operation quotas for the control plane, requests per second. */
const CONTROL_PLANE: Readonly<Record<string, number>> = {
  CancelKeyDeletion: 5, CreateAlias: 5, CreateGrant: 50, CreateKey: 5, DeleteAlias: 15,
  DeleteImportedKeyMaterial: 15, DescribeKey: 2000, DisableKey: 5, DisableKeyRotation: 5, EnableKey: 5,
  EnableKeyRotation: 5, GetKeyPolicy: 1000, GetKeyRotationStatus: 1000, GetParametersForImport: 5,
  GetPublicKey: 2000, ImportKeyMaterial: 5, ListAliases: 100, ListGrants: 100, ListKeyPolicies: 100,
  ListKeyRotations: 100, ListKeys: 100, ListResourceTags: 100, ListRetirableGrants: 100, PutKeyPolicy: 15,
  RetireGrant: 30, RevokeGrant: 30, RotateKeyOnDemand: 5, ScheduleKeyDeletion: 15, TagResource: 10,
  UntagResource: 5, UpdateAlias: 5, UpdateKeyDescription: 5,
  ConnectCustomKeyStore: 5, CreateCustomKeyStore: 5, DeleteCustomKeyStore: 5, DescribeCustomKeyStores: 5,
  DisconnectCustomKeyStore: 5, UpdateCustomKeyStore: 5, ReplicateKey: 5, UpdatePrimaryRegion: 5,
};

/**
 * AWS's shared symmetric quota by Region: 10,000 per second by default, 20,000 in the Regions its
 * table lists for it. The three largest Regions had 50,000 in the last table that gave their
 * figure; the current one was not found, so theirs is kept.
 */
const SYMMETRIC_RATES: readonly (readonly [rate: number, regions: ReadonlySet<string>])[] = [
  [50_000, new Set(['us-east-1', 'us-west-2', 'eu-west-1'])],
  [20_000, new Set(['us-east-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-northeast-1', 'eu-central-1', 'eu-west-2'])],
];
const SYMMETRIC_DEFAULT_RATE = 10_000;

/** Quota class -> requests per second. */
export type QuotaRates = Readonly<Record<string, number>>;

/** AWS's default values for a Region, and Coffer's for what AWS does not have. */
export function defaultQuotaRates(region: string): QuotaRates {
  return {
    symmetric: SYMMETRIC_RATES.find(([, regions]) => regions.has(region))?.[0] ?? SYMMETRIC_DEFAULT_RATE,
    rsa: 1000,
    ecc: 1000,
    'ml-dsa': 1000,
    ...CONTROL_PLANE,
    // Coffer's own: an operation AWS does not list gets the rate of AWS's read operations, and the admin API one shared class.
    other: 100,
    admin: 50,
  };
}

/** Every class a quota file may name. */
export function quotaClassNames(): string[] {
  return Object.keys(defaultQuotaRates('us-east-1'));
}

/**
 * The class of a request, from its operation and (for operations that take either kind of key)
 * the algorithm it names: an asymmetric Encrypt/Decrypt must name an RSAES_* or SM2PKE algorithm,
 * and Sign/Verify always name theirs, so the class is known before the key is read.
 */
export function quotaClassOf(target: string, input: unknown): string {
  if (target.startsWith('CofferAdmin.')) return 'admin';
  const members = Object.hasOwn(BY_ALGORITHM, target) ? BY_ALGORITHM[target]! : undefined;
  if (members) {
    const body = input as Record<string, unknown>;
    const algorithms = members.map((member) => (Object.hasOwn(body, member) ? body[member] : undefined)).filter((a) => typeof a === 'string');
    // ReEncrypt names two: the more restrictive class counts.
    if (algorithms.some((algorithm) => algorithm.startsWith('RSA'))) return 'rsa';
    if (algorithms.includes('ML_DSA_SHAKE_256')) return 'ml-dsa';
    if (algorithms.some((algorithm) => algorithm !== 'SYMMETRIC_DEFAULT')) return 'ecc';
    if (target !== 'Encrypt' && target !== 'Decrypt' && target !== 'ReEncrypt') return 'ecc';
    return 'symmetric';
  }
  if ((SYMMETRIC as readonly string[]).includes(target)) return 'symmetric';
  return target in CONTROL_PLANE ? target : 'other';
}

/** Checks quota settings before the server starts: known classes, non-negative finite rates. */
export function checkQuotaRates(rates: Readonly<Record<string, unknown>>): QuotaRates {
  const known = new Set(quotaClassNames());
  const problems: string[] = [];
  for (const [name, rate] of Object.entries(rates)) {
    if (!known.has(name)) problems.push(`'${name}' is not a quota class`);
    // String() for numbers: JSON.stringify writes Infinity (a quotas file's 1e400) as null.
    else if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) problems.push(`'${name}' must be a number of requests per second (0 for no limit), not ${typeof rate === 'number' ? String(rate) : JSON.stringify(rate)}`);
  }
  if (problems.length) throw new TypeError(`Invalid request quotas: ${problems.join('; ')}. The classes are: ${[...known].join(', ')}.`);
  return rates as QuotaRates;
}
