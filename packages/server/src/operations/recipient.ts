import { UnsupportedOperationException } from '../errors.js';
import type { Member } from '../validate/shape.js';

/**
 * `Recipient` asks KMS to encrypt the result to a Nitro enclave's attested public key. Coffer has
 * no attestation to check, so it refuses the parameter rather than return plaintext the caller
 * asked never to see.
 */
export const recipientMember = (): Member<unknown> => ({
  parse: (value) => value,
});

export function rejectRecipient(recipient: unknown): void {
  if (recipient !== undefined) {
    throw new UnsupportedOperationException('Recipient (attested enclave) requests are not supported by this server.');
  }
}
