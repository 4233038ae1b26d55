import { NotAuthorizedException, ValidationException } from '../errors.js';
import { required, string } from '../validate/shape.js';

export const ALIAS_PREFIX = 'alias/';
const RESERVED_PREFIX = 'alias/aws/';

/** AliasName's pattern in AWS's model; alias ARNs share its characters. */
const ALIAS_NAME_PATTERN = '^[a-zA-Z0-9:/_-]+$';
const ALIAS_NAME = new RegExp(ALIAS_NAME_PATTERN);

/** AliasName's length limit in AWS's model. */
export const MAX_ALIAS_NAME_LENGTH = 256;

export const aliasNameMember = () => required(string({ min: 1, max: MAX_ALIAS_NAME_LENGTH, pattern: ALIAS_NAME_PATTERN }));

/** Whether an alias could have this name: one that could not is not looked up in the store at all. */
export const isPossibleAliasName = (name: string): boolean => ALIAS_NAME.test(name);

/** AWS's rules for a name a caller may create, change or delete. */
export function checkAliasName(name: string): void {
  if (!name.startsWith(ALIAS_PREFIX) || name.length === ALIAS_PREFIX.length) {
    throw new ValidationException('Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  }
  if (name.startsWith(RESERVED_PREFIX)) {
    throw new NotAuthorizedException(`The alias ${name} begins with alias/aws/, which is reserved for AWS managed keys.`);
  }
  // The wire pattern admits ':' (alias ARNs share it), but AWS refuses it in a name it is to keep.
  if (name.includes(':')) throw new ValidationException(`${name} contains invalid characters for an alias`);
}
