/**
 * One audit record per request, success or failure, in a CloudTrail-like shape. It never holds a
 * plaintext, a data key, a ciphertext, a grant token or a secret: request parameters pass through
 * an allowlist (sanitize.ts), so a member added later is left out until someone decides it is safe.
 */
export interface AuditEvent {
  /** Epoch ms. */
  readonly time: number;
  readonly requestId: string;
  readonly principalArn?: string;
  readonly accessKeyId?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  /** The operation, e.g. `Encrypt`, or `CofferAdmin.CreateUser`. */
  readonly operation?: string;
  /**
   * Every key the request named or used, as key ARNs, and the alias an alias operation changed, as
   * its alias ARN (CloudTrail's `resources`).
   */
  readonly keyArns: readonly string[];
  readonly requestParameters: Readonly<Record<string, unknown>>;
  /** `success`, or the AWS error name. */
  readonly outcome: string;
  readonly errorMessage?: string;
  /**
   * CloudTrail's `additionalEventData`: what the request did that its parameters do not say (the
   * key material a cryptographic operation used, the grant a grant token named). Never a secret.
   */
  readonly additionalEventData?: Readonly<Record<string, string>>;
}

/** An event as stored: numbered and chained to its predecessor. */
export interface AuditRecord extends AuditEvent {
  /** 1, 2, 3, ... with no gaps. */
  readonly seq: number;
  /** The `hash` of record seq-1; 64 zeros for the first record. */
  readonly prevHash: string;
  /** HMAC-SHA256 over prevHash and this record's canonical form, hex. */
  readonly hash: string;
}

/**
 * A stored record that does not read as one: changed or damaged behind the server's back. A
 * listing shows it in its place instead of failing, so one bad row never hides the rest of the
 * trail; verifying the chain (verify-trail.ts) names it as the place the chain breaks.
 */
export interface UnreadableAuditRecord {
  readonly seq: number;
  /** Why, in words that never repeat the stored text. */
  readonly unreadable: string;
}

/** The record stored at `seq` as `text`, or an UnreadableAuditRecord: never throws. */
export function parseStoredRecord(seq: number, text: string): AuditRecord | UnreadableAuditRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { seq, unreadable: 'it is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { seq, unreadable: 'it is not an audit record' };
  if ((value as { seq?: unknown }).seq !== seq) return { seq, unreadable: 'it names another seq than the one it is stored under' };
  return value as AuditRecord;
}

export function isUnreadable(record: AuditRecord | UnreadableAuditRecord): record is UnreadableAuditRecord {
  return 'unreadable' in record;
}

export const GENESIS_HASH = '0'.repeat(64);
