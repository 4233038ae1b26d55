import type { Service } from '../context.js';
import { KMSInvalidStateException, UnsupportedOperationException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { pendingExpired } from '../keys/import.js';
import type { KeyRecord } from '../keys/key-record.js';

/**
 * Only symmetric encryption keys rotate, as in AWS KMS: asymmetric and HMAC keys neither rotate
 * automatically nor on demand. AWS refuses RotateKeyOnDemand on them without a message.
 */
export function assertRotatable(service: Service, key: KeyRecord, operation: string): void {
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    if (operation === 'RotateKeyOnDemand') throw new UnsupportedOperationException();
    throw new UnsupportedOperationException(`${keyArn(service.realm, key.keyId)} key spec ${key.keySpec} is not valid for ${operation}.`);
  }
  if (key.origin === 'EXTERNAL') {
    // Imported material rotates only on demand, to new material imported for it (NEW_KEY_MATERIAL).
    const arn = keyArn(service.realm, key.keyId);
    if (operation === 'RotateKeyOnDemand') {
      if (key.pendingMaterial && !pendingExpired(key, service.now())) return;
      throw new KMSInvalidStateException(`No available key material pending rotation for the key: ${arn}.`);
    }
    throw new UnsupportedOperationException(`${arn} origin is EXTERNAL which is not valid for this operation.`);
  }
}
