/**
 * Whether `error` (or one of its causes: a store wraps what SQLite threw) is a disk that failed,
 * filled or refuses writes: SQLite's codes (SQLITE_IOERR and its extended codes, SQLITE_FULL,
 * SQLITE_CANTOPEN, SQLITE_READONLY) and the system's. Such a failure is the machine's to fix, and
 * is said so, with the path, instead of as the bare "disk I/O error" SQLite gives.
 */
export function isDiskFault(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (/^SQLITE_(IOERR|FULL|CANTOPEN|READONLY)/.test(code) || SYSTEM_DISK_FAULTS.has(code))) return true;
  }
  return false;
}

const SYSTEM_DISK_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EACCES', 'EFBIG']);

/**
 * SQLite's own error when `error` (or one of its causes) is SQLite finding the file's pages not as
 * it wrote them (SQLITE_CORRUPT and its extended codes, SQLITE_NOTADB): damage to restore from a
 * backup, said so instead of as SQLite's bare "database disk image is malformed".
 */
export function sqliteDamageOf(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')) return e as Error;
  }
  return undefined;
}
