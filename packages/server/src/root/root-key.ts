/**
 * The root of the key hierarchy: it wraps every backing key and every stored secret. Providers
 * (a key file, a passphrase, a PKCS#11 token, another KMS: providers/) differ only in where the
 * root key lives and where the wrapping happens; the keyring (keyring-root-key.ts) is what the
 * rest of the server holds.
 */
export interface RootKey {
  /** A human-readable description of where the root key lives, for messages. */
  readonly description: string;
  /** Authenticated encryption of `plaintext`, bound to `aad`. */
  wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Throws RootKeyMismatchError if `wrapped` was not made by this root key with this `aad`. */
  unwrap(wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

/** The root key cannot open what it is asked to: tampering, or a different root key. */
export class RootKeyMismatchError extends Error {
  override readonly name = 'RootKeyMismatchError';
}

/**
 * The root key's source failed, not the value: a PKCS#11 token that did not answer (removed, its
 * session or key handle gone). A fault of the server that a retry may get past, never a sign that
 * the value (or the caller's ciphertext) is bad. The message names the failure (a CKR_ code), never
 * a PIN or key bytes; it goes to the log, not to the caller.
 */
export class RootKeyUnavailableError extends Error {
  override readonly name = 'RootKeyUnavailableError';
}

/** The server must not start: the message says why and what to do. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
