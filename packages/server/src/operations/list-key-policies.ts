import { resolveKey } from '../keys/resolve.js';
import { decodeMarker, keyIdMember, limitMember, markerMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { DEFAULT_POLICY_NAME } from './key-policy-name.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), Limit: limitMember(1000), Marker: markerMember() };

/** ListKeyPolicies: every key has exactly one policy, `default`, so there is never a next page. */
export const listKeyPolicies: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  // Coffer never issues a marker here, so every marker is refused, as one from another listing is.
  decodeMarker('ListKeyPolicies', input.Marker);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:ListKeyPolicies', key });
  return { PolicyNames: [DEFAULT_POLICY_NAME], Truncated: false };
};
