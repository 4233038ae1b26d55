/**
 * Big-endian integer encoding and a bounds-checked reader for the message format.
 * Every integer in the ESDK message format is unsigned big-endian (data-format/message.md).
 */
import { MalformedMessageError } from '../errors.js';

export const UINT16_MAX = 0xffff;
export const UINT32_MAX = 0xffffffff;

export function u8(n: number): Buffer {
  const b = Buffer.alloc(1);
  b.writeUInt8(n);
  return b;
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function u64(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('u64 value out of range');
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Length-prefixed (u16) bytes, the shape of every variable field in the header. */
export function u16Prefixed(bytes: Uint8Array, what: string): Buffer {
  if (bytes.byteLength > UINT16_MAX) throw new RangeError(`${what} is longer than 65535 bytes`);
  return Buffer.concat([u16(bytes.byteLength), bytes]);
}

const NEEDED = Symbol('bytes needed');

/**
 * A MalformedMessageError marked so a streaming reader can tell "need more bytes" from "bad bytes",
 * and how many bytes from the reader's start the field it stopped at ends at (a lower bound on
 * the length it needs), so it waits for that many before trying again.
 */
export function truncated(what: string, needed: number): MalformedMessageError {
  const e = new MalformedMessageError(`message is truncated (reading ${what})`);
  Object.defineProperty(e, NEEDED, { value: needed });
  return e;
}

/** For a truncation error: the bytes needed to read past the field it stopped at (else undefined). */
export function bytesNeeded(e: unknown): number | undefined {
  if (!(e instanceof MalformedMessageError)) return undefined;
  const needed = (e as unknown as Record<symbol, unknown>)[NEEDED];
  return typeof needed === 'number' ? needed : undefined;
}

/**
 * Reads fields in order from a message; running past the end is a truncated message.
 * Slices share memory with the input, so callers copy anything they keep beyond the call.
 */
export class ByteReader {
  #offset: number;
  readonly #bytes: Buffer;
  readonly #within: string | undefined;

  /**
   * `within` names a field whose whole length is already known (e.g. the header's encryption
   * context): running past its end is then a malformed field, never a message still to arrive.
   */
  constructor(bytes: Uint8Array, offset = 0, within?: string) {
    this.#bytes = toBuffer(bytes);
    this.#offset = offset;
    this.#within = within;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #need(n: number, what: string): void {
    if (n <= this.remaining) return;
    if (this.#within !== undefined) throw new MalformedMessageError(`${this.#within} ends inside its ${what}`);
    throw truncated(what, this.#offset + n);
  }

  u8(what: string): number {
    this.#need(1, what);
    const v = this.#bytes.readUInt8(this.#offset);
    this.#offset += 1;
    return v;
  }

  u16(what: string): number {
    this.#need(2, what);
    const v = this.#bytes.readUInt16BE(this.#offset);
    this.#offset += 2;
    return v;
  }

  u32(what: string): number {
    this.#need(4, what);
    const v = this.#bytes.readUInt32BE(this.#offset);
    this.#offset += 4;
    return v;
  }

  /** u64 fields are bounded far below 2^53 by the format, so a number is exact. */
  u64(what: string): number {
    this.#need(8, what);
    const v = this.#bytes.readBigUInt64BE(this.#offset);
    this.#offset += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedMessageError(`${what} is out of range`);
    return Number(v);
  }

  bytes(n: number, what: string): Buffer {
    this.#need(n, what);
    const v = this.#bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return v;
  }

  u16Prefixed(what: string): Buffer {
    return this.bytes(this.u16(`${what} length`), what);
  }

  /** The raw bytes between two offsets already read (used to authenticate the header as written). */
  slice(start: number, end: number): Buffer {
    return this.#bytes.subarray(start, end);
  }
}
