import { InvalidCiphertextException } from '../errors.js';
import { useKey } from '../keys/asymmetric.js';
import { ENCAPSULATION_ALGORITHMS } from '../keys/enums.js';
import { checkDryRun, dryRunMember, grantTokensMember, keyIdMember } from '../validate/members.js';
import { blob, enumeration, parseShape, required } from '../validate/shape.js';
import type { Operation } from './operation.js';

const algorithmMember = () => required(enumeration(ENCAPSULATION_ALGORITHMS));

/** Encapsulate: a fresh 32-byte shared secret and its encapsulation under an ML-KEM key's public key. */
export const encapsulate: Operation = async (service, body, request) => {
  const input = parseShape(body, { KeyId: keyIdMember(), EncapsulationAlgorithm: algorithmMember(), GrantTokens: grantTokensMember(), DryRun: dryRunMember() });
  const usable = await useKey(service, request, {
    keyId: input.KeyId, operation: 'Encapsulate', action: 'kms:Encapsulate', grantOperation: 'Encapsulate',
    usage: 'ENCAPSULATE_DECAPSULATE', algorithm: input.EncapsulationAlgorithm, grantTokens: input.GrantTokens,
  });
  checkDryRun(input.DryRun);
  const { sharedSecret, ciphertext } = usable.family.encapsulate!(usable.material);
  try {
    return {
      KeyId: usable.arn,
      SharedSecret: sharedSecret.toString('base64'),
      SharedSecretCiphertextBlob: ciphertext.toString('base64'),
      EncapsulationAlgorithm: input.EncapsulationAlgorithm,
    };
  } finally {
    sharedSecret.fill(0);
  }
};

/**
 * Decapsulate: the shared secret an encapsulation under the key holds. As AWS documents it, only a
 * ciphertext of another length than the spec's is InvalidCiphertextException; any other gives 32
 * bytes, pseudo-random when it was made under another key or altered (implicit rejection).
 */
export const decapsulate: Operation = async (service, body, request) => {
  const input = parseShape(body, {
    KeyId: keyIdMember(), SharedSecretCiphertextBlob: required(blob({ min: 1, max: 6144 })),
    EncapsulationAlgorithm: algorithmMember(), GrantTokens: grantTokensMember(), DryRun: dryRunMember(),
  });
  const usable = await useKey(service, request, {
    keyId: input.KeyId, operation: 'Decapsulate', action: 'kms:Decapsulate', grantOperation: 'Decapsulate',
    usage: 'ENCAPSULATE_DECAPSULATE', algorithm: input.EncapsulationAlgorithm, grantTokens: input.GrantTokens,
  });
  const sharedSecret = usable.family.decapsulate!(usable.material, input.SharedSecretCiphertextBlob);
  if (!sharedSecret) throw new InvalidCiphertextException(`The ciphertext is not an ML-KEM encapsulation for key spec ${usable.key.keySpec}.`);
  try {
    checkDryRun(input.DryRun);
    return { KeyId: usable.arn, SharedSecret: sharedSecret.toString('base64'), EncapsulationAlgorithm: input.EncapsulationAlgorithm };
  } finally {
    sharedSecret.fill(0);
  }
};
