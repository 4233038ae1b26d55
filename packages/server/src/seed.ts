/**
 * Seeding: keys with fixed key ids (and, optionally, fixed material), their aliases, and users or
 * roles with identity policies and access keys, applied idempotently at start so that a team's
 * tests meet the same keys and credentials every time (docs: README, "Seeding").
 *
 * Applying a seed creates what is missing and checks what exists: an entry that matches the store
 * changes nothing; an entry that conflicts with different data there is a SeedError naming the
 * entry, and nothing after it is applied. Every change is written with an audit event
 * (`CofferSeed.*`) in the same transaction, like a request's.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { AuditEvent } from './audit/record.js';
import type { Service } from './context.js';
import { checkAliasName, isPossibleAliasName, MAX_ALIAS_NAME_LENGTH } from './keys/alias-name.js';
import { MAX_ACCESS_KEYS } from './admin/create-access-key.js';
import { MAX_ALIASES_PER_KEY } from './operations/alias-turn.js';
import { MAX_KEYS } from './operations/create-key.js';
import { aliasArn, keyArn } from './keys/arn.js';
import { KEY_ID, MAX_DESCRIPTION_LENGTH, type KeyRecord } from './keys/key-record.js';
import { accountRootArn, principalArn } from './principals/principal-id.js';
import type { PrincipalKind } from './principals/principal-record.js';
import { checkNewIdentityPolicy, MAX_AGGREGATE_POLICY_SIZE, policySize } from './admin/principal-policy.js';

/** The seed as a JSON or YAML file spells it. */
export interface Seed {
  readonly keys?: readonly SeedKey[];
  readonly principals?: readonly SeedPrincipal[];
}

export interface SeedKey {
  /** A key id in AWS's shape: a UUID, or `mrk-` and 32 hex digits for a multi-Region key. */
  readonly keyId: string;
  readonly description?: string;
  /** Only SYMMETRIC_DEFAULT (the default) can be seeded. */
  readonly keySpec?: string;
  /** 32 bytes in base64. Absent: generated on the first apply, then kept. */
  readonly material?: string;
  /** Alias names (alias/...) that point at this key. */
  readonly aliases?: readonly string[];
}

export interface SeedPrincipal {
  /** Exactly one of user and role: the name. */
  readonly user?: string;
  readonly role?: string;
  /** Inline identity policies: name -> document (an object, or its JSON text). */
  readonly policies?: Readonly<Record<string, unknown>>;
  /** Access keys with a fixed id and secret. */
  readonly accessKeys?: readonly { readonly accessKeyId: string; readonly secretAccessKey: string }[];
}

/** What a seed did: names of what it created, and how many entries were already in place. */
export interface SeedReport {
  readonly created: readonly string[];
  readonly unchanged: number;
}

/** A seed that is malformed, or conflicts with the store; the message names the entry. */
export class SeedError extends Error {
  override readonly name = 'SeedError';
}

const PRINCIPAL_NAME = /^[\w+=,.@-]{1,64}$/;
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

function fail(entry: string, problem: string): never {
  throw new SeedError(`seed entry ${entry}: ${problem}`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function onlyKeys(entry: string, x: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(x).find((k) => !allowed.includes(k));
  if (unknown !== undefined) fail(entry, `unknown field '${unknown}' (fields: ${allowed.join(', ')})`);
}

function listOf(x: unknown, what: string): unknown[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) fail(what, 'must be a list');
  return x;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks the whole seed's shape before anything is written. */
export function checkSeed(seed: unknown): Seed {
  if (!isObject(seed)) throw new SeedError('a seed is an object with `keys` and `principals` lists');
  onlyKeys('(top level)', seed, ['keys', 'principals']);
  const keyIds = new Set<string>();
  const aliases = new Set<string>();
  listOf(seed.keys, 'keys').forEach((key, i) => {
    let entry = `keys[${i}]`;
    if (!isObject(key)) fail(entry, 'must be an object with a keyId');
    onlyKeys(entry, key, ['keyId', 'description', 'keySpec', 'material', 'aliases']);
    if (typeof key.keyId !== 'string' || !KEY_ID.test(key.keyId)) fail(entry, 'keyId must be a lowercase UUID, e.g. 1234abcd-12ab-34cd-56ef-1234567890ab, or mrk- and 32 lowercase hex digits for a multi-Region key');
    entry = `keys[${i}] (${key.keyId})`;
    if (keyIds.has(key.keyId)) fail(entry, 'the key id appears twice');
    keyIds.add(key.keyId);
    if (key.description !== undefined && (typeof key.description !== 'string' || key.description.length > MAX_DESCRIPTION_LENGTH)) fail(entry, `description must be text of at most ${MAX_DESCRIPTION_LENGTH} characters`);
    if (key.keySpec !== undefined && key.keySpec !== 'SYMMETRIC_DEFAULT') fail(entry, `keySpec ${String(key.keySpec)} cannot be seeded; only SYMMETRIC_DEFAULT`);
    if (key.material !== undefined) {
      if (typeof key.material !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(key.material) || Buffer.from(key.material, 'base64').length !== 32) {
        fail(entry, 'material must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)');
      }
    }
    for (const alias of listOf(key.aliases, `${entry} aliases`)) {
      if (typeof alias !== 'string') fail(entry, 'aliases must be alias names');
      try {
        checkAliasName(alias);
      } catch (error) {
        fail(`${entry} alias ${alias}`, (error as Error).message);
      }
      if (aliases.has(alias)) fail(`${entry} alias ${alias}`, 'the alias appears twice');
      aliases.add(alias);
    }
  });
  const names = new Set<string>();
  const accessKeyIds = new Set<string>();
  listOf(seed.principals, 'principals').forEach((p, i) => {
    let entry = `principals[${i}]`;
    if (!isObject(p)) fail(entry, 'must be an object with user or role');
    onlyKeys(entry, p, ['user', 'role', 'policies', 'accessKeys']);
    if ((p.user === undefined) === (p.role === undefined)) fail(entry, 'give exactly one of user and role');
    const name = p.user ?? p.role;
    if (typeof name !== 'string' || !PRINCIPAL_NAME.test(name)) fail(entry, 'the name must be 1 to 64 of letters, digits and +=,.@_-');
    entry = `principals[${i}] (${p.user !== undefined ? 'user' : 'role'} ${name})`;
    const unique = `${p.user !== undefined ? 'user' : 'role'}:${name.toLowerCase()}`;
    if (names.has(unique)) fail(entry, 'the principal appears twice');
    names.add(unique);
    if (p.policies !== undefined && !isObject(p.policies)) fail(entry, 'policies must map policy names to documents');
    let policiesSize = 0;
    for (const [policyName, document] of Object.entries(p.policies ?? {})) {
      if (!/^[\w+=,.@-]{1,128}$/.test(policyName)) fail(`${entry} policy ${policyName}`, 'a policy name is 1 to 128 of letters, digits and +=,.@_-');
      try {
        checkNewIdentityPolicy(policyText(document));
      } catch (error) {
        fail(`${entry} policy ${policyName}`, (error as Error).message);
      }
      policiesSize += policySize(policyText(document));
    }
    // The quotas the admin API enforces hold for seeded principals too.
    const quota = MAX_AGGREGATE_POLICY_SIZE[p.user !== undefined ? 'user' : 'role'];
    if (policiesSize > quota) fail(entry, `its policies hold ${policiesSize} characters (white space not counted); the quota is ${quota}`);
    for (const [j, key] of listOf(p.accessKeys, `${entry} accessKeys`).entries()) {
      if (!isObject(key) || typeof key.accessKeyId !== 'string' || typeof key.secretAccessKey !== 'string') {
        const given = isObject(key) && key.accessKeyId != null && key.secretAccessKey != null;
        // YAML reads an unquoted 1234... as a number: the fix is quotes, which the message says.
        fail(`${entry} accessKeys[${j}]`, given
          ? 'accessKeyId and secretAccessKey must be strings (in YAML, quote one that reads as a number)'
          : 'an access key has an accessKeyId and a secretAccessKey');
      }
      onlyKeys(`${entry} accessKeys[${j}]`, key, ['accessKeyId', 'secretAccessKey']);
      if (!ACCESS_KEY_ID.test(key.accessKeyId)) fail(`${entry} accessKeys[${j}]`, 'accessKeyId must be 16 to 128 capital letters and digits, e.g. AKIA...');
      if (key.secretAccessKey.length < 16 || key.secretAccessKey.length > 128) fail(`${entry} accessKeys[${j}]`, 'secretAccessKey must be 16 to 128 characters');
      // Credentials files and environment variables carry no white space or control characters
      // (a trailing newline from `$(cat file)` or a YAML block scalar): no client could sign with it.
      if (!/^[\x21-\x7e]+$/.test(key.secretAccessKey)) fail(`${entry} accessKeys[${j}]`, 'secretAccessKey must be printable ASCII with no spaces, tabs or line breaks');
      if (accessKeyIds.has(key.accessKeyId)) fail(`${entry} accessKeys[${j}] (${key.accessKeyId})`, 'the access key id appears twice in the seed');
      accessKeyIds.add(key.accessKeyId);
    }
    if (listOf(p.accessKeys, `${entry} accessKeys`).length > 2) fail(entry, 'a principal has at most two access keys');
  });
  return seed as Seed;
}

function policyText(document: unknown): string {
  return typeof document === 'string' ? document : JSON.stringify(document);
}

function samePolicy(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}

/**
 * Applies a seed to a server's state, before it serves requests: creates what is missing and
 * checks that what exists matches. Idempotent: the second apply of the same seed changes nothing.
 *
 * In two passes: the first only reads, checking every entry against the store and planning its
 * writes; the second writes. So a seed refused for any entry leaves the store as it was (short of
 * a write refused in the second pass, which can only happen if another node or an administrator
 * made the same name meanwhile).
 */
export async function applySeed(service: Service, seedInput: unknown): Promise<SeedReport> {
  const seed = checkSeed(seedInput);
  const writes: { readonly what: string; readonly write: () => Promise<void> }[] = [];
  let unchanged = 0;
  let newKeys = 0;
  const { store, realm } = service;
  const event = (operation: string, requestParameters: Record<string, unknown>, keyArns: string[] = []): AuditEvent => ({
    time: service.now(), requestId: randomUUID(), principalArn: accountRootArn(realm), operation: `CofferSeed.${operation}`,
    keyArns, requestParameters, outcome: 'success',
  });

  for (const [i, key] of (seed.keys ?? []).entries()) {
    const entry = `keys[${i}] (${key.keyId})`;
    const arn = keyArn(realm, key.keyId);
    const material = key.material === undefined ? undefined : Buffer.from(key.material, 'base64');
    const existing = await store.getKey(key.keyId);
    if (existing === undefined) {
      newKeys += 1;
      writes.push({
        what: `key ${key.keyId}`,
        write: async () => {
          const now = service.now();
          const firstVersion = await service.backingKeys.create(key.keyId, 1, now, undefined, material);
          const record: KeyRecord = {
            keyId: key.keyId, revision: 1, createdAt: now, description: key.description ?? '', keySpec: 'SYMMETRIC_DEFAULT',
            keyUsage: 'ENCRYPT_DECRYPT', origin: 'AWS_KMS', state: 'Enabled', tags: [], onDemandRotations: 0, currentVersion: 1,
          };
          await store.createKey(record, firstVersion, event('CreateKey', { KeyId: key.keyId, Description: record.description }, [arn]));
        },
      });
    } else {
      // An AWS managed key is AWS's (here, the server's): a seed would give it aliases nobody could
      // delete or move, as the API's alias operations refuse them on such a key.
      if (existing.keyManager === 'AWS') fail(entry, 'the store\'s key of that id is an AWS managed key, which a seed may not name');
      if (existing.keySpec !== 'SYMMETRIC_DEFAULT' || existing.keyUsage !== 'ENCRYPT_DECRYPT') fail(entry, `the store holds a ${existing.keySpec} key of that id`);
      if ((key.description ?? '') !== existing.description) fail(entry, `the store's key has the description '${existing.description}'`);
      if (material !== undefined) {
        const stored = await service.backingKeys.version(key.keyId, 1);
        if (stored === undefined || !equalBytes(stored.material, material)) fail(entry, 'the store\'s key has other key material');
      }
      unchanged += 1;
    }
    let aliasesOfKey = existing === undefined ? 0 : (await store.listAliases({ keyId: key.keyId, limit: 2 * MAX_ALIASES_PER_KEY })).items.length;
    for (const aliasName of key.aliases ?? []) {
      const alias = await store.getAlias(aliasName);
      if (alias !== undefined) {
        if (alias.targetKeyId !== key.keyId) fail(`${entry} alias ${aliasName}`, `the alias points at ${alias.targetKeyId}`);
        unchanged += 1;
        continue;
      }
      // As CreateAlias: a key pending deletion takes no new alias.
      if (existing?.state === 'PendingDeletion') fail(`${entry} alias ${aliasName}`, 'the key is pending deletion');
      // CreateAlias's rules hold for an alias a seed makes (one an earlier release made stays, above):
      // the wire's name rules (an alias the API could not name could never be deleted), and the quota.
      if (aliasName.length > MAX_ALIAS_NAME_LENGTH || !isPossibleAliasName(aliasName)) {
        fail(`${entry} alias ${aliasName}`, `an alias name is alias/ and then letters, digits, /, _ and -, at most ${MAX_ALIAS_NAME_LENGTH} characters in all`);
      }
      if (++aliasesOfKey > MAX_ALIASES_PER_KEY) fail(`${entry} alias ${aliasName}`, `a key has at most ${MAX_ALIASES_PER_KEY} aliases`);
      writes.push({
        what: `alias ${aliasName}`,
        write: async () => {
          const now = service.now();
          const ok = await store.createAlias({ aliasName, targetKeyId: key.keyId, createdAt: now, updatedAt: now },
            // As CreateAlias records it (CloudTrail's resources): the alias too, by its ARN.
            event('CreateAlias', { AliasName: aliasName, TargetKeyId: key.keyId }, [aliasArn(realm, aliasName), arn]));
          if (!ok) fail(`${entry} alias ${aliasName}`, 'the alias was created meanwhile');
        },
      });
    }
  }

  for (const [i, p] of (seed.principals ?? []).entries()) {
    const kind: PrincipalKind = p.user !== undefined ? 'user' : 'role';
    const name = (p.user ?? p.role)!;
    const entry = `principals[${i}] (${kind} ${name})`;
    const arn = principalArn(realm, kind, name);
    const nameField = kind === 'user' ? 'UserName' : 'RoleName';
    if (await store.getPrincipal(arn) === undefined) {
      const sameName = (await store.listPrincipals({ kind, limit: 5000 })).items.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (sameName) fail(entry, `the store has the ${kind} ${sameName.name}: names differ only in case`);
      writes.push({
        what: `${kind} ${name}`,
        write: async () => {
          await store.createPrincipal({ arn, kind, name, createdAt: service.now() }, event(`Create${kind === 'user' ? 'User' : 'Role'}`, { [nameField]: name }));
        },
      });
    } else {
      unchanged += 1;
    }
    // The admin API's quotas hold for what the seed writes, counting what the store already has
    // (what it finds already written, by an earlier release say, is left as it is).
    const storedPolicies = await store.listIdentityPolicies(arn);
    const seeded = new Map(Object.entries(p.policies ?? {}).map(([policyName, document]) => [policyName, policyText(document)]));
    if ([...seeded.keys()].some((policyName) => !storedPolicies.some((r) => r.policyName === policyName))) {
      const policiesSize = [...seeded.values(), ...storedPolicies.filter((r) => !seeded.has(r.policyName)).map((r) => r.document)]
        .reduce((sum, text) => sum + policySize(text), 0);
      const quota = MAX_AGGREGATE_POLICY_SIZE[kind];
      if (policiesSize > quota) fail(entry, `its policies, with those the store holds, hold ${policiesSize} characters (white space not counted); the quota is ${quota}`);
    }
    const newAccessKeys = [];
    for (const key of p.accessKeys ?? []) if (await store.getAccessKey(key.accessKeyId) === undefined) newAccessKeys.push(key);
    const accessKeys = (await store.listAccessKeys(arn)).length + newAccessKeys.length;
    if (newAccessKeys.length > 0 && accessKeys > MAX_ACCESS_KEYS) fail(entry, `it would have ${accessKeys} access keys with those the store holds; a principal has at most ${MAX_ACCESS_KEYS}`);
    for (const [policyName, document] of Object.entries(p.policies ?? {})) {
      const text = policyText(document);
      const stored = await store.getIdentityPolicy(arn, policyName);
      if (stored !== undefined) {
        if (!samePolicy(stored.document, text)) fail(`${entry} policy ${policyName}`, 'the store holds another document under that name');
        unchanged += 1;
        continue;
      }
      writes.push({
        what: `policy ${policyName} of ${kind} ${name}`,
        write: async () => {
          await store.putIdentityPolicy({ principalArn: arn, policyName, document: text, updatedAt: service.now() },
            event('PutPrincipalPolicy', { [nameField]: name, PolicyName: policyName, PolicyDocument: text }));
        },
      });
    }
    for (const [j, key] of (p.accessKeys ?? []).entries()) {
      const keyEntry = `${entry} accessKeys[${j}] (${key.accessKeyId})`;
      const stored = await store.getAccessKey(key.accessKeyId);
      if (stored !== undefined) {
        if (stored.principalArn !== arn) fail(keyEntry, `the access key belongs to ${stored.principalArn}`);
        // Active or not: one an operator deactivated is found made, and left as it is.
        const secret = await service.accessKeys.storedSecret(stored);
        if (!equalBytes(Buffer.from(secret.revealSecret(), 'utf8'), Buffer.from(key.secretAccessKey, 'utf8'))) {
          fail(keyEntry, 'the store holds another secret for that access key id');
        }
        unchanged += 1;
        continue;
      }
      writes.push({
        what: `access key ${key.accessKeyId} of ${kind} ${name}`,
        write: async () => {
          const made = await service.accessKeys.createGiven(arn, key.accessKeyId, key.secretAccessKey, service.now(),
            event('CreateAccessKey', { [nameField]: name }));
          if (!made) fail(keyEntry, 'the access key id was taken meanwhile');
        },
      });
    }
  }

  if (newKeys > 0 && (await store.countKeys()) + newKeys > MAX_KEYS) fail('keys', `the store would hold more than ${MAX_KEYS} keys, AWS's quota`);

  const created: string[] = [];
  for (const { what, write } of writes) {
    await write();
    created.push(what);
  }
  return { created, unchanged };
}
