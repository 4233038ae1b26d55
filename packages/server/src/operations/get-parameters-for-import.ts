import { UnsupportedOperationException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS } from '../keys/enums.js';
import { createImportParameters } from '../keys/import.js';
import { resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { enumeration, parseShape, required } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  WrappingAlgorithm: required(enumeration(WRAPPING_ALGORITHMS)),
  WrappingKeySpec: required(enumeration(WRAPPING_KEY_SPECS)),
};

/** The RSA wrapping algorithms Coffer unwraps (RSAES_PKCS1_V1_5 is retired by AWS; SM2 is not offered). */
const SUPPORTED_WRAPPING = new Set(['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256']);

/** GetParametersForImport: a wrapping public key and an import token, both good for 24 hours. */
export const getParametersForImport: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, {
    action: 'kms:GetParametersForImport', key,
    context: { 'kms:wrappingalgorithm': input.WrappingAlgorithm, 'kms:wrappingkeyspec': input.WrappingKeySpec },
  });
  const arn = keyArn(service.realm, key.keyId);
  if (key.origin !== 'EXTERNAL') throw new UnsupportedOperationException(`${arn} origin is ${key.origin} which is not valid for this operation.`);
  if (!SUPPORTED_WRAPPING.has(input.WrappingAlgorithm) || input.WrappingKeySpec === 'SM2') {
    throw new UnsupportedOperationException(`WrappingAlgorithm ${input.WrappingAlgorithm} with WrappingKeySpec ${input.WrappingKeySpec} is not supported by this server.`);
  }
  assertNotPendingDeletion(service.realm, key);
  const parameters = await createImportParameters(service, key.keyId, input.WrappingAlgorithm, input.WrappingKeySpec);
  return {
    KeyId: arn,
    ImportToken: parameters.importToken.toString('base64'),
    PublicKey: parameters.publicKey.toString('base64'),
    ParametersValidTo: epochSeconds(parameters.validTo),
  };
};
