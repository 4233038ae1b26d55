/**
 * A record's request members as CloudTrail writes them (`requestParameters`): member names in
 * lower camel case, at the top and inside each structure audit/sanitize.ts keeps, as the KMS
 * developer guide's examples show them (ct-tagresource: `"tags": [{"tagKey", "tagValue"}]`;
 * ct-creategrant: `"constraints": {"encryptionContextSubset": {...}}`). Decided per structure, never
 * by walking the value: the keys of an encryption context are the caller's data and stay as sent,
 * at the top (`encryptionContext`) and inside a constraint alike.
 */

/** A structure's member names in lower camel case, its values as stored; anything else as stored. */
function structure(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([name, member]) => [lowerCamel(name), member]));
}

/**
 * The kept members whose values are structures (sanitize.ts's `tags` and `constraints` kinds).
 * A value a record holds in their place (`[omitted: ...]`) is shown as stored.
 */
const STRUCTURES: Readonly<Record<string, (value: unknown) => unknown>> = {
  Tags: (value) => (Array.isArray(value) ? value.map(structure) : value),
  // EncryptionContextSubset and EncryptionContextEquals are maps: their keys stay as sent.
  Constraints: structure,
};

const lowerCamel = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

/**
 * Members CloudTrail writes even when the caller left them out, with the value KMS took: Decrypt's
 * algorithm (ct-decrypt: it "always includes the encryptionAlgorithm in the requestParameters even
 * if the encryption algorithm wasn't specified in the request"), and Encrypt's and ReEncrypt's,
 * which their examples (ct-encrypt, ct-reencrypt) show the same way. Only a symmetric key may go
 * without one, so an absent algorithm was SYMMETRIC_DEFAULT. GenerateDataKey* take none.
 */
const DEFAULTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  Decrypt: { EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
  Encrypt: { EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
  ReEncrypt: { SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
};

/** The record's request members in CloudTrail's names; null when it kept none. */
export function requestParameters(operation: string | undefined, kept: Readonly<Record<string, unknown>>): Record<string, unknown> | null {
  const defaults = operation !== undefined && Object.hasOwn(DEFAULTS, operation) ? DEFAULTS[operation] : undefined;
  const parameters = defaults ? { ...defaults, ...kept } : kept;
  const entries = Object.entries(parameters);
  if (entries.length === 0) return null;
  return Object.fromEntries(entries.map(([name, value]) => [
    lowerCamel(name),
    Object.hasOwn(STRUCTURES, name) ? STRUCTURES[name]!(value) : value,
  ]));
}
