/** The parts of KMS and admin answers the console reads (AWS KMS API Reference names). */

export interface KeyMetadata {
  KeyId: string;
  Arn: string;
  CreationDate: number;
  Enabled: boolean;
  Description?: string;
  KeyUsage: string;
  KeyState: string;
  DeletionDate?: number;
  PendingDeletionWindowInDays?: number;
  Origin: string;
  KeyManager: string;
  KeySpec: string;
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  MultiRegion?: boolean;
  CurrentKeyMaterialId?: string;
}

export interface AliasListEntry {
  AliasName: string;
  AliasArn: string;
  TargetKeyId?: string;
  CreationDate?: number;
}

export interface RotationEntry {
  KeyId: string;
  RotationDate: number;
  RotationType: string;
  KeyMaterialId?: string;
}

export interface GrantEntry {
  GrantId: string;
  Name?: string;
  /** One of the two: an IAM principal's ARN, or a service principal (GranteeServicePrincipal). */
  GranteePrincipal?: string;
  GranteeServicePrincipal?: string;
  RetiringPrincipal?: string;
  RetiringServicePrincipal?: string;
  IssuingAccount?: string;
  Operations: string[];
  CreationDate?: number;
  Constraints?: { EncryptionContextEquals?: Record<string, string>; EncryptionContextSubset?: Record<string, string>; SourceArn?: string };
}

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface Principal {
  Name: string;
  Id: string;
  Arn: string;
  CreateDate: number;
  Kind: 'user' | 'role';
}

export interface AccessKeyMetadata {
  UserName?: string;
  RoleName?: string;
  AccessKeyId: string;
  Status: 'Active' | 'Inactive';
  CreateDate: number;
}

export interface AuditEvent {
  eventTime: string;
  /** null: the request named no operation Coffer has (refused before anything else was read). */
  eventName: string | null;
  eventSource: string;
  eventID: string;
  /** Absent for the server's own actions (eventType AwsServiceEvent): there was no request. */
  requestID?: string;
  sourceIPAddress?: string;
  userIdentity: { type: string; arn?: string; accessKeyId?: string };
  errorCode?: string;
  errorMessage?: string;
  resources?: { ARN: string }[];
  seq: number;
}

/**
 * What QueryAuditRecords answers in place of a stored record that does not read as one (damaged
 * behind the server's back): its number and why, in the server's words (docs/audit.md).
 */
export interface UnreadableAuditRecord {
  seq: number;
  unreadable: string;
}

/** One entry of QueryAuditRecords' `Records`. */
export type AuditEntry = AuditEvent | UnreadableAuditRecord;

export function isUnreadable(entry: AuditEntry): entry is UnreadableAuditRecord {
  return typeof (entry as Partial<UnreadableAuditRecord>).unreadable === 'string';
}

/** `CofferAdmin.GetRequestMetrics` (served by the observability side of the server). */
export interface RequestMetrics {
  IntervalSeconds: number;
  Buckets: { Start: number; Operations: Record<string, { Requests: number; Errors: number; Throttled: number }> }[];
}
