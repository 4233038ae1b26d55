import type { GrantConstraints, GrantOperation } from './grant-record.js';

/**
 * Whether a request's encryption context satisfies a grant's constraints, as AWS checks them:
 * EncryptionContextEquals needs exactly the same pairs, EncryptionContextSubset needs every pair
 * of the constraint (the request may have more). Keys compare without regard to case and values
 * case-sensitively (API reference, GrantConstraints: "in a grant constraint, the key in each
 * key-value pair is not case sensitive, but the value is case sensitive").
 */
export function satisfiesConstraints(constraints: GrantConstraints | undefined, context: Readonly<Record<string, string>> | undefined): boolean {
  if (!constraints) return true;
  const lowered = (pairs: Readonly<Record<string, string>>) => new Map(Object.entries(pairs).map(([k, v]) => [k.toLowerCase(), v]));
  const given = lowered(context ?? {});
  const holds = (pairs: Readonly<Record<string, string>>) => Object.entries(pairs).every(([k, v]) => given.get(k.toLowerCase()) === v);
  const { EncryptionContextEquals: equals, EncryptionContextSubset: subset } = constraints;
  if (equals) {
    // Both ways: every pair of the constraint is in the request, and every pair of the request is
    // in the constraint. Counting pairs instead would let {a, A} in a constraint admit {a, z}.
    const wanted = lowered(equals);
    if (!holds(equals) || !Object.entries(context ?? {}).every(([k, v]) => wanted.get(k.toLowerCase()) === v)) return false;
  }
  if (subset && !holds(subset)) return false;
  return true;
}

/**
 * The grant operations that take an encryption context, so that encryption-context constraints
 * apply to them (API reference, GrantConstraints). DescribeKey and RetireGrant may sit in a
 * constrained grant but ignore the constraint; CreateGrant instead requires the grants it creates
 * to be at least as strict (`atLeastAsStrict`).
 */
export const CONTEXT_OPERATIONS: ReadonlySet<GrantOperation> = new Set<GrantOperation>([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo',
  'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
]);

/** Operations that may be in a grant with constraints: those above, and the three that ignore or pass them on. */
export const CONSTRAINABLE_OPERATIONS: ReadonlySet<GrantOperation> = new Set<GrantOperation>([
  ...CONTEXT_OPERATIONS, 'DescribeKey', 'RetireGrant', 'CreateGrant',
]);

/** Whether a grant's constraints decide this operation (see CONTEXT_OPERATIONS). */
export function constraintsApply(operation: GrantOperation): boolean {
  return CONTEXT_OPERATIONS.has(operation);
}

/**
 * Whether every encryption context `child` allows is one `parent` allows: the rule for a grant
 * created through a grant's CreateGrant permission ("an equally strict or stricter encryption
 * context constraint").
 */
export function atLeastAsStrict(child: GrantConstraints | undefined, parent: GrantConstraints | undefined): boolean {
  if (!parent || (!parent.EncryptionContextEquals && !parent.EncryptionContextSubset)) return true;
  if (!child) return false;
  if (child.EncryptionContextEquals) {
    // The child allows at most this one context; it must be one the parent allows.
    return satisfiesConstraints(parent, child.EncryptionContextEquals);
  }
  if (parent.EncryptionContextEquals || !child.EncryptionContextSubset) return false;
  // Keys compare without regard to case here too: {Team: x} and {team: x} allow the same contexts.
  const required = new Map(Object.entries(child.EncryptionContextSubset).map(([k, v]) => [k.toLowerCase(), v]));
  const parentSubset = parent.EncryptionContextSubset ?? {};
  return Object.entries(parentSubset).every(([k, v]) => required.get(k.toLowerCase()) === v);
}
