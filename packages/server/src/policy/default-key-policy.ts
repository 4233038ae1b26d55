/**
 * The key policy AWS KMS gives a key created without one (KMS Developer Guide, "Default key
 * policy"): the account root may do everything, which also enables IAM policies in the account.
 * The text is byte for byte what GetKeyPolicy returns for such a key: AWS's pretty-printer puts a
 * space before each colon and opens `[ {` on one line (see `aws kms get-key-policy` in the guide;
 * test/policy.test.ts holds the text).
 */
const ACCOUNT_ID = /^\d{12}$/;
const PARTITION = /^[a-z][a-z0-9-]*$/;

export function defaultKeyPolicy(partition: string, accountId: string): string {
  if (!PARTITION.test(partition)) throw new TypeError(`defaultKeyPolicy: invalid partition ${JSON.stringify(partition)}`);
  if (!ACCOUNT_ID.test(accountId)) throw new TypeError(`defaultKeyPolicy: invalid account id ${JSON.stringify(accountId)}`);
  return awsPolicyText({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
      Action: 'kms:*',
      Resource: '*',
    }],
  });
}

/**
 * A policy document as KMS prints the policies it writes itself (the default policy, AWS managed
 * keys' policies): two-space indents, ` : ` between name and value, arrays on one line (`[ "a", "b" ]`,
 * `[ {` ... `}, {` ... `} ]`). Policies that callers set are returned as they were set, not this way.
 */
export function awsPolicyText(value: unknown, depth = 0): string {
  if (Array.isArray(value)) return value.length === 0 ? '[ ]' : `[ ${value.map((item) => awsPolicyText(item, depth)).join(', ')} ]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const members = Object.entries(value);
  if (members.length === 0) return '{ }';
  const indent = '  '.repeat(depth + 1);
  const lines = members.map(([name, member]) => `${indent}${JSON.stringify(name)} : ${awsPolicyText(member, depth + 1)}`);
  return `{\n${lines.join(',\n')}\n${'  '.repeat(depth)}}`;
}
