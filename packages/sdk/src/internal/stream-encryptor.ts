/**
 * Incremental encryption (client-apis/encrypt.md, streaming): plaintext arrives in chunks of
 * any size; a regular frame is sealed as soon as more than one frame of input is known to
 * exist, and the final frame (0..frameLength bytes) and footer when the input ends. Shared by
 * the Node and web stream adapters.
 */
import type { CryptographicMaterialsManager } from '../cmm/cmm.js';
import { PolicyViolationError } from '../errors.js';
import type { MessageHeaderInfo } from '../header-info.js';
import type { Keyring } from '../keyrings/keyring.js';
import { UINT32_MAX } from './bytes.js';
import { checkEncryptRequest, prepareEncryption, type EncryptOptions, type PreparedEncryption } from './encryptor.js';
import { assertOptions } from './options.js';
import { finalFrameSize, regularFrameSize } from './frames.js';

export interface EncryptStreamOptions extends EncryptOptions {
  /**
   * The exact plaintext length, when known: the materials request carries it (the caching
   * manager only caches requests with a length) and the stream fails if the input differs.
   */
  readonly plaintextLength?: number;
}

export type Emit = (bytes: Buffer) => void;

/**
 * Frames at least this long are emitted as three pieces (header, ciphertext, tag) with the
 * ciphertext buffer the cipher returned, uncopied; shorter ones are batched into one buffer per
 * write. Memory: besides the output the consumer holds, a stream keeps one frame of pending
 * plaintext (reused) and allocates about one output byte per input byte, nothing else, so little
 * garbage waits for the collector (the SDK README, Streaming, states the bound).
 */
const PIECES_MIN_FRAME_LENGTH = 64 * 1024;

/**
 * The pending-plaintext buffer starts at most this large and doubles as input arrives (up to
 * the frame length), so a few bytes under a 4 GiB frame length do not allocate 4 GiB. At the
 * default frame length (1 MiB) it is allocated once, whole, as before.
 */
const INITIAL_PENDING = 1024 * 1024;

/**
 * What a stream constructor checks, so that it throws on misuse before any data flows, as the
 * decrypt streams do: the declared length, then what prepareEncryption refuses before it asks for
 * materials (checkEncryptRequest).
 */
export function checkEncryptStream(keyringOrCmm: Keyring | CryptographicMaterialsManager, options: EncryptStreamOptions): void {
  checkEncryptRequest(keyringOrCmm, options, declaredLength(options));
}

/** The stream's declared plaintext length, checked, or undefined when none is declared. */
function declaredLength(options: EncryptStreamOptions): number | undefined {
  assertOptions(options);
  const length = options.plaintextLength;
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new RangeError('plaintextLength must be a non-negative integer');
  return length;
}

export class StreamEncryptor {
  readonly messageHeader: MessageHeaderInfo;
  readonly #p: PreparedEncryption;
  readonly #declaredLength: number | undefined;
  #pending: Buffer | undefined;
  #pendingLength = 0;
  #sequenceNumber = 1;
  #total = 0;
  #headerSent = false;
  #finished = false;

  private constructor(p: PreparedEncryption, declaredLength: number | undefined) {
    this.#p = p;
    this.#declaredLength = declaredLength;
    this.messageHeader = p.messageHeader;
  }

  static async create(keyringOrCmm: Keyring | CryptographicMaterialsManager, options: EncryptStreamOptions): Promise<StreamEncryptor> {
    // The options are read again now, at the first write: the length checked again, the rest by prepareEncryption.
    const length = declaredLength(options);
    return new StreamEncryptor(await prepareEncryption(keyringOrCmm, options, length), length);
  }

  #emit(out: Buffer, emit: Emit): void {
    this.#p.signer?.update(out);
    emit(out);
  }

  #header(emit: Emit): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    // The signer has already been fed the header (prepareEncryption).
    emit(this.#p.header);
  }

  push(chunk: Uint8Array, emit: Emit): void {
    if (this.#finished) throw new TypeError('write after end');
    this.#header(emit);
    const { frameLength, sealer } = this.#p;
    this.#total += chunk.byteLength;
    if (this.#declaredLength !== undefined && this.#total > this.#declaredLength) {
      throw new PolicyViolationError('stream is longer than the declared plaintextLength');
    }
    const total = this.#pendingLength + chunk.byteLength;
    // Regular frames to seal now: all full frames but the last, which may turn out final.
    const frames = total > frameLength ? Math.floor((total - 1) / frameLength) : 0;
    if (this.#sequenceNumber - 1 + frames >= UINT32_MAX) throw new RangeError('message needs more than 2^32 - 1 frames');
    let c = 0;
    if (frames > 0) {
      const out = frameLength >= PIECES_MIN_FRAME_LENGTH ? undefined : Buffer.allocUnsafe(frames * regularFrameSize(frameLength));
      let o = 0;
      for (let i = 0; i < frames; i++) {
        let content: Uint8Array;
        if (this.#pendingLength > 0) {
          const take = frameLength - this.#pendingLength;
          this.#reserve(frameLength).set(chunk.subarray(c, c + take), this.#pendingLength);
          c += take;
          this.#pendingLength = 0;
          content = this.#pending!;
        } else {
          content = chunk.subarray(c, c + frameLength);
          c += frameLength;
        }
        if (out === undefined) sealer.sealPieces(content, false, this.#sequenceNumber++, (b) => this.#emit(b, emit));
        else o = sealer.sealInto(content, false, this.#sequenceNumber++, out, o);
      }
      if (out !== undefined) this.#emit(out, emit);
    }
    const rest = chunk.byteLength - c;
    if (rest > 0) {
      this.#reserve(this.#pendingLength + rest).set(chunk.subarray(c), this.#pendingLength);
      this.#pendingLength += rest;
    }
  }

  /** The pending buffer, grown to hold `n` bytes (n <= frameLength); a full frame is exactly frameLength long. */
  #reserve(n: number): Buffer {
    const current = this.#pending;
    if (current !== undefined && current.length >= n) return current;
    const size = Math.min(this.#p.frameLength, Math.max(n, INITIAL_PENDING, 2 * (current?.length ?? 0)));
    const next = Buffer.alloc(size);
    if (current !== undefined) {
      current.copy(next, 0, 0, this.#pendingLength);
      current.fill(0);
    }
    this.#pending = next;
    return next;
  }

  /** Seals the final frame (possibly empty) and writes the footer. */
  finish(emit: Emit): void {
    if (this.#finished) return;
    if (this.#declaredLength !== undefined && this.#total !== this.#declaredLength) {
      throw new PolicyViolationError('stream is shorter than the declared plaintextLength');
    }
    this.#header(emit);
    this.#finished = true;
    const content = this.#pending === undefined ? Buffer.alloc(0) : this.#pending.subarray(0, this.#pendingLength);
    if (this.#p.frameLength >= PIECES_MIN_FRAME_LENGTH) {
      this.#p.sealer.sealPieces(content, true, this.#sequenceNumber, (b) => this.#emit(b, emit));
    } else {
      const out = Buffer.allocUnsafe(finalFrameSize(content.length));
      this.#p.sealer.sealInto(content, true, this.#sequenceNumber, out, 0);
      this.#emit(out, emit);
    }
    this.#pending?.fill(0);
    const signer = this.#p.signer;
    if (signer !== undefined) {
      const signature = signer.sign();
      const footer = Buffer.allocUnsafe(2 + signature.length);
      footer.writeUInt16BE(signature.length, 0);
      signature.copy(footer, 2);
      emit(footer);
    }
  }

  /** Zeroes buffered plaintext after a failure. */
  abort(): void {
    this.#finished = true;
    this.#pending?.fill(0);
  }
}
