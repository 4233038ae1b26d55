import { NotFoundException } from '../errors.js';
import { string } from '../validate/shape.js';

/** A key has one policy, named `default` (KMS API reference: "The only valid name is default"). */
export const DEFAULT_POLICY_NAME = 'default';

/** `PolicyName`, with the API's limits: 1..128 word characters. */
export const policyNameMember = () => string({ min: 1, max: 128, pattern: '[\\w]+' });

/** Any other well-formed name names no policy. */
export function assertDefaultPolicyName(name: string | undefined): void {
  if (name !== undefined && name !== DEFAULT_POLICY_NAME) throw new NotFoundException('No such policy exists');
}
