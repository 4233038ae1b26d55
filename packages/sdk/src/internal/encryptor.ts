/**
 * Everything encrypt and encryptStream share up to the first frame
 * (client-apis/encrypt.md#behavior): validate options, get materials, derive the content key,
 * write and authenticate the header. The caller then seals frames with `sealer` and, for
 * signing suites, feeds every byte it writes to `signer`.
 */
import { createSign, randomBytes, type KeyObject, type Sign } from 'node:crypto';
import type { CryptographicMaterialsManager } from '../cmm/cmm.js';
import { assertEncryptAllowed, type CommitmentPolicy } from '../commitment-policy.js';
import { copyEncryptionContext, omit, pick, reservedKeys } from '../encryption-context.js';
import { KeyringError, PolicyViolationError } from '../errors.js';
import { headerInfo, type MessageHeaderInfo } from '../header-info.js';
import type { Keyring } from '../keyrings/keyring.js';
import { serializeEncryptionContext } from '../serialize/encryption-context.js';
import { ContentType, messageIdLength, serializeHeaderBody, type HeaderBody } from '../serialize/header.js';
import { headerAuthIv, serializeHeaderAuth } from '../serialize/header-auth.js';
import { findSuite, getSuite, type AlgorithmSuite, type AlgorithmSuiteId } from '../suites.js';
import { gcmEncrypt } from './aes-gcm.js';
import { UINT32_MAX } from './bytes.js';
import { FrameSealer } from './frames.js';
import { deriveKeys } from './kdf.js';
import { assertMaterials, holdsDataKey, isEncryptedDataKey } from './materials-checks.js';
import { assertOptions, resolveCommitmentPolicy, resolveMaterialsManager, resolveMaxEncryptedDataKeys } from './options.js';

/**
 * Default plaintext bytes per frame: 1 MiB. The official SDKs use 4096; a larger frame amortises
 * the per-frame cipher setup and allocation (measured with `npm run bench`: 1 MiB beat 64 KiB,
 * 256 KiB and 4 MiB) while keeping the memory a streaming decrypt needs small. Any length up to
 * 2^32 - 1 is valid and every implementation reads it.
 */
export const DEFAULT_FRAME_LENGTH = 1024 * 1024;

export interface EncryptOptions {
  readonly encryptionContext?: Readonly<Record<string, string>>;
  /** Default: 0x0578, or 0x0378 under FORBID_ENCRYPT_ALLOW_DECRYPT. */
  readonly suiteId?: AlgorithmSuiteId;
  /** Plaintext bytes per frame, 1 .. 2^32 - 1; default DEFAULT_FRAME_LENGTH (1 MiB). */
  readonly frameLength?: number;
  readonly commitmentPolicy?: CommitmentPolicy;
  readonly maxEncryptedDataKeys?: number;
}

export interface PreparedEncryption {
  readonly suite: AlgorithmSuite;
  readonly frameLength: number;
  /** Header body ‖ header authentication: the first bytes of the message. */
  readonly header: Buffer;
  readonly sealer: FrameSealer;
  /** Present for signing suites; already fed the header. */
  readonly signer: MessageSigner | undefined;
  /** Present for signing suites: what a signer elsewhere (internal/hash-offload.ts) needs. */
  readonly signing: { readonly hash: string; readonly key: KeyObject } | undefined;
  readonly messageHeader: MessageHeaderInfo;
}

/** Accumulates the signed bytes of a message and produces the footer's signature. */
export class MessageSigner {
  readonly #sign: Sign;
  readonly #key: KeyObject;

  constructor(hash: string, key: KeyObject) {
    this.#sign = createSign(hash);
    this.#key = key;
  }

  update(bytes: Uint8Array): void {
    this.#sign.update(bytes);
  }

  /** DER ECDSA-Sig-Value over everything passed to update (framework/algorithm-suites.md#ecdsa). */
  sign(): Buffer {
    return this.#sign.sign({ key: this.#key, dsaEncoding: 'der' });
  }
}

export function resolveFrameLength(frameLength: unknown): number {
  const n = frameLength ?? DEFAULT_FRAME_LENGTH;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > UINT32_MAX) {
    throw new RangeError('frameLength must be an integer from 1 to 2^32 - 1');
  }
  return n;
}

/**
 * An encryption request's options and keyring, checked: everything refused before materials are
 * asked for. Synchronous, so that the stream constructors refuse misuse before any data flows.
 * `plaintextLength` is known for the one-shot API and for streams that declare it.
 */
export function checkEncryptRequest(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  options: EncryptOptions,
  plaintextLength: number | undefined,
) {
  assertOptions(options);
  const commitmentPolicy = resolveCommitmentPolicy(options.commitmentPolicy);
  const maxEncryptedDataKeys = resolveMaxEncryptedDataKeys(options.maxEncryptedDataKeys);
  const frameLength = resolveFrameLength(options.frameLength);
  if (plaintextLength !== undefined && Math.max(1, Math.ceil(plaintextLength / frameLength)) > UINT32_MAX) {
    throw new RangeError('plaintext needs more than 2^32 - 1 frames at this frame length');
  }
  const encryptionContext = copyEncryptionContext(options.encryptionContext);
  // Precondition: callers may not use the reserved `aws-crypto-` keys (client-apis/encrypt.md#encryption-context).
  if (reservedKeys(encryptionContext).length > 0) {
    throw new PolicyViolationError('encryption context keys beginning with "aws-crypto-" are reserved');
  }
  const requested = options.suiteId === undefined ? undefined : getSuite(options.suiteId);
  if (requested !== undefined) assertEncryptAllowed(commitmentPolicy, requested);
  const cmm = resolveMaterialsManager(keyringOrCmm);
  return { cmm, commitmentPolicy, maxEncryptedDataKeys, frameLength, encryptionContext, requested };
}

export async function prepareEncryption(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  options: EncryptOptions,
  plaintextLength: number | undefined,
): Promise<PreparedEncryption> {
  const { cmm, commitmentPolicy, maxEncryptedDataKeys, frameLength, encryptionContext, requested } = checkEncryptRequest(keyringOrCmm, options, plaintextLength);
  const materials = assertMaterials(await cmm.getEncryptionMaterials({
    encryptionContext,
    commitmentPolicy,
    ...(plaintextLength === undefined ? {} : { maxPlaintextLength: plaintextLength }),
    ...(requested === undefined ? {} : { suiteId: requested.id }),
  }), 'materials manager');
  // Every field below is read from the suite table's own description: a materials manager may
  // hand back a copy (one from a shared cache, deserialized), never a suite of its own.
  const suite = findSuite(materials.suite?.id);
  if (suite === undefined) throw new KeyringError('materials name no known algorithm suite');
  // Postconditions on what the materials manager returned (client-apis/encrypt.md#get-the-encryption-materials).
  assertEncryptAllowed(commitmentPolicy, suite);
  if (requested !== undefined && suite.id !== requested.id) throw new KeyringError('materials use a different suite than requested');
  if (!holdsDataKey(materials, suite) || !Array.isArray(materials.encryptedDataKeys) || materials.encryptedDataKeys.length === 0) {
    throw new KeyringError('materials lack a valid data key or encrypted data key');
  }
  if (!materials.encryptedDataKeys.every(isEncryptedDataKey)) {
    throw new KeyringError('an encrypted data key is not { providerId: string, providerInfo: bytes, ciphertext: bytes }, each non-empty');
  }
  if (materials.encryptedDataKeys.length > maxEncryptedDataKeys) {
    throw new PolicyViolationError('encryption produced more encrypted data keys than allowed');
  }
  if ((suite.signature !== null) !== (materials.signingKey !== undefined)) {
    throw new KeyringError('materials signing key does not match the suite');
  }
  const required = materials.requiredEncryptionContextKeys;
  if (required.some((k) => !Object.hasOwn(materials.encryptionContext, k))) {
    throw new KeyringError('required encryption context keys are missing from the context');
  }

  const messageId = randomBytes(messageIdLength(suite.messageFormatVersion));
  const { encryptionKey, commitKey } = deriveKeys(suite, materials.plaintextDataKey, messageId);
  try {
    const header: HeaderBody = {
      version: suite.messageFormatVersion,
      suite,
      messageId,
      // Required pairs are authenticated below but not stored (client-apis/encrypt.md#construct-the-header).
      encryptionContext: omit(materials.encryptionContext, required),
      encryptedDataKeys: materials.encryptedDataKeys,
      contentType: ContentType.Framed,
      frameLength,
      suiteData: commitKey ?? Buffer.alloc(0),
    };
    const headerBody = serializeHeaderBody(header);
    const requiredContext = serializeEncryptionContext(pick(materials.encryptionContext, required));
    const iv = headerAuthIv(suite);
    const { tag } = gcmEncrypt(encryptionKey, iv, Buffer.alloc(0), Buffer.concat([headerBody, requiredContext]));
    const headerBytes = Buffer.concat([headerBody, serializeHeaderAuth(header.version, { iv, tag })]);
    let signer: MessageSigner | undefined;
    if (suite.signature !== null) {
      signer = new MessageSigner(suite.signature.hash, materials.signingKey!);
      signer.update(headerBytes);
    }
    return {
      suite,
      frameLength,
      header: headerBytes,
      // The sealer keeps its own KeyObject copy of the content key.
      sealer: FrameSealer.create(suite, encryptionKey, messageId),
      signer,
      signing: suite.signature === null ? undefined : { hash: suite.signature.hash, key: materials.signingKey! },
      messageHeader: headerInfo(header, materials.encryptionContext, required),
    };
  } finally {
    encryptionKey.fill(0);
  }
}
