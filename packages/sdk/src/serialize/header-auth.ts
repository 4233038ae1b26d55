/**
 * Header authentication (data-format/message-header.md#header-authentication-version-10, -20).
 * v1 stores a 12-byte IV (written as zeros) before the tag; v2 stores only the tag and the IV
 * is implicitly zero. Decryptors of v1 use the IV as serialized.
 */
import { ByteReader } from '../internal/bytes.js';
import type { AlgorithmSuite } from '../suites.js';

export interface HeaderAuth {
  readonly iv: Uint8Array;
  readonly tag: Uint8Array;
}

export function headerAuthIv(suite: AlgorithmSuite): Buffer {
  return Buffer.alloc(suite.ivLength);
}

export function serializeHeaderAuth(version: 1 | 2, auth: HeaderAuth): Buffer {
  return version === 1 ? Buffer.concat([auth.iv, auth.tag]) : Buffer.from(auth.tag);
}

export function readHeaderAuth(r: ByteReader, version: 1 | 2, suite: AlgorithmSuite): HeaderAuth {
  const iv = version === 1 ? Buffer.from(r.bytes(suite.ivLength, 'header IV')) : headerAuthIv(suite);
  const tag = Buffer.from(r.bytes(suite.tagLength, 'header authentication tag'));
  return { iv, tag };
}
