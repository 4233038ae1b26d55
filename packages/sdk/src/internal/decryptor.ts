/**
 * Everything decrypt and decryptStream share once the header is parsed
 * (client-apis/decrypt.md#get-the-decryption-materials, #verify-the-header): get materials,
 * derive the content key, check key commitment and the header tag. The caller then opens
 * frames with `opener` and, for signing suites, feeds every signed byte to `verifier`.
 */
import { createVerify, type KeyObject, type Verify } from 'node:crypto';
import type { CryptographicMaterialsManager } from '../cmm/cmm.js';
import { assertDecryptAllowed, type CommitmentPolicy } from '../commitment-policy.js';
import { pick, type EncryptionContext } from '../encryption-context.js';
import { AuthenticationError, KeyringError } from '../errors.js';
import { headerInfo, type MessageHeaderInfo } from '../header-info.js';
import { serializeEncryptionContext } from '../serialize/encryption-context.js';
import type { HeaderBody } from '../serialize/header.js';
import type { HeaderAuth } from '../serialize/header-auth.js';
import { gcmDecrypt } from './aes-gcm.js';
import { FrameOpener } from './frames.js';
import { assertMaterials, holdsDataKey } from './materials-checks.js';
import { commitKeyMatches, deriveKeys } from './kdf.js';
import { decodeVerificationKey } from './signature.js';

export interface DecryptOptions {
  /**
   * The context the caller expects. Pairs stored in the message must match; pairs the message
   * does not store (required keys of the encrypting side) are authenticated through the header.
   */
  readonly encryptionContext?: Readonly<Record<string, string>>;
  readonly commitmentPolicy?: CommitmentPolicy;
  readonly maxEncryptedDataKeys?: number;
}

/** Checks the footer's signature over every byte before it. */
export class MessageVerifier {
  readonly #verify: Verify;
  readonly #key: KeyObject;

  constructor(hash: string, key: KeyObject) {
    this.#verify = createVerify(hash);
    this.#key = key;
  }

  update(bytes: Uint8Array): void {
    this.#verify.update(bytes);
  }

  verify(signature: Uint8Array): boolean {
    try {
      return this.#verify.verify({ key: this.#key, dsaEncoding: 'der' }, signature);
    } catch {
      return false;
    }
  }
}

export interface PreparedDecryption {
  readonly opener: FrameOpener;
  /** Present for signing suites; already fed the header. */
  readonly verifier: MessageVerifier | undefined;
  /** Present for signing suites: what a verifier elsewhere (internal/hash-offload.ts) needs. */
  readonly verification: { readonly hash: string; readonly key: KeyObject } | undefined;
  readonly messageHeader: MessageHeaderInfo;
}

export async function prepareDecryption(
  cmm: CryptographicMaterialsManager,
  commitmentPolicy: CommitmentPolicy,
  reproduced: EncryptionContext,
  header: HeaderBody,
  headerBody: Uint8Array,
  auth: HeaderAuth,
  headerAuthBytes: Uint8Array,
  materialsFetched?: () => void,
): Promise<PreparedDecryption> {
  const { suite } = header;
  // Reject a forbidden suite before any keyring sees the EDKs (client-apis/decrypt.md#get-the-decryption-materials).
  assertDecryptAllowed(commitmentPolicy, suite);
  const materials = assertMaterials(await cmm.decryptMaterials({
    suite,
    commitmentPolicy,
    encryptedDataKeys: header.encryptedDataKeys,
    encryptionContext: header.encryptionContext,
    reproducedEncryptionContext: reproduced,
  }), 'materials manager');
  // Before the header's bytes are read again: they may be views of a caller's buffer that changed meanwhile.
  materialsFetched?.();
  if (materials.suite !== suite || !holdsDataKey(materials, suite)) {
    throw new KeyringError('decryption materials do not fit the message');
  }
  let verifier: MessageVerifier | undefined;
  let verification: PreparedDecryption['verification'];
  if (suite.signature !== null) {
    const publicKey = materials.verificationKey === undefined ? null : decodeVerificationKey(suite.signature, materials.verificationKey);
    if (publicKey === null) {
      // Said as it is: the key, not the signature, is what fails (both are tampering, or a foreign writer's encoding).
      throw new AuthenticationError('the message\'s verification key (aws-crypto-public-key) is not the canonical base64 of a compressed point on the suite\'s curve');
    }
    verifier = new MessageVerifier(suite.signature.hash, publicKey);
    verification = { hash: suite.signature.hash, key: publicKey };
    verifier.update(headerBody);
    verifier.update(headerAuthBytes);
  }
  const { encryptionKey, commitKey } = deriveKeys(suite, materials.plaintextDataKey, header.messageId);
  try {
    // Key commitment first: a mismatch means this data key is not the one the message commits to.
    if (commitKey !== undefined && !commitKeyMatches(commitKey, header.suiteData)) {
      throw new AuthenticationError('key commitment does not match');
    }
    const requiredContext = serializeEncryptionContext(pick(materials.encryptionContext, materials.requiredEncryptionContextKeys));
    if (gcmDecrypt(encryptionKey, auth.iv, Buffer.alloc(0), auth.tag, Buffer.concat([headerBody, requiredContext])) === null) {
      throw new AuthenticationError('header authentication tag does not verify');
    }
    return {
      opener: new FrameOpener(suite, encryptionKey, header.messageId),
      verifier,
      verification,
      messageHeader: headerInfo(header, materials.encryptionContext, materials.requiredEncryptionContextKeys),
    };
  } finally {
    encryptionKey.fill(0);
  }
}
