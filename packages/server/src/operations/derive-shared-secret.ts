import { ValidationException } from '../errors.js';
import { useKey } from '../keys/asymmetric.js';
import { KEY_AGREEMENT_ALGORITHMS } from '../keys/enums.js';
import { checkDryRun, dryRunMember, grantTokensMember, keyIdMember } from '../validate/members.js';
import { blob, enumeration, parseShape, required } from '../validate/shape.js';
import { recipientMember, rejectRecipient } from './recipient.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  KeyAgreementAlgorithm: required(enumeration(KEY_AGREEMENT_ALGORITHMS)),
  PublicKey: required(blob({ min: 1, max: 8192 })),
  GrantTokens: grantTokensMember(),
  DryRun: dryRunMember(),
  Recipient: recipientMember(),
};

/** DeriveSharedSecret: raw ECDH (the x-coordinate) of the key's private key and the peer's SPKI public key. */
export const deriveSharedSecret: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  rejectRecipient(input.Recipient);
  const usable = await useKey(service, request, {
    keyId: input.KeyId, operation: 'DeriveSharedSecret', action: 'kms:DeriveSharedSecret', grantOperation: 'DeriveSharedSecret',
    usage: 'KEY_AGREEMENT', algorithm: input.KeyAgreementAlgorithm, grantTokens: input.GrantTokens,
    context: { 'kms:keyagreementalgorithm': input.KeyAgreementAlgorithm },
  });
  const secret = usable.family.deriveSharedSecret!(usable.material, input.PublicKey);
  // AWS answers a public key it cannot use with a ValidationException without a message.
  if (!secret) throw new ValidationException();
  checkDryRun(input.DryRun);
  try {
    return {
      KeyId: usable.arn,
      SharedSecret: secret.toString('base64'),
      KeyAgreementAlgorithm: input.KeyAgreementAlgorithm,
      KeyOrigin: usable.key.origin,
    };
  } finally {
    secret.fill(0);
  }
};
