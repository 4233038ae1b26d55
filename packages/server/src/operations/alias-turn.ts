import type { Service } from '../context.js';
import { LimitExceededException } from '../errors.js';
import { retryingWhileKeyChanges } from '../keys/states.js';

/** AWS's quota of aliases per key. */
export const MAX_ALIASES_PER_KEY = 50;

/**
 * Runs an alias change in its turn. Alias changes take turns (Store.serialize('aliases'), on every
 * node), each reading what it checks (the alias, its keys, their aliases) and writing in its turn:
 * at once, two could each count a key's aliases below the quota and together pass it, or one could
 * move or delete an alias on the strength of checks (permission on the key the alias named, the
 * kinds of its keys) that another's move or delete had made stale meanwhile.
 *
 * ScheduleKeyDeletion takes no turn. A change that points an alias at a key writes on a KeyCondition
 * (keys/states.ts), which the store checks as the change commits; when it no longer holds, `change`
 * runs again and meets the key's new state.
 */
export function inAliasTurn<T>(service: Service, change: () => Promise<T>): Promise<T> {
  return service.store.serialize('aliases', () => retryingWhileKeyChanges(change));
}

/** In turn: the key may take one more alias, or the refusal in AWS's words. */
export async function assertAliasQuota(service: Service, keyId: string): Promise<void> {
  // One page past the quota says how far over it a key is, should one ever be.
  const existing = await service.store.listAliases({ keyId, limit: 2 * MAX_ALIASES_PER_KEY });
  const usage = existing.items.length;
  if (existing.next !== undefined || usage >= MAX_ALIASES_PER_KEY) {
    throw new LimitExceededException(`Aliases per key quota for this account in this region is ${MAX_ALIASES_PER_KEY}, current usage is ${usage}.`);
  }
}
