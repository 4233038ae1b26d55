import type { RequestContext, Service } from '../context.js';
import { aliasArn, keyArn } from '../keys/arn.js';
import type { KeyRecord } from '../keys/key-record.js';

/**
 * Alias changes need permission twice over, as in AWS: on the alias (an identity policy, since an
 * alias has no policy of its own) and on every key involved (the key policy).
 */
export async function authorizeAliasChange(
  service: Service, request: RequestContext, action: string, aliasName: string, keys: readonly KeyRecord[],
): Promise<void> {
  // CloudTrail's resources name the keys, then the alias (refused requests too, so both before any check).
  for (const key of keys) request.audit.touchKey(keyArn(service.realm, key.keyId));
  request.audit.touchKey(aliasArn(service.realm, aliasName));
  await service.access.authorizeAccount(request, action, aliasArn(service.realm, aliasName));
  for (const key of keys) await service.access.authorizeKey(request, { action, key });
}
