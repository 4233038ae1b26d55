import { GRANT_OPERATIONS, isGrantId } from '../grants/grant-record.js';
import { isPrincipalForm, isServicePrincipal } from '../grants/grant-members.js';
import { EXPIRATION_MODELS, KEY_USAGES, ROTATION_TYPES, type KeySpec, type KeyUsage } from '../keys/enums.js';
import { KEY_ID, MAX_DESCRIPTION_LENGTH } from '../keys/key-record.js';
import { algorithmsOf, KEY_SPEC_TABLE } from '../keys/specs/index.js';
import { compilePolicy, type PolicyKind } from '../policy/compile.js';
import { PRINCIPAL_KINDS } from '../principals/principal-record.js';
import type { SnapshotRow } from './store.js';

/**
 * What every row a server writes satisfies, field by field (docs/store.md, "Row invariants"): the
 * types of the record types, their closed sets, and the combinations the operations that write
 * them establish (a key PendingDeletion has a deletion date and no other key has one; only a key
 * of imported material is PendingImport or has no version; an alias under alias/aws/ names an AWS
 * managed key). `coffer store check` holds a store's rows to them, and a restore an archive's
 * before it restores anything: an archive made or altered by someone who holds its passphrase or
 * public key can say anything, and a server would serve what it says.
 *
 * Fields that later releases added are optional here, as in the record types: a store an older
 * release wrote is held to what that release wrote.
 */

/** Deeper than any row Coffer writes (a grant's constraint map is four levels down): a row nested past it is refused before anything walks it recursively. */
export const MAX_ROW_DEPTH = 32;

/** Whether `value` nests objects or arrays deeper than `limit`, found without recursion (a row 200,000 deep overflows the stack of anything recursive). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [next, depth] = pending.pop()!;
    if (typeof next !== 'object' || next === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(next)) pending.push([child, depth + 1]);
  }
  return false;
}

/** How a problem names its row: by its ids, as `coffer store check` names rows, whatever its fields hold. */
export function rowName(row: { readonly kind?: unknown } & Record<string, unknown>): string {
  const field = (object: unknown, name: string): string => {
    const value = typeof object === 'object' && object !== null ? (object as Record<string, unknown>)[name] : undefined;
    return typeof value === 'string' || typeof value === 'number' ? String(value) : '?';
  };
  switch (row.kind) {
    case 'key': return `key ${field(row.key, 'keyId')}`;
    case 'keyVersion': return `key ${field(row.version, 'keyId')} version ${field(row.version, 'version')}`;
    case 'alias': return `alias ${field(row.alias, 'aliasName')}`;
    case 'principal': return `principal ${field(row.principal, 'arn')}`;
    case 'identityPolicy': return `identity policy ${field(row.policy, 'policyName')} of ${field(row.policy, 'principalArn')}`;
    case 'accessKey': return `access key ${field(row.accessKey, 'accessKeyId')}`;
    case 'grant': return `grant ${field(row.grant, 'grantId')}`;
    case 'audit': return `audit record ${field(row.record, 'seq')}`;
    default: return `a ${String(row.kind)} row`;
  }
}

/**
 * Checks rows in the order exportSnapshot yields them (keys before aliases), remembering what a
 * later row is held to: which keys are AWS managed.
 */
export class RowInvariants {
  readonly #awsManagedKeys = new Set<string>();

  /** What is wrong with `row`, each problem prefixed with the row's name; empty when a server could have written it. */
  problemsOf(row: SnapshotRow): string[] {
    const found: string[] = [];
    const fields = new Fields(found);
    switch (row.kind) {
      case 'key': keyProblems(fields, row.key as unknown as Record<string, unknown>, this.#awsManagedKeys); break;
      case 'keyVersion': keyVersionProblems(fields, row.version as unknown as Record<string, unknown>); break;
      case 'alias': aliasProblems(fields, row.alias as unknown as Record<string, unknown>, this.#awsManagedKeys); break;
      case 'principal': principalProblems(fields, row.principal as unknown as Record<string, unknown>); break;
      case 'identityPolicy': identityPolicyProblems(fields, row.policy as unknown as Record<string, unknown>); break;
      case 'accessKey': accessKeyProblems(fields, row.accessKey as unknown as Record<string, unknown>); break;
      case 'grant': grantProblems(fields, row.grant as unknown as Record<string, unknown>); break;
      // The audit chain's own check holds records and head to it (audit/verify-trail.ts); meta is the server's.
      default: break;
    }
    const name = rowName(row as never);
    return found.map((problem) => `${name}: ${problem}`);
  }
}

/** Field checks that record what is wrong in words, not throw: a check reports every problem of a row. */
class Fields {
  constructor(readonly found: string[]) {}

  problem(what: string): false {
    this.found.push(what);
    return false;
  }

  string(record: Record<string, unknown>, name: string, { optional = false, nonEmpty = false } = {}): boolean {
    const value = record[name];
    if (value === undefined && optional) return true;
    if (typeof value !== 'string' || (nonEmpty && value === '')) return this.problem(`its ${name} is not ${nonEmpty ? 'a non-empty string' : 'a string'}`);
    return true;
  }

  /** Epoch milliseconds (or any instant a server computed): a finite, non-negative number. */
  time(record: Record<string, unknown>, name: string, { optional = false } = {}): boolean {
    const value = record[name];
    if (value === undefined && optional) return true;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return this.problem(`its ${name} ${JSON.stringify(value) ?? 'undefined'} is not a time`);
    return true;
  }

  integer(record: Record<string, unknown>, name: string, min: number, { optional = false } = {}): boolean {
    const value = record[name];
    if (value === undefined && optional) return true;
    if (!Number.isSafeInteger(value) || (value as number) < min) return this.problem(`its ${name} ${JSON.stringify(value) ?? 'undefined'} is not a whole number of at least ${min}`);
    return true;
  }

  oneOf(record: Record<string, unknown>, name: string, values: readonly unknown[], what: string, { optional = false } = {}): boolean {
    const value = record[name];
    if (value === undefined && optional) return true;
    if (!values.includes(value)) return this.problem(`its ${name} ${JSON.stringify(value) ?? 'undefined'} is not ${what}`);
    return true;
  }

  object(record: Record<string, unknown>, name: string, { optional = false } = {}): Record<string, unknown> | undefined {
    const value = record[name];
    if (value === undefined && optional) return undefined;
    if (!isObject(value)) {
      this.problem(`its ${name} is not an object`);
      return undefined;
    }
    return value;
  }

  policy(text: unknown, kind: PolicyKind, what: string): void {
    if (typeof text !== 'string') {
      this.problem(`its ${what} is not text`);
      return;
    }
    try {
      JSON.parse(text);
    } catch {
      this.problem(`its ${what} is not JSON`);
      return;
    }
    try {
      compilePolicy(text, kind);
    } catch (error) {
      // The caller's requests would then fail on it (MalformedPolicyDocumentException) instead of the store.
      this.problem(`its ${what} does not compile (${(error as Error).message})`);
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringMap = (value: unknown): boolean => isObject(value) && Object.values(value).every((v) => typeof v === 'string');
const MATERIAL_ID = /^[0-9a-f]{64}$/;
/** The states an operation writes; Creating, Updating, Unavailable and PendingReplicaDeletion are AWS's, never this server's. */
const WRITTEN_STATES = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'] as const;
const WRITTEN_ORIGINS = ['AWS_KMS', 'EXTERNAL'] as const;
const PRINCIPAL_ARN = /^arn:[a-z][a-z0-9-]*:iam::\d{12}:(user|role)\/(.+)$/;
const ACCOUNT_ROOT_ARN = /^arn:[a-z][a-z0-9-]*:iam::\d{12}:root$/;
/** AWS's AccessKeyIdType, as auth/access-keys.ts looks ids up. */
const ACCESS_KEY_ID = /^\w{16,128}$/;
const RESERVED_ALIAS_PREFIX = 'alias/aws/';

function keyProblems(f: Fields, key: Record<string, unknown>, awsManagedKeys: Set<string>): void {
  if (typeof key.keyId !== 'string' || !KEY_ID.test(key.keyId)) f.problem('its id is not a key id');
  f.integer(key, 'revision', 1);
  f.time(key, 'createdAt');
  if (key.description !== undefined && (typeof key.description !== 'string' || key.description.length > MAX_DESCRIPTION_LENGTH)) {
    f.problem(`its description is not text of at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  const spec = key.keySpec === 'SYMMETRIC_DEFAULT'
    || (typeof key.keySpec === 'string' && Object.hasOwn(KEY_SPEC_TABLE, key.keySpec) && KEY_SPEC_TABLE[key.keySpec as KeySpec] !== undefined)
    || f.problem(`its key spec ${JSON.stringify(key.keySpec) ?? 'undefined'} is not one this server has`);
  const usage = f.oneOf(key, 'keyUsage', KEY_USAGES, 'a key usage');
  if (spec && usage && algorithmsOf(key.keySpec as KeySpec, key.keyUsage as KeyUsage).length === 0) {
    f.problem(`its key usage ${String(key.keyUsage)} is not one a ${String(key.keySpec)} key has`);
  }
  const origin = f.oneOf(key, 'origin', WRITTEN_ORIGINS, 'an origin this server makes keys of');
  const external = key.origin === 'EXTERNAL';
  if (f.oneOf(key, 'keyManager', ['AWS'], 'AWS (or absent)', { optional: true }) && key.keyManager === 'AWS' && typeof key.keyId === 'string') {
    awsManagedKeys.add(key.keyId);
  }
  if (f.oneOf(key, 'state', WRITTEN_STATES, 'a key state this server writes')) {
    // ScheduleKeyDeletion writes the state and its date together; CancelKeyDeletion removes both.
    if (key.state === 'PendingDeletion' && key.deletionDate === undefined) f.problem('it is PendingDeletion but has no deletion date');
    if (key.state !== 'PendingDeletion' && key.deletionDate !== undefined) f.problem(`it is ${String(key.state)} but has a deletion date`);
    if (key.state === 'PendingImport' && origin && !external) f.problem(`it is PendingImport but its origin is ${String(key.origin)}, not EXTERNAL`);
  }
  f.time(key, 'deletionDate', { optional: true });
  f.integer(key, 'pendingWindowInDays', 1, { optional: true });
  if (key.tags !== undefined && (!Array.isArray(key.tags) || !key.tags.every((tag) => isObject(tag) && typeof tag.TagKey === 'string' && typeof tag.TagValue === 'string'))) {
    f.problem('its tags are not a list of TagKey and TagValue strings');
  }
  if (key.policy !== undefined) f.policy(key.policy, 'key', 'key policy');
  f.time(key, 'policySetAt', { optional: true });
  if (key.policyPrincipals !== undefined && !(isObject(key.policyPrincipals) && Object.values(key.policyPrincipals).every((t) => typeof t === 'number'))) {
    f.problem('its policyPrincipals are not principals with their creation times');
  }
  const rotation = f.object(key, 'rotation', { optional: true });
  if (rotation) {
    f.integer(rotation, 'periodInDays', 1);
    f.time(rotation, 'nextRotationDate');
  }
  f.integer(key, 'onDemandRotations', 0, { optional: true });
  // Only a key of imported material exists without a version (created, or its material deleted).
  if (f.integer(key, 'currentVersion', 0) && key.currentVersion === 0 && origin && !external) f.problem('it has no version but its origin is not EXTERNAL');
  importedMaterialProblems(f, key, external);
}

/** The fields only a key of imported material (origin EXTERNAL) has. */
function importedMaterialProblems(f: Fields, key: Record<string, unknown>, external: boolean): void {
  for (const name of ['importedMaterial', 'currentMaterialDescription', 'earlierMaterials', 'pendingMaterial']) {
    if (key[name] !== undefined && !external) f.problem(`it has ${name} but its origin is not EXTERNAL`);
  }
  const imported = f.object(key, 'importedMaterial', { optional: true });
  if (imported) {
    f.oneOf(imported, 'expirationModel', EXPIRATION_MODELS, 'an expiration model');
    f.time(imported, 'validTo', { optional: true });
  }
  f.string(key, 'currentMaterialDescription', { optional: true });
  if (key.earlierMaterials !== undefined) {
    if (!Array.isArray(key.earlierMaterials)) {
      f.problem('its earlierMaterials is not a list');
    } else {
      for (const earlier of key.earlierMaterials) {
        if (!isObject(earlier)) {
          f.problem('an entry of its earlierMaterials is not an object');
          continue;
        }
        f.integer(earlier, 'version', 1);
        f.time(earlier, 'validTo', { optional: true });
        f.string(earlier, 'description', { optional: true });
      }
    }
  }
  const pending = f.object(key, 'pendingMaterial', { optional: true });
  if (pending) {
    f.integer(pending, 'version', 1);
    if (typeof pending.materialId !== 'string' || !MATERIAL_ID.test(pending.materialId)) f.problem('its pending material\'s KeyMaterialId is not 64 lowercase hex characters');
    f.string(pending, 'wrappedMaterial', { nonEmpty: true });
    f.time(pending, 'importedAt');
    f.oneOf(pending, 'expirationModel', EXPIRATION_MODELS, 'an expiration model');
    f.time(pending, 'validTo', { optional: true });
    f.string(pending, 'description', { optional: true });
  }
}

function keyVersionProblems(f: Fields, version: Record<string, unknown>): void {
  if (typeof version.keyId !== 'string' || !KEY_ID.test(version.keyId)) f.problem('its key id is not a key id');
  f.integer(version, 'version', 1);
  if (typeof version.materialId !== 'string' || !MATERIAL_ID.test(version.materialId)) f.problem('its KeyMaterialId is not 64 lowercase hex characters');
  f.time(version, 'createdAt');
  f.oneOf(version, 'rotationType', ROTATION_TYPES, 'a rotation type', { optional: true });
  if (!(version.wrappedMaterial instanceof Uint8Array) || version.wrappedMaterial.length === 0) f.problem('it has no material');
}

function aliasProblems(f: Fields, alias: Record<string, unknown>, awsManagedKeys: ReadonlySet<string>): void {
  const name = alias.aliasName;
  // checkAliasName's rules, but for alias/aws/: the server makes those, for its AWS managed keys (keys/aws-managed.ts).
  if (typeof name !== 'string' || !/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.length > 256) {
    f.problem('its name is not alias/ and a name of letters, digits, /, _ and -');
  }
  if (typeof alias.targetKeyId !== 'string' || !KEY_ID.test(alias.targetKeyId)) {
    f.problem('its target is not a key id');
  } else if (typeof name === 'string' && name.startsWith(RESERVED_ALIAS_PREFIX) && !awsManagedKeys.has(alias.targetKeyId)) {
    f.problem(`it begins with ${RESERVED_ALIAS_PREFIX}, which names only AWS managed keys, but key ${alias.targetKeyId} is not one`);
  }
  f.time(alias, 'createdAt');
  f.time(alias, 'updatedAt');
}

function principalProblems(f: Fields, principal: Record<string, unknown>): void {
  f.oneOf(principal, 'kind', PRINCIPAL_KINDS, 'user or role');
  f.string(principal, 'name', { nonEmpty: true });
  const arn = typeof principal.arn === 'string' ? PRINCIPAL_ARN.exec(principal.arn) : null;
  if (!arn || arn[1] !== principal.kind || arn[2] !== principal.name) f.problem(`its ARN is not that of the ${String(principal.kind)} ${String(principal.name)}`);
  f.time(principal, 'createdAt');
}

function identityPolicyProblems(f: Fields, policy: Record<string, unknown>): void {
  if (typeof policy.principalArn !== 'string' || !PRINCIPAL_ARN.test(policy.principalArn)) f.problem('its principal is not a user or role ARN');
  f.string(policy, 'policyName', { nonEmpty: true });
  f.policy(policy.document, 'identity', 'document');
  f.time(policy, 'updatedAt');
}

function accessKeyProblems(f: Fields, accessKey: Record<string, unknown>): void {
  if (typeof accessKey.accessKeyId !== 'string' || !ACCESS_KEY_ID.test(accessKey.accessKeyId)) f.problem('its id is not 16 to 128 letters and digits');
  const owner = accessKey.principalArn;
  if (typeof owner !== 'string' || !(PRINCIPAL_ARN.test(owner) || ACCOUNT_ROOT_ARN.test(owner))) f.problem('its owner is not a user, role or account root ARN');
  f.oneOf(accessKey, 'status', ['Active', 'Inactive'], 'Active or Inactive');
  f.time(accessKey, 'createdAt');
  if (!(accessKey.wrappedSecret instanceof Uint8Array) || accessKey.wrappedSecret.length === 0) f.problem('it has no secret');
}

function grantProblems(f: Fields, grant: Record<string, unknown>): void {
  if (typeof grant.grantId !== 'string' || !isGrantId(grant.grantId)) f.problem('its id is not 64 lowercase hex characters');
  if (typeof grant.keyId !== 'string' || !KEY_ID.test(grant.keyId)) f.problem('its key id is not a key id');
  f.string(grant, 'grantToken', { nonEmpty: true });
  f.string(grant, 'name', { optional: true, nonEmpty: true });
  grantPrincipalProblems(f, grant, 'granteePrincipal', 'granteeIsService', 'granteeCreatedAt', false);
  grantPrincipalProblems(f, grant, 'retiringPrincipal', 'retiringIsService', 'retiringCreatedAt', true);
  f.string(grant, 'issuingPrincipal', { nonEmpty: true });
  const operations = grant.operations;
  if (!Array.isArray(operations) || operations.length === 0 || !operations.every((op) => (GRANT_OPERATIONS as readonly unknown[]).includes(op))) {
    f.problem(`its operations ${JSON.stringify(operations) ?? 'undefined'} are not a non-empty list of grant operations`);
  }
  const constraints = f.object(grant, 'constraints', { optional: true });
  if (constraints) {
    for (const name of ['EncryptionContextSubset', 'EncryptionContextEquals']) {
      if (constraints[name] !== undefined && !isStringMap(constraints[name])) f.problem(`its constraint ${name} is not a map of strings`);
    }
    f.string(constraints, 'SourceArn', { optional: true, nonEmpty: true });
  }
  f.time(grant, 'createdAt');
}

/** A grantee or retiring principal: an ARN or a service principal (GranteePrincipal), or a service principal only (GranteeServicePrincipal). */
function grantPrincipalProblems(f: Fields, grant: Record<string, unknown>, name: string, isService: string, createdAt: string, optional: boolean): void {
  const value = grant[name];
  if (f.oneOf(grant, isService, [true], 'true (or absent)', { optional: true }) && !(value === undefined && optional)) {
    const valid = typeof value === 'string' && (grant[isService] === true ? isServicePrincipal(value) : isPrincipalForm(value));
    if (!valid) f.problem(`its ${name} ${JSON.stringify(value) ?? 'undefined'} is not ${grant[isService] === true ? 'a service principal' : 'a principal ARN or service principal'}`);
  }
  f.time(grant, createdAt, { optional: true });
}
