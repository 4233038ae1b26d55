/**
 * AWS KMS key identifiers (framework/aws-kms/aws-kms-key-arn.md) and the multi-Region match
 * (framework/aws-kms/aws-kms-mrk-match-for-decrypt.md).
 */

export interface KmsArn {
  readonly partition: string;
  readonly service: 'kms';
  readonly region: string;
  readonly account: string;
  readonly resourceType: 'key' | 'alias';
  readonly resourceId: string;
}

/** "A valid AWS KMS ARN": six `:`-separated parts; resource = type `/` id (later `/` stay in the id). Null otherwise. */
export function parseKmsArn(s: unknown): KmsArn | null {
  if (typeof s !== 'string') return null;
  const parts = s.split(':');
  if (parts.length !== 6) return null;
  const [arn, partition, service, region, account, resource] = parts as [string, string, string, string, string, string];
  if (arn !== 'arn' || partition === '' || service !== 'kms' || region === '' || account === '' || resource === '') return null;
  const slash = resource.indexOf('/');
  if (slash < 0) return null;
  const resourceType = resource.slice(0, slash);
  const resourceId = resource.slice(slash + 1);
  if ((resourceType !== 'key' && resourceType !== 'alias') || resourceId === '') return null;
  return Object.freeze({ partition, service: 'kms', region, account, resourceType, resourceId });
}

export function formatKmsArn(a: KmsArn): string {
  return `arn:${a.partition}:${a.service}:${a.region}:${a.account}:${a.resourceType}/${a.resourceId}`;
}

/** "A valid AWS KMS identifier": an ARN, an alias (`alias/...`) or a bare key id. */
export function isValidKmsIdentifier(s: unknown): s is string {
  if (typeof s !== 'string' || s === '') return false;
  if (s.startsWith('arn:')) return parseKmsArn(s) !== null;
  if (s.startsWith('alias/')) return s.length > 'alias/'.length;
  return !s.includes(':');
}

/** "Identifying an AWS KMS multi-Region ARN": a key (not alias) whose id starts with `mrk-`. */
export function isMultiRegionArn(a: KmsArn): boolean {
  return a.resourceType === 'key' && a.resourceId.startsWith('mrk-');
}

/** "Identifying an AWS KMS multi-Region identifier". */
export function isMultiRegionIdentifier(id: string): boolean {
  if (id.startsWith('arn:')) {
    const a = parseKmsArn(id);
    if (a === null) throw new TypeError('invalid AWS KMS ARN');
    return isMultiRegionArn(a);
  }
  if (id.startsWith('alias/')) return false;
  return id.startsWith('mrk-');
}

/** The region of an ARN identifier, or undefined for aliases and bare key ids. */
export function regionOf(id: string): string | undefined {
  return parseKmsArn(id)?.region;
}

/**
 * framework/aws-kms/aws-kms-mrk-are-unique.md: one multi-Region key named in two regions is
 * ambiguous. Throws, naming every identifier that shares a resource id, if any does.
 */
export function assertMrksAreUnique(identifiers: readonly string[]): void {
  const byId = new Map<string, string[]>();
  for (const id of identifiers) {
    if (!isMultiRegionIdentifier(id)) continue;
    const resourceId = parseKmsArn(id)?.resourceId ?? id;
    byId.set(resourceId, [...(byId.get(resourceId) ?? []), id]);
  }
  const duplicates = [...byId.values()].filter((ids) => ids.length > 1).flat();
  if (duplicates.length > 0) throw new TypeError(`multi-Region keys named more than once: ${duplicates.join(', ')}`);
}

/**
 * AWS KMS MRK Match for Decrypt: identical identifiers match; otherwise both must be
 * multi-Region ARNs equal in every part but the region.
 */
export function mrkMatchForDecrypt(configured: string, providerInfo: string): boolean {
  if (configured === providerInfo) return true;
  const a = parseKmsArn(configured);
  const b = parseKmsArn(providerInfo);
  if (a === null || b === null || !isMultiRegionArn(a) || !isMultiRegionArn(b)) return false;
  return a.partition === b.partition && a.service === b.service && a.account === b.account &&
    a.resourceType === b.resourceType && a.resourceId === b.resourceId;
}
