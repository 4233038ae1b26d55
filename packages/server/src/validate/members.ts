import { createHash } from 'node:crypto';
import { DryRunOperationException, InvalidMarkerException, ValidationException } from '../errors.js';
import { checkEncryptionContext } from '../keys/encryption-context.js';
import { blob, boolean, integer, required, string, stringList, stringMap, type Member } from './shape.js';

/** Members that many operations share, with AWS's limits. */
export const keyIdMember = () => required(string({ min: 1, max: 2048 }));
export const optionalKeyIdMember = () => string({ min: 1, max: 2048 });
/** Grant tokens are bearer credentials: never shown in a validation message (nor so in the audit trail). */
export const grantTokensMember = () => stringList({ maxItems: 10, itemMin: 1, itemMax: 8192, sensitive: true });
/** A key policy: AWS's member limit; over MAX_POLICY_LENGTH it is LimitExceededException (compilePolicy). Never echoed. */
/** AWS's PolicyType: its pattern allows tab, line feed, carriage return and U+0020..U+00FF only. */
export const keyPolicyMember = () => string({ min: 1, max: 131072, pattern: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+', sensitive: true });
/**
 * An encryption context, checked as it is read (checkEncryptionContext): before the key's policies
 * are, whose conditions read every value, not only when the context is bound into a ciphertext.
 */
export function encryptionContextMember(): Member<Record<string, string> | undefined> {
  const map = stringMap();
  return {
    parse(value, path, violations) {
      const context = map.parse(value, path, violations);
      if (context !== undefined) checkEncryptionContext(context);
      return context;
    },
  };
}
export const dryRunMember = () => boolean();
/**
 * Decrypt's and ReEncrypt's CiphertextBlob. AWS's model leaves it optional: a DryRun with
 * IGNORE_CIPHERTEXT checks only the caller's permission and needs none. Every other request needs
 * one (requireCiphertext).
 */
export const ciphertextMember = () => blob({ min: 1, max: 6144 });
export const limitMember = (max: number) => integer({ min: 1, max });
/** AWS's BackingKeyIdType: the id of one key material (KeyMaterialId). */
export const keyMaterialIdMember = () => string({ min: 64, max: 64, pattern: '^[a-f0-9]+$' });
export const markerMember = () => string({ min: 1, max: 1024, pattern: '[\\u0020-\\u00FF]*' });

export const DRY_RUN_MODIFIERS = Object.freeze(['IGNORE_CIPHERTEXT'] as const);

/** Decrypt's and ReEncrypt's DryRunModifiers: a list of DRY_RUN_MODIFIERS, reported as a whole as AWS reports enum lists. */
export function dryRunModifiersMember(): Member<string[] | undefined> {
  const list = stringList({});
  return {
    parse(value, path, violations) {
      const items = list.parse(value, path, violations);
      if (items?.some((item) => !(DRY_RUN_MODIFIERS as readonly string[]).includes(item))) {
        violations.add(path, `[${items.join(', ')}]`, `Member must satisfy constraint: [Member must satisfy enum value set: [${DRY_RUN_MODIFIERS.join(', ')}]]`);
      }
      return items;
    },
  };
}

/** DryRun with IGNORE_CIPHERTEXT: only the caller's permission is checked, not the ciphertext. */
export function ignoresCiphertext(input: { DryRun?: boolean | undefined; DryRunModifiers?: string[] | undefined }): boolean {
  return input.DryRun === true && (input.DryRunModifiers ?? []).includes('IGNORE_CIPHERTEXT');
}

/** The ciphertext a request must carry unless it ignores it; refused as a missing member is. */
export function requireCiphertext(ciphertext: Buffer | undefined): Buffer {
  if (ciphertext === undefined) {
    throw new ValidationException("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  }
  return ciphertext;
}

/** Raised last, once every other check has passed: the request would have succeeded. */
export function checkDryRun(dryRun: boolean | undefined): void {
  if (dryRun) throw new DryRunOperationException('The request would have succeeded, but the DryRun option is set.');
}

/**
 * Markers are opaque to clients: the listing that issued the marker (its scope: the operation, and
 * the key or principal it lists for) and the position to resume after, then the first bytes of
 * their SHA-256, base64url-encoded. A marker is accepted only by the listing that issued it, and
 * only as issued; AWS refuses a marker from another listing, or an altered one, with
 * InvalidMarkerException, where reading its position would silently skip or repeat items (a marker
 * cut short resumed before the item it named, and listed it again).
 */
export function encodeMarker(scope: string, after: string): string {
  const text = Buffer.from(`coffer:${scope}\n${after}`, 'utf8');
  return Buffer.concat([text, markerCheck(text)]).toString('base64url');
}

export function decodeMarker(scope: string, marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  const bytes = /^[A-Za-z0-9_-]+$/.test(marker) ? Buffer.from(marker, 'base64url') : Buffer.alloc(0);
  const text = bytes.subarray(0, -MARKER_CHECK_BYTES);
  // Re-encoded, the bytes give the marker back: no character was added, dropped or changed.
  const intact = bytes.length > MARKER_CHECK_BYTES && bytes.toString('base64url') === marker
    && markerCheck(text).equals(bytes.subarray(-MARKER_CHECK_BYTES));
  const decoded = intact ? text.toString('utf8') : '';
  const prefix = `coffer:${scope}\n`;
  // A NUL never appears in a position this server encodes (and PostgreSQL's text cannot hold one).
  if (!decoded.startsWith(prefix) || decoded.includes('\u0000')) {
    // Intact, but issued for another listing: the same operation with other filters (another key,
    // another principal), or another operation's. Said as such, not as a marker never issued.
    if (decoded.startsWith('coffer:') && !decoded.includes('\u0000')) {
      throw new InvalidMarkerException('The marker belongs to another listing (other filters or another operation): give it with the request it came from, or leave it out to start again.');
    }
    throw new InvalidMarkerException('The marker is not one this server issued.');
  }
  return decoded.slice(prefix.length);
}

/** Bytes of SHA-256 a marker ends with: an integrity check against damage, not a signature (a position grants nothing). */
const MARKER_CHECK_BYTES = 8;
const markerCheck = (text: Uint8Array): Buffer => createHash('sha256').update(text).digest().subarray(0, MARKER_CHECK_BYTES);

/** The paging fields of a list response. */
export function pagingFields(scope: string, next: string | undefined): { Truncated: boolean; NextMarker?: string } {
  return next === undefined ? { Truncated: false } : { Truncated: true, NextMarker: encodeMarker(scope, next) };
}
