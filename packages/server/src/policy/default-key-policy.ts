/**
 * The key policy AWS KMS gives a key created without one (KMS Developer Guide, "Default key
 * policy"): the account root may do everything, which also enables IAM policies in the account.
 * The text is byte for byte what GetKeyPolicy returns for such a key: AWS's pretty-printer puts a
 * space before each colon and opens `[ {` on one line (see `aws kms get-key-policy` in the guide).
 */
const ACCOUNT_ID = /^\d{12}$/;
const PARTITION = /^[a-z][a-z0-9-]*$/;

export function defaultKeyPolicy(partition: string, accountId: string): string {
  if (!PARTITION.test(partition)) throw new TypeError(`defaultKeyPolicy: invalid partition ${JSON.stringify(partition)}`);
  if (!ACCOUNT_ID.test(accountId)) throw new TypeError(`defaultKeyPolicy: invalid account id ${JSON.stringify(accountId)}`);
  return [
    '{',
    '  "Version" : "2012-10-17",',
    '  "Id" : "key-default-1",',
    '  "Statement" : [ {',
    '    "Sid" : "Enable IAM User Permissions",',
    '    "Effect" : "Allow",',
    '    "Principal" : {',
    `      "AWS" : "arn:${partition}:iam::${accountId}:root"`,
    '    },',
    '    "Action" : "kms:*",',
    '    "Resource" : "*"',
    '  } ]',
    '}',
  ].join('\n');
}
