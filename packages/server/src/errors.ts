/**
 * The closed set of errors Coffer puts on the wire. Each class carries the AWS error name as it
 * appears in `__type` and the HTTP status AWS uses for it. Client errors are all 400; only internal
 * faults are 5xx. Anything thrown that is not a KmsError is rendered as an opaque
 * KMSInternalException by the HTTP layer and logged with its request id.
 */
export abstract class KmsError extends Error {
  /** The AWS error name, exactly as it appears in `__type`. */
  abstract readonly code: string;
  readonly status: number = 400;

  /** An empty message is sent as no message at all, as AWS does for decryption failures. */
  constructor(message = '') {
    super(message);
  }

  override get name(): string {
    return this.code;
  }
}

/**
 * The part of a caller's own text (a path, a header) that an error message repeats: enough to
 * recognise it. Messages go into audit records, so an unauthenticated caller must not be able to
 * store kilobytes per request through them.
 */
export function excerpt(text: string, max = 128): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

function kmsError(code: string, status = 400) {
  const ErrorClass = class extends KmsError {
    readonly code = code;
    override readonly status = status;
  };
  Object.defineProperty(ErrorClass, 'name', { value: code });
  return ErrorClass;
}

// Protocol and authentication.
export const UnknownOperationException = kmsError('UnknownOperationException');
export const SerializationException = kmsError('SerializationException');
export const ValidationException = kmsError('ValidationException');
export const MissingAuthenticationTokenException = kmsError('MissingAuthenticationTokenException');
export const IncompleteSignatureException = kmsError('IncompleteSignatureException');
export const InvalidSignatureException = kmsError('InvalidSignatureException');
export const UnrecognizedClientException = kmsError('UnrecognizedClientException');
export const AccessDeniedException = kmsError('AccessDeniedException');
export const NotAuthorizedException = kmsError('NotAuthorizedException');
export const ThrottlingException = kmsError('ThrottlingException');

// Keys, aliases and their states.
export const NotFoundException = kmsError('NotFoundException');
export const AlreadyExistsException = kmsError('AlreadyExistsException');
export const DisabledException = kmsError('DisabledException');
export const KMSInvalidStateException = kmsError('KMSInvalidStateException');
export const InvalidArnException = kmsError('InvalidArnException');
export const InvalidAliasNameException = kmsError('InvalidAliasNameException');
export const InvalidMarkerException = kmsError('InvalidMarkerException');
export const InvalidGrantTokenException = kmsError('InvalidGrantTokenException');
export const InvalidGrantIdException = kmsError('InvalidGrantIdException');
export const LimitExceededException = kmsError('LimitExceededException');
export const TagException = kmsError('TagException');
export const UnsupportedOperationException = kmsError('UnsupportedOperationException');
export const DryRunOperationException = kmsError('DryRunOperationException');
export const MalformedPolicyDocumentException = kmsError('MalformedPolicyDocumentException');
export const CustomKeyStoreNotFoundException = kmsError('CustomKeyStoreNotFoundException');

// Cryptographic operations.
export const InvalidCiphertextException = kmsError('InvalidCiphertextException');
export const IncorrectKeyException = kmsError('IncorrectKeyException');
export const InvalidKeyUsageException = kmsError('InvalidKeyUsageException');
export const KMSInvalidSignatureException = kmsError('KMSInvalidSignatureException');
export const KMSInvalidMacException = kmsError('KMSInvalidMacException');

// Importing key material.
export const ExpiredImportTokenException = kmsError('ExpiredImportTokenException');
export const InvalidImportTokenException = kmsError('InvalidImportTokenException');
export const IncorrectKeyMaterialException = kmsError('IncorrectKeyMaterialException');

// Faults of the service itself.
export const KMSInternalException = kmsError('KMSInternalException', 500);
export const KeyUnavailableException = kmsError('KeyUnavailableException', 500);
export const DependencyTimeoutException = kmsError('DependencyTimeoutException', 503);

/** Every error class, for the table in docs/errors.md and the test that keeps them in sync. */
export const ALL_ERRORS = [
  UnknownOperationException, SerializationException, ValidationException,
  MissingAuthenticationTokenException, IncompleteSignatureException, InvalidSignatureException,
  UnrecognizedClientException, AccessDeniedException, NotAuthorizedException, ThrottlingException,
  NotFoundException, AlreadyExistsException, DisabledException, KMSInvalidStateException,
  InvalidArnException, InvalidAliasNameException, InvalidMarkerException,
  InvalidGrantTokenException, InvalidGrantIdException, LimitExceededException, TagException,
  UnsupportedOperationException, DryRunOperationException, MalformedPolicyDocumentException,
  CustomKeyStoreNotFoundException, InvalidCiphertextException, IncorrectKeyException, InvalidKeyUsageException,
  KMSInvalidSignatureException, KMSInvalidMacException,
  ExpiredImportTokenException, InvalidImportTokenException, IncorrectKeyMaterialException,
  KMSInternalException, KeyUnavailableException, DependencyTimeoutException,
] as const;
