import { ValidationException } from '../errors.js';
import { enumeration, integer, required, string } from '../validate/shape.js';

/**
 * Input members of the admin API with IAM's limits (IAM API Reference: CreateUser, CreateRole,
 * PutUserPolicy, UpdateAccessKey, ListUsers).
 */
const NAME = '^[\\w+=,.@-]+$';
export const principalNameMember = () => string({ min: 1, max: 64, pattern: NAME });
export const policyNameMember = () => required(string({ min: 1, max: 128, pattern: NAME }));
export const policyDocumentMember = () => required(string({ min: 1, max: 131072, pattern: '^[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+$', sensitive: true }));
export const accessKeyIdMember = () => required(string({ min: 16, max: 128, pattern: '^\\w+$' }));
export const ACCESS_KEY_STATUSES = Object.freeze(['Active', 'Inactive'] as const);
export const statusMember = () => required(enumeration(ACCESS_KEY_STATUSES));
export const maxItemsMember = () => integer({ min: 1, max: 1000 });
export const iamMarkerMember = () => string({ min: 1, max: 320, pattern: '^[\\u0020-\\u00FF]+$' });

/** Operations on a user's or a role's things take one of UserName and RoleName. */
export function oneOfNames(input: { UserName?: string | undefined; RoleName?: string | undefined }, optional = false): void {
  if (input.UserName !== undefined && input.RoleName !== undefined) {
    throw new ValidationException('Specify either UserName or RoleName, not both.');
  }
  if (!optional && input.UserName === undefined && input.RoleName === undefined) {
    throw new ValidationException('Specify the principal by UserName or RoleName.');
  }
}
