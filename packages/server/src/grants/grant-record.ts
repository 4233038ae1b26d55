/** The operations a grant can allow, as AWS names them. */
export const GRANT_OPERATIONS = Object.freeze([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom',
  'ReEncryptTo', 'Sign', 'Verify', 'GetPublicKey', 'CreateGrant', 'RetireGrant', 'DescribeKey',
  'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'GenerateMac', 'VerifyMac',
  'DeriveSharedSecret', 'Encapsulate', 'Decapsulate',
] as const);
export type GrantOperation = (typeof GRANT_OPERATIONS)[number];

/** Whether a string has the form of a grant id: 64 lowercase hex, as newGrantId makes them (and AWS's look). */
export const isGrantId = (value: string): boolean => /^[0-9a-f]{64}$/.test(value);

export interface GrantConstraints {
  /** The request's encryption context must contain every pair. */
  readonly EncryptionContextSubset?: Readonly<Record<string, string>>;
  /** The request's encryption context must be exactly these pairs. */
  readonly EncryptionContextEquals?: Readonly<Record<string, string>>;
  /**
   * The request must be made on behalf of this AWS resource (aws:SourceArn). No request to this
   * server is (no AWS service calls it), so such a grant allows nothing but its RetireGrant, to
   * which AWS does not apply the constraint.
   */
  readonly SourceArn?: string;
}

export interface GrantRecord {
  readonly grantId: string;
  readonly keyId: string;
  /** The token that makes the grant usable at once in the request that carries it. */
  readonly grantToken: string;
  readonly name?: string;
  /** An IAM principal's ARN, or with `granteeIsService` an AWS service principal (`s3.amazonaws.com`). */
  readonly granteePrincipal: string;
  /** Given as GranteeServicePrincipal: a service principal, which no caller of this server is. */
  readonly granteeIsService?: true;
  /**
   * A user or role grantee's creation time: the grant is for that principal, not for one created
   * again under its name later (absent in grants made before it was kept: their creation time decides).
   */
  readonly granteeCreatedAt?: number;
  readonly retiringPrincipal?: string;
  /** A user or role retiring principal's creation time, as granteeCreatedAt is the grantee's. */
  readonly retiringCreatedAt?: number;
  /** Given as RetiringServicePrincipal. */
  readonly retiringIsService?: true;
  /** The principal that created the grant; it may retire and revoke it. */
  readonly issuingPrincipal: string;
  readonly operations: readonly GrantOperation[];
  readonly constraints?: GrantConstraints;
  readonly createdAt: number;
}
