/** Where the server's keys live: the parts of every ARN it hands out. */
export interface Realm {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

export const keyArn = (realm: Realm, keyId: string): string =>
  `arn:${realm.partition}:kms:${realm.region}:${realm.accountId}:key/${keyId}`;

export const aliasArn = (realm: Realm, aliasName: string): string =>
  `arn:${realm.partition}:kms:${realm.region}:${realm.accountId}:${aliasName}`;

export interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly accountId: string;
  /** `key/<id>` or `alias/<name>` */
  readonly resource: string;
}

/** Splits `arn:partition:service:region:account:resource`; undefined if it is not one. */
export function parseArn(value: string): ParsedArn | undefined {
  const parts = value.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition, service, region, accountId] = parts as [string, string, string, string, string];
  return { partition, service, region, accountId, resource: parts.slice(5).join(':') };
}
