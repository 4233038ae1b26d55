import { createHash, createPrivateKey, createPublicKey, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { RawAesKeyring, RawRsaKeyring, RsaPadding, type Keyring } from '@coffer/sdk';
import { BackupKeyError } from './errors.js';
import type { Preamble, ScryptParameters } from './preamble.js';

/** Who can open a new archive: whoever knows a passphrase, or whoever holds an RSA private key. */
export type BackupRecipient = { readonly passphrase: string } | { readonly publicKeyPem: string };
/** What opens an archive: its passphrase, or the private key of its recipient. */
export type BackupIdentity = { readonly passphrase: string } | { readonly privateKeyPem: string };

const KEY_NAMESPACE = 'coffer-backup';
const PASSPHRASE_KEY_NAME = 'scrypt-passphrase';
export const MIN_PASSPHRASE_LENGTH = 8;
/** scrypt cost of new archives: N = 2^17, r = 8, p = 1 (128 MiB), OWASP's recommendation for scrypt. */
export const SCRYPT_DEFAULTS = { N: 2 ** 17, r: 8, p: 1 } as const;
/**
 * The most a restore spends on the parameters an archive names (128 * N * r bytes of memory), and
 * the least it accepts: a preamble is read before it is authenticated, so it must not be able to
 * exhaust the machine, nor to make the passphrase cheap to guess.
 */
const MAX_SCRYPT_MEMORY = 1024 ** 3;
const MIN_SCRYPT_N = 2 ** 14;

/** The preamble and keyring that protect a new archive. `scryptCost` is for tests, which cannot spend 128 MiB per case. */
export async function protectionFor(
  recipient: BackupRecipient, scryptCost: Omit<ScryptParameters, 'salt'> = SCRYPT_DEFAULTS,
): Promise<{ preamble: Preamble; keyring: Keyring }> {
  if ('passphrase' in recipient) {
    if ([...recipient.passphrase].length < MIN_PASSPHRASE_LENGTH) {
      throw new BackupKeyError(`a backup passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters`);
    }
    const preamble: Preamble = { protection: 'passphrase', kdf: 'scrypt', ...scryptCost, salt: randomBytes(32).toString('base64') };
    return { preamble, keyring: await passphraseKeyring(recipient.passphrase, preamble) };
  }
  const publicKey = rsaKey(() => createPublicKey(recipient.publicKeyPem), 'public');
  const keyName = fingerprint(publicKey);
  return {
    preamble: { protection: 'public-key', keyName, padding: 'oaep-sha256' },
    keyring: new RawRsaKeyring({ keyNamespace: KEY_NAMESPACE, keyName, padding: RsaPadding.OAEP_SHA256, publicKey }),
  };
}

/** The keyring that opens an archive with this preamble, or a BackupKeyError saying what the archive needs instead. */
export async function keyringFor(preamble: Preamble, identity: BackupIdentity): Promise<Keyring> {
  if (preamble.protection === 'passphrase') {
    if (!('passphrase' in identity)) {
      throw new BackupKeyError('the archive is protected by a passphrase, not a public key: give its passphrase instead of a private key');
    }
    return passphraseKeyring(identity.passphrase, preamble);
  }
  if (!('privateKeyPem' in identity)) {
    throw new BackupKeyError(`the archive is protected by a public key (${preamble.keyName}), not a passphrase: give the matching private key`);
  }
  const privateKey = rsaKey(() => createPrivateKey(identity.privateKeyPem), 'private');
  const keyName = fingerprint(createPublicKey(privateKey));
  if (keyName !== preamble.keyName) {
    throw new BackupKeyError(`the archive was encrypted to the public key ${preamble.keyName}, and the private key given belongs to ${keyName}`);
  }
  return new RawRsaKeyring({ keyNamespace: KEY_NAMESPACE, keyName, padding: RsaPadding.OAEP_SHA256, privateKey });
}

/** `sha256:` and the hex SHA-256 of the public key's SubjectPublicKeyInfo: names the recipient without revealing anything. */
function fingerprint(publicKey: KeyObject): string {
  return `sha256:${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

function rsaKey(read: () => KeyObject, kind: 'public' | 'private'): KeyObject {
  let key: KeyObject;
  try {
    key = read();
  } catch {
    throw new BackupKeyError(`the ${kind} key is not a PEM ${kind} key`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < 2048) {
    throw new BackupKeyError(`the ${kind} key must be an RSA key of at least 2048 bits (it is ${key.asymmetricKeyType ?? 'unknown'}${bits ? `, ${bits} bits` : ''})`);
  }
  return key;
}

async function passphraseKeyring(passphrase: string, preamble: Preamble & { protection: 'passphrase' }): Promise<Keyring> {
  const { N, r, p } = preamble;
  const memory = 128 * N * r;
  const valid = Number.isSafeInteger(N) && N >= MIN_SCRYPT_N && (N & (N - 1)) === 0 && Number.isSafeInteger(r) && r >= 1
    && Number.isSafeInteger(p) && p >= 1 && p <= 16 && memory <= MAX_SCRYPT_MEMORY;
  const salt = Buffer.from(preamble.salt, 'base64');
  if (!valid || salt.length < 16) {
    throw new BackupKeyError(`the archive names scrypt parameters outside what Coffer accepts (N=${N}, r=${r}, p=${p}): it was altered or not made by Coffer`);
  }
  const wrappingKey = await new Promise<Buffer>((done, fail) => {
    scrypt(Buffer.from(passphrase.normalize('NFC'), 'utf8'), salt, 32, { N, r, p, maxmem: memory + 32 * 1024 * 1024 },
      (error, key) => (error ? fail(error) : done(key)));
  });
  try {
    return new RawAesKeyring({ keyNamespace: KEY_NAMESPACE, keyName: PASSPHRASE_KEY_NAME, wrappingKey });
  } finally {
    // The keyring keeps its own copy.
    wrappingKey.fill(0);
  }
}
