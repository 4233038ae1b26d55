import type { RequestContext, Service } from '../context.js';
import { grantMeans } from '../access/access-control.js';
import { LimitExceededException, ValidationException } from '../errors.js';
import { atLeastAsStrict } from '../grants/constraints.js';
import {
  checkGrantPrincipal, checkServicePrincipalForm, constraintsMember, grantNameMember, newGrantId, operationsMember, principalMember,
} from '../grants/grant-members.js';
import type { GrantConstraints, GrantOperation, GrantRecord } from '../grants/grant-record.js';
import { newGrantToken, reissueGrantToken } from '../grants/grant-token.js';
import { checkGrantForKey, checkGrantOperations } from '../grants/key-operations.js';
import type { KeyRecord } from '../keys/key-record.js';
import { resolveKey } from '../keys/resolve.js';
import { encryptionContextEntries } from '../policy/context.js';
import { assertEnabled, retryingWhileKeyChanges, stillEnabled } from '../keys/states.js';
import { checkDryRun, dryRunMember, grantTokensMember, keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  GranteePrincipal: principalMember(),
  GranteeServicePrincipal: principalMember(),
  RetiringPrincipal: principalMember(),
  RetiringServicePrincipal: principalMember(),
  Operations: operationsMember(),
  Constraints: constraintsMember(),
  GrantTokens: grantTokensMember(),
  Name: grantNameMember(),
  DryRun: dryRunMember(),
};

/** AWS's quota of grants per KMS key (AWS KMS Developer Guide, resource quotas). */
export const MAX_GRANTS_PER_KEY = 50_000;

/**
 * CreateGrant. The caller needs kms:CreateGrant from a policy, or a grant of its own with the
 * CreateGrant operation; a grant can only pass on its own operations, with constraints at least as
 * strict as its own. A Name makes the call idempotent: the same name with the same parameters
 * returns the existing grant's id, with a new token for it. A grant to a service principal, or
 * with a SourceArn constraint, is kept and listed as AWS keeps it, and allows no caller here.
 */
export const createGrant: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const { grantee, retiring } = principalsOf(input);
  // AWS takes a key id or key ARN here, not an alias.
  const key = await resolveKey(service, input.KeyId, 'key');
  const operations = [...new Set(input.Operations)];
  const constraints = input.Constraints;
  // AWS KMS Developer Guide, "Using grant constraints": "you can specify either
  // EncryptionContextEquals or EncryptionContextSubset, but not both". Both, each required, would
  // make a grant that no context satisfies unless the two agree.
  if (constraints?.EncryptionContextEquals && constraints.EncryptionContextSubset) {
    throw new ValidationException('A grant constraint may have EncryptionContextEquals or EncryptionContextSubset, not both.');
  }
  checkGrantOperations(operations);
  let granteeCreatedAt: number | undefined;
  if (grantee.service) checkServicePrincipalForm('GranteeServicePrincipal', grantee.name);
  else granteeCreatedAt = await checkGrantPrincipal(service, grantee.name);
  let retiringCreatedAt: number | undefined;
  if (retiring?.service) checkServicePrincipalForm('RetiringServicePrincipal', retiring.name);
  else if (retiring) retiringCreatedAt = await checkGrantPrincipal(service, retiring.name);

  await service.access.authorizeKey(request, {
    action: 'kms:CreateGrant', key, grantOperation: 'CreateGrant', grantTokens: input.GrantTokens,
    context: {
      'kms:grantoperations': operations,
      ...(input.GranteePrincipal !== undefined ? { 'kms:granteeprincipal': input.GranteePrincipal } : {}),
      ...(input.RetiringPrincipal !== undefined ? { 'kms:retiringprincipal': input.RetiringPrincipal } : {}),
      'kms:grantisforawsresource': false,
      ...(constraints && constraintTypes(constraints).length > 0 ? { 'kms:grantconstrainttype': constraintTypes(constraints) } : {}),
      // AWS KMS Developer Guide, kms:EncryptionContext:context-key and kms:EncryptionContextKeys:
      // in CreateGrant they are the encryption context of the grant's constraint.
      ...encryptionContextEntries({ ...constraints?.EncryptionContextSubset, ...constraints?.EncryptionContextEquals }),
    },
    grantQualifies: (parent) => operations.every((op) => parent.operations.includes(op)) && atLeastAsStrict(constraints, parent.constraints),
  });
  // After the permission check: its refusals tell the key's usage and spec. An operation the key
  // cannot perform is named as such, also beside a constraint (every operation a symmetric key can
  // perform may carry one; no other key's grants can: checkGrantForKey).
  checkGrantForKey(key, operations, constraints);
  // AWS's key-state table: a disabled key is DisabledException, one pending import or deletion KMSInvalidStateException.
  assertEnabled(service.realm, key);

  // Grants are made in turns (Store.serialize, on every node): requests at once would each count
  // the key's grants below the quota and together pass it, and each find no grant of their Name
  // and make one each. In turns, the later sees the earlier's grant. (AWS's CreateGrant quota is 50
  // requests a second; one at a time is well above it.)
  // The key's state is checked again in turn: the turn may come after a DisableKey or
  // ScheduleKeyDeletion that committed while this request waited for it. Those take no turn, so
  // the store checks it once more as the grant commits (issueGrant's KeyCondition).
  return service.store.serialize('grants', () => retryingWhileKeyChanges(async () => {
    const current = await resolveKey(service, key.keyId, 'key');
    assertEnabled(service.realm, current);
    return issueGrant(service, request, current, {
      Name: input.Name, DryRun: input.DryRun, grantee, granteeCreatedAt, retiring, retiringCreatedAt, operations, constraints,
    });
  }));
};

/** A grantee or retiring principal: an IAM principal's ARN, or a service principal's name. */
interface GrantPrincipal {
  readonly name: string;
  readonly service: boolean;
}

/**
 * The grantee and retiring principal, each given in one member of two (API reference, CreateGrant:
 * "either GranteePrincipal or GranteeServicePrincipal, but not both"). A service grantee also needs
 * a SourceArn constraint and a retiring principal.
 */
function principalsOf(input: {
  GranteePrincipal?: string | undefined; GranteeServicePrincipal?: string | undefined; RetiringPrincipal?: string | undefined;
  RetiringServicePrincipal?: string | undefined; Constraints?: GrantConstraints | undefined;
}): { grantee: GrantPrincipal; retiring: GrantPrincipal | undefined } {
  const { GranteePrincipal: iamGrantee, GranteeServicePrincipal: serviceGrantee, RetiringPrincipal: iamRetiring, RetiringServicePrincipal: serviceRetiring } = input;
  if (iamGrantee !== undefined && serviceGrantee !== undefined) {
    throw new ValidationException('You must specify either GranteePrincipal or GranteeServicePrincipal, but not both.');
  }
  if (iamGrantee === undefined && serviceGrantee === undefined) {
    throw new ValidationException('You must specify either GranteePrincipal or GranteeServicePrincipal.');
  }
  if (iamRetiring !== undefined && serviceRetiring !== undefined) {
    throw new ValidationException('You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.');
  }
  if (serviceGrantee !== undefined) {
    if (input.Constraints?.SourceArn === undefined) throw new ValidationException('When you specify a GranteeServicePrincipal, you must also specify a SourceArn grant constraint.');
    if (iamRetiring === undefined && serviceRetiring === undefined) {
      throw new ValidationException('When you specify a GranteeServicePrincipal, you must also specify a RetiringPrincipal or a RetiringServicePrincipal.');
    }
  }
  const grantee = serviceGrantee !== undefined ? { name: serviceGrantee, service: true } : { name: iamGrantee!, service: false };
  const retiring = serviceRetiring !== undefined ? { name: serviceRetiring, service: true }
    : iamRetiring !== undefined ? { name: iamRetiring, service: false } : undefined;
  return { grantee, retiring };
}

/** What a checked CreateGrant asks for: the request's members, its operations without repeats. */
interface GrantRequest {
  readonly Name?: string | undefined;
  readonly grantee: GrantPrincipal;
  readonly granteeCreatedAt: number | undefined;
  readonly retiring: GrantPrincipal | undefined;
  readonly retiringCreatedAt: number | undefined;
  readonly operations: GrantOperation[];
  readonly constraints?: GrantConstraints | undefined;
  readonly DryRun?: boolean | undefined;
}

/** The grant of this Name and these parameters if there is one (with a new token), else a new grant. */
async function issueGrant(service: Service, request: RequestContext, key: KeyRecord, input: GrantRequest): Promise<{ GrantToken: string; GrantId: string }> {
  const { operations, constraints } = input;
  if (input.Name !== undefined) {
    const same = (await service.store.findGrantsByName(key.keyId, input.Name))
      // Made for the same principals, as the grant's use and retiring judge it (a grant an earlier
      // release made keeps no creation times: its own creation time decides).
      .find((g) => grantMeans(g, g.granteeCreatedAt, input.granteeCreatedAt) && grantMeans(g, g.retiringCreatedAt, input.retiringCreatedAt)
        && sameParameters(g, input.grantee, input.retiring, operations, constraints));
    if (same) {
      checkDryRun(input.DryRun);
      return { GrantToken: reissueGrantToken(same.grantId, same.grantToken), GrantId: same.grantId };
    }
  }
  // AWS's quota of grants per KMS key. The idempotent answer above makes no grant, so it is not counted.
  if ((await service.store.countGrants(key.keyId)) >= MAX_GRANTS_PER_KEY) {
    throw new LimitExceededException(`The key has ${MAX_GRANTS_PER_KEY} grants, the most a KMS key may have; retire or revoke grants it no longer needs.`);
  }
  checkDryRun(input.DryRun);

  const grantId = newGrantId();
  const grant: GrantRecord = {
    grantId,
    keyId: key.keyId,
    grantToken: newGrantToken(grantId),
    ...(input.Name !== undefined ? { name: input.Name } : {}),
    granteePrincipal: input.grantee.name,
    ...(input.grantee.service ? { granteeIsService: true } : {}),
    ...(input.granteeCreatedAt !== undefined ? { granteeCreatedAt: input.granteeCreatedAt } : {}),
    ...(input.retiring !== undefined ? { retiringPrincipal: input.retiring.name } : {}),
    ...(input.retiring?.service ? { retiringIsService: true } : {}),
    ...(input.retiringCreatedAt !== undefined ? { retiringCreatedAt: input.retiringCreatedAt } : {}),
    issuingPrincipal: request.principal.arn,
    operations,
    ...(constraints ? { constraints } : {}),
    createdAt: service.now(),
  };
  await request.audit.commit((event) => service.store.createGrant(grant, event, stillEnabled(key.keyId)));
  return { GrantToken: grant.grantToken, GrantId: grant.grantId };
}

/** kms:GrantConstraintType: the encryption-context constraint kinds the request gives. */
function constraintTypes(constraints: GrantConstraints): string[] {
  return (['EncryptionContextEquals', 'EncryptionContextSubset'] as const).filter((k) => constraints[k] !== undefined);
}

function sameParameters(
  grant: GrantRecord, grantee: GrantPrincipal, retiring: GrantPrincipal | undefined, operations: readonly GrantOperation[], constraints: GrantConstraints | undefined,
): boolean {
  const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
  return grant.granteePrincipal === grantee.name && (grant.granteeIsService === true) === grantee.service
    && grant.retiringPrincipal === retiring?.name && (grant.retiringIsService === true) === (retiring?.service === true)
    && grant.constraints?.SourceArn === constraints?.SourceArn
    && sameSet(grant.operations, operations)
    && sameMap(grant.constraints?.EncryptionContextEquals, constraints?.EncryptionContextEquals)
    && sameMap(grant.constraints?.EncryptionContextSubset, constraints?.EncryptionContextSubset);
}

function sameMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b ?? {}).length && ak.every((k) => b !== undefined && Object.hasOwn(b, k) && b[k] === a![k]);
}
