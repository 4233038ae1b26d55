/**
 * Why a backup or a restore stopped: one class per failure an operator must tell apart, each with
 * a message that says what to do. None ever carries a passphrase, a key or a row's content.
 */
export abstract class BackupError extends Error {
  abstract readonly code: 'format' | 'integrity' | 'key' | 'content' | 'target';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The file is not a Coffer backup archive, or one of a format version this Coffer does not read. */
export class BackupFormatError extends BackupError {
  readonly code = 'format';
}

/** The archive does not verify: altered, truncated, or damaged. Nothing was restored. */
export class BackupIntegrityError extends BackupError {
  readonly code = 'integrity';
}

/** The passphrase or private key given does not open the archive. Nothing was restored. */
export class BackupKeyError extends BackupError {
  readonly code = 'key';
}

/**
 * The archive opens and verifies, but its rows are not a store a server could have had (a grant of
 * a key it lacks, a gap in the audit chain, a row twice): only an archive made or altered by
 * someone holding its passphrase or public key reads so. Nothing was restored.
 */
export class BackupContentError extends BackupError {
  readonly code = 'content';
}

/** The restore target already holds data: a restore only fills an empty store. */
export class RestoreTargetNotEmptyError extends BackupError {
  readonly code = 'target';
}
