import type { Service } from '../context.js';
import { UnsupportedOperationException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import type { KeyRecord } from '../keys/key-record.js';

/** Only symmetric encryption keys with AWS-made material rotate, as in AWS KMS. */
export function assertRotatable(service: Service, key: KeyRecord, operation: string): void {
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new UnsupportedOperationException(`${keyArn(service.realm, key.keyId)} key spec ${key.keySpec} is not valid for ${operation}.`);
  }
}
