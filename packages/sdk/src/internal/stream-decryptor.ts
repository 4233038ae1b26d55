/**
 * Incremental decryption (client-apis/decrypt.md, streaming). Three release modes:
 *
 * - buffered (default): plaintext is withheld until the whole message has verified (every
 *   tag, the signature, no trailing bytes at the end of input), holding at most
 *   `maxBufferedBytes` of plaintext; a larger message fails instead of releasing anything.
 * - unsignedStreaming: only unsigned suites are accepted (a signed message fails before any
 *   keyring runs) and each frame's plaintext is released as soon as its tag verifies, so memory
 *   is bounded by the frame length. A truncated stream still fails at its end, but frames
 *   before the cut have been released: the caller must treat output as final only after the
 *   stream ends without error.
 * - signedStreaming: every message streams. Frames are released as their tags verify, those of
 *   a signed message before its signature has been checked; the final frame (or a non-framed
 *   body) of a signed message is held until the signature verifies (decrypt.md, "Decrypt the
 *   message body"). For output that is thrown away unless the stream ends without error, such as
 *   a temporary file renamed at the end: a message forged by a holder of the data key fails at
 *   its signature only after the frames before its last were released.
 *
 * A frame is deciphered piece by piece as its ciphertext arrives, straight from the input
 * chunks (never gathered into one buffer), and its plaintext pieces are withheld until its tag
 * verifies: one frame of plaintext is held, and a byte of input allocates about one byte.
 */
import type { DecipherGCM } from 'node:crypto';
import type { CryptographicMaterialsManager } from '../cmm/cmm.js';
import { copyEncryptionContext, type EncryptionContext } from '../encryption-context.js';
import type { CommitmentPolicy } from '../commitment-policy.js';
import { AuthenticationError, MalformedMessageError, PolicyViolationError } from '../errors.js';
import type { MessageHeaderInfo } from '../header-info.js';
import type { Keyring } from '../keyrings/keyring.js';
import { SEQUENCE_NUMBER_END } from '../serialize/frame.js';
import { ContentType, readHeaderBody, type HeaderBody } from '../serialize/header.js';
import { readHeaderAuth } from '../serialize/header-auth.js';
import { MAX_NON_FRAMED_CONTENT } from '../serialize/non-framed.js';
import { ByteQueue } from './byte-queue.js';
import { ByteReader, bytesNeeded } from './bytes.js';
import { appendPiece, SmallPieceArena } from './small-pieces.js';
import { prepareDecryption, type DecryptOptions, type MessageVerifier } from './decryptor.js';
import type { FrameOpener } from './frames.js';
import { assertOptions, resolveCommitmentPolicy, resolveMaterialsManager, resolveMaxEncryptedDataKeys, resolveSwitch } from './options.js';

export interface DecryptStreamOptions extends DecryptOptions {
  /**
   * Release each frame's plaintext as soon as its tag verifies. Only unsigned suites are
   * accepted in this mode; a signed message fails before any keyring is called.
   */
  readonly unsignedStreaming?: boolean;
  /**
   * Release each frame's plaintext as soon as its tag verifies, for signed messages too: the
   * final frame of a signed message is held until the signature verifies. Output is unverified
   * until the stream ends without error; discard it otherwise. Not with `unsignedStreaming`.
   */
  readonly signedStreaming?: boolean;
  /**
   * Buffered mode: most plaintext bytes held back until the message verifies (default 64 MiB).
   * Every mode: the largest frame (or non-framed body) that will be buffered to check its tag,
   * and the largest header.
   */
  readonly maxBufferedBytes?: number;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
const IV = 12;
const HEADER_PROBE = 1 << 20;
const TAG = 16;

type Emit = (bytes: Buffer) => void;
type State = 'header' | 'body' | 'footer' | 'done';
/** When verified plaintext leaves (see the modes above). */
type Release = 'buffered' | 'unsigned' | 'streaming';

/** The frame being opened. */
interface OpenFrame {
  readonly final: boolean;
  readonly decipher: DecipherGCM;
  /** Ciphertext bytes still to come. */
  remaining: number;
  /** Deciphered so far, not yet verified: never released before the tag checks. */
  readonly plaintext: Buffer[];
}

export class StreamDecryptor {
  readonly #cmm: CryptographicMaterialsManager;
  readonly #policy: CommitmentPolicy;
  readonly #maxEdks: number;
  readonly #reproduced: EncryptionContext;
  readonly #release: Release;
  readonly #maxBuffered: number;
  readonly #queue = new ByteQueue();
  #state: State = 'header';
  #header: HeaderBody | undefined;
  #opener: FrameOpener | undefined;
  #verifier: MessageVerifier | undefined;
  #sequenceNumber = 1;
  #frame: OpenFrame | undefined;
  readonly #held: Buffer[] = [];
  /** Small deciphered pieces are gathered here, so plaintext held costs about its bytes (internal/small-pieces.ts). */
  readonly #plaintextArena = new SmallPieceArena();
  #heldBytes = 0;
  /** Header bytes known to be needed (the end of the field the last try stopped at). */
  #headerNeeds = 0;
  /** Bytes buffered at the last try to parse the header. */
  #headerTried = 0;
  /** Set by abort(): a keyring call still running when the stream is destroyed must not start the body. */
  #aborted = false;
  messageHeader: MessageHeaderInfo | undefined;

  constructor(keyringOrCmm: Keyring | CryptographicMaterialsManager, options: DecryptStreamOptions) {
    assertOptions(options);
    this.#cmm = resolveMaterialsManager(keyringOrCmm);
    this.#policy = resolveCommitmentPolicy(options.commitmentPolicy);
    this.#maxEdks = resolveMaxEncryptedDataKeys(options.maxEncryptedDataKeys);
    this.#reproduced = copyEncryptionContext(options.encryptionContext);
    const unsigned = resolveSwitch(options.unsignedStreaming, 'unsignedStreaming');
    const signed = resolveSwitch(options.signedStreaming, 'signedStreaming');
    if (unsigned && signed) {
      throw new TypeError('unsignedStreaming and signedStreaming cannot be combined: the first refuses signed messages, the second streams them');
    }
    this.#release = unsigned ? 'unsigned' : signed ? 'streaming' : 'buffered';
    const max = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('maxBufferedBytes must be a positive integer');
    this.#maxBuffered = max;
  }

  /**
   * Feeds ciphertext; `emit` receives verified plaintext (in the streaming modes only). Once the
   * returned promise settles, nothing refers to `chunk` any more: the caller may reuse it.
   */
  async push(chunk: Uint8Array, emit: Emit): Promise<void> {
    if (this.#aborted) return;
    this.#queue.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    try {
      if (this.#state === 'header') await this.#readHeader(false);
      this.#readRest(emit);
    } finally {
      this.#queue.ownRemaining();
    }
    if (this.#state === 'done' && this.#queue.length > 0) throw new MalformedMessageError('unexpected bytes after the end of the message');
  }

  /** End of input: fails on a truncated message; releases the verified plaintext held back. */
  async finish(emit: Emit): Promise<void> {
    if (this.#state === 'header') {
      await this.#readHeader(true);
      this.#readRest(emit);
    }
    if (this.#state !== 'done') throw new MalformedMessageError('message is truncated');
    if (this.#queue.length > 0) throw new MalformedMessageError('unexpected bytes after the end of the message');
    for (const p of this.#held.splice(0)) emit(p);
    this.#heldBytes = 0;
  }

  /** Zeroes held plaintext after a failure. */
  abort(): void {
    this.#aborted = true;
    for (const p of this.#held.splice(0)) p.fill(0);
    this.#heldBytes = 0;
    for (const p of this.#frame?.plaintext.splice(0) ?? []) p.fill(0);
    this.#frame = undefined;
  }

  #readRest(emit: Emit): void {
    // What verifies in one call goes out as few buffers as adjacent pieces allow, also when a
    // later frame fails: a web stream's queue of many tiny chunks dequeues in quadratic time.
    const verified: Buffer[] = [];
    try {
      if (this.#state === 'body') this.#readBody((b) => appendPiece(verified, b));
      if (this.#state === 'footer') this.#readFooter();
    } finally {
      for (const p of verified) {
        if (!this.#plaintextArena.holds(p)) {
          emit(p);
          continue;
        }
        // Verified plaintext in a shared block leaves as a copy of its own, and its bytes in the
        // block are zeroed: the block may already hold the next frame's plaintext, not verified
        // yet, which the released buffer's ArrayBuffer would otherwise expose to the caller.
        emit(Buffer.from(p));
        p.fill(0);
      }
    }
  }

  /**
   * Parses the header once enough of it may have arrived. The header is parsed whole, from the
   * start, each time, so a header that arrives in many chunks is tried again only when the input
   * has at least doubled since the last try (and holds the field that try stopped at), or has
   * passed maxBufferedBytes: the bytes examined stay within a few times the header's length,
   * however it is cut. A header longer than maxBufferedBytes is refused as soon as the input
   * passes that length, since it would all be held in memory (a message may declare 65,535 data
   * keys of up to 192 KiB each, ~12 GiB).
   */
  async #readHeader(atEnd: boolean): Promise<void> {
    const q = this.#queue;
    if (!atEnd && q.length < Math.max(this.#headerNeeds, Math.min(2 * this.#headerTried, this.#maxBuffered + 1))) return;
    if (atEnd && q.length === this.#headerTried) return; // nothing new since a try that came up short
    this.#headerTried = q.length;
    // Most headers are small: parse from a bounded prefix first, so a large first write is not copied.
    const probe = Math.max(HEADER_PROBE, this.#headerNeeds);
    let bytes = q.length > probe ? q.peek(probe) : q.all();
    for (;;) {
      try {
        return await this.#parseHeader(bytes);
      } catch (e) {
        const needed = bytesNeeded(e);
        // Not a header running past the bytes at hand (a field within it ran short): malformed.
        if (needed === undefined || needed <= bytes.length) throw e;
        if (needed > this.#maxBuffered) {
          throw new PolicyViolationError(`the message header is longer than maxBufferedBytes (${this.#maxBuffered} bytes)`);
        }
        this.#headerNeeds = needed;
        if (q.length < needed || bytes.length === q.length) return; // wait for more bytes
        bytes = q.all();
      }
    }
  }

  async #parseHeader(bytes: Buffer): Promise<void> {
    const r = new ByteReader(bytes);
    const { header, bytes: headerBody } = readHeaderBody(r, this.#maxEdks);
    const auth = readHeaderAuth(r, header.version, header.suite);
    const authEnd = r.offset;
    // Also when it arrived whole in one chunk: the limit must not depend on how the input is cut.
    if (authEnd > this.#maxBuffered) throw new PolicyViolationError(`the message header is longer than maxBufferedBytes (${this.#maxBuffered} bytes)`);
    // The signature policy is decided before any keyring sees the EDKs.
    if (this.#release === 'unsigned' && header.suite.signature !== null) {
      throw new PolicyViolationError('unsignedStreaming accepts only unsigned algorithm suites; this message is signed');
    }
    const consumed = this.#queue.take(authEnd);
    const prepared = await prepareDecryption(
      this.#cmm, this.#policy, this.#reproduced, header, consumed.subarray(0, headerBody.length), auth, consumed.subarray(headerBody.length),
    );
    // Aborted while the keyring ran: decrypt nothing more (the stream is gone and abort() has already zeroed what it held).
    if (this.#aborted) return;
    this.#header = header;
    this.#opener = prepared.opener;
    this.#verifier = prepared.verifier;
    this.messageHeader = prepared.messageHeader;
    this.#state = 'body';
  }

  /** Verified plaintext of a frame (`last`: the final frame, or a non-framed body): released now, or held. */
  #verified(plaintext: Buffer[], last: boolean, emit: Emit): void {
    // In the streaming mode only a signed message's last frame waits: for its signature.
    if (this.#release === 'unsigned' || (this.#release === 'streaming' && (!last || this.#verifier === undefined))) {
      for (const p of plaintext) emit(p);
      return;
    }
    for (const p of plaintext) {
      this.#heldBytes += p.length;
      appendPiece(this.#held, p);
    }
    if (this.#heldBytes > this.#maxBuffered) {
      throw new PolicyViolationError('plaintext exceeds maxBufferedBytes before the message could be verified; for large messages use unsignedStreaming (unsigned suites) or signedStreaming (output discarded unless the stream ends without error)');
    }
  }

  #readBody(emit: Emit): void {
    const header = this.#header!;
    const q = this.#queue;
    if (header.contentType === ContentType.NonFramed) {
      if (q.length < IV + 8) return;
      const length = Number(q.peek(IV + 8).readBigUInt64BE(IV));
      if (length > MAX_NON_FRAMED_CONTENT) throw new MalformedMessageError('non-framed content is too long');
      if (length > this.#maxBuffered) throw new PolicyViolationError('non-framed body is larger than maxBufferedBytes');
      if (q.length < IV + 8 + length + TAG) return;
      const body = q.take(IV + 8 + length + TAG);
      this.#verifier?.update(body);
      const out = Buffer.allocUnsafe(length);
      if (this.#opener!.openSingleBlockInto(body.subarray(0, IV), body.subarray(IV + 8, IV + 8 + length), body.subarray(IV + 8 + length), out, 0) < 0) {
        throw new AuthenticationError('body authentication tag does not verify');
      }
      this.#verified([out], true, emit);
      this.#state = this.#verifier === undefined ? 'done' : 'footer';
      return;
    }
    for (;;) {
      if (this.#frame === undefined && !this.#beginFrame(header.frameLength)) return;
      const frame = this.#frame!;
      while (frame.remaining > 0 && q.length > 0) {
        const piece = q.takeUpTo(frame.remaining);
        this.#verifier?.update(piece);
        const deciphered = frame.decipher.update(piece);
        const placed = this.#plaintextArena.place(deciphered);
        if (placed !== deciphered) deciphered.fill(0);
        appendPiece(frame.plaintext, placed);
        frame.remaining -= piece.length;
      }
      if (frame.remaining > 0 || q.length < TAG) return;
      const tag = q.take(TAG);
      this.#verifier?.update(tag);
      frame.decipher.setAuthTag(tag);
      try {
        frame.decipher.final();
      } catch {
        throw new AuthenticationError('body authentication tag does not verify'); // abort() zeroes the frame's plaintext
      }
      this.#frame = undefined;
      this.#verified(frame.plaintext, frame.final, emit);
      if (frame.final) {
        this.#state = this.#verifier === undefined ? 'done' : 'footer';
        return;
      }
      this.#sequenceNumber++;
    }
  }

  /** Reads the next frame's header, when it has arrived, and starts deciphering that frame. */
  #beginFrame(frameLength: number): boolean {
    const q = this.#queue;
    if (q.length < 4) return false;
    const final = q.peek(4).readUInt32BE(0) === SEQUENCE_NUMBER_END;
    let length = frameLength;
    if (final) {
      if (q.length < 8 + IV + 4) return false;
      length = q.peek(8 + IV + 4).readUInt32BE(8 + IV);
      if (length > frameLength) throw new MalformedMessageError('final frame is longer than the frame length');
      if (length > this.#maxBuffered) throw new PolicyViolationError('final frame is larger than maxBufferedBytes');
    } else {
      // A whole frame's plaintext is held before its tag can be checked: bound it before reading it.
      if (frameLength > this.#maxBuffered) throw new PolicyViolationError('frame length is larger than maxBufferedBytes');
      if (q.length < 4 + IV) return false;
    }
    const head = q.take(final ? 8 + IV + 4 : 4 + IV);
    const ivStart = final ? 8 : 4;
    const sequenceNumber = head.readUInt32BE(ivStart - 4);
    if (sequenceNumber !== this.#sequenceNumber) throw new MalformedMessageError('frame sequence number is out of order');
    this.#verifier?.update(head);
    // The IV as serialized, not recomputed: some official producers wrote non-canonical IVs.
    const decipher = this.#opener!.begin(final, sequenceNumber, head.subarray(ivStart, ivStart + IV), length);
    this.#frame = { final, decipher, remaining: length, plaintext: [] };
    return true;
  }

  #readFooter(): void {
    const q = this.#queue;
    if (q.length < 2) return;
    const length = q.peek(2).readUInt16BE(0);
    if (q.length < 2 + length) return;
    const signature = q.take(2 + length).subarray(2);
    if (!this.#verifier!.verify(signature)) throw new AuthenticationError('message signature does not verify');
    this.#state = 'done';
  }
}
