/**
 * The closed set of errors the SDK throws for bad input or failed checks.
 *
 * Programmer misuse (a wrong option type, an unknown suite id, a wrapping key of the wrong
 * length) throws a plain `TypeError` or `RangeError` instead. No message here ever carries
 * plaintext, data keys or wrapping keys; they name the check that failed and nothing more.
 */

export const ErrorCode = Object.freeze({
  MalformedMessage: 'MalformedMessage',
  Authentication: 'Authentication',
  NoDecryptionKey: 'NoDecryptionKey',
  PolicyViolation: 'PolicyViolation',
  Keyring: 'Keyring',
} as const);
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class: `instanceof EncryptionSdkError` catches every named SDK failure. */
export abstract class EncryptionSdkError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The bytes are not an ESDK message: truncated, trailing data, unknown version or suite, bad field. */
export class MalformedMessageError extends EncryptionSdkError {
  readonly code = ErrorCode.MalformedMessage;
}

/** An integrity check failed: header or frame tag, key commitment, or message signature. */
export class AuthenticationError extends EncryptionSdkError {
  readonly code = ErrorCode.Authentication;
}

/** No keyring could decrypt any of the message's encrypted data keys. */
export class NoDecryptionKeyError extends EncryptionSdkError {
  readonly code = ErrorCode.NoDecryptionKey;
}

/**
 * A configured rule refused the operation: commitment policy, encrypted-data-key limit,
 * reserved or required encryption-context keys, a reproduced context that does not match.
 */
export class PolicyViolationError extends EncryptionSdkError {
  readonly code = ErrorCode.PolicyViolation;
}

/** A keyring or materials manager could not produce valid materials (for example, no public key to wrap with). */
export class KeyringError extends EncryptionSdkError {
  readonly code = ErrorCode.Keyring;
}
