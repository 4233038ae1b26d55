import { NotFoundException, ValidationException } from '../errors.js';
import { aliasNameMember, checkAliasName } from '../keys/alias-name.js';
import { aliasArn } from '../keys/arn.js';
import type { KeyRecord } from '../keys/key-record.js';
import { assertNotAlias, resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion, stillNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { authorizeAliasChange } from './authorize-alias.js';
import { assertAliasQuota, inAliasTurn } from './alias-turn.js';
import type { Operation } from './operation.js';

const shape = { AliasName: aliasNameMember(), TargetKeyId: keyIdMember() };

/** The kinds of key an alias may move between, as AWS groups them (HMAC keys are the MAC-usage ones). */
function keyKind(key: KeyRecord): 'symmetric' | 'HMAC' | 'asymmetric' {
  if (key.keySpec === 'SYMMETRIC_DEFAULT') return 'symmetric';
  return key.keyUsage === 'GENERATE_VERIFY_MAC' ? 'HMAC' : 'asymmetric';
}

export const updateAlias: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  checkAliasName(input.AliasName);
  assertNotAlias(input.TargetKeyId);
  const notFound = () => new NotFoundException(`Alias ${aliasArn(service.realm, input.AliasName)} is not found.`);
  // From the alias's read to its write in turn: every check below is of the key the alias names as it moves.
  return inAliasTurn(service, async () => {
    const key = await resolveKey(service, input.TargetKeyId, 'key');
    const alias = await service.store.getAlias(input.AliasName);
    if (!alias) throw notFound();
    // AWS asks for UpdateAlias on the alias, on the key it leaves and on the key it moves to.
    const previous = await service.store.getKey(alias.targetKeyId);
    await authorizeAliasChange(service, request, 'kms:UpdateAlias', input.AliasName, previous ? [previous, key] : [key]);
    // After the permission check, as for every key: a caller who may not use the key learns nothing of its state.
    assertNotPendingDeletion(service.realm, key);
    if (previous && (keyKind(previous) !== keyKind(key) || previous.keyUsage !== key.keyUsage)) {
      // As AWS: code that uses the alias must not find a key of another kind behind it.
      throw new ValidationException(
        `${aliasArn(service.realm, input.AliasName)} points to a key that is ${keyKind(previous)} with KeyUsage ${previous.keyUsage}; `
        + `the new key must be of the same kind and usage, not ${keyKind(key)} with ${key.keyUsage}. Delete the alias and create it again to move it.`,
      );
    }
    // Moving an alias associates it with the new key, which AWS counts against its quota of aliases
    // (LimitExceededException is among UpdateAlias's errors); pointing it at the key it names already adds none.
    if (alias.targetKeyId !== key.keyId) await assertAliasQuota(service, key.keyId);
    const next = { ...alias, targetKeyId: key.keyId, updatedAt: service.now() };
    if (!(await request.audit.commit((event) => service.store.updateAlias(next, event, stillNotPendingDeletion(key.keyId))))) throw notFound();
    return {};
  });
};
