import { constants, createDecipheriv, createPrivateKey, privateDecrypt } from 'node:crypto';
import type { Service } from '../context.js';
import { ExpiredImportTokenException, InvalidCiphertextException, InvalidImportTokenException } from '../errors.js';
import { RootKeyMismatchError } from '../root/root-key.js';
import { WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS, type WrappingAlgorithm, type WrappingKeySpec } from './enums.js';
import type { EarlierMaterial, KeyRecord } from './key-record.js';
import { generateRsaKeyPair } from './rsa-generation.js';


/** An import token and its wrapping key are good for 24 hours, as in AWS. */
export const IMPORT_TOKEN_TTL_MS = 24 * 3_600_000;
const TOKEN_VERSION = 1;
/** RFC 5649 §3: the alternative initial value of AES key wrap with padding. */
const KWP_IV = Buffer.from('a65959a6', 'hex');

/**
 * Imported material past its ValidTo, the current material or an earlier one: the key is
 * PendingImport until that material is imported again.
 */
export function importExpired(key: KeyRecord, now: number): boolean {
  const validTo = earliestValidTo(key);
  return validTo !== undefined && validTo <= now;
}

/** When the first of the key's imported materials (current and earlier) expires; undefined if none does. */
export function earliestValidTo(key: KeyRecord): number | undefined {
  let earliest = key.importedMaterial?.validTo;
  for (const { validTo } of key.earlierMaterials ?? []) if (validTo !== undefined && (earliest === undefined || validTo < earliest)) earliest = validTo;
  return earliest;
}

/** What is known of an earlier (NON_CURRENT) material of the key: undefined if it became earlier before this was kept. */
export function earlierMaterial(key: KeyRecord, version: number): EarlierMaterial | undefined {
  return key.earlierMaterials?.find((e) => e.version === version);
}

/**
 * Material imported to rotate to (PENDING_ROTATION) that is past its ValidTo: AWS deletes expired
 * material, so it is no longer there to rotate to. It is not yet part of the key, so the key's
 * state does not change; it can be imported again, or replaced by other new material.
 */
export function pendingExpired(key: KeyRecord, now: number): boolean {
  const validTo = key.pendingMaterial?.validTo;
  return validTo !== undefined && validTo <= now;
}

/** The stored record behind each record effectiveKey made. */
const storedRecords = new WeakMap<KeyRecord, KeyRecord>();

/**
 * The key as it stands at `now`: an Enabled or Disabled key whose imported material expired is
 * PendingImport. A view for checks and answers, never written back (see storedKey).
 */
export function effectiveKey(key: KeyRecord, now: number): KeyRecord {
  if ((key.state === 'Enabled' || key.state === 'Disabled') && importExpired(key, now)) {
    const effective: KeyRecord = { ...key, state: 'PendingImport' };
    storedRecords.set(effective, key);
    return effective;
  }
  return key;
}

/**
 * The record as stored behind an effectiveKey view: what a change is applied to, so that an
 * expiry's PendingImport is not written into the key (re-importing the expired material must
 * bring back the state the key had).
 */
export function storedKey(key: KeyRecord): KeyRecord {
  return storedRecords.get(key) ?? key;
}

export interface ImportParameters {
  readonly importToken: Buffer;
  readonly publicKey: Buffer;
  readonly validTo: number;
}

const purpose = (keyId: string, validTo: number, algorithm: WrappingAlgorithm, spec: WrappingKeySpec) =>
  `import-token:v${TOKEN_VERSION}:${keyId}:${validTo}:${algorithm}:${spec}`;

/**
 * A fresh RSA wrapping key for GetParametersForImport. The import token carries its private key
 * wrapped by the root key, bound to the key id, the algorithm and the token's expiry, so any
 * server node can open it and the server keeps no state between the two calls. Token layout:
 * version (1) | validTo epoch ms (8, big-endian) | algorithm index (1) | key spec index (1) | wrapped private key.
 */
export async function createImportParameters(
  service: Service, keyId: string, algorithm: WrappingAlgorithm, spec: WrappingKeySpec,
): Promise<ImportParameters> {
  const modulusLength = Number(spec.slice('RSA_'.length));
  const { privateKey, publicKey } = await generateRsaKeyPair(modulusLength);
  const validTo = service.now() + IMPORT_TOKEN_TTL_MS;
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const wrapped = await service.backingKeys.wrapSecret(pkcs8, purpose(keyId, validTo, algorithm, spec));
  pkcs8.fill(0);
  const header = Buffer.alloc(11);
  header.writeUInt8(TOKEN_VERSION, 0);
  header.writeBigUInt64BE(BigInt(validTo), 1);
  header.writeUInt8(WRAPPING_ALGORITHMS.indexOf(algorithm), 9);
  header.writeUInt8(WRAPPING_KEY_SPECS.indexOf(spec), 10);
  return { importToken: Buffer.concat([header, wrapped]), publicKey: publicKey.export({ format: 'der', type: 'spki' }), validTo };
}

/**
 * Opens the material of ImportKeyMaterial: the token must be this server's for this key
 * (InvalidImportTokenException) and younger than 24 hours (ExpiredImportTokenException); material
 * that the wrapping key does not open is InvalidCiphertextException. A root key that fails while
 * opening the token throws RootKeyUnavailableError (a server fault).
 */
export async function openImportedMaterial(service: Service, keyId: string, token: Buffer, encrypted: Buffer): Promise<Buffer> {
  const algorithm = WRAPPING_ALGORITHMS[token[9] ?? 255];
  const spec = WRAPPING_KEY_SPECS[token[10] ?? 255];
  if (token.length < 12 || token[0] !== TOKEN_VERSION || !algorithm || !spec) {
    throw new InvalidImportTokenException('The import token is not valid for this key.');
  }
  const validTo = Number(token.readBigUInt64BE(1));
  let pkcs8: Buffer;
  try {
    pkcs8 = await service.backingKeys.unwrapSecret(token.subarray(11), purpose(keyId, validTo, algorithm, spec));
  } catch (error) {
    // A token the root key does not open is not this server's for this key; a root key that fails
    // (a token that did not answer) is the server's fault, not the caller's token.
    if (!(error instanceof RootKeyMismatchError)) throw error;
    throw new InvalidImportTokenException('The import token is not valid for this key.');
  }
  try {
    if (validTo <= service.now()) throw new ExpiredImportTokenException('The import token has expired; call GetParametersForImport for a new one.');
    const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    const material = unwrapMaterial(privateKey, algorithm, Number(spec.slice('RSA_'.length)) / 8, encrypted);
    if (!material) throw new InvalidCiphertextException();
    return material;
  } finally {
    pkcs8.fill(0);
  }
}

/** RSAES-OAEP, or RSA-OAEP of an ephemeral AES key followed by AES key wrap with padding (RFC 5649). */
function unwrapMaterial(key: ReturnType<typeof createPrivateKey>, algorithm: WrappingAlgorithm, modulusBytes: number, encrypted: Buffer): Buffer | undefined {
  const oaepHash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  const oaep = (ciphertext: Buffer) => privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, ciphertext);
  try {
    if (algorithm === 'RSAES_OAEP_SHA_1' || algorithm === 'RSAES_OAEP_SHA_256') return oaep(encrypted);
    if (algorithm === 'RSA_AES_KEY_WRAP_SHA_1' || algorithm === 'RSA_AES_KEY_WRAP_SHA_256') {
      const aesKey = oaep(encrypted.subarray(0, modulusBytes));
      const wrapped = encrypted.subarray(modulusBytes);
      // RFC 5649 output is at least two 8-byte blocks. OpenSSL's unwrap turns an empty input into
      // an empty result without an error, which would read as material that opened but is wrong.
      if (![16, 24, 32].includes(aesKey.length) || wrapped.length < 16 || wrapped.length % 8 !== 0) return undefined;
      const decipher = createDecipheriv(`id-aes${aesKey.length * 8}-wrap-pad`, aesKey, KWP_IV);
      return Buffer.concat([decipher.update(wrapped), decipher.final()]);
    }
    return undefined;
  } catch {
    return undefined;
  }
}
