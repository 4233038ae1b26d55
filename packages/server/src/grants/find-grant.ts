import type { Service } from '../context.js';
import { InvalidGrantIdException, NotFoundException } from '../errors.js';
import type { KeyRecord } from '../keys/key-record.js';
import { isGrantId, type GrantRecord } from './grant-record.js';

/** A grant id that is not in the form of one is InvalidGrantIdException, wherever a request names one. */
export function checkGrantIdForm(grantId: string): void {
  if (!isGrantId(grantId)) throw new InvalidGrantIdException(`Invalid grant id: ${grantId}`);
}

/** The key's grant with this id, for RetireGrant and RevokeGrant: a malformed id or another key's grant is refused. */
export async function findGrantOfKey(service: Service, key: KeyRecord, grantId: string): Promise<GrantRecord> {
  checkGrantIdForm(grantId);
  const grant = await service.store.getGrant(grantId);
  if (!grant || grant.keyId !== key.keyId) throw new NotFoundException(`Grant ID ${grantId} not found`);
  return grant;
}
