import { UnsupportedOperationException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { currentMaterial } from '../keys/asymmetric.js';
import { resolveKeyReference } from '../keys/resolve.js';
import { KEY_SPEC_TABLE } from '../keys/specs/index.js';
import { algorithmFields } from '../keys/key-metadata.js';
import { assertEnabled } from '../keys/states.js';
import { grantTokensMember, keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), GrantTokens: grantTokensMember() };

/** GetPublicKey: the public key of an asymmetric key as DER SubjectPublicKeyInfo, with its usage. */
export const getPublicKey: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const { key, alias } = await resolveKeyReference(service, input.KeyId, 'key-or-alias');
  await service.access.authorizeKey(request, {
    action: 'kms:GetPublicKey', key, grantOperation: 'GetPublicKey', requestAlias: alias, grantTokens: input.GrantTokens,
  });
  const arn = keyArn(service.realm, key.keyId);
  const family = KEY_SPEC_TABLE[key.keySpec]?.family;
  if (!family?.publicKey) throw new UnsupportedOperationException(`${arn} key spec ${key.keySpec} is not valid for GetPublicKey.`);
  assertEnabled(service.realm, key);
  const publicKey = family.publicKey(await currentMaterial(service, key));
  return {
    KeyId: arn,
    PublicKey: publicKey.toString('base64'),
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    KeyUsage: key.keyUsage,
    ...algorithmFields(key),
  };
};
