/**
 * One-shot decryption of an ESDK message (client-apis/decrypt.md#behavior). Every check
 * (commitment, header tag, every frame tag, signature, no trailing bytes) passes before any
 * plaintext is returned; on failure the partial plaintext is zeroed and a named error thrown.
 */
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import { assertDecryptAllowed, type CommitmentPolicy } from './commitment-policy.js';
import { copyEncryptionContext, pick } from './encryption-context.js';
import { AuthenticationError, KeyringError, MalformedMessageError } from './errors.js';
import { headerInfo, type MessageHeaderInfo } from './header-info.js';
import { gcmDecrypt } from './internal/aes-gcm.js';
import { ByteReader } from './internal/bytes.js';
import { commitKeyMatches, deriveKeys } from './internal/kdf.js';
import { assertBytes, resolveCommitmentPolicy, resolveMaterialsManager, resolveMaxEncryptedDataKeys } from './internal/options.js';
import { decodeVerificationKey, verify } from './internal/signature.js';
import type { Keyring } from './keyrings/keyring.js';
import { BodyAadContent, bodyAad } from './serialize/body-aad.js';
import { serializeEncryptionContext } from './serialize/encryption-context.js';
import { readFooter } from './serialize/footer.js';
import { readFrame } from './serialize/frame.js';
import { ContentType, readHeaderBody, type HeaderBody } from './serialize/header.js';
import { readHeaderAuth } from './serialize/header-auth.js';
import { readNonFramedBody } from './serialize/non-framed.js';

export interface DecryptOptions {
  /**
   * The context the caller expects. Pairs stored in the message must match; pairs the message
   * does not store (required keys of the encrypting side) are authenticated through the header.
   */
  readonly encryptionContext?: Readonly<Record<string, string>>;
  readonly commitmentPolicy?: CommitmentPolicy;
  readonly maxEncryptedDataKeys?: number;
}

export interface DecryptResult {
  readonly plaintext: Buffer;
  readonly messageHeader: MessageHeaderInfo;
}

export async function decrypt(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  ciphertext: Uint8Array,
  options: DecryptOptions = {},
): Promise<DecryptResult> {
  assertBytes(ciphertext, 'ciphertext');
  const commitmentPolicy = resolveCommitmentPolicy(options.commitmentPolicy);
  const maxEncryptedDataKeys = resolveMaxEncryptedDataKeys(options.maxEncryptedDataKeys);
  const reproduced = copyEncryptionContext(options.encryptionContext);
  const cmm = resolveMaterialsManager(keyringOrCmm);

  const r = new ByteReader(ciphertext);
  const { header, bytes: headerBody } = readHeaderBody(r, maxEncryptedDataKeys);
  const { suite } = header;
  const auth = readHeaderAuth(r, header.version, suite);
  // Reject a forbidden suite before any keyring sees the EDKs (client-apis/decrypt.md#get-the-decryption-materials).
  assertDecryptAllowed(commitmentPolicy, suite);

  const materials = await cmm.decryptMaterials({
    suite,
    commitmentPolicy,
    encryptedDataKeys: header.encryptedDataKeys,
    encryptionContext: header.encryptionContext,
    reproducedEncryptionContext: reproduced,
  });
  if (materials.suite !== suite || materials.plaintextDataKey?.byteLength !== suite.dataKeyLength) {
    throw new KeyringError('decryption materials do not fit the message');
  }

  const { encryptionKey, commitKey } = deriveKeys(suite, materials.plaintextDataKey, header.messageId);
  const parts: Buffer[] = [];
  try {
    // Key commitment first: a mismatch means this data key is not the one the message commits to.
    if (commitKey !== undefined && !commitKeyMatches(commitKey, header.suiteData)) {
      throw new AuthenticationError('key commitment does not match');
    }
    const requiredContext = serializeEncryptionContext(pick(materials.encryptionContext, materials.requiredEncryptionContextKeys));
    if (gcmDecrypt(encryptionKey, auth.iv, Buffer.alloc(0), auth.tag, Buffer.concat([headerBody, requiredContext])) === null) {
      throw new AuthenticationError('header authentication tag does not verify');
    }
    decryptBody(r, header, encryptionKey, parts);
    const signedLength = r.offset;
    if (suite.signature !== null) {
      const signature = readFooter(r);
      const publicKey = materials.verificationKey === undefined ? null : decodeVerificationKey(suite.signature, materials.verificationKey);
      if (publicKey === null || !verify(suite.signature, publicKey, Buffer.from(ciphertext.buffer, ciphertext.byteOffset, signedLength), signature)) {
        throw new AuthenticationError('message signature does not verify');
      }
    }
    if (r.remaining !== 0) throw new MalformedMessageError('unexpected bytes after the end of the message');
    const plaintext = Buffer.concat(parts);
    return { plaintext, messageHeader: headerInfo(header, materials.encryptionContext, materials.requiredEncryptionContextKeys) };
  } finally {
    encryptionKey.fill(0);
    for (const p of parts) p.fill(0);
  }
}

/** Decrypts and authenticates the body into `out`, frame by frame (client-apis/decrypt.md#decrypt-the-message-body). */
function decryptBody(r: ByteReader, header: HeaderBody, key: Buffer, out: Buffer[]): void {
  const { suite, messageId } = header;
  if (header.contentType === ContentType.NonFramed) {
    const body = readNonFramedBody(r, suite);
    const aad = bodyAad(messageId, BodyAadContent.SingleBlock, 1, body.ciphertext.byteLength);
    out.push(authenticated(gcmDecrypt(key, body.iv, body.ciphertext, body.tag, aad)));
    return;
  }
  for (let sequenceNumber = 1; ; sequenceNumber++) {
    const frame = readFrame(r, suite, header.frameLength, sequenceNumber);
    const content = frame.final ? BodyAadContent.FinalFrame : BodyAadContent.Frame;
    const aad = bodyAad(messageId, content, sequenceNumber, frame.ciphertext.byteLength);
    // The IV as serialized, not recomputed: some official producers wrote non-canonical IVs.
    out.push(authenticated(gcmDecrypt(key, frame.iv, frame.ciphertext, frame.tag, aad)));
    // A final frame always ends the body; sequence numbers cannot wrap because 0xFFFFFFFF marks it.
    if (frame.final) return;
  }
}

function authenticated(plaintext: Buffer | null): Buffer {
  if (plaintext === null) throw new AuthenticationError('body authentication tag does not verify');
  return plaintext;
}
