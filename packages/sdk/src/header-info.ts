/** The facts about a message that encrypt and decrypt report back to the caller. */
import type { AlgorithmSuiteId } from './suites.js';
import type { HeaderBody } from './serialize/header.js';

export interface EncryptedDataKeyInfo {
  readonly providerId: string;
  readonly providerInfo: Buffer;
}

export interface MessageHeaderInfo {
  readonly messageFormatVersion: 1 | 2;
  readonly suiteId: AlgorithmSuiteId;
  readonly messageId: Buffer;
  /** The full context: stored pairs, required pairs and `aws-crypto-public-key` for signed suites. */
  readonly encryptionContext: Record<string, string>;
  /** Keys of `encryptionContext` that were authenticated but not stored in the message. */
  readonly requiredEncryptionContextKeys: readonly string[];
  readonly encryptedDataKeys: readonly EncryptedDataKeyInfo[];
  /** 0 for a non-framed body. */
  readonly frameLength: number;
}

export function headerInfo(
  header: HeaderBody,
  encryptionContext: Readonly<Record<string, string>>,
  requiredEncryptionContextKeys: readonly string[],
): MessageHeaderInfo {
  return {
    messageFormatVersion: header.version,
    suiteId: header.suite.id,
    messageId: Buffer.from(header.messageId),
    encryptionContext: { ...encryptionContext },
    requiredEncryptionContextKeys: [...requiredEncryptionContextKeys],
    encryptedDataKeys: header.encryptedDataKeys.map((e) => ({ providerId: e.providerId, providerInfo: Buffer.from(e.providerInfo) })),
    frameLength: header.frameLength,
  };
}
