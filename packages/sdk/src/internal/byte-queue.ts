/**
 * A FIFO of received chunks that hands out exact-length slices, copying only across chunk
 * boundaries. Small chunks are copied into shared blocks and merged (internal/small-pieces.ts),
 * and consumed chunks are dropped by moving an index, so neither the memory held nor the time
 * to consume grows faster than the bytes, however finely the input is cut.
 */
import { appendPiece, SmallPieceArena } from './small-pieces.js';

export class ByteQueue {
  #chunks: Buffer[] = [];
  /** Index of the first unconsumed chunk. */
  #first = 0;
  /** Bytes of #chunks[#first] already consumed. */
  #head = 0;
  #length = 0;
  readonly #arena = new SmallPieceArena();
  /**
   * Chunks before this index are this queue's own memory (copies, or the arena's blocks): after
   * ownRemaining every chunk is, and a push only appends (a merge joins pieces of one buffer,
   * never the caller's memory to a copy), so each call looks at the chunks pushed since the last.
   */
  #owned = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    // Merging only ever extends the last chunk at its end, so #head (an offset from a chunk's start) stays valid.
    if (this.#first === this.#chunks.length) this.#reset();
    appendPiece(this.#chunks, this.#arena.place(chunk));
    this.#length += chunk.length;
  }

  /** The first `n` bytes without consuming them (n <= length). */
  peek(n: number): Buffer {
    const first = this.#chunks[this.#first]!;
    if (first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    let head = this.#head;
    for (let i = this.#first; o < n; i++) {
      const c = this.#chunks[i]!;
      o += c.copy(out, o, head, Math.min(c.length, head + n - o));
      head = 0;
    }
    return out;
  }

  /** Consumes and returns the first `n` bytes (n <= length). */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.#length -= n;
    let left = n;
    while (left > 0) {
      const available = this.#chunks[this.#first]!.length - this.#head;
      if (available > left) {
        this.#head += left;
        left = 0;
      } else {
        left -= available;
        this.#dropFirst();
      }
    }
    return out;
  }

  /** Consumes and returns 1..n bytes (n >= 1, length > 0) without copying: a view of the first chunk. */
  takeUpTo(n: number): Buffer {
    const first = this.#chunks[this.#first]!;
    const k = Math.min(n, first.length - this.#head);
    const out = first.subarray(this.#head, this.#head + k);
    this.#length -= k;
    if (this.#head + k === first.length) this.#dropFirst();
    else this.#head += k;
    return out;
  }

  /**
   * Copies the unconsumed bytes that are still the caller's memory (large chunks are queued by
   * reference, not copied), so the caller may reuse or transfer its buffers once a write is
   * acknowledged, as Node's and the web's stream contracts allow. Each byte is copied at most
   * once; between writes a decrypting stream holds little (a frame header or tag that straddles
   * two chunks), except while it waits for the rest of a header or of a non-framed body.
   */
  ownRemaining(): void {
    for (let i = Math.max(this.#first, this.#owned); i < this.#chunks.length; i++) {
      const chunk = this.#chunks[i]!;
      if (this.#arena.holds(chunk)) continue;
      const start = i === this.#first ? this.#head : 0;
      // Outside Node's shared pool: a pooled copy could lie right before the caller's next
      // chunk, and appendPiece would merge the caller's memory into it.
      const copy = Buffer.allocUnsafeSlow(chunk.length - start);
      chunk.copy(copy, 0, start);
      this.#chunks[i] = copy;
      if (i === this.#first) this.#head = 0;
    }
    this.#owned = this.#chunks.length;
  }

  /** Everything buffered, as one buffer, without consuming it. */
  all(): Buffer {
    return this.#length === 0 ? Buffer.alloc(0) : this.peek(this.#length);
  }

  #dropFirst(): void {
    this.#chunks[this.#first++] = undefined as unknown as Buffer; // let it be collected
    this.#head = 0;
    // Compact once the consumed prefix is most of the array: amortised O(1) per chunk.
    if (this.#first === this.#chunks.length) this.#reset();
    else if (this.#first >= 1024 && this.#first * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#owned = Math.max(0, this.#owned - this.#first);
      this.#first = 0;
    }
  }

  #reset(): void {
    this.#chunks.length = 0;
    this.#first = 0;
    this.#head = 0;
    this.#owned = 0;
  }
}
