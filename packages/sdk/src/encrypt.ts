/**
 * One-shot encryption of a buffer into an ESDK message (client-apis/encrypt.md#behavior).
 * Writes message format v2 for committing suites and v1 otherwise, always framed.
 */
import { randomBytes } from 'node:crypto';
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import { assertEncryptAllowed, type CommitmentPolicy } from './commitment-policy.js';
import { copyEncryptionContext, omit, pick, reservedKeys } from './encryption-context.js';
import { KeyringError, PolicyViolationError } from './errors.js';
import { headerInfo, type MessageHeaderInfo } from './header-info.js';
import { gcmEncrypt } from './internal/aes-gcm.js';
import { UINT32_MAX } from './internal/bytes.js';
import { deriveKeys } from './internal/kdf.js';
import { assertBytes, resolveCommitmentPolicy, resolveMaterialsManager, resolveMaxEncryptedDataKeys } from './internal/options.js';
import { sign } from './internal/signature.js';
import type { Keyring } from './keyrings/keyring.js';
import { BodyAadContent, bodyAad, frameIv } from './serialize/body-aad.js';
import { serializeEncryptionContext } from './serialize/encryption-context.js';
import { serializeFooter } from './serialize/footer.js';
import { serializeFrame } from './serialize/frame.js';
import { ContentType, messageIdLength, serializeHeaderBody, type HeaderBody } from './serialize/header.js';
import { headerAuthIv, serializeHeaderAuth } from './serialize/header-auth.js';
import { getSuite, type AlgorithmSuiteId } from './suites.js';

export const DEFAULT_FRAME_LENGTH = 4096;

export interface EncryptOptions {
  readonly encryptionContext?: Readonly<Record<string, string>>;
  /** Default: 0x0578, or 0x0378 under FORBID_ENCRYPT_ALLOW_DECRYPT. */
  readonly suiteId?: AlgorithmSuiteId;
  /** Plaintext bytes per frame, 1 .. 2^32 - 1; default 4096. */
  readonly frameLength?: number;
  readonly commitmentPolicy?: CommitmentPolicy;
  readonly maxEncryptedDataKeys?: number;
}

export interface EncryptResult {
  readonly ciphertext: Buffer;
  readonly messageHeader: MessageHeaderInfo;
}

export async function encrypt(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  plaintext: Uint8Array,
  options: EncryptOptions = {},
): Promise<EncryptResult> {
  assertBytes(plaintext, 'plaintext');
  const commitmentPolicy = resolveCommitmentPolicy(options.commitmentPolicy);
  const maxEncryptedDataKeys = resolveMaxEncryptedDataKeys(options.maxEncryptedDataKeys);
  const frameLength = options.frameLength ?? DEFAULT_FRAME_LENGTH;
  if (!Number.isInteger(frameLength) || frameLength < 1 || frameLength > UINT32_MAX) {
    throw new RangeError('frameLength must be an integer from 1 to 2^32 - 1');
  }
  if (Math.max(1, Math.ceil(plaintext.byteLength / frameLength)) > UINT32_MAX) {
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
  const materials = await cmm.getEncryptionMaterials({
    encryptionContext,
    commitmentPolicy,
    maxPlaintextLength: plaintext.byteLength,
    ...(requested === undefined ? {} : { suiteId: requested.id }),
  });
  const suite = materials.suite;
  // Postconditions on what the materials manager returned (client-apis/encrypt.md#get-the-encryption-materials).
  assertEncryptAllowed(commitmentPolicy, suite);
  if (requested !== undefined && suite.id !== requested.id) throw new KeyringError('materials use a different suite than requested');
  if (materials.encryptedDataKeys.length > maxEncryptedDataKeys) {
    throw new PolicyViolationError('encryption produced more encrypted data keys than allowed');
  }
  if (materials.plaintextDataKey?.byteLength !== suite.dataKeyLength || materials.encryptedDataKeys.length === 0) {
    throw new KeyringError('materials lack a valid data key or encrypted data key');
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
    const parts: Buffer[] = [headerBody, serializeHeaderAuth(header.version, { iv, tag })];
    parts.push(...encryptFrames(encryptionKey, messageId, plaintext, frameLength));
    if (suite.signature !== null) parts.push(serializeFooter(sign(suite.signature, materials.signingKey!, parts)));
    return {
      ciphertext: Buffer.concat(parts),
      messageHeader: headerInfo(header, materials.encryptionContext, required),
    };
  } finally {
    encryptionKey.fill(0);
  }
}

/**
 * Framed body (client-apis/encrypt.md#construct-the-body): regular frames while more than one
 * frame of input remains, then exactly one final frame of 0..frameLength bytes. An exact
 * multiple ends in a full final frame, as the spec recommends.
 */
function encryptFrames(key: Buffer, messageId: Uint8Array, plaintext: Uint8Array, frameLength: number): Buffer[] {
  const frames: Buffer[] = [];
  let offset = 0;
  let sequenceNumber = 1;
  for (;;) {
    const final = plaintext.byteLength - offset <= frameLength;
    const chunk = plaintext.subarray(offset, final ? plaintext.byteLength : offset + frameLength);
    const iv = frameIv(sequenceNumber);
    const content = final ? BodyAadContent.FinalFrame : BodyAadContent.Frame;
    const { ciphertext, tag } = gcmEncrypt(key, iv, chunk, bodyAad(messageId, content, sequenceNumber, chunk.byteLength));
    frames.push(serializeFrame({ final, sequenceNumber, iv, ciphertext, tag }));
    if (final) return frames;
    offset += frameLength;
    sequenceNumber += 1;
  }
}
