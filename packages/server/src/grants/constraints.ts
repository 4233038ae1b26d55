import type { GrantConstraints, GrantOperation } from './grant-record.js';

/**
 * Whether a request's encryption context satisfies a grant's constraints, as AWS checks them:
 * EncryptionContextEquals needs exactly the same pairs, EncryptionContextSubset needs every pair
 * of the constraint (the request may have more). Keys compare without regard to case and values
 * case-sensitively (API reference, GrantConstraints: "in a grant constraint, the key in each
 * key-value pair is not case sensitive, but the value is case sensitive").
 *
 * A context may hold keys that differ only in case ({a: 1, A: 2}); AWS advises against them and
 * does not say how it reads them. Each key is taken with all the values its spellings carry, and
 * a constrained key must carry exactly the constraint's values: the answer cannot depend on the
 * order of the members, and a value under one spelling cannot hide another under the next.
 */
export function satisfiesConstraints(constraints: GrantConstraints | undefined, context: Readonly<Record<string, string>> | undefined): boolean {
  if (!constraints) return true;
  const given = valuesByKey(context ?? {});
  const { EncryptionContextEquals: equals, EncryptionContextSubset: subset } = constraints;
  if (equals) {
    // Both ways: the same keys, each with the same values. Counting pairs instead would let
    // {a, A} in a constraint admit {a, z}.
    const wanted = valuesByKey(equals);
    if (wanted.size !== given.size || ![...wanted].every(([key, values]) => sameValues(given.get(key), values))) return false;
  }
  if (subset && ![...valuesByKey(subset)].every(([key, values]) => sameValues(given.get(key), values))) return false;
  return true;
}

/** An encryption context (or a constraint's pairs) as each key in lower case with the values its spellings carry. */
function valuesByKey(pairs: Readonly<Record<string, string>>): Map<string, Set<string>> {
  const byKey = new Map<string, Set<string>>();
  for (const [key, value] of Object.entries(pairs)) {
    const lowered = key.toLowerCase();
    const values = byKey.get(lowered);
    if (values) values.add(value);
    else byKey.set(lowered, new Set([value]));
  }
  return byKey;
}

function sameValues(given: ReadonlySet<string> | undefined, wanted: ReadonlySet<string>): boolean {
  return given !== undefined && given.size === wanted.size && [...wanted].every((value) => given.has(value));
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
  // Every key the parent constrains, the child constrains to the same values; keys compare
  // without regard to case here too: {Team: x} and {team: x} allow the same contexts.
  const required = valuesByKey(child.EncryptionContextSubset);
  return [...valuesByKey(parent.EncryptionContextSubset ?? {})].every(([key, values]) => sameValues(required.get(key), values));
}
