import type { ExpirationModel, KeySpec, KeyState, KeyUsage, Origin, RotationType } from './enums.js';

export interface Tag {
  readonly TagKey: string;
  readonly TagValue: string;
}

/**
 * A KMS key as the store keeps it. Immutable: changes produce a new record with `revision + 1`,
 * and the store accepts the write only if the stored revision is still the one it was read at.
 */
export interface KeyRecord {
  readonly keyId: string;
  /** Bumped on every change; the store's compare-and-set token. */
  readonly revision: number;
  readonly createdAt: number;
  readonly description: string;
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsage;
  readonly origin: Origin;
  /** `AWS` for an AWS managed key (keys/aws-managed.ts); absent for a customer managed key. */
  readonly keyManager?: 'AWS';
  readonly state: KeyState;
  /** Epoch ms at which the key is deleted, while the state is PendingDeletion. */
  readonly deletionDate?: number;
  readonly pendingWindowInDays?: number;
  readonly tags: readonly Tag[];
  /** The key policy document as given; enforcement comes with access control. */
  readonly policy?: string;
  /**
   * When `policy` was set (epoch ms; absent in records written before it was kept): a user or role
   * created after it is not the one its ARN in the policy named (Principal.arnNamesIt).
   */
  readonly policySetAt?: number;
  /**
   * The users and roles of this account that `policy` names, each with the creation time of the
   * principal it meant (the one that existed when the policy was set). AWS binds a policy to its
   * principals' unique ids: one deleted and created again under its name is another principal,
   * which the policy does not name however soon it came. Absent in records written before it was
   * kept; `policySetAt` decides for those.
   */
  readonly policyPrincipals?: Readonly<Record<string, number>>;
  /** Automatic rotation, when enabled. */
  readonly rotation?: { readonly periodInDays: number; readonly nextRotationDate: number };
  readonly onDemandRotations: number;
  /** The newest backing-key version: the one new ciphertexts use; 0 before material is first imported. */
  readonly currentVersion: number;
  /**
   * Origin EXTERNAL: how the imported material expires, while it is imported. Absent before the
   * first import and after DeleteImportedKeyMaterial; the material's version stays, wrapped, so
   * that only the same material can be imported again.
   */
  readonly importedMaterial?: { readonly expirationModel: ExpirationModel; readonly validTo?: number };
  /**
   * Origin EXTERNAL, symmetric: the KeyMaterialDescription of the current material. Beside
   * `importedMaterial`, not in it, because AWS keeps a material's description while the material is
   * deleted: a re-import that gives none keeps the one it had. Moves with the material at a rotation.
   */
  readonly currentMaterialDescription?: string;
  /**
   * Origin EXTERNAL: each earlier (NON_CURRENT) imported material, with its expiry if it has one.
   * The key stays bound to every material it rotated through, so, as in AWS, the key is
   * PendingImport once any of them expires, until that material is imported again
   * (ImportKeyMaterial with its KeyMaterialId). A material that stopped being current before this
   * was kept has no entry: its expiry is not known (docs/key-specs.md, upgrading).
   */
  readonly earlierMaterials?: readonly EarlierMaterial[];
  /**
   * Origin EXTERNAL, symmetric: new material imported with ImportType NEW_KEY_MATERIAL and not yet
   * rotated to (AWS's PENDING_ROTATION). Kept in the key record, not as a version, because it is not
   * yet part of the key: RotateKeyOnDemand stores it as version `version`, which its wrapping is
   * already bound to, and DeleteImportedKeyMaterial of its id drops it.
   */
  readonly pendingMaterial?: PendingMaterial;
}

export interface EarlierMaterial {
  readonly version: number;
  /** Absent: the material does not expire (KEY_MATERIAL_DOES_NOT_EXPIRE). */
  readonly validTo?: number;
  /** Its KeyMaterialDescription, from when it was current or from a re-import. */
  readonly description?: string;
}

export interface PendingMaterial {
  /** The version it becomes: the current version + 1 at import, bound into its wrapping's AAD. */
  readonly version: number;
  readonly materialId: string;
  /** Wrapped by the root key as a version's material is; base64, as the record is stored as JSON. */
  readonly wrappedMaterial: string;
  readonly importedAt: number;
  readonly expirationModel: ExpirationModel;
  readonly validTo?: number;
  readonly description?: string;
}

/**
 * One backing-key version. The material is stored only wrapped by the root key, with the key id
 * and version bound as AAD, so a wrapped key cannot be moved to another key or version.
 */
export interface KeyVersionRecord {
  readonly keyId: string;
  readonly version: number;
  /** 64 lowercase hex characters, as AWS's KeyMaterialId. */
  readonly materialId: string;
  readonly wrappedMaterial: Uint8Array;
  readonly createdAt: number;
  /** How this version came to be; absent for the key's original material. */
  readonly rotationType?: RotationType;
}

export interface AliasRecord {
  /** The full name, `alias/...`. */
  readonly aliasName: string;
  readonly targetKeyId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A key id as the server makes one: a UUID, or a multi-Region key's `mrk-` and 32 hex digits. */
export const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/** AWS's limit on a key's Description, in characters. */
export const MAX_DESCRIPTION_LENGTH = 8192;
