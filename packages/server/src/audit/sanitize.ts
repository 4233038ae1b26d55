/**
 * The request members an audit record may keep. Everything else is dropped: plaintexts, data
 * keys, ciphertext blobs, key material, import tokens, grant tokens, signatures, MACs, messages and
 * secrets never reach the audit trail. An allowlist, so a new member is safe by default.
 */
const RECORDED_MEMBERS = new Set([
  'KeyId', 'SourceKeyId', 'DestinationKeyId', 'TargetKeyId', 'AliasName',
  'Description', 'KeySpec', 'KeyUsage', 'CustomerMasterKeySpec', 'Origin', 'MultiRegion',
  'NumberOfBytes', 'EncryptionAlgorithm', 'SourceEncryptionAlgorithm', 'DestinationEncryptionAlgorithm',
  'EncryptionContext', 'SourceEncryptionContext', 'DestinationEncryptionContext',
  'Tags', 'TagKeys', 'PendingWindowInDays', 'RotationPeriodInDays', 'IncludeKeyMaterial',
  'Limit', 'Marker', 'MaxItems', 'Minutes', 'DryRun', 'BypassPolicyLockoutSafetyCheck', 'PolicyName',
  // A key policy (CreateKey, PutKeyPolicy), as AWS's CloudTrail records it: what it allows is what an auditor looks for.
  'Policy',
  'GranteePrincipal', 'RetiringPrincipal', 'GranteeServicePrincipal', 'RetiringServicePrincipal', 'Operations', 'Constraints', 'Name', 'GrantId',
  'KeyPairSpec', 'SigningAlgorithm', 'MessageType', 'MacAlgorithm', 'KeyAgreementAlgorithm', 'EncapsulationAlgorithm',
  'WrappingAlgorithm', 'WrappingKeySpec', 'ExpirationModel', 'ValidTo',
  'UserName', 'RoleName', 'Status', 'AccessKeyId', 'Principal',
  // Custom key store and multi-Region requests (answered, never carried out: never their passwords or credentials).
  'CustomKeyStoreId', 'CustomKeyStoreName', 'CustomKeyStoreType', 'ReplicaRegion', 'PrimaryRegion',
  // RotateRootKey's target (never its Passphrase, nor a KmsEndpoint, whose URL may carry a password).
  // The library path too: the server loads the native module a caller names there.
  'Provider', 'Pkcs11Library', 'Pkcs11Slot', 'Pkcs11TokenLabel', 'Pkcs11KeyLabel', 'KmsRegion', 'KmsKeyId',
  // QueryAuditRecords' filters.
  'StartTime', 'EndTime', 'PrincipalArn', 'Operation', 'Outcome', 'NextToken',
]);

/** Deeper or larger values (only a hostile request sends them) are recorded as omitted. */
const MAX_DEPTH = 4;
const MAX_RECORDED_CHARS = 65_536;
const OMITTED = '[omitted: too large or too deeply nested]';

/** The request's recordable members, or {} when the body was not a JSON object. */
export function sanitizeParameters(input: unknown): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return {};
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!RECORDED_MEMBERS.has(name)) continue;
    kept[name] = withinDepth(value, MAX_DEPTH) && JSON.stringify(value).length <= MAX_RECORDED_CHARS ? value : OMITTED;
  }
  return kept;
}

function withinDepth(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth === 0) return false;
  return Object.values(value).every((v) => withinDepth(v, depth - 1));
}
