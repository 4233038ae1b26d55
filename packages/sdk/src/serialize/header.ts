/**
 * Header body, versions 1.0 and 2.0 (data-format/message-header.md#header-body-version-10,
 * #header-body-version-20). Parsing keeps the exact bytes read, because the header
 * authentication tag covers the header as written, not as we would re-serialize it.
 */
import { ByteReader, UINT16_MAX, u16, u32, u8 } from '../internal/bytes.js';
import { MalformedMessageError } from '../errors.js';
import { findSuite, type AlgorithmSuite } from '../suites.js';
import type { EncryptedDataKey } from '../materials.js';
import { deserializeEncryptionContext, serializeEncryptionContext } from './encryption-context.js';
import { readEncryptedDataKeys, serializeEncryptedDataKeys } from './encrypted-data-keys.js';

export const ContentType = Object.freeze({ NonFramed: 1, Framed: 2 } as const);
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

const V1_TYPE_CUSTOMER_AED = 0x80;
const MESSAGE_ID_LENGTH = { 1: 16, 2: 32 } as const;

export interface HeaderBody {
  readonly version: 1 | 2;
  readonly suite: AlgorithmSuite;
  readonly messageId: Uint8Array;
  /** The context stored in the header: without required (authenticate-only) pairs. */
  readonly encryptionContext: Readonly<Record<string, string>>;
  readonly encryptedDataKeys: readonly EncryptedDataKey[];
  readonly contentType: ContentType;
  /** 0 for non-framed bodies. */
  readonly frameLength: number;
  /** v2 only: the commit key (framework/algorithm-suites.md, "algorithm suite data"). */
  readonly suiteData: Uint8Array;
}

export function messageIdLength(version: 1 | 2): number {
  return MESSAGE_ID_LENGTH[version];
}

export function serializeHeaderBody(h: HeaderBody): Buffer {
  if (h.version !== h.suite.messageFormatVersion) throw new TypeError('header version does not match the suite');
  if (h.messageId.byteLength !== messageIdLength(h.version)) throw new TypeError('message ID has the wrong length');
  if (h.suiteData.byteLength !== h.suite.suiteDataLength) throw new TypeError('suite data has the wrong length');
  const aad = serializeEncryptionContext(h.encryptionContext);
  if (aad.length > UINT16_MAX) throw new RangeError('serialized encryption context is longer than 65535 bytes');
  const edks = serializeEncryptedDataKeys(h.encryptedDataKeys);
  if (h.version === 1) {
    return Buffer.concat([
      u8(1), u8(V1_TYPE_CUSTOMER_AED), u16(h.suite.id), h.messageId, u16(aad.length), aad, edks,
      u8(h.contentType), u32(0), u8(h.suite.ivLength), u32(h.frameLength),
    ]);
  }
  return Buffer.concat([
    u8(2), u16(h.suite.id), h.messageId, u16(aad.length), aad, edks,
    u8(h.contentType), u32(h.frameLength), h.suiteData,
  ]);
}

export interface ParsedHeaderBody {
  readonly header: HeaderBody;
  /** The header body exactly as it appears in the message. */
  readonly bytes: Buffer;
}

export function readHeaderBody(r: ByteReader, maxEncryptedDataKeys: number): ParsedHeaderBody {
  const start = r.offset;
  const version = r.u8('version');
  if (version !== 1 && version !== 2) {
    // "AY" / "Ag" open base64 text of a v1 / v2 message: a common mistake worth naming.
    if (version === 0x41) throw new MalformedMessageError('message appears to be base64-encoded; decode it first');
    throw new MalformedMessageError('unsupported message format version');
  }
  if (version === 1 && r.u8('type') !== V1_TYPE_CUSTOMER_AED) throw new MalformedMessageError('unsupported message type');
  const suite = findSuite(r.u16('algorithm suite ID'));
  if (suite === undefined) throw new MalformedMessageError('unsupported algorithm suite');
  if (suite.messageFormatVersion !== version) throw new MalformedMessageError('algorithm suite does not match message format version');
  const messageId = Buffer.from(r.bytes(messageIdLength(version), 'message ID'));
  const encryptionContext = deserializeEncryptionContext(r.u16Prefixed('encryption context'));
  const encryptedDataKeys = readEncryptedDataKeys(r, maxEncryptedDataKeys);
  const contentType = r.u8('content type');
  if (contentType !== ContentType.NonFramed && contentType !== ContentType.Framed) {
    throw new MalformedMessageError('unsupported content type');
  }
  if (version === 1) {
    if (r.u32('reserved field') !== 0) throw new MalformedMessageError('reserved header field is not zero');
    if (r.u8('IV length') !== suite.ivLength) throw new MalformedMessageError('IV length does not match the suite');
  }
  const frameLength = r.u32('frame length');
  if (contentType === ContentType.Framed && frameLength === 0) {
    throw new MalformedMessageError('framed message has a zero frame length');
  }
  if (contentType === ContentType.NonFramed && frameLength !== 0) {
    throw new MalformedMessageError('non-framed message has a non-zero frame length');
  }
  const suiteData = Buffer.from(r.bytes(suite.suiteDataLength, 'algorithm suite data'));
  const header: HeaderBody = Object.freeze({
    version, suite, messageId, encryptionContext, encryptedDataKeys: Object.freeze(encryptedDataKeys),
    contentType, frameLength, suiteData,
  });
  return { header, bytes: r.slice(start, r.offset) };
}
