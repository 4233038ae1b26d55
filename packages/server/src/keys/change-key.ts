import { KMSInternalException } from '../errors.js';
import type { RequestAudit } from '../audit/request-audit.js';
import type { Service } from '../context.js';
import type { KeyRecord, KeyVersionRecord } from './key-record.js';

const MAX_ATTEMPTS = 20;

export interface KeyChange {
  readonly next: KeyRecord;
  readonly newVersion?: KeyVersionRecord;
}

/**
 * Applies a change to a key with the store's compare-and-set, re-reading and re-applying when a
 * concurrent writer got there first. `change` sees the freshest record, so its state checks hold
 * at the moment of the write; it returns the fields to change, or throws to refuse. With a
 * request's audit, the change and the request's success record are written in one transaction.
 */
export async function changeKey(
  service: Service,
  key: KeyRecord,
  change: (current: KeyRecord) => Promise<Partial<KeyRecord> & { newVersion?: KeyVersionRecord }> | (Partial<KeyRecord> & { newVersion?: KeyVersionRecord }),
  audit?: RequestAudit,
): Promise<KeyRecord> {
  let current: KeyRecord | undefined = key;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && current; attempt++) {
    const { newVersion, ...fields } = await change(current);
    const next: KeyRecord = { ...current, ...fields, revision: current.revision + 1 };
    const written = audit
      ? await audit.commit((event) => service.store.updateKey(next, newVersion, event))
      : await service.store.updateKey(next, newVersion);
    if (written) return next;
    current = await service.store.getKey(key.keyId);
  }
  if (!current) throw new KMSInternalException('The key was deleted while it was being changed.');
  throw new KMSInternalException('The key is changing too often to apply this change; retry.');
}
