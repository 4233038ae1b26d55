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
  /** Every key the request named or used, as key ARNs. */
  readonly keyArns: readonly string[];
  readonly requestParameters: Readonly<Record<string, unknown>>;
  /** `success`, or the AWS error name. */
  readonly outcome: string;
  readonly errorMessage?: string;
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

export const GENESIS_HASH = '0'.repeat(64);
