/**
 * Required-encryption-context materials manager (framework/required-encryption-context-cmm.md).
 * The configured keys must be present on encrypt and are authenticated without being stored;
 * on decrypt the caller must supply them again.
 */
import { PolicyViolationError } from '../errors.js';
import type { DecryptionMaterials, EncryptionMaterials } from '../materials.js';
import type { Keyring } from '../keyrings/keyring.js';
import { isCryptographicMaterialsManager, type CryptographicMaterialsManager, type DecryptMaterialsRequest, type EncryptionMaterialsRequest } from './cmm.js';
import { DefaultCryptographicMaterialsManager } from './default.js';

export interface RequiredEncryptionContextCmmOptions {
  /** The manager to delegate to; a keyring is wrapped in the default manager. */
  readonly underlying: CryptographicMaterialsManager | Keyring;
  readonly requiredEncryptionContextKeys: readonly string[];
}

export class RequiredEncryptionContextCryptographicMaterialsManager implements CryptographicMaterialsManager {
  readonly requiredEncryptionContextKeys: readonly string[];
  readonly #underlying: CryptographicMaterialsManager;

  constructor(options: RequiredEncryptionContextCmmOptions) {
    if (!Array.isArray(options.requiredEncryptionContextKeys) || options.requiredEncryptionContextKeys.some((k) => typeof k !== 'string')) {
      throw new TypeError('requiredEncryptionContextKeys must be an array of strings');
    }
    this.requiredEncryptionContextKeys = Object.freeze([...options.requiredEncryptionContextKeys]);
    this.#underlying = isCryptographicMaterialsManager(options.underlying)
      ? options.underlying
      : new DefaultCryptographicMaterialsManager(options.underlying);
  }

  async getEncryptionMaterials(request: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    for (const k of this.requiredEncryptionContextKeys) {
      if (!Object.hasOwn(request.encryptionContext, k)) throw new PolicyViolationError('encryption context lacks a required key');
    }
    const required = new Set([...(request.requiredEncryptionContextKeys ?? []), ...this.requiredEncryptionContextKeys]);
    const m = await this.#underlying.getEncryptionMaterials({ ...request, requiredEncryptionContextKeys: [...required] });
    for (const k of this.requiredEncryptionContextKeys) {
      if (!m.requiredEncryptionContextKeys.includes(k)) throw new PolicyViolationError('materials dropped a required encryption context key');
    }
    return m;
  }

  async decryptMaterials(request: DecryptMaterialsRequest): Promise<DecryptionMaterials> {
    const reproduced = request.reproducedEncryptionContext ?? {};
    for (const k of this.requiredEncryptionContextKeys) {
      if (!Object.hasOwn(reproduced, k)) throw new PolicyViolationError('reproduced encryption context lacks a required key');
    }
    const m = await this.#underlying.decryptMaterials(request);
    for (const k of this.requiredEncryptionContextKeys) {
      if (!Object.hasOwn(m.encryptionContext, k)) throw new PolicyViolationError('materials lack a required encryption context key');
    }
    return m;
  }
}
