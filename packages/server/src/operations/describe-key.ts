import { NotFoundException } from '../errors.js';
import { ensureAwsManagedKey, predefinedAliasOf } from '../keys/aws-managed.js';
import { keyMetadata } from '../keys/key-metadata.js';
import { resolveKeyReference, type KeyReference } from '../keys/resolve.js';
import { grantTokensMember, keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), GrantTokens: grantTokensMember() };

/** DescribeKey. A predefined alias (`alias/aws/<service>`) without a key yet gets its AWS managed key first, as in AWS. */
export const describeKey: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const { key, alias } = await resolveKeyReference(service, input.KeyId, 'key-or-alias').catch(async (error: unknown): Promise<KeyReference> => {
    const predefined = error instanceof NotFoundException ? predefinedAliasOf(service.realm, input.KeyId) : undefined;
    if (predefined === undefined) throw error;
    await ensureAwsManagedKey(service, predefined);
    return resolveKeyReference(service, input.KeyId, 'key-or-alias');
  });
  await service.access.authorizeKey(request, {
    action: 'kms:DescribeKey', key, grantOperation: 'DescribeKey', requestAlias: alias, grantTokens: input.GrantTokens,
  });
  const current = await service.store.getKeyVersion(key.keyId, key.currentVersion);
  return { KeyMetadata: keyMetadata(service.realm, key, current?.materialId) };
};
