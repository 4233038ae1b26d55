/**
 * Framed body (data-format/message-body.md#framed-data). Regular frame: u32 sequence number,
 * IV, exactly frameLength bytes of content, tag. Final frame: FF FF FF FF, u32 sequence number,
 * IV, u32 content length (0..frameLength), content, tag.
 */
import { ByteReader, u32 } from '../internal/bytes.js';
import { MalformedMessageError } from '../errors.js';
import type { AlgorithmSuite } from '../suites.js';

export const SEQUENCE_NUMBER_END = 0xffffffff;

export interface Frame {
  readonly final: boolean;
  readonly sequenceNumber: number;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

export function serializeFrame(f: Frame): Buffer {
  const head = f.final ? [u32(SEQUENCE_NUMBER_END), u32(f.sequenceNumber), f.iv, u32(f.ciphertext.byteLength)] : [u32(f.sequenceNumber), f.iv];
  return Buffer.concat([...head, f.ciphertext, f.tag]);
}

/** Reads the frame that must carry `expectedSequenceNumber`; the first u32 tells regular from final. */
export function readFrame(r: ByteReader, suite: AlgorithmSuite, frameLength: number, expectedSequenceNumber: number): Frame {
  const first = r.u32('frame sequence number');
  const final = first === SEQUENCE_NUMBER_END;
  const sequenceNumber = final ? r.u32('final frame sequence number') : first;
  if (sequenceNumber !== expectedSequenceNumber) throw new MalformedMessageError('frame sequence number is out of order');
  const iv = r.bytes(suite.ivLength, 'frame IV');
  let length = frameLength;
  if (final) {
    length = r.u32('final frame content length');
    if (length > frameLength) throw new MalformedMessageError('final frame is longer than the frame length');
  }
  const ciphertext = r.bytes(length, 'frame content');
  const tag = r.bytes(suite.tagLength, 'frame tag');
  return { final, sequenceNumber, iv, ciphertext, tag };
}
