/**
 * Body AAD (data-format/message-body-aad.md): message ID ‖ content string ‖ u32 sequence
 * number ‖ u64 content length. The spec's table says a 16-byte message ID, but v2 messages use
 * their full 32-byte ID, as every implementation and vector does.
 */
import { u32, u64 } from '../internal/bytes.js';

export const BodyAadContent = Object.freeze({
  Frame: 'AWSKMSEncryptionClient Frame',
  FinalFrame: 'AWSKMSEncryptionClient Final Frame',
  SingleBlock: 'AWSKMSEncryptionClient Single Block',
} as const);
export type BodyAadContent = (typeof BodyAadContent)[keyof typeof BodyAadContent];

export function bodyAad(messageId: Uint8Array, content: BodyAadContent, sequenceNumber: number, contentLength: number): Buffer {
  return Buffer.concat([messageId, Buffer.from(content, 'ascii'), u32(sequenceNumber), u64(contentLength)]);
}

/** Encryptors write IV = 8 zero bytes ‖ u32 sequence number (data-format/message-body.md#iv). */
export function frameIv(sequenceNumber: number): Buffer {
  return Buffer.concat([Buffer.alloc(8), u32(sequenceNumber)]);
}
