/**
 * The per-frame hot path shared by the one-shot and streaming APIs
 * (data-format/message-body.md#framed-data, data-format/message-body-aad.md).
 *
 * One AES-GCM cipher per frame is unavoidable with node:crypto (each frame has its own IV and
 * tag), so everything around it is kept allocation-free: the AAD and IV live in buffers owned
 * by the sealer/opener and are rewritten in place, and frames are written straight into a
 * caller-provided output buffer instead of being concatenated.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type CipherGCM, type CipherGCMTypes, type DecipherGCM, type KeyObject } from 'node:crypto';
import type { AlgorithmSuite } from '../suites.js';
import { BodyAadContent } from '../serialize/body-aad.js';
import { SEQUENCE_NUMBER_END } from '../serialize/frame.js';

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
/** Frames longer than this go through the cipher in pieces of this size (see sealInto, openInto). */
const PIECE = 1024 * 1024;
/** u32 sequence number ‖ IV. */
const REGULAR_HEAD_LENGTH = 4 + IV_LENGTH;
/** u32 0xFFFFFFFF ‖ u32 sequence number ‖ IV ‖ u32 content length. */
const FINAL_HEAD_LENGTH = 4 + 4 + IV_LENGTH + 4;
const FRAME = Buffer.from(BodyAadContent.Frame, 'ascii');
const FINAL = Buffer.from(BodyAadContent.FinalFrame, 'ascii');
const SINGLE = Buffer.from(BodyAadContent.SingleBlock, 'ascii');

/** Bytes of a regular frame carrying `frameLength` bytes of content. */
export function regularFrameSize(frameLength: number): number {
  return 4 + IV_LENGTH + frameLength + TAG_LENGTH;
}

/** Bytes of a final frame carrying `contentLength` bytes. */
export function finalFrameSize(contentLength: number): number {
  return 4 + 4 + IV_LENGTH + 4 + contentLength + TAG_LENGTH;
}

/** Bytes of the whole framed body for a plaintext of `length` bytes (always one final frame). */
export function framedBodySize(length: number, frameLength: number): number {
  const regular = length === 0 ? 0 : Math.ceil(length / frameLength) - 1;
  return regular * regularFrameSize(frameLength) + finalFrameSize(length - regular * frameLength);
}

function cipherName(keyLength: number): CipherGCMTypes {
  return keyLength === 16 ? 'aes-128-gcm' : keyLength === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
}

/** The body AAD of one frame, rewritten in place: message ID ‖ content string ‖ u32 seq ‖ u64 length. */
class BodyAad {
  readonly #regular: Buffer;
  readonly #final: Buffer;
  readonly #single: Buffer;

  constructor(messageId: Uint8Array) {
    this.#regular = Buffer.concat([messageId, FRAME, Buffer.alloc(12)]);
    this.#final = Buffer.concat([messageId, FINAL, Buffer.alloc(12)]);
    this.#single = Buffer.concat([messageId, SINGLE, Buffer.alloc(12)]);
  }

  for(final: boolean | 'single', sequenceNumber: number, length: number): Buffer {
    const aad = final === 'single' ? this.#single : final ? this.#final : this.#regular;
    const o = aad.length - 12;
    aad.writeUInt32BE(sequenceNumber, o);
    aad.writeUInt32BE(Math.floor(length / 2 ** 32), o + 4);
    aad.writeUInt32BE(length >>> 0, o + 8);
    return aad;
  }
}

/** What a sealer on another thread needs (internal/seal-worker.ts); the key travels as a KeyObject. */
export interface SealerParts {
  readonly cipher: CipherGCMTypes;
  readonly key: KeyObject;
  readonly messageId: Uint8Array;
}

export class FrameSealer {
  readonly #name: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #messageId: Uint8Array;
  readonly #aad: BodyAad;
  readonly #iv = Buffer.alloc(IV_LENGTH);

  /** Also how a sealer for the same message (same frames) is made on another thread from `parts`. */
  constructor(parts: SealerParts) {
    this.#name = parts.cipher;
    this.#key = parts.key;
    this.#messageId = parts.messageId;
    this.#aad = new BodyAad(parts.messageId);
  }

  static create(suite: AlgorithmSuite, encryptionKey: Uint8Array, messageId: Uint8Array): FrameSealer {
    return new FrameSealer({ cipher: cipherName(suite.encryptionKeyLength), key: createSecretKey(encryptionKey), messageId });
  }

  get parts(): SealerParts {
    return { cipher: this.#name, key: this.#key, messageId: this.#messageId };
  }

  /**
   * Writes frame `sequenceNumber` holding `content` into `out` at `offset` and returns the
   * offset after it. IV = 8 zero bytes ‖ u32 sequence number (data-format/message-body.md#iv).
   */
  sealInto(content: Uint8Array, final: boolean, sequenceNumber: number, out: Buffer, offset: number): number {
    let o = this.#head(content, final, sequenceNumber, out, offset);
    const cipher = this.#cipher(content, final, sequenceNumber);
    if (content.byteLength <= PIECE) {
      o += cipher.update(content).copy(out, o);
    } else {
      // In pieces: each update returns a new buffer, and one the size of a large frame would double it in memory.
      for (let i = 0; i < content.byteLength; i += PIECE) o += cipher.update(content.subarray(i, i + PIECE)).copy(out, o);
    }
    cipher.final();
    o += cipher.getAuthTag().copy(out, o);
    return o;
  }

  /**
   * The same frame handed to `emit` in three pieces: frame header, ciphertext, tag. For large
   * frames in streams: the ciphertext is the buffer the cipher returned, not copied into an
   * output buffer, so a frame allocates its size once (streaming memory: see stream-encryptor.ts).
   */
  sealPieces(content: Uint8Array, final: boolean, sequenceNumber: number, emit: (bytes: Buffer) => void): void {
    // Small enough for Node's shared allocation pool.
    const head = Buffer.allocUnsafe(final ? FINAL_HEAD_LENGTH : REGULAR_HEAD_LENGTH);
    this.#head(content, final, sequenceNumber, head, 0);
    const cipher = this.#cipher(content, final, sequenceNumber);
    emit(head);
    if (content.byteLength > 0) emit(cipher.update(content));
    cipher.final();
    emit(cipher.getAuthTag());
  }

  /** Writes the frame header and sets the IV: 8 zero bytes ‖ u32 sequence number. */
  #head(content: Uint8Array, final: boolean, sequenceNumber: number, out: Buffer, offset: number): number {
    let o = offset;
    if (final) o = out.writeUInt32BE(SEQUENCE_NUMBER_END, o);
    o = out.writeUInt32BE(sequenceNumber, o);
    this.#iv.writeUInt32BE(sequenceNumber, 8);
    o += this.#iv.copy(out, o);
    if (final) o = out.writeUInt32BE(content.byteLength, o);
    return o;
  }

  #cipher(content: Uint8Array, final: boolean, sequenceNumber: number): CipherGCM {
    const cipher = createCipheriv(this.#name, this.#key, this.#iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(this.#aad.for(final, sequenceNumber, content.byteLength));
    return cipher;
  }
}

export class FrameOpener {
  readonly #name: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #aad: BodyAad;

  constructor(suite: AlgorithmSuite, encryptionKey: Uint8Array, messageId: Uint8Array) {
    this.#name = cipherName(suite.encryptionKeyLength);
    this.#key = createSecretKey(encryptionKey);
    this.#aad = new BodyAad(messageId);
  }

  /**
   * Decrypts one frame into `out` at `offset`; returns the bytes written, or -1 when the tag
   * does not verify (the bytes written are then zeroed). The IV is used as serialized.
   */
  openInto(final: boolean | 'single', sequenceNumber: number, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, out: Buffer, offset: number): number {
    if (ciphertext.byteLength <= PIECE) {
      const plain = this.open(final, sequenceNumber, iv, ciphertext, tag);
      return plain === null ? -1 : plain.copy(out, offset);
    }
    // A large frame (or a non-framed body) in pieces: a whole one from a single update would
    // double it in memory. Each piece is unverified plaintext until `final`: zeroed once copied.
    const decipher = this.begin(final, sequenceNumber, iv, ciphertext.byteLength);
    decipher.setAuthTag(tag);
    let o = offset;
    for (let i = 0; i < ciphertext.byteLength; i += PIECE) {
      const piece = decipher.update(ciphertext.subarray(i, i + PIECE));
      o += piece.copy(out, o);
      piece.fill(0);
    }
    try {
      decipher.final();
    } catch {
      out.fill(0, offset, o);
      return -1;
    }
    return o - offset;
  }

  /** A non-framed body (data-format/message-body.md#un-framed-data): sequence number 1, "Single Block" AAD. */
  openSingleBlockInto(iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, out: Buffer, offset: number): number {
    return this.openInto('single', 1, iv, ciphertext, tag, out, offset);
  }

  /** Like openInto, but returns the plaintext as a fresh buffer, or null on a bad tag. */
  open(final: boolean | 'single', sequenceNumber: number, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Buffer | null {
    const decipher = this.begin(final, sequenceNumber, iv, ciphertext.byteLength);
    decipher.setAuthTag(tag);
    const plain = decipher.update(ciphertext);
    try {
      decipher.final();
    } catch {
      plain.fill(0);
      return null;
    }
    return plain;
  }

  /**
   * A decipher for one frame whose ciphertext arrives in pieces (streaming). The caller feeds
   * `update`, sets the tag, and withholds everything `update` returned until `final` succeeds.
   */
  begin(final: boolean | 'single', sequenceNumber: number, iv: Uint8Array, contentLength: number): DecipherGCM {
    const decipher = createDecipheriv(this.#name, this.#key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(this.#aad.for(final, sequenceNumber, contentLength));
    return decipher;
  }
}
