import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readAuditKey } from '../audit/audit-key.js';
import { chainRecord } from '../audit/chain.js';
import { OPERATOR_TOOL_AGENT, systemAudit } from '../audit/system-audit.js';
import { checkConfig, DEFAULT_CONFIG } from '../config.js';
import { openSource, type StoreLocation } from '../backup/data-dir.js';
import { keyArn, parseArn, type Realm } from '../keys/arn.js';
import { changeKey } from '../keys/change-key.js';
import { effectiveKey } from '../keys/import.js';
import type { KeyState } from '../keys/enums.js';
import { KEY_ID } from '../keys/resolve.js';
import { defaultKeyPolicy } from '../policy/default-key-policy.js';
import { StartupError } from '../root/root-key.js';
import { isPostgresUrl } from './connection-string.js';
import { lockDataDirectory, type ServerLock } from './server-lock.js';

/**
 * The audit records of a reset carry this user agent and no caller, as the server's own actions do
 * (audit/system-audit.ts): the operator acted on the store, not a principal through the API.
 */
export const RESET_KEY_POLICY_USER_AGENT = OPERATOR_TOOL_AGENT;

export interface KeyPolicyResetOptions extends StoreLocation {
  /** A key id or key ARN; an alias is refused (aliases move), alias/aws/* as an AWS managed key. */
  readonly key: string;
  /** The server's partition, region and account, as `coffer serve` is given them. */
  readonly realm: Realm;
  /** Epoch ms, for the key's policySetAt and the audit record. */
  readonly now?: () => number;
}

export interface KeyPolicyResetReport {
  /** For messages: the SQLite file, or the URL without its password. */
  readonly store: string;
  readonly keyId: string;
  readonly keyArn: string;
  /** The key's state, which a reset leaves as it was (a key pending deletion stays pending). */
  readonly keyState: KeyState;
  readonly previous: {
    /** The policy text as it was stored; absent when the key had none (so the default applied). */
    readonly policy?: string;
    /** SHA-256 of the policy text in force before (the default's, when there was none), hex. */
    readonly sha256: string;
    /** How many statements it had (undefined when it does not read as a policy with statements). */
    readonly statements: number | undefined;
  };
  readonly policy: string;
  /** The reset's audit record: its request id, and its seq in the chain when it could be read back. */
  readonly requestId: string;
  readonly auditSeq: number | undefined;
}

/**
 * Why a reset was refused: one class per answer the operator must tell apart. Nothing was written.
 * - `identifier`: not a key id or key ARN of this server (an alias, an ARN of another account);
 * - `realm`: no audit record names the key under the ARN the given partition, region and account
 *   make, so they are not the server's, and the default policy would name another account's root;
 * - `not-found`: the store holds no such key (never made, or deleted: gone for good);
 * - `aws-managed`: an AWS managed key, whose policy is fixed (alias/aws/*);
 * - `server-running`: a server holds the SQLite data directory.
 */
export class KeyPolicyResetError extends Error {
  readonly code: 'identifier' | 'realm' | 'not-found' | 'aws-managed' | 'server-running';
  constructor(code: KeyPolicyResetError['code'], message: string) {
    super(message);
    this.name = 'KeyPolicyResetError';
    this.code = code;
  }
}

/**
 * The operator's way back to a key nobody can manage (docs/operations.md, "A key nobody can
 * manage"): replaces its key policy with the default one, which gives the account root
 * everything. AWS's remedy for such a key is AWS Support; a self-hosted server has no one above
 * its account root, so the operator, who holds the store and its root key, is that one.
 *
 * The write is PutKeyPolicy's (changeKey: a compare-and-set that makes a new key revision, so every
 * node reads the new policy on its next request), with an audit record in the same transaction,
 * chained under the store's audit key. On SQLite it holds the server lock while it works, so it
 * is refused while a server serves the directory, and no server starts meanwhile; on PostgreSQL it
 * writes beside running servers, as one more node would. Throws StartupError when the store or its
 * root key cannot be opened, KeyPolicyResetError when the reset is refused, and TypeError
 * ('Invalid server configuration: ...') for a malformed partition, region or account id.
 */
export async function resetKeyPolicy(options: KeyPolicyResetOptions): Promise<KeyPolicyResetReport> {
  const { realm } = options;
  const now = options.now ?? Date.now;
  const dataDir = resolve(options.dataDir);
  // A malformed --region, --account-id or --partition as `coffer serve` refuses it (a TypeError).
  checkConfig({ ...DEFAULT_CONFIG, dataDir, ...realm });
  const keyId = keyIdOf(options.key, realm);
  const postgres = options.store !== undefined && isPostgresUrl(options.store);
  if (!postgres && !existsSync(join(dataDir, 'coffer.db'))) {
    throw new StartupError(`${dataDir} holds no Coffer store (no coffer.db): is it the server's --data-dir?`);
  }
  const lock = postgres ? undefined : lockFor(dataDir);
  try {
    const source = await openSource({ ...options, dataDir });
    const { store } = source;
    try {
      const auditKey = (await readAuditKey(store, source.root))!;
      store.attachAuditChain((event, seq, prevHash) => chainRecord(auditKey, event, seq, prevHash));
      const key = await store.getKey(keyId);
      const arn = keyArn(realm, keyId);
      if (!key) throw new KeyPolicyResetError('not-found', `Key '${arn}' does not exist in ${source.name}`);
      if (key.keyManager === 'AWS') {
        throw new KeyPolicyResetError('aws-managed', `Key '${arn}' is an AWS managed key: its key policy is AWS's, fixed, and lets the account root read it`);
      }
      // Every key has at least its CreateKey record under its ARN (a restore keeps the trail).
      // None under this one: the realm given is not the server's, and the default policy it makes
      // would name another account's root, leaving the key as locked as it was.
      if ((await store.queryAudit({ keyArn: arn, limit: 1 })).length === 0) {
        throw new KeyPolicyResetError('realm', `No audit record names ${arn}: the key was made under another partition, region or account than this one`);
      }
      const policy = defaultKeyPolicy(realm.partition, realm.accountId);
      const audit = systemAudit(RESET_KEY_POLICY_USER_AGENT, 'PutKeyPolicy', { KeyId: keyId, PolicyName: 'default', Policy: policy }, arn);
      const { requestId } = audit.success();
      let before = key.policy;
      const written = await changeKey({ store, realm, now }, key, (current) => {
        before = current.policy;
        // The root is not a stored principal: the policy names no user or role to keep (as an AWS managed key's).
        return { policy, policySetAt: now(), policyPrincipals: {} };
      }, audit);
      const mine = (await store.queryAudit({ keyArn: arn, operation: 'PutKeyPolicy', limit: 20 }))
        .find((record) => 'requestId' in record && record.requestId === requestId);
      return {
        store: source.name,
        keyId,
        keyArn: arn,
        keyState: effectiveKey(written, now()).state,
        previous: { ...(before !== undefined ? { policy: before } : {}), ...summaryOf(before ?? policy) },
        policy,
        requestId,
        auditSeq: mine?.seq,
      };
    } finally {
      await source.root.close();
      await store.close();
    }
  } finally {
    lock?.release();
  }
}

/** The key id a key id or key ARN names, refusing aliases and ARNs of another realm as `identifier`. */
function keyIdOf(identifier: string, realm: Realm): string {
  let resource = identifier;
  if (identifier.startsWith('arn:')) {
    const arn = parseArn(identifier);
    if (!arn || arn.service !== 'kms') throw new KeyPolicyResetError('identifier', `'${identifier}' is not a KMS key ARN`);
    if (arn.partition !== realm.partition || arn.region !== realm.region || arn.accountId !== realm.accountId) {
      throw new KeyPolicyResetError('identifier', `'${identifier}' names partition ${arn.partition}, region ${arn.region} and account ${arn.accountId}; `
        + `this server's are ${realm.partition}, ${realm.region} and ${realm.accountId}`);
    }
    resource = arn.resource.startsWith('key/') ? arn.resource.slice('key/'.length) : arn.resource;
  }
  if (resource.startsWith('alias/aws/')) {
    throw new KeyPolicyResetError('aws-managed', `${resource} names an AWS managed key: its key policy is AWS's, fixed, and lets the account root read it`);
  }
  if (resource.startsWith('alias/')) {
    throw new KeyPolicyResetError('identifier', `'${identifier}' is an alias; a reset names the key itself, by key id or key ARN (an alias may move)`);
  }
  if (!KEY_ID.test(resource)) throw new KeyPolicyResetError('identifier', `'${identifier}' is not a key id or key ARN`);
  return resource;
}

/** The server lock of a SQLite data directory, or `server-running` when a server holds it. */
function lockFor(dataDir: string): ServerLock {
  try {
    return lockDataDirectory(dataDir);
  } catch (error) {
    // The lock's only StartupError: another process holds it (server-lock.ts).
    if (!(error instanceof StartupError)) throw error;
    throw new KeyPolicyResetError('server-running', `A Coffer server is serving the data directory ${dataDir} (or another reset is running: `
      + 'it holds server.lock); a SQLite store is changed by one process at a time');
  }
}

function summaryOf(text: string): { sha256: string; statements: number | undefined } {
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  let statements: number | undefined;
  try {
    const statement = (JSON.parse(text) as { Statement?: unknown }).Statement;
    statements = Array.isArray(statement) ? statement.length : typeof statement === 'object' && statement !== null ? 1 : undefined;
  } catch {
    statements = undefined;
  }
  return { sha256, statements };
}
