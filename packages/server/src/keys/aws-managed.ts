import { randomUUID } from 'node:crypto';
import { SYSTEM_AGENTS, systemAudit } from '../audit/system-audit.js';
import type { Service } from '../context.js';
import { awsPolicyText } from '../policy/default-key-policy.js';
import { aliasArn, keyArn, parseArn, type Realm } from './arn.js';
import type { AliasRecord, KeyRecord } from './key-record.js';

/**
 * AWS managed keys: the keys AWS services make in an account under the aliases AWS predefines,
 * `alias/aws/<service>`. ListAliases lists those aliases, without a TargetKeyId until the key
 * exists, and DescribeKey of one makes its key ("KMS associates the alias with an AWS managed
 * key and returns its KeyId and Arn", API reference). Nothing calls this server through an AWS
 * service, so the key's policy, AWS's for such keys, lets principals of the account use it only
 * through the service (kms:ViaService, which no request here has) and read its metadata: every
 * other use and every change is AccessDeniedException, as for AWS's own.
 */
const PREDEFINED_SERVICES = Object.freeze([
  'acm', 'dynamodb', 'ebs', 'elasticfilesystem', 'es', 'glue', 'kinesisvideo', 'lambda', 'rds', 'redshift', 's3',
  'secretsmanager', 'sns', 'sqs', 'ssm', 'xray',
]);

/** The predefined alias names, in alias-name order. */
export const PREDEFINED_ALIASES: readonly string[] = Object.freeze(PREDEFINED_SERVICES.map((service) => `alias/aws/${service}`).sort());

/** The predefined alias a key identifier names (by name, or by this server's alias ARN), if it names one. */
export function predefinedAliasOf(realm: Realm, identifier: string): string | undefined {
  let name = identifier;
  if (identifier.startsWith('arn:')) {
    const arn = parseArn(identifier);
    if (!arn || arn.service !== 'kms' || arn.partition !== realm.partition || arn.region !== realm.region || arn.accountId !== realm.accountId) return undefined;
    name = arn.resource;
  }
  return PREDEFINED_ALIASES.includes(name) ? name : undefined;
}

/** The user agent of the audit records of the keys and aliases made here. */
const USER_AGENT = SYSTEM_AGENTS.awsManagedKeys;

/** AWS automatically rotates AWS managed keys every year. */
const ROTATION_DAYS = 365;
const DAY_MS = 86_400_000;

/** AWS's key policy for an AWS managed key of `service` (Developer Guide, "AWS managed keys"). */
export function awsManagedKeyPolicy(realm: Realm, service: string): string {
  return awsPolicyText({
    Version: '2012-10-17',
    Id: `auto-${service}-2`,
    Statement: [
      {
        Sid: `Allow access through ${service} for all principals in the account that are authorized to use ${service}`,
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': realm.accountId, 'kms:ViaService': `${service}.${realm.region}.amazonaws.com` } },
      },
      {
        Sid: 'Allow direct access to key metadata to the account',
        Effect: 'Allow',
        Principal: { AWS: `arn:${realm.partition}:iam::${realm.accountId}:root` },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
        Resource: '*',
      },
    ],
  });
}

/**
 * Makes the AWS managed key of a predefined alias, unless it exists: the key, then the alias, each
 * with an audit record of its own (the server acts, as AWS's service would). One at a time on every
 * node, so requests at once make one key.
 */
export async function ensureAwsManagedKey(service: Service, aliasName: string): Promise<void> {
  await service.store.serialize('aws-managed-keys', async () => {
    if (await service.store.getAlias(aliasName)) return;
    const serviceName = aliasName.slice('alias/aws/'.length);
    const now = service.now();
    const keyId = randomUUID();
    const key: KeyRecord = {
      keyId,
      revision: 1,
      createdAt: now,
      description: `Default key that protects my ${serviceName} data when no other key is defined`,
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      origin: 'AWS_KMS',
      keyManager: 'AWS',
      state: 'Enabled',
      tags: [],
      policy: awsManagedKeyPolicy(service.realm, serviceName),
      policySetAt: now,
      policyPrincipals: {},
      rotation: { periodInDays: ROTATION_DAYS, nextRotationDate: now + ROTATION_DAYS * DAY_MS },
      onDemandRotations: 0,
      currentVersion: 1,
    };
    const version = await service.backingKeys.create(keyId, 1, now, undefined, undefined);
    const arn = keyArn(service.realm, keyId);
    const created = systemAudit(USER_AGENT, 'CreateKey', { Description: key.description }, arn);
    await created.commit((event) => service.store.createKey(key, version, event));
    const alias: AliasRecord = { aliasName, targetKeyId: keyId, createdAt: now, updatedAt: now };
    const named = systemAudit(USER_AGENT, 'CreateAlias', { AliasName: aliasName, TargetKeyId: keyId }, arn);
    // As a request's CreateAlias: the key, then the alias.
    named.touchKey(aliasArn(service.realm, aliasName));
    await named.commit((event) => service.store.createAlias(alias, event));
  });
}
