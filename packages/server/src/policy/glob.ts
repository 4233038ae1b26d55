/**
 * Wildcard patterns matched without regular expressions. A RegExp such as `^.*\/.*\/.*\/x$`
 * backtracks polynomially on long text, and request values (an encryption context value may be
 * 8 KiB) reach StringLike: one request could hold the event loop for minutes. A Glob runs its
 * pattern as a set of positions (a Thompson NFA), in time proportional to text length × pattern
 * length, whatever the pattern. Text is read by code points, so `?` takes one character even
 * outside the Basic Multilingual Plane.
 */
export interface Glob {
  test(text: string): boolean;
}

const LITERAL = 0;
const ONE = 1;
const STAR = 2;
const COLON = 0x3a;

/** Builds a Glob token by token: literal text, `?` (one character) and `*` (any run). */
export class GlobBuilder {
  readonly #kinds: number[] = [];
  readonly #chars: number[] = [];
  /** Whether the wildcard at this position may take a colon (ARN segments keep theirs). */
  readonly #colons: boolean[] = [];

  literal(text: string): this {
    for (const c of text) this.#push(LITERAL, c.codePointAt(0)!, false);
    return this;
  }

  one(takesColon = true): this {
    return this.#push(ONE, 0, takesColon);
  }

  star(takesColon = true): this {
    return this.#push(STAR, 0, takesColon);
  }

  /** With `ignoreCase`, letters compare by their lower case (action names). */
  build(ignoreCase = false): Glob {
    const kinds = Uint8Array.from(this.#kinds);
    const colons = Uint8Array.from(this.#colons, (c) => (c ? 1 : 0));
    const chars = Uint32Array.from(this.#chars, (c) => (ignoreCase ? lower(c) : c));
    if (kinds.every((kind) => kind === LITERAL)) {
      const text = String.fromCodePoint(...chars);
      return { test: ignoreCase ? (value) => value.toLowerCase() === text : (value) => value === text };
    }
    if (kinds.length === 1 && kinds[0] === STAR && colons[0] === 1) return { test: () => true };
    return new PositionGlob(kinds, chars, colons, ignoreCase);
  }

  #push(kind: number, char: number, takesColon: boolean): this {
    this.#kinds.push(kind);
    this.#chars.push(char);
    this.#colons.push(takesColon);
    return this;
  }
}

/** A Glob of any of several. */
export function anyGlob(globs: readonly Glob[]): Glob {
  return globs.length === 1 ? globs[0]! : { test: (text) => globs.some((glob) => glob.test(text)) };
}

function lower(codePoint: number): number {
  return String.fromCodePoint(codePoint).toLowerCase().codePointAt(0)!;
}

/**
 * The positions as bits, 32 to a word (bit i: the pattern's first i tokens match the text read so
 * far; bit `length`: all of them), in Int32Arrays so that every word stays a small integer. Each
 * character then costs a few word operations per 32 tokens instead of a step per token: a 32 KB
 * key policy of StringLike values against an 8 KiB encryption context value held the event loop
 * for seconds when every position was a step of its own.
 */
class PositionGlob implements Glob {
  readonly #length: number;
  readonly #words: number;
  readonly #ignoreCase: boolean;
  /** Per code point: the literal tokens that take it. */
  readonly #literals = new Map<number, Int32Array>();
  /** `?` tokens taking any character, and those that take no colon. */
  readonly #oneAny: Int32Array;
  readonly #oneNoColon: Int32Array;
  /** `*` tokens taking any character, and those that take no colon. */
  readonly #starAny: Int32Array;
  readonly #starNoColon: Int32Array;
  readonly #stars: Int32Array;

  constructor(kinds: Uint8Array, chars: Uint32Array, colons: Uint8Array, ignoreCase: boolean) {
    this.#length = kinds.length;
    this.#words = (kinds.length >>> 5) + 1;
    this.#ignoreCase = ignoreCase;
    const words = () => new Int32Array(this.#words);
    this.#oneAny = words();
    this.#oneNoColon = words();
    this.#starAny = words();
    this.#starNoColon = words();
    this.#stars = words();
    for (let i = 0; i < kinds.length; i++) {
      const w = i >>> 5;
      const bit = 1 << (i & 31);
      if (kinds[i] === LITERAL) {
        const char = chars[i]!;
        let mask = this.#literals.get(char);
        if (!mask) this.#literals.set(char, (mask = words()));
        mask[w]! |= bit;
      } else if (kinds[i] === ONE) {
        (colons[i] === 1 ? this.#oneAny : this.#oneNoColon)[w]! |= bit;
      } else {
        (colons[i] === 1 ? this.#starAny : this.#starNoColon)[w]! |= bit;
        this.#stars[w]! |= bit;
      }
    }
  }

  test(text: string): boolean {
    const words = this.#words;
    const oneAny = this.#oneAny;
    const oneNoColon = this.#oneNoColon;
    const starAny = this.#starAny;
    const starNoColon = this.#starNoColon;
    let live = new Int32Array(words);
    let next = new Int32Array(words);
    live[0] = 1;
    this.#skipStars(live);
    // By code point, as `for...of` reads a string (a lone surrogate is a code point of its own),
    // without a string for each character.
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          code = ((code - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          i++;
        }
      }
      const char = this.#ignoreCase ? lower(code) : code;
      const literal = this.#literals.get(char);
      const colon = char === COLON;
      let carry = 0;
      let any = 0;
      for (let w = 0; w < words; w++) {
        const from = live[w]!;
        // A literal or `?` that takes the character moves on one position; a star stays.
        const moves = from & ((literal ? literal[w]! : 0) | oneAny[w]! | (colon ? 0 : oneNoColon[w]!));
        const stays = from & (starAny[w]! | (colon ? 0 : starNoColon[w]!));
        const word = (moves << 1) | carry | stays;
        carry = moves >>> 31;
        next[w] = word;
        any |= word;
      }
      if (any === 0) return false;
      this.#skipStars(next);
      const read = live;
      live = next;
      next = read;
    }
    const accept = this.#length;
    return (live[accept >>> 5]! & (1 << (accept & 31))) !== 0;
  }

  /** A star may take nothing: a live position before a star makes the one after it live (again for a run of stars). */
  #skipStars(live: Int32Array): void {
    for (let changed = true; changed;) {
      changed = false;
      let carry = 0;
      for (let w = 0; w < this.#words; w++) {
        const word = live[w]!;
        const skipped = word & this.#stars[w]!;
        const grown = word | (skipped << 1) | carry;
        carry = skipped >>> 31;
        if (grown !== word) {
          live[w] = grown;
          changed = true;
        }
      }
    }
  }
}
