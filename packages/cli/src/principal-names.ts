import { callerIdentity } from './admin-client.js';
import type { Connection } from './connection.js';
import { UsageError } from './usage.js';

/** How the principal commands name a user or role on the command line. */
export const PRINCIPAL_ARGUMENT = ['PRINCIPAL', 'user/NAME or role/NAME, or the principal\'s ARN'] as const;

/**
 * `user/alice`, `role/deployer`, or `arn:aws:iam::111122223333:user/alice` as the admin API's
 * `{UserName}` or `{RoleName}`. The server checks the name itself (IAM's rules). An ARN must be an
 * IAM ARN of the account and partition the connection's credentials belong to (asked of the
 * server): one of another account must not reach the local principal of the same name.
 */
export async function principalOf(text: string, connection: () => Connection): Promise<{ UserName: string } | { RoleName: string }> {
  let resource = text;
  if (text.startsWith('arn:')) {
    const arn = /^arn:([^:]+):iam::(\d{12}):(.*)$/.exec(text);
    if (!arn) throw new UsageError(`'${text}' is not the ARN of an IAM user or role`, 'write arn:PARTITION:iam::ACCOUNT:user/NAME, or user/NAME');
    const caller = String((await callerIdentity(connection())).Arn ?? '').split(':');
    if (arn[1] !== caller[1] || arn[2] !== caller[4]) {
      throw new UsageError(`'${text}' is not in this server's account`, `its principals are arn:${caller[1]}:iam::${caller[4]}:...`);
    }
    resource = arn[3]!;
  }
  const match = /^(user|role)\/(.+)$/.exec(resource);
  if (!match) {
    throw new UsageError(`'${text}' does not name a user or a role`, 'write user/NAME or role/NAME, e.g. user/alice');
  }
  return match[1] === 'user' ? { UserName: match[2]! } : { RoleName: match[2]! };
}

