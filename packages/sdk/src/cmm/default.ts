/**
 * Default materials manager (framework/default-cmm.md), plus the materials checks of
 * framework/cmm-interface.md and the reproduced-context handling of client-apis/decrypt.md.
 */
import { assertDecryptAllowed, assertEncryptAllowed, defaultSuiteFor } from '../commitment-policy.js';
import { PUBLIC_KEY_FIELD, type EncryptionContext } from '../encryption-context.js';
import { KeyringError, PolicyViolationError } from '../errors.js';
import { assertMaterials, holdsDataKey } from '../internal/materials-checks.js';
import { generateSigningKeyPair } from '../internal/signature.js';
import type { DecryptionMaterials, EncryptionMaterials } from '../materials.js';
import type { Keyring } from '../keyrings/keyring.js';
import { getSuite } from '../suites.js';
import type { CryptographicMaterialsManager, DecryptMaterialsRequest, EncryptionMaterialsRequest } from './cmm.js';

export class DefaultCryptographicMaterialsManager implements CryptographicMaterialsManager {
  readonly keyring: Keyring;

  constructor(keyring: Keyring) {
    if (typeof keyring?.onEncrypt !== 'function' || typeof keyring?.onDecrypt !== 'function') {
      throw new TypeError('expected a keyring');
    }
    this.keyring = keyring;
  }

  async getEncryptionMaterials(request: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    const suite = request.suiteId === undefined ? defaultSuiteFor(request.commitmentPolicy) : getSuite(request.suiteId);
    assertEncryptAllowed(request.commitmentPolicy, suite);
    // Precondition: the caller's context must not already carry the verification key.
    if (Object.hasOwn(request.encryptionContext, PUBLIC_KEY_FIELD)) {
      throw new PolicyViolationError(`encryption context must not contain ${PUBLIC_KEY_FIELD}`);
    }
    const encryptionContext = copyContext(request.encryptionContext);
    const required = [...(request.requiredEncryptionContextKeys ?? [])];
    let signingKey;
    if (suite.signature !== null) {
      const pair = generateSigningKeyPair(suite.signature);
      encryptionContext[PUBLIC_KEY_FIELD] = pair.publicKey;
      signingKey = pair.privateKey;
    }
    const initial: EncryptionMaterials = Object.freeze({
      suite,
      encryptionContext: Object.freeze(encryptionContext),
      requiredEncryptionContextKeys: Object.freeze(required),
      encryptedDataKeys: Object.freeze([]),
      ...(signingKey === undefined ? {} : { signingKey }),
    });
    const m = assertMaterials(await this.keyring.onEncrypt(initial), 'keyring');
    // Postconditions of framework/cmm-interface.md#get-encryption-materials.
    if (m.suite !== suite || m.encryptionContext !== initial.encryptionContext) {
      throw new KeyringError('keyring changed the suite or encryption context');
    }
    if (!holdsDataKey(m, suite)) throw new KeyringError('keyring did not produce a valid data key');
    if (!Array.isArray(m.encryptedDataKeys) || m.encryptedDataKeys.length === 0) throw new KeyringError('keyring did not produce an encrypted data key');
    return m;
  }

  async decryptMaterials(request: DecryptMaterialsRequest): Promise<DecryptionMaterials> {
    const { suite } = request;
    assertDecryptAllowed(request.commitmentPolicy, suite);
    const { encryptionContext, requiredEncryptionContextKeys } = mergeReproduced(
      request.encryptionContext,
      request.reproducedEncryptionContext ?? {},
    );
    const verificationKey = Object.hasOwn(request.encryptionContext, PUBLIC_KEY_FIELD)
      ? request.encryptionContext[PUBLIC_KEY_FIELD]
      : undefined;
    if (suite.signature !== null && verificationKey === undefined) {
      throw new PolicyViolationError(`signed message has no ${PUBLIC_KEY_FIELD} in its encryption context`);
    }
    if (suite.signature === null && Object.hasOwn(encryptionContext, PUBLIC_KEY_FIELD)) {
      throw new PolicyViolationError(`unsigned message must not carry ${PUBLIC_KEY_FIELD}`);
    }
    const initial: DecryptionMaterials = Object.freeze({
      suite,
      encryptionContext,
      requiredEncryptionContextKeys,
      ...(verificationKey === undefined ? {} : { verificationKey }),
    });
    const m = assertMaterials(await this.keyring.onDecrypt(initial, request.encryptedDataKeys), 'keyring');
    if (!holdsDataKey(m, suite)) throw new KeyringError('keyring did not produce a valid data key');
    if (m.suite !== suite || m.encryptionContext !== encryptionContext) {
      throw new KeyringError('keyring changed the suite or encryption context');
    }
    return m;
  }
}

/**
 * Reproduced context on decrypt (framework/cmm-interface.md#decrypt-materials): a key stored in
 * the message must carry the same value; a key only the caller supplies is appended and becomes
 * a required key, authenticated through the header tag.
 */
function mergeReproduced(stored: EncryptionContext, reproduced: EncryptionContext) {
  const encryptionContext = copyContext(stored);
  const requiredEncryptionContextKeys: string[] = [];
  for (const [k, v] of Object.entries(reproduced)) {
    if (Object.hasOwn(stored, k)) {
      if (stored[k] !== v) throw new PolicyViolationError('reproduced encryption context does not match the message');
    } else {
      encryptionContext[k] = v;
      requiredEncryptionContextKeys.push(k);
    }
  }
  return {
    encryptionContext: Object.freeze(encryptionContext),
    requiredEncryptionContextKeys: Object.freeze(requiredEncryptionContextKeys),
  };
}

/**
 * A context's copy to add pairs to, without a prototype: on a plain object, assigning a key named
 * `__proto__` would call the prototype setter and drop the pair, so a required reproduced pair
 * would go unauthenticated.
 */
function copyContext(context: EncryptionContext): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, context);
}
