import type { GrantConstraints } from './grant-record.js';

/**
 * Whether a request's encryption context satisfies a grant's constraints, as AWS checks them:
 * EncryptionContextEquals needs exactly the same pairs, EncryptionContextSubset needs every pair
 * of the constraint (the request may have more). Keys and values compare case-sensitively.
 */
export function satisfiesConstraints(constraints: GrantConstraints | undefined, context: Readonly<Record<string, string>> | undefined): boolean {
  if (!constraints) return true;
  const given = context ?? {};
  const { EncryptionContextEquals: equals, EncryptionContextSubset: subset } = constraints;
  if (equals) {
    const keys = Object.keys(equals);
    if (keys.length !== Object.keys(given).length) return false;
    if (!keys.every((k) => Object.hasOwn(given, k) && given[k] === equals[k])) return false;
  }
  if (subset && !Object.keys(subset).every((k) => Object.hasOwn(given, k) && given[k] === subset[k])) return false;
  return true;
}
