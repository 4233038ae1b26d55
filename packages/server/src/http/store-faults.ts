import type { AuditEvent } from '../audit/record.js';
import { RootKeyBehindError } from '../root/keyring-root-key.js';
import { StoreFullError, StoreUnavailableError, StoreUnusableError, type Store } from '../store/store.js';

/** How the HTTP layer answers a store's own error: the log line's name, the status, the message. */
export interface StoreFault {
  /** `store unavailable`, `store full` or `store unusable`: the log line, with the store's detail. */
  readonly line: string;
  /** 503 (KMS DependencyTimeoutException, STS ServiceUnavailable) or 500 (KMSInternalException, STS InternalFailure). */
  readonly status: 500 | 503;
  readonly message: string;
}

/**
 * The store errors a client is told about by name, the same on every store (docs/errors.md):
 *
 * - unreachable or too slow (PostgreSQL down): 503, nothing was acknowledged, retry; so is a node
 *   that cannot open the root key another node made current, with a message that says so;
 * - out of space (SQLite `SQLITE_FULL`, PostgreSQL 53100): 500, as AWS's KMSInternalException ("an
 *   internal exception occurred; the request can be retried"): the store answered at once and
 *   refused, which is no timeout; nothing was written, and a retry succeeds once space is freed;
 * - unusable until a restart (SQLite: a failed WAL sync, its files gone): 500; the write that
 *   found it is told its outcome is unknown, every later one that it was not carried out.
 *
 * The store's detail (a file name, a SQLSTATE, a host) goes to the log only.
 * Undefined for any other error.
 */
export function storeFault(error: unknown, requestId: string): StoreFault | undefined {
  if (error instanceof RootKeyBehindError) {
    return {
      line: 'root key unavailable on this node', status: 503,
      message: `This node cannot use the current root key yet (it was rotated on another node); retry the request. Request id: ${requestId}`,
    };
  }
  if (error instanceof StoreUnavailableError) {
    return { line: 'store unavailable', status: 503, message: `The key store is unavailable; retry the request. Request id: ${requestId}` };
  }
  if (error instanceof StoreFullError) {
    return {
      line: 'store full', status: 500,
      message: `The key store is out of space: the request was not carried out and nothing was changed; retry once space is freed. Request id: ${requestId}`,
    };
  }
  if (error instanceof StoreUnusableError) {
    // The write that found the store unusable was made, or may have been: its caller is not told otherwise.
    const outcome = error.outcomeUnknown
      ? 'this request may have been carried out, so check its effect before retrying'
      : 'the request was not carried out';
    return {
      line: 'store unusable', status: 500,
      message: `The key store takes no writes until the server is restarted: ${outcome}. Request id: ${requestId}`,
    };
  }
  return undefined;
}

/**
 * Appends a refused request's failure record, and returns what its answer waits for. An unusable
 * store is not asked (it refuses every write, and storeFault's line said why). After a store that
 * did not answer in time (StoreUnavailableError: PostgreSQL down, or a lock held outside Coffer)
 * the answer does not wait for the record: the store may not answer for it either, and waiting
 * held a 503 for another statement timeout or two. The record is still written if the store takes
 * it; `failed` hears of it if not.
 */
export function appendFailureRecord(store: Store, event: AuditEvent, cause: unknown, failed: (error: unknown) => void): Promise<void> {
  if (cause instanceof StoreUnusableError) return Promise.resolve();
  const appended = store.appendAudit(event).catch(failed);
  return cause instanceof StoreUnavailableError ? Promise.resolve() : appended;
}
