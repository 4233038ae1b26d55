import { UsageError } from './usage.js';

/** How the principal commands name a user or role on the command line. */
export const PRINCIPAL_ARGUMENT = ['PRINCIPAL', 'user/NAME or role/NAME, or the principal\'s ARN'] as const;

/**
 * `user/alice`, `role/deployer`, or `arn:aws:iam::111122223333:user/alice` as the admin API's
 * `{UserName}` or `{RoleName}`. The server checks the name itself (IAM's rules).
 */
export function principalOf(text: string): { UserName: string } | { RoleName: string } {
  const resource = text.startsWith('arn:') ? text.split(':').slice(5).join(':') : text;
  const match = /^(user|role)\/(.+)$/.exec(resource);
  if (!match) {
    throw new UsageError(`'${text}' does not name a user or a role`, 'write user/NAME or role/NAME, e.g. user/alice');
  }
  return match[1] === 'user' ? { UserName: match[2]! } : { RoleName: match[2]! };
}

/** The admin API's epoch seconds, for a table. */
export const dateOf = (seconds: unknown): string =>
  typeof seconds === 'number' ? new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
