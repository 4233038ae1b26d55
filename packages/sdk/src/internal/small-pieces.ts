/**
 * Many tiny pieces, kept as a few buffers. A stream may arrive in chunks of a byte or a few
 * (a hostile or merely chatty source), and a frame may be a single byte: held one Buffer per
 * piece, a byte of data costs a few hundred bytes of objects (an 8 MiB frame read in 1-byte
 * chunks measured 3.7 GB RSS), and a web stream's queue of them dequeues in quadratic time.
 * Small pieces are copied into shared blocks, and views that follow each other in memory are
 * merged, so what a stream holds is within a small factor of its bytes whatever the chunking.
 */

/** Pieces shorter than this are copied into a block; longer ones are kept as they are. */
export const SMALL_PIECE = 4096;
const BLOCK = 64 * 1024;

/** Hands out views of shared blocks for small pieces; consecutive calls return adjacent views. */
export class SmallPieceArena {
  #block: Buffer | undefined;
  #used = 0;
  /** The blocks this arena handed views of (weakly: a block goes when no view holds it). */
  readonly #blocks = new WeakSet<ArrayBufferLike>();

  /** Whether `piece` is a view of one of this arena's blocks. */
  holds(piece: Buffer): boolean {
    return this.#blocks.has(piece.buffer);
  }

  /** `piece` itself when it is large; else a copy in the current block. */
  place(piece: Buffer): Buffer {
    if (piece.length >= SMALL_PIECE) return piece;
    if (this.#block === undefined || this.#used + piece.length > this.#block.length) {
      // Zeroed, not allocUnsafe: a piece released as a view of its block hands the caller the
      // whole block's ArrayBuffer, which must not hold what the memory held before (another
      // message's plaintext, for one).
      this.#block = Buffer.alloc(BLOCK);
      this.#blocks.add(this.#block.buffer);
      this.#used = 0;
    }
    const view = this.#block.subarray(this.#used, this.#used + piece.length);
    piece.copy(view);
    this.#used += piece.length;
    return view;
  }
}

/** Appends `piece` to `list`, merged into the last entry when it directly follows it in memory. */
export function appendPiece(list: Buffer[], piece: Buffer): void {
  if (piece.length === 0) return;
  const last = list.length === 0 ? undefined : list[list.length - 1]!;
  if (last !== undefined && last.buffer === piece.buffer && last.byteOffset + last.length === piece.byteOffset) {
    list[list.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + piece.length);
    return;
  }
  list.push(piece);
}
