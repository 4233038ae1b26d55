import { keyArn, type Realm } from '../keys/arn.js';
import { epochSeconds } from '../keys/key-metadata.js';
import type { GrantRecord } from './grant-record.js';

/** A grant as ListGrants and ListRetirableGrants show it (API reference, GrantListEntry). */
export function grantListEntry(realm: Realm, grant: GrantRecord): Record<string, unknown> {
  return {
    KeyId: keyArn(realm, grant.keyId),
    GrantId: grant.grantId,
    ...(grant.name !== undefined ? { Name: grant.name } : {}),
    CreationDate: epochSeconds(grant.createdAt),
    [grant.granteeIsService ? 'GranteeServicePrincipal' : 'GranteePrincipal']: grant.granteePrincipal,
    ...(grant.retiringPrincipal !== undefined ? { [grant.retiringIsService ? 'RetiringServicePrincipal' : 'RetiringPrincipal']: grant.retiringPrincipal } : {}),
    // Every grant is issued in the server's one account.
    IssuingAccount: `arn:${realm.partition}:iam::${realm.accountId}:root`,
    Operations: [...grant.operations],
    ...(grant.constraints !== undefined ? { Constraints: grant.constraints } : {}),
  };
}
