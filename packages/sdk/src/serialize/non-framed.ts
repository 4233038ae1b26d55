/**
 * Non-framed body (data-format/message-body.md#un-framed-data): IV, u64 content length
 * (at most 2^36 - 32), content, tag. Read only; encryptors MUST NOT write it.
 */
import { ByteReader } from '../internal/bytes.js';
import { MalformedMessageError } from '../errors.js';
import type { AlgorithmSuite } from '../suites.js';

export const MAX_NON_FRAMED_CONTENT = 2 ** 36 - 32;

export interface NonFramedBody {
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

export function readNonFramedBody(r: ByteReader, suite: AlgorithmSuite): NonFramedBody {
  const iv = r.bytes(suite.ivLength, 'body IV');
  const length = r.u64('body content length');
  if (length > MAX_NON_FRAMED_CONTENT) throw new MalformedMessageError('non-framed content is too long');
  const ciphertext = r.bytes(length, 'body content');
  const tag = r.bytes(suite.tagLength, 'body tag');
  return { iv, ciphertext, tag };
}
