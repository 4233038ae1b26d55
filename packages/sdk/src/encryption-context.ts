/**
 * Encryption context rules (framework/structures.md#encryption-context).
 * A context is a map of UTF-8 strings; keys beginning with `aws-crypto-` are reserved for the
 * SDK itself (client-apis/encrypt.md#encryption-context), and `aws-crypto-public-key` carries the
 * signature verification key of signing suites (framework/default-cmm.md).
 */

export type EncryptionContext = Readonly<Record<string, string>>;

export const RESERVED_PREFIX = 'aws-crypto-';
export const PUBLIC_KEY_FIELD = 'aws-crypto-public-key';

// A lone surrogate has no UTF-8 encoding; TextEncoder would silently replace it, which would
// authenticate a different context than the caller passed.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Copies a caller-supplied context, refusing anything that is not a string-to-string map. */
export function copyEncryptionContext(input: unknown): Record<string, string> {
  if (input === undefined) return {};
  if (input === null || typeof input !== 'object') throw new TypeError('encryption context must be a plain object of string values');
  const proto: unknown = Object.getPrototypeOf(input);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError('encryption context must be a plain object of string values');
  }
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(input)) {
    if (typeof v !== 'string') throw new TypeError('encryption context values must be strings');
    if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
      throw new TypeError('encryption context strings must be well-formed Unicode');
    }
    out[k] = v;
  }
  return out;
}

/** Keys that start with the reserved `aws-crypto-` prefix. */
export function reservedKeys(ec: EncryptionContext): string[] {
  return Object.keys(ec).filter((k) => k.startsWith(RESERVED_PREFIX));
}

/** The pairs of `ec` whose keys are in `keys`. */
export function pick(ec: EncryptionContext, keys: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const k of keys) {
    const v = ec[k];
    if (v !== undefined && Object.hasOwn(ec, k)) out[k] = v;
  }
  return out;
}

/** The pairs of `ec` whose keys are not in `keys`. */
export function omit(ec: EncryptionContext, keys: Iterable<string>): Record<string, string> {
  const drop = new Set(keys);
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(ec)) if (!drop.has(k)) out[k] = v;
  return out;
}
