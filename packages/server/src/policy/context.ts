/**
 * The request context: what a policy's conditions and variables are evaluated against. Keys are
 * condition-key names in lower case (AWS: "Context key names are not case-sensitive"); a key the
 * request does not have is simply absent, which is not the same as an empty value (see `Null`).
 *
 * The keys the server fills, per request (IAM User Guide, "AWS global condition context keys"; KMS
 * Developer Guide, "AWS KMS condition keys"):
 *
 * | key                                   | value                | when                                            |
 * |---------------------------------------|----------------------|-------------------------------------------------|
 * | aws:principalarn                      | string               | always: the caller's ARN                         |
 * | aws:principalaccount                  | string               | always: the caller's account id                  |
 * | aws:principaltype                     | string               | always: `Account` (root), `User`, `AssumedRole`  |
 * | aws:username                          | string               | IAM users only (absent for roles and root)       |
 * | aws:userid                            | string               | always: the user or role unique id, or account   |
 * | aws:sourceip                          | string               | the client address (no port)                     |
 * | aws:securetransport                   | boolean              | whether the request came over TLS                |
 * | aws:requestedregion                   | string               | always: the server's region                      |
 * | aws:viaawsservice, aws:principalisawsservice | boolean       | always: false (no AWS service calls Coffer)      |
 * | aws:currenttime                       | string               | ISO 8601, `2026-01-01T00:00:00Z`                 |
 * | aws:epochtime                         | number               | seconds since the epoch                          |
 * | aws:requesttag/<tag-key>              | string               | TagResource, CreateKey: one per tag in the call  |
 * | aws:tagkeys                           | string[]             | TagResource, UntagResource, CreateKey            |
 * | aws:resourcetag/<tag-key>             | string               | key operations: one per tag on the key           |
 * | kms:calleraccount                     | string               | key operations: the caller's account id          |
 * | kms:viaservice                        | string               | only when a service calls on a caller's behalf   |
 * | kms:encryptioncontext:<context-key>   | string               | one per encryption context pair, see below; in CreateGrant, the constraint's |
 * | kms:encryptioncontextkeys             | string[]             | the pairs' keys, as given (case kept); absent when there is no context |
 * | kms:requestalias                      | string               | the alias the caller named the key by (`alias/x`)|
 * | kms:resourcealiases                   | string[]             | key operations: the key's aliases (`alias/x`); absent when none |
 * | kms:keyspec, kms:keyusage, kms:keyorigin | string            | key operations: the key's properties (also `kms:customermasterkeyspec`/`...usage`) |
 * | kms:multiregion                       | boolean              | CreateKey and key operations: whether the key is multi-Region (`mrk-` id) |
 * | kms:multiregionkeytype                | string               | the same, multi-Region keys only: `PRIMARY` (this server holds no replicas) |
 * | kms:encryptionalgorithm               | string               | Encrypt, Decrypt, ReEncrypt, GenerateDataKey*: the algorithm used, default included |
 * | kms:signingalgorithm, kms:macalgorithm| string               | Sign/Verify, GenerateMac/VerifyMac               |
 * | kms:messagetype                       | string               | Sign/Verify                                      |
 * | kms:datakeypairspec                   | string               | GenerateDataKeyPair*                             |
 * | kms:grantoperations                   | string[]             | CreateGrant                                      |
 * | kms:granteeprincipal, kms:retiringprincipal | string         | CreateGrant (retiring only when given)           |
 * | kms:grantisforawsresource             | boolean              | CreateGrant, ListGrants, RevokeGrant             |
 * | kms:grantconstrainttype               | string               | CreateGrant with constraints: `EncryptionContextEquals` or `EncryptionContextSubset` |
 * | kms:rotationperiodindays              | number               | EnableKeyRotation with a period                  |
 * | kms:schedulekeydeletionpendingwindowindays | number          | ScheduleKeyDeletion                              |
 * | kms:bypasspolicylockoutsafetycheck    | boolean              | CreateKey, PutKeyPolicy: only when the parameter is given |
 *
 * Encryption context keys: AWS documents that in `kms:EncryptionContext:<context-key>` the whole
 * condition key, the `<context-key>` part included, "is not case sensitive"; only the value's case is
 * up to the operator. So the server lowercases the pair's key into the condition-key name and keeps
 * the value as given. `kms:EncryptionContextKeys` keeps the keys' case: that is AWS's documented way
 * to require a key's exact spelling. Use `encryptionContextEntries` to fill both.
 */
export type ContextValue = string | readonly string[] | boolean | number;

export type RequestContext = Readonly<Record<string, ContextValue>>;

/** The empty context, for requests that carry no condition keys. */
export const EMPTY_CONTEXT: RequestContext = Object.freeze({});

/** Looks a (lowercase) key up without touching the prototype chain. */
export function contextValue(context: RequestContext, key: string): ContextValue | undefined {
  return Object.hasOwn(context, key) ? context[key] : undefined;
}

/**
 * Sets a condition key named after a case-sensitive name of the caller's (an encryption context
 * key, a tag key): condition keys are case-insensitive, so two names that differ only in case
 * share one key, which then holds both values. A Deny naming either value still applies; keeping
 * only one would let whoever adds the other spelling hide the first from every policy.
 */
export function addCaseFoldedValue(context: Record<string, ContextValue>, name: string, value: string): void {
  const existing = Object.hasOwn(context, name) ? context[name] : undefined;
  if (existing === undefined) {
    context[name] = value;
    return;
  }
  const values = [...(Array.isArray(existing) ? existing : [existing as string]), value];
  caseFolded.add(values);
  context[name] = values;
}

/** The values addCaseFoldedValue gathered under one key: one key's several readings, not a set. */
const caseFolded = new WeakSet<readonly string[]>();

/**
 * Whether a condition key holds the values of names that differ only in case. Such a key has one
 * value per reading, and a policy is read the way least favourable to the caller
 * (policy/condition.ts): an Allow must hold for every reading, a Deny applies if any does.
 */
export function isCaseFolded(value: ContextValue | undefined): boolean {
  return Array.isArray(value) && caseFolded.has(value);
}

/** The context entries for an encryption context (see addCaseFoldedValue). */
export function encryptionContextEntries(encryptionContext: Readonly<Record<string, string>>): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  const keys = Object.keys(encryptionContext);
  if (keys.length === 0) return out;
  for (const key of keys) addCaseFoldedValue(out, `kms:encryptioncontext:${key.toLowerCase()}`, encryptionContext[key]!);
  out['kms:encryptioncontextkeys'] = keys;
  return out;
}
