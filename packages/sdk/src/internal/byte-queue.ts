/** A FIFO of received chunks that hands out exact-length slices, copying only across chunk boundaries. */
export class ByteQueue {
  readonly #chunks: Buffer[] = [];
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes without consuming them (n <= length). */
  peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    let head = this.#head;
    for (const c of this.#chunks) {
      o += c.copy(out, o, head, Math.min(c.length, head + n - o));
      head = 0;
      if (o === n) break;
    }
    return out;
  }

  /** Consumes and returns the first `n` bytes (n <= length). */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.#length -= n;
    let left = n;
    while (left > 0) {
      const first = this.#chunks[0]!;
      const available = first.length - this.#head;
      if (available > left) {
        this.#head += left;
        left = 0;
      } else {
        left -= available;
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    return out;
  }

  /** Consumes and returns 1..n bytes (n >= 1, length > 0) without copying: a view of the first chunk. */
  takeUpTo(n: number): Buffer {
    const first = this.#chunks[0]!;
    const k = Math.min(n, first.length - this.#head);
    const out = first.subarray(this.#head, this.#head + k);
    this.#length -= k;
    if (this.#head + k === first.length) {
      this.#chunks.shift();
      this.#head = 0;
    } else {
      this.#head += k;
    }
    return out;
  }

  /** Everything buffered, as one buffer, without consuming it. */
  all(): Buffer {
    return this.#length === 0 ? Buffer.alloc(0) : this.peek(this.#length);
  }
}
