import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundException, ThrottlingException } from '../errors.js';
import type { RequestAudit } from '../audit/request-audit.js';
import type { Service } from '../context.js';
import type { Store } from '../store/store.js';
import { Turns } from '../store/turns.js';
import { keyArn } from './arn.js';
import { effectiveKey, storedKey } from './import.js';
import type { KeyRecord, KeyVersionRecord } from './key-record.js';

/**
 * How long a change keeps trying while other nodes' changes to the same key win. Every lost round
 * is another change made, so a burst of changes to one key drains; only a key changed without
 * pause for this long turns one away.
 */
const RETRY_FOR_MS = 5_000;
/** The longest random pause before a retry, so that nodes do not collide again in step. */
const MAX_BACKOFF_MS = 20;

/**
 * Changes of one key take turns within this process (one queue per store, so per node), so that
 * its own requests never make each other lose the compare-and-set: only another node's change can
 * come between a read and its write. Without it, 60 TagResource at once on one key lost the
 * compare-and-set so often that many were answered KMSInternalException.
 */
const turnsByStore = new WeakMap<Store, Turns>();

function keyTurns(store: Store): Turns {
  let turns = turnsByStore.get(store);
  if (!turns) {
    turns = new Turns();
    turnsByStore.set(store, turns);
  }
  return turns;
}

/**
 * What a change of a key needs of the service: a running server's, or a tool's that opened the
 * store itself (`coffer store reset-key-policy`, store/reset-key-policy.ts).
 */
export type KeyChanger = Pick<Service, 'store' | 'realm' | 'now'>;

export interface KeyChange {
  readonly next: KeyRecord;
  readonly newVersion?: KeyVersionRecord;
}

/**
 * Applies a change to a key with the store's compare-and-set, re-reading and re-applying when a
 * concurrent writer got there first. `change` sees the freshest record (as effectiveKey makes it), so its state checks hold
 * at the moment of the write; it returns the fields to change, or throws to refuse. With a
 * request's audit, the change and the request's success record are written in one transaction.
 */
export function changeKey(
  service: KeyChanger,
  key: KeyRecord,
  change: (current: KeyRecord) => Promise<Partial<KeyRecord> & { newVersion?: KeyVersionRecord }> | (Partial<KeyRecord> & { newVersion?: KeyVersionRecord }),
  audit?: RequestAudit,
): Promise<KeyRecord> {
  return keyTurns(service.store).run(key.keyId, () => applyChange(service, key, change, audit));
}

async function applyChange(
  service: KeyChanger,
  key: KeyRecord,
  change: Parameters<typeof changeKey>[2],
  audit: RequestAudit | undefined,
): Promise<KeyRecord> {
  const deadline = Date.now() + RETRY_FOR_MS;
  // Changes see the key as it stands (an expired import's PendingImport) and apply to it as stored.
  let current: KeyRecord | undefined = storedKey(key);
  for (let attempt = 0; current; attempt++) {
    const { newVersion, ...fields } = await change(effectiveKey(current, service.now()));
    const next: KeyRecord = { ...current, ...fields, revision: current.revision + 1 };
    const written = audit
      ? await audit.commit((event) => service.store.updateKey(next, newVersion, event))
      : await service.store.updateKey(next, newVersion);
    if (written) return next;
    if (Date.now() >= deadline) {
      throw new ThrottlingException('The key is being changed too often to apply this change; retry the request.');
    }
    // The first retry at once (the record read first is often just stale); then a random pause.
    if (attempt > 0) await sleep(Math.random() * MAX_BACKOFF_MS);
    current = await service.store.getKey(key.keyId);
  }
  // Deleted (the deletion sweep) since the request read it: answered as a request that came after.
  throw new NotFoundException(`Key '${keyArn(service.realm, key.keyId)}' does not exist`);
}
