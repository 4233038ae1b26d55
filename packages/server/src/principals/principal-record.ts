/** Kinds of principal in the server's account. The account root is not stored: it always exists. */
export const PRINCIPAL_KINDS = Object.freeze(['user', 'role'] as const);
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

export interface PrincipalRecord {
  /** `arn:<partition>:iam::<account>:user/<name>` or `...:role/<name>` */
  readonly arn: string;
  readonly kind: PrincipalKind;
  readonly name: string;
  readonly createdAt: number;
}

/** An inline identity policy attached to a user or role. */
export interface IdentityPolicyRecord {
  readonly principalArn: string;
  readonly policyName: string;
  readonly document: string;
  readonly updatedAt: number;
}
