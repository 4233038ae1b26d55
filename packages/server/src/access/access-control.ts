import type { Principal, RequestContext } from '../context.js';
import { AccessDeniedException, InvalidGrantTokenException } from '../errors.js';
import { constraintsApply, satisfiesConstraints } from '../grants/constraints.js';
import type { GrantOperation, GrantRecord } from '../grants/grant-record.js';
import { grantIdOfToken, tokenMatches } from '../grants/grant-token.js';
import type { Realm } from '../keys/arn.js';
import { keyArn } from '../keys/arn.js';
import type { KeyRecord } from '../keys/key-record.js';
import { isMultiRegionKeyId } from '../keys/multi-region.js';
import { authorize } from '../policy/authorize.js';
import { accountRootOf } from '../policy/principal.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import { addCaseFoldedValue, encryptionContextEntries, type ContextValue } from '../policy/context.js';
import { defaultKeyPolicy } from '../policy/default-key-policy.js';
import { principalId } from '../principals/principal-id.js';
import type { Store } from '../store/store.js';

/** One use of a key that a request needs permission for. */
export interface KeyUse {
  /** `kms:<Action>` */
  readonly action: string;
  readonly key: KeyRecord;
  /** The grant operation that can allow this use, when grants can. */
  readonly grantOperation?: GrantOperation;
  readonly encryptionContext?: Readonly<Record<string, string>>;
  /** The alias the caller named the key by, for kms:RequestAlias. */
  readonly requestAlias?: string;
  readonly grantTokens?: readonly string[];
  /** Operation-specific condition keys, lowercase. */
  readonly context?: Readonly<Record<string, ContextValue>>;
  /** A further test a grant must pass to allow this use (CreateGrant: the new grant may not exceed it). */
  readonly grantQualifies?: (grant: GrantRecord) => boolean;
  /**
   * The caller named no key: the ciphertext did (Decrypt, ReEncrypt's source). A refusal then does
   * not name the key to a caller who may not use it; AWS says "the resource associated with this
   * ciphertext".
   */
  readonly keyFromCiphertext?: boolean;
}

interface CachedPolicy {
  readonly policy: CompiledPolicy;
  readonly mentionsResourceAliases: boolean;
}

interface CachedIdentity extends Omit<CachedPolicy, 'policy'> {
  readonly policies: CompiledPolicy[];
  /** The user's or role's creation time: its incarnation, for policies and grants older than it. */
  readonly createdAt?: number;
  /** When the store was asked (this node's clock). */
  readonly readAt: number;
  readonly expires: number;
}

/** A caller as the identity cache knows it: the access key's age tells an entry it may be too old for. */
interface IdentityCaller {
  readonly arn: string;
  readonly kind: string;
  readonly accessKeyCreatedAt?: number;
}

const NO_IDENTITY_POLICIES: CachedIdentity = { policies: [], mentionsResourceAliases: false, readAt: Infinity, expires: Infinity };
/** Well under the one-second bound in which a change on another node is enforced (docs/store.md). */
const IDENTITY_CACHE_MS = 250;
/**
 * How much later than a key policy or grant a principal must have been created to be taken for a
 * later principal of the same name: times come from the clocks of the nodes that wrote them.
 */
const CLOCK_TOLERANCE_MS = 1_000;
const MAX_CACHED = 10_000;
/** Grants of one grantee read at once while looking for one that allows a request. */
const GRANTS_PAGE = 50;
const RESOURCE_ALIASES = /resourcealiases/i;

/**
 * Whether the key policy's entry for this ARN (if it has one) names this caller, and not an earlier
 * user or role of the name, deleted since: the caller must be the principal that existed when the
 * policy was set (KeyRecord.policyPrincipals). Records from before that was kept have only the
 * time the policy was set; a principal created after it, past the clock tolerance between nodes,
 * is then another.
 */
function policyNames(key: KeyRecord, arn: string, createdAt: number | undefined): boolean {
  if (createdAt === undefined) return true;
  if (key.policyPrincipals !== undefined) {
    const meant = key.policyPrincipals[arn];
    return meant === undefined || meant === createdAt;
  }
  return key.policySetAt === undefined || createdAt <= key.policySetAt + CLOCK_TOLERANCE_MS;
}

/**
 * Whether a grant naming the caller's ARN (as grantee, or as retiring principal) was made for this
 * caller, not for an earlier user or role of the name, deleted since: the grant keeps that
 * principal's creation time (`meant`: GrantRecord.granteeCreatedAt, retiringCreatedAt); a grant
 * made before it was kept is the caller's unless it predates the caller past the clock tolerance.
 */
export function grantMeans(grant: GrantRecord, meant: number | undefined, createdAt: number | undefined): boolean {
  if (createdAt === undefined) return true;
  if (meant !== undefined) return meant === createdAt;
  return grant.createdAt + CLOCK_TOLERANCE_MS >= createdAt;
}

/**
 * Access control on every request, with AWS KMS semantics (policy/authorize.ts): the key policy,
 * the caller's identity policies and the key's grants. Policies are compiled once and cached: a key
 * policy by key id and revision (a changed policy is a new revision), identity policies per
 * principal for at most 250 ms, and dropped at once on this node when they change.
 */
export class AccessControl {
  readonly #store: Store;
  readonly #realm: Realm;
  readonly #keyPolicies = new Map<string, CachedPolicy>();
  readonly #identityPolicies = new Map<string, CachedIdentity>();
  readonly #defaultPolicy: CachedPolicy;
  readonly #accountLevel: CompiledPolicy;

  constructor(store: Store, realm: Realm) {
    this.#store = store;
    this.#realm = realm;
    this.#defaultPolicy = { policy: compilePolicy(defaultKeyPolicy(realm.partition, realm.accountId), 'key'), mentionsResourceAliases: false };
    this.#accountLevel = accountLevelPolicy(realm);
  }

  /** Refuses with AccessDeniedException unless the caller may make this use of the key. */
  async authorizeKey(request: RequestContext, use: KeyUse): Promise<void> {
    const resource = keyArn(this.#realm, use.key.keyId);
    request.audit.touchKey(resource);
    const keyPolicy = this.#keyPolicy(use.key);
    const identity = await this.#identity(request.principal);
    const identityPolicies = identity.policies;
    const principal: Principal = policyNames(use.key, request.principal.arn, identity.createdAt) ? request.principal : { ...request.principal, arnNamesIt: false };
    // Object.assign, not an object literal of spreads: V8 copies the later spreads one property at
    // a time on a slow path, about 10 µs a request here (bench/access-overhead.ts). Every key is
    // prefixed (`aws:`, `kms:`), so no `__proto__` can make the two differ.
    const context: Record<string, ContextValue> = Object.assign(
      {},
      this.#callerContext(request, identity),
      await this.#keyContext(use, keyPolicy.mentionsResourceAliases || identity.mentionsResourceAliases),
      use.encryptionContext ? encryptionContextEntries(use.encryptionContext) : {},
      use.context,
    );
    // Tokens given are checked first: one that is not a grant token, or names a grant it is not a
    // token of (forged), is InvalidGrantTokenException even where the policies allow the request.
    // Without tokens, grants are looked up only when the policies alone do not allow the request,
    // which keeps the store out of the common path.
    const tokenGrants: GrantRecord[] = [];
    for (const token of use.grantTokens ?? []) {
      const grant = await this.grantOfToken(token);
      if (grant) tokenGrants.push(grant);
    }
    const decide = (grantAllows: boolean) => authorize({
      keyPolicy: keyPolicy.policy,
      identityPolicies,
      grantAllows,
      request: { action: use.action, resource, principal, context },
    });
    let decision = decide(false);
    if (!decision.allowed && decision.reason !== 'explicit-deny' && use.grantOperation !== undefined
      && (await this.#grantAllows(request.principal, identity.createdAt, use.key, use.grantOperation, use.encryptionContext, tokenGrants, use.grantQualifies))) {
      decision = decide(true);
    }
    if (!decision.allowed) {
      const named = use.keyFromCiphertext ? 'the resource associated with this ciphertext' : `resource: ${resource}`;
      if (decision.reason === 'explicit-deny') {
        // As KMS words it, the Deny is placed: the key policy's ("in a resource-based policy") when
        // it denies on its own, otherwise the caller's identity policies'.
        const byKeyPolicy = authorize({
          keyPolicy: keyPolicy.policy, identityPolicies: [], grantAllows: false,
          request: { action: use.action, resource, principal, context },
        }).reason === 'explicit-deny';
        throw new AccessDeniedException(denialMessage(request.principal.arn, use.action, named, byKeyPolicy ? 'resource-deny' : 'identity-deny'));
      }
      // As KMS words it: when the key policy leaves the action to IAM (it allows the account), the
      // missing allow is an identity-based policy's; otherwise the key policy's.
      const delegated = request.principal.kind !== 'root' && authorize({
        keyPolicy: keyPolicy.policy, identityPolicies: [], grantAllows: false,
        request: { action: use.action, resource, principal: accountRootOf(request.principal), context },
      }).allowed;
      throw new AccessDeniedException(denialMessage(request.principal.arn, use.action, named, delegated ? 'identity' : 'resource'));
    }
  }

  /**
   * Actions on no key (CreateKey, ListKeys, GenerateRandom, the admin API) and on alias ARNs: only
   * identity policies apply, and the account root may do everything. With `denyOnly`, the caller
   * is allowed by something else (a grant that names it its retiring principal) and only an
   * explicit Deny in its identity policies refuses it.
   */
  async authorizeAccount(
    request: RequestContext, action: string, resource = '*', context: Readonly<Record<string, ContextValue>> = {},
    { namesResource = true, denyOnly = false }: { namesResource?: boolean; denyOnly?: boolean } = {},
  ): Promise<void> {
    if (request.principal.kind === 'root') return;
    const identity = await this.#identity(request.principal);
    const decision = authorize({
      keyPolicy: this.#accountLevel,
      identityPolicies: identity.policies,
      grantAllows: denyOnly,
      request: { action, resource, principal: request.principal, context: { ...this.#callerContext(request, identity), ...context } },
    });
    if (!decision.allowed) {
      const why = decision.reason === 'explicit-deny' ? 'identity-deny' : 'identity';
      throw new AccessDeniedException(denialMessage(request.principal.arn, action, namesResource ? `resource: ${resource}` : undefined, why));
    }
  }

  /**
   * The condition keys of a later PutKeyPolicy on `key` by the caller, for the lockout safety check:
   * the caller's global keys (aws:SourceIp, aws:userid, ...) and the key's own (kms:CallerAccount,
   * kms:KeySpec, aws:ResourceTag/..., ...), as authorizeKey would set them.
   */
  async putKeyPolicyContextOf(request: RequestContext, key: KeyRecord): Promise<Record<string, ContextValue>> {
    const identity = await this.#identity(request.principal);
    return Object.assign({}, this.#callerContext(request, identity), await this.#keyContext({ action: 'kms:PutKeyPolicy', key }, true));
  }

  /** The caller's identity policies, compiled; none for the account root. */
  async identityPolicies(principal: IdentityCaller): Promise<CompiledPolicy[]> {
    return (await this.#identity(principal)).policies;
  }

  /**
   * The caller's user or role as the store has it, cached for a moment. An entry read before the
   * caller's access key was made (past the clock tolerance between nodes) is not used: the user may
   * have been deleted and created again since, with that key, on another node, which does not
   * empty this node's cache; the entry would lend the earlier user's policies and incarnation to
   * the new one.
   */
  async #identity(principal: IdentityCaller): Promise<CachedIdentity> {
    if (principal.kind === 'root') return NO_IDENTITY_POLICIES;
    const cached = this.#identityPolicies.get(principal.arn);
    const readAt = Date.now();
    if (cached && cached.expires > readAt
      && (principal.accessKeyCreatedAt === undefined || cached.readAt >= principal.accessKeyCreatedAt + CLOCK_TOLERANCE_MS)) return cached;
    const [records, record] = await Promise.all([this.#store.listIdentityPolicies(principal.arn), this.#store.getPrincipal(principal.arn)]);
    const entry: CachedIdentity = {
      policies: records.map((r) => compilePolicy(r.document, 'identity')),
      mentionsResourceAliases: records.some((r) => RESOURCE_ALIASES.test(r.document)),
      ...(record ? { createdAt: record.createdAt } : {}),
      readAt,
      expires: Date.now() + IDENTITY_CACHE_MS,
    };
    if (this.#identityPolicies.size >= MAX_CACHED) this.#identityPolicies.clear();
    this.#identityPolicies.set(principal.arn, entry);
    return entry;
  }

  /** A principal's identity policies changed on this node: use the new ones at once. */
  forgetPrincipal(arn: string): void {
    this.#identityPolicies.delete(arn);
  }

  /** The key policy in force: the key's own, or AWS's default for a key created without one. */
  keyPolicy(key: KeyRecord): CompiledPolicy {
    return this.#keyPolicy(key).policy;
  }

  #keyPolicy(key: KeyRecord): CachedPolicy {
    if (key.policy === undefined) return this.#defaultPolicy;
    const id = `${key.keyId}:${key.revision}`;
    let cached = this.#keyPolicies.get(id);
    if (!cached) {
      cached = { policy: compilePolicy(key.policy, 'key'), mentionsResourceAliases: RESOURCE_ALIASES.test(key.policy) };
      if (this.#keyPolicies.size >= MAX_CACHED) this.#keyPolicies.clear();
      this.#keyPolicies.delete(`${key.keyId}:${key.revision - 1}`);
      this.#keyPolicies.set(id, cached);
    }
    return cached;
  }

  /** The caller's global condition keys; `aws:userid` is its unique id (AIDA.../AROA...), the account id for the root. */
  #callerContext(request: RequestContext, identity: CachedIdentity): Record<string, ContextValue> {
    const { principal } = request;
    const now = Date.now();
    const name = principal.arn.split(':').slice(5).join(':');
    return {
      'aws:principalarn': principal.arn,
      'aws:principalaccount': principal.accountId,
      'aws:principaltype': principal.kind === 'root' ? 'Account' : principal.kind === 'user' ? 'User' : 'AssumedRole',
      ...(principal.kind === 'user' ? { 'aws:username': name.slice('user/'.length).split('/').pop()! } : {}),
      'aws:userid': principal.kind === 'root' ? principal.accountId
        : identity.createdAt !== undefined ? principalId({ arn: principal.arn, kind: principal.kind === 'role' ? 'role' : 'user', createdAt: identity.createdAt }) : name,
      'aws:sourceip': request.sourceIp,
      'aws:securetransport': request.secureTransport,
      // IAM User Guide, global condition keys: "always included in the request context" (and
      // aws:PrincipalIsAWSService in every signed request). Nothing calls Coffer through an AWS
      // service or as a service principal, so the two are false.
      'aws:requestedregion': this.#realm.region,
      'aws:viaawsservice': false,
      'aws:principalisawsservice': false,
      'aws:currenttime': new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'aws:epochtime': Math.floor(now / 1000),
    };
  }

  async #keyContext(use: KeyUse, withAliases: boolean): Promise<Record<string, ContextValue>> {
    const { key } = use;
    const context: Record<string, ContextValue> = {
      'kms:calleraccount': this.#realm.accountId,
      'kms:keyspec': key.keySpec,
      'kms:customermasterkeyspec': key.keySpec,
      'kms:keyusage': key.keyUsage,
      'kms:customermasterkeyusage': key.keyUsage,
      'kms:keyorigin': key.origin,
      // KMS guide, kms:MultiRegion: "All KMS keys have a MultiRegion property", read by every KMS
      // key resource operation; kms:MultiRegionKeyType only of a multi-Region key (all primaries here).
      'kms:multiregion': isMultiRegionKeyId(key.keyId),
    };
    // Set, not spread into the literal above: this runs on every request (see authorizeKey).
    if (context['kms:multiregion'] === true) context['kms:multiregionkeytype'] = 'PRIMARY';
    for (const tag of key.tags) addCaseFoldedValue(context, `aws:resourcetag/${tag.TagKey.toLowerCase()}`, tag.TagValue);
    if (use.requestAlias !== undefined) context['kms:requestalias'] = use.requestAlias;
    if (withAliases) {
      const aliases = await this.#store.listAliases({ keyId: key.keyId, limit: 50 });
      if (aliases.items.length > 0) context['kms:resourcealiases'] = aliases.items.map((a) => a.aliasName);
    }
    return context;
  }

  async #grantAllows(
    principal: Principal, createdAt: number | undefined, key: KeyRecord, operation: GrantOperation,
    encryptionContext: Readonly<Record<string, string>> | undefined, tokenGrants: readonly GrantRecord[],
    qualifies: ((grant: GrantRecord) => boolean) | undefined,
  ): Promise<boolean> {
    for await (const grant of this.#grantsOfCaller(principal, key, tokenGrants)) {
      if (!grant.operations.includes(operation) || (qualifies && !qualifies(grant))) continue;
      if (!grantMeans(grant, grant.granteeCreatedAt, createdAt)) continue;
      // No request here is made on behalf of an AWS resource (aws:SourceArn); AWS exempts RetireGrant.
      if (grant.constraints?.SourceArn !== undefined && operation !== 'RetireGrant') continue;
      if (!constraintsApply(operation) || satisfiesConstraints(grant.constraints, encryptionContext)) return true;
    }
    return false;
  }

  /**
   * The key's grants whose grantee is the caller: those its tokens name (looked up once, as the
   * request's tokens were checked), then those in the store, a page at a time. The caller stops at
   * the first that allows: a grantee may hold thousands of a key's grants, and reading them all made
   * each of its requests slower with every grant.
   */
  async *#grantsOfCaller(principal: { arn: string }, key: KeyRecord, tokenGrants: readonly GrantRecord[]): AsyncGenerator<GrantRecord> {
    for (const grant of tokenGrants) {
      if (grant.keyId === key.keyId && grant.granteePrincipal === principal.arn) yield grant;
    }
    let after: string | undefined;
    do {
      const page = await this.#store.listGrants({ keyId: key.keyId, granteePrincipal: principal.arn, ...(after !== undefined ? { after } : {}), limit: GRANTS_PAGE });
      yield* page.items;
      after = page.next;
    } while (after !== undefined);
  }

  /**
   * Whether the grant names the caller as one who may retire it (API reference, RetireGrant): its
   * retiring principal, or its grantee when it includes RetireGrant; each the principal the grant
   * was made for, not a user or role created again under the name since.
   */
  async grantNamesRetirer(principal: IdentityCaller, grant: GrantRecord): Promise<boolean> {
    const { createdAt } = await this.#identity(principal);
    if (grant.retiringPrincipal === principal.arn && grantMeans(grant, grant.retiringCreatedAt, createdAt)) return true;
    return grant.granteePrincipal === principal.arn && grant.operations.includes('RetireGrant') && grantMeans(grant, grant.granteeCreatedAt, createdAt);
  }

  /**
   * The grant a token stands for, or undefined when it was retired or revoked. A string that is
   * not a grant token at all is InvalidGrantTokenException, as in AWS, and so is one that names an
   * existing grant but is none of its tokens (altered or forged): "the specified grant token is not
   * valid", not a grant that does not exist. (Once a grant is gone its tokens cannot be told from
   * forged ones, and are taken as a retired grant's.)
   */
  async grantOfToken(token: string): Promise<GrantRecord | undefined> {
    const grantId = grantIdOfToken(token);
    if (grantId === undefined) throw new InvalidGrantTokenException('The grant token is not valid.');
    const grant = await this.#store.getGrant(grantId);
    if (!grant) return undefined;
    if (!tokenMatches(token, grantId, grant.grantToken)) throw new InvalidGrantTokenException('The grant token is not valid.');
    return grant;
  }
}

/**
 * The "resource policy" of account-level actions: it delegates everything to the account, as the
 * default key policy does, so the caller's identity policies decide (authorize.ts step 3). It
 * names only the account root, so no user or role is allowed by it directly.
 */
function accountLevelPolicy(realm: Realm): CompiledPolicy {
  return compilePolicy(JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:${realm.partition}:iam::${realm.accountId}:root` }, Action: '*', Resource: '*' }],
  }), 'key');
}

/**
 * AWS's words; `named` is `resource: <ARN>`, what stands for a key the caller did not name, or
 * nothing for a permission on no resource the caller names (CreateKey's kms:TagResource). An
 * explicit deny names the kind of policy it is in, as KMS does: `... with an explicit deny in a
 * resource-based policy` for the key policy, `... in an identity-based policy` for the caller's.
 */
function denialMessage(principalArn: string, action: string, named: string | undefined, why: 'resource-deny' | 'identity-deny' | 'resource' | 'identity'): string {
  const base = `User: ${principalArn} is not authorized to perform: ${action}${named === undefined ? '' : ` on ${named}`}`;
  if (why === 'resource-deny') return `${base} with an explicit deny in a resource-based policy`;
  if (why === 'identity-deny') return `${base} with an explicit deny in an identity-based policy`;
  return `${base} because no ${why === 'resource' ? 'resource-based' : 'identity-based'} policy allows the ${action} action`;
}
