/**
 * The request members an audit record may keep: for each operation, the recordable members it
 * takes, and of each only the parts its type has. Everything else is dropped: plaintexts, data
 * keys, ciphertext blobs, key material, import tokens, grant tokens, signatures, MACs, messages and
 * secrets never reach the audit trail, and neither does a member the operation does not take,
 * whatever its name, nor anything a caller nests inside a kept member. An allowlist, so a new
 * member is safe by default. `test/audit-members.test.ts` holds the table to the operations' own
 * shapes.
 */

/** What a kept member's value may be; anything else is recorded as WRONG_TYPE. */
type Kind =
  /** A string, number or boolean. */
  | 'scalar'
  /** An object of strings (an encryption context: its keys are the caller's data, so all of them). */
  | 'map'
  /** An array of strings (TagKeys, Operations). */
  | 'list'
  /** An array of { TagKey, TagValue }. */
  | 'tags'
  /** A grant's constraints: { EncryptionContextSubset, EncryptionContextEquals, SourceArn }. */
  | 'constraints';

const KINDS: Readonly<Record<string, Kind>> = {
  EncryptionContext: 'map', SourceEncryptionContext: 'map', DestinationEncryptionContext: 'map',
  Tags: 'tags', TagKeys: 'list', Operations: 'list', Constraints: 'constraints',
};

const KEY_ID = ['KeyId'];
const PAGE = ['Limit', 'Marker'];
const ADMIN_PAGE = ['Marker', 'MaxItems'];
const PRINCIPAL = ['UserName', 'RoleName'];

/**
 * Per operation, as `X-Amz-Target` names it after the service (`CofferAdmin.` kept for Coffer's
 * own), and for the server's own actions (DeleteKey, RotateKey: audit/system-audit.ts). A key
 * policy (`Policy` of CreateKey, PutKeyPolicy, ReplicateKey) is kept as AWS's CloudTrail records
 * it: what it allows is what an auditor looks for. So is an identity policy's document
 * (`PolicyDocument` of PutPrincipalPolicy, as IAM's CloudTrail records PutUserPolicy's). RotateRootKey's target is kept, never its
 * Passphrase nor a KmsEndpoint, whose URL may carry a password; the library path too, since the
 * server loads the native module a caller names there. Custom key store and multi-Region requests
 * are answered, never carried out, and never keep their passwords or credentials.
 */
const RECORDED: Readonly<Record<string, readonly string[]>> = {
  CreateKey: [
    'Description', 'KeySpec', 'KeyUsage', 'CustomerMasterKeySpec', 'Origin', 'MultiRegion', 'Tags', 'BypassPolicyLockoutSafetyCheck', 'Policy',
    'CustomKeyStoreId', 'XksKeyId',
  ],
  DescribeKey: KEY_ID,
  ListKeys: PAGE,
  UpdateKeyDescription: ['KeyId', 'Description'],
  EnableKey: KEY_ID,
  DisableKey: KEY_ID,
  ScheduleKeyDeletion: ['KeyId', 'PendingWindowInDays'],
  CancelKeyDeletion: KEY_ID,
  CreateAlias: ['AliasName', 'TargetKeyId'],
  UpdateAlias: ['AliasName', 'TargetKeyId'],
  DeleteAlias: ['AliasName'],
  ListAliases: ['KeyId', ...PAGE],
  TagResource: ['KeyId', 'Tags'],
  UntagResource: ['KeyId', 'TagKeys'],
  ListResourceTags: ['KeyId', ...PAGE],
  Encrypt: ['KeyId', 'EncryptionAlgorithm', 'EncryptionContext', 'DryRun'],
  Decrypt: ['KeyId', 'EncryptionAlgorithm', 'EncryptionContext', 'DryRun'],
  ReEncrypt: [
    'SourceKeyId', 'DestinationKeyId', 'SourceEncryptionAlgorithm', 'DestinationEncryptionAlgorithm', 'SourceEncryptionContext',
    'DestinationEncryptionContext', 'DryRun',
  ],
  GenerateDataKey: ['KeyId', 'KeySpec', 'NumberOfBytes', 'EncryptionContext', 'DryRun'],
  GenerateDataKeyWithoutPlaintext: ['KeyId', 'KeySpec', 'NumberOfBytes', 'EncryptionContext', 'DryRun'],
  GenerateRandom: ['NumberOfBytes', 'CustomKeyStoreId'],
  EnableKeyRotation: ['KeyId', 'RotationPeriodInDays'],
  DisableKeyRotation: KEY_ID,
  GetKeyRotationStatus: KEY_ID,
  RotateKeyOnDemand: KEY_ID,
  ListKeyRotations: ['KeyId', 'IncludeKeyMaterial', ...PAGE],
  GetKeyPolicy: ['KeyId', 'PolicyName'],
  ListKeyPolicies: ['KeyId', ...PAGE],
  PutKeyPolicy: ['KeyId', 'PolicyName', 'Policy', 'BypassPolicyLockoutSafetyCheck'],
  CreateGrant: [
    'KeyId', 'GranteePrincipal', 'RetiringPrincipal', 'GranteeServicePrincipal', 'RetiringServicePrincipal', 'Operations', 'Constraints', 'Name',
    'DryRun',
  ],
  ListGrants: ['KeyId', 'GrantId', 'GranteePrincipal', 'GranteeServicePrincipal', ...PAGE],
  ListRetirableGrants: ['RetiringPrincipal', 'RetiringServicePrincipal', ...PAGE],
  RetireGrant: ['KeyId', 'GrantId', 'DryRun'],
  RevokeGrant: ['KeyId', 'GrantId', 'DryRun'],
  GetKeyLastUsage: KEY_ID,
  Sign: ['KeyId', 'SigningAlgorithm', 'MessageType', 'DryRun'],
  Verify: ['KeyId', 'SigningAlgorithm', 'MessageType', 'DryRun'],
  GetPublicKey: KEY_ID,
  GenerateMac: ['KeyId', 'MacAlgorithm', 'DryRun'],
  VerifyMac: ['KeyId', 'MacAlgorithm', 'DryRun'],
  GenerateDataKeyPair: ['KeyId', 'KeyPairSpec', 'EncryptionContext', 'DryRun'],
  GenerateDataKeyPairWithoutPlaintext: ['KeyId', 'KeyPairSpec', 'EncryptionContext', 'DryRun'],
  DeriveSharedSecret: ['KeyId', 'KeyAgreementAlgorithm', 'DryRun'],
  Encapsulate: ['KeyId', 'EncapsulationAlgorithm', 'DryRun'],
  Decapsulate: ['KeyId', 'EncapsulationAlgorithm', 'DryRun'],
  GetParametersForImport: ['KeyId', 'WrappingAlgorithm', 'WrappingKeySpec'],
  ImportKeyMaterial: ['KeyId', 'ExpirationModel', 'ValidTo', 'ImportType', 'KeyMaterialId', 'KeyMaterialDescription'],
  DeleteImportedKeyMaterial: ['KeyId', 'KeyMaterialId'],
  ReplicateKey: ['KeyId', 'ReplicaRegion', 'Description', 'Tags', 'Policy', 'BypassPolicyLockoutSafetyCheck'],
  UpdatePrimaryRegion: ['KeyId', 'PrimaryRegion'],
  DescribeCustomKeyStores: ['CustomKeyStoreId', 'CustomKeyStoreName', ...PAGE],
  CreateCustomKeyStore: ['CustomKeyStoreName', 'CustomKeyStoreType'],
  ConnectCustomKeyStore: ['CustomKeyStoreId'],
  DisconnectCustomKeyStore: ['CustomKeyStoreId'],
  DeleteCustomKeyStore: ['CustomKeyStoreId'],
  UpdateCustomKeyStore: ['CustomKeyStoreId'],
  DeleteKey: KEY_ID,
  RotateKey: KEY_ID,
  'CofferAdmin.CreateUser': ['UserName'],
  'CofferAdmin.DeleteUser': ['UserName'],
  'CofferAdmin.ListUsers': ADMIN_PAGE,
  'CofferAdmin.CreateRole': ['RoleName'],
  'CofferAdmin.DeleteRole': ['RoleName'],
  'CofferAdmin.ListRoles': ADMIN_PAGE,
  'CofferAdmin.CreateAccessKey': PRINCIPAL,
  'CofferAdmin.ListAccessKeys': PRINCIPAL,
  'CofferAdmin.UpdateAccessKey': [...PRINCIPAL, 'AccessKeyId', 'Status'],
  'CofferAdmin.DeleteAccessKey': [...PRINCIPAL, 'AccessKeyId'],
  'CofferAdmin.PutPrincipalPolicy': [...PRINCIPAL, 'PolicyName', 'PolicyDocument'],
  'CofferAdmin.GetPrincipalPolicy': [...PRINCIPAL, 'PolicyName'],
  'CofferAdmin.ListPrincipalPolicies': PRINCIPAL,
  'CofferAdmin.DeletePrincipalPolicy': [...PRINCIPAL, 'PolicyName'],
  'CofferAdmin.QueryAuditRecords': ['StartTime', 'EndTime', 'KeyId', 'PrincipalArn', 'Operation', 'Outcome', 'Limit', 'NextToken'],
  'CofferAdmin.VerifyAuditChain': [],
  'CofferAdmin.RotateRootKey': ['Provider', 'Pkcs11Library', 'Pkcs11Slot', 'Pkcs11TokenLabel', 'Pkcs11KeyLabel', 'KmsRegion', 'KmsKeyId'],
  'CofferAdmin.GetRootKeyStatus': [],
  'CofferAdmin.GetRequestMetrics': ['Minutes'],
};

/** The recordable members of each operation (for tests that hold the table to the operations). */
export function recordedMembers(operation: string): readonly string[] | undefined {
  return Object.hasOwn(RECORDED, operation) ? RECORDED[operation] : undefined;
}

/** Larger values (only a hostile request sends them) are recorded as omitted. */
const MAX_RECORDED_CHARS = 65_536;
/** Members whose own limit is larger: an identity policy document may hold 131,072 characters (IAM's). */
const MAX_RECORDED_CHARS_OF: Readonly<Record<string, number>> = { PolicyDocument: 131_072 };
/** A text's own length (a policy's quotes counted once, not as JSON escapes them), else its JSON's. */
const recordedLength = (value: unknown): number => (typeof value === 'string' ? value.length : JSON.stringify(value).length);
const OMITTED = '[omitted: too large]';
/** A value of another type than the member's (the operation refuses it, but the record keeps what was asked). */
const WRONG_TYPE = '[omitted: not of the member\'s type]';

/** The request's recordable members for `operation`, or {} when the body was not a JSON object. */
export function sanitizeParameters(operation: string | undefined, input: unknown): Record<string, unknown> {
  const members = operation === undefined ? undefined : recordedMembers(operation);
  if (members === undefined || typeof input !== 'object' || input === null || Array.isArray(input)) return {};
  const body = input as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  for (const name of members) {
    // Null is absent, as the operations read it.
    if (!Object.hasOwn(body, name) || body[name] === undefined || body[name] === null) continue;
    const value = ofKind(KINDS[name] ?? 'scalar', body[name]);
    kept[name] = value === undefined ? WRONG_TYPE : recordedLength(value) <= (MAX_RECORDED_CHARS_OF[name] ?? MAX_RECORDED_CHARS) ? value : OMITTED;
  }
  return kept;
}

/** `value` as `kind` has it, rebuilt from its known parts only; undefined when it is not of that kind. */
function ofKind(kind: Kind, value: unknown): unknown {
  switch (kind) {
    case 'scalar':
      return ['string', 'number', 'boolean'].includes(typeof value) ? value : undefined;
    case 'map': {
      if (!isObject(value)) return undefined;
      const map: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') return undefined;
        // Defined, not assigned: a context key "__proto__" (a key like any other to KMS) would
        // otherwise set the copy's prototype and vanish from the record.
        Object.defineProperty(map, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return map;
    }
    case 'list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? [...(value as string[])] : undefined;
    case 'tags': {
      if (!Array.isArray(value) || !value.every(isObject)) return undefined;
      return value.map((tag) => pick(tag, ['TagKey', 'TagValue'], 'scalar'));
    }
    case 'constraints': {
      if (!isObject(value)) return undefined;
      const out = pick(value, ['EncryptionContextSubset', 'EncryptionContextEquals'], 'map');
      const sourceArn = Object.hasOwn(value, 'SourceArn') ? ofKind('scalar', value.SourceArn) : undefined;
      return sourceArn === undefined ? out : { ...out, SourceArn: sourceArn };
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `names` of `object` that are of `kind`, each rebuilt; the others are left out. */
function pick(object: Record<string, unknown>, names: readonly string[], kind: Kind): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    if (!Object.hasOwn(object, name)) continue;
    const value = ofKind(kind, object[name]);
    out[name] = value === undefined ? WRONG_TYPE : value;
  }
  return out;
}
