import { SerializationException, UnsupportedOperationException } from '../errors.js';
import { blob, enumeration, type Member } from '../validate/shape.js';

/** RecipientInfo's KeyEncryptionAlgorithm: AWS's enum has the one value. */
const KEY_ENCRYPTION_ALGORITHMS = Object.freeze(['RSAES_OAEP_SHA_256'] as const);

/**
 * `Recipient` asks KMS to encrypt the result to a Nitro enclave's attested public key. Coffer has
 * no attestation to check, so it refuses the parameter rather than return plaintext the caller
 * asked never to see. It is still parsed as AWS's RecipientInfo structure first, so that a member
 * of the wrong JSON type or an unknown algorithm is answered as AWS answers it.
 */
export const recipientMember = (): Member<unknown> => ({
  parse(value, path, violations) {
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SerializationException(`Expected an object for member '${path}'`);
    }
    const info = value as Record<string, unknown>;
    enumeration(KEY_ENCRYPTION_ALGORITHMS).parse(info.KeyEncryptionAlgorithm ?? undefined, `${path}.keyEncryptionAlgorithm`, violations);
    blob({ min: 1, max: 262144 }).parse(info.AttestationDocument ?? undefined, `${path}.attestationDocument`, violations);
    return value;
  },
});

export function rejectRecipient(recipient: unknown): void {
  if (recipient !== undefined) {
    throw new UnsupportedOperationException('Recipient (attested enclave) requests are not supported by this server.');
  }
}
