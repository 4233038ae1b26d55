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
/** The end of one pattern of a union: no character moves a position past it. */
const END = 3;
const COLON = 0x3a;

/** Builds a Glob token by token: literal text, `?` (one character) and `*` (any run). */
export class GlobBuilder {
  readonly #kinds: number[] = [];
  readonly #chars: number[] = [];
  /** Whether the wildcard at this position may take a colon (ARN segments keep theirs). */
  readonly #colons: boolean[] = [];
  /** The END token of each pattern appended (append). */
  readonly #ends: number[] = [];

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

  /** Appends another builder's tokens and ends the pattern there (for unionGlob). */
  append(other: GlobBuilder): this {
    for (let i = 0; i < other.#kinds.length; i++) this.#push(other.#kinds[i]!, other.#chars[i]!, other.#colons[i]!);
    // The end of one pattern: a token nothing moves past, so its accepting position is its own.
    this.#kinds.push(END);
    this.#chars.push(0);
    this.#colons.push(false);
    this.#ends.push(this.#kinds.length - 1);
    return this;
  }

  /** The union of the patterns appended (append). */
  buildUnion(ignoreCase = false): Glob {
    const chars = Uint32Array.from(this.#chars, (c) => (ignoreCase ? lower(c) : c));
    return new PositionGlob(Uint8Array.from(this.#kinds), chars, Uint8Array.from(this.#colons, (c) => (c ? 1 : 0)), ignoreCase, this.#ends);
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
    return starGlob(kinds, chars, colons, ignoreCase) ?? new PositionGlob(kinds, chars, colons, ignoreCase);
  }

  #push(kind: number, char: number, takesColon: boolean): this {
    // A run of stars matches what one star does (taking a colon if any of them may): one token. Left
    // as a run, each character that a star of the run may not take (a colon) made the position
    // set re-enter the run from its start, one token per pass: a 32 KB key policy's Resource of
    // 32,000 stars cost half a second per request.
    const last = this.#kinds.length - 1;
    if (kind === STAR && last >= 0 && this.#kinds[last] === STAR) {
      this.#colons[last] ||= takesColon;
      return this;
    }
    this.#kinds.push(kind);
    this.#chars.push(char);
    this.#colons.push(takesColon);
    return this;
  }
}

/**
 * A pattern of literal text and stars that take any character (StringLike's usual shape) as the
 * literal runs between its stars, matched by string search: the first run at the start, the last
 * at the end, each one between at its leftmost place after the one before (a run placed further
 * right never leaves more room for the rest). That costs about the text's length per run, where
 * positions cost the text's length times the pattern's: a value with a policy variable is as long
 * as the request makes it (`*${kms:EncryptionContext:b}*`), and 900 such values against an 8 KiB
 * context held the event loop for seconds. Undefined for other patterns (`?`, a star that takes no
 * colon) and for literal text holding a surrogate code unit (search by UTF-16 unit could match half
 * of a pair; astral text is matched by the positions, as before).
 */
function starGlob(kinds: Uint8Array, chars: Uint32Array, colons: Uint8Array, ignoreCase: boolean): Glob | undefined {
  const runs: number[][] = [[]];
  for (let i = 0; i < kinds.length; i++) {
    if (kinds[i] === ONE || (kinds[i] === STAR && colons[i] !== 1)) return undefined;
    if (kinds[i] === STAR) runs.push([]);
    else runs[runs.length - 1]!.push(chars[i]!);
  }
  return starRunsGlob(runs.map(textOf), ignoreCase);
}

/** Code points as one flat string (a string grown a character at a time is a rope V8 keeps as such). */
function textOf(codes: readonly number[]): string {
  let text = '';
  for (let i = 0; i < codes.length; i += 8192) text += String.fromCodePoint(...codes.slice(i, i + 8192));
  return text;
}

/**
 * The Glob of `runs`, the literal texts between the stars of a pattern that has at least one (see
 * starGlob); undefined when a run holds a surrogate code unit. With `ignoreCase`, runs are lower
 * case already, as GlobBuilder lowers them.
 */
export function starRunsGlob(runs: readonly string[], ignoreCase = false): Glob | undefined {
  if (runs.length < 2 || runs.some((run) => /[\ud800-\udfff]/.test(run))) return undefined;
  const first = runs[0]!;
  const last = runs[runs.length - 1]!;
  const middle = runs.slice(1, -1).filter((run) => run !== '');
  return {
    test(value: string): boolean {
      const text = ignoreCase ? lowerByCodePoint(value) : value;
      const end = text.length - last.length;
      if (end < first.length || !text.startsWith(first) || !text.endsWith(last)) return false;
      let at = first.length;
      for (const run of middle) {
        const found = text.indexOf(run, at);
        if (found < 0 || found + run.length > end) return false;
        at = found + run.length;
      }
      return true;
    },
  };
}

/** `text` with each code point lowered as a PositionGlob lowers it (`lower`), so both read a pattern alike. */
function lowerByCodePoint(text: string): string {
  const codes: number[] = [];
  for (const c of text) codes.push(lower(c.codePointAt(0)!));
  return textOf(codes);
}

/** A Glob of any of several. */
export function anyGlob(globs: readonly Glob[]): Glob {
  return globs.length === 1 ? globs[0]! : { test: (text) => globs.some((glob) => glob.test(text)) };
}

/**
 * One Glob for any of several patterns, run as one position set: each character of the text is
 * read once for all of them, where testing them one by one reads it once per pattern (a condition
 * of 4,000 StringLike values against an encryption context of 2,000 keys made 8 million tests).
 */
export function unionGlob(builders: readonly GlobBuilder[], ignoreCase = false): Glob {
  if (builders.length === 1) return builders[0]!.build(ignoreCase);
  const union = new GlobBuilder();
  for (const builder of builders) union.append(builder);
  return union.buildUnion(ignoreCase);
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
  /** The positions live before the first character (each pattern's first), and the accepting ones. */
  readonly #starts: Int32Array;
  readonly #accepts: Int32Array;
  /** The position sets of a test, kept for the next (a test runs to its end before another starts). */
  #live: Int32Array;
  #next: Int32Array;

  /** `ends`: for a union, each pattern's END token; otherwise the one pattern ends after the last token. */
  constructor(kinds: Uint8Array, chars: Uint32Array, colons: Uint8Array, ignoreCase: boolean, ends?: readonly number[]) {
    this.#words = (kinds.length >>> 5) + 1;
    this.#ignoreCase = ignoreCase;
    const words = () => new Int32Array(this.#words);
    this.#oneAny = words();
    this.#oneNoColon = words();
    this.#starAny = words();
    this.#starNoColon = words();
    this.#stars = words();
    this.#starts = words();
    this.#accepts = words();
    this.#live = words();
    this.#next = words();
    const set = (mask: Int32Array, i: number) => { mask[i >>> 5]! |= 1 << (i & 31); };
    set(this.#starts, 0);
    if (ends) {
      for (const end of ends) {
        set(this.#accepts, end);
        if (end + 1 < kinds.length) set(this.#starts, end + 1);
      }
    } else {
      set(this.#accepts, kinds.length);
    }
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
      } else if (kinds[i] === STAR) {
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
    let live = this.#live;
    let next = this.#next;
    live.set(this.#starts);
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
    this.#live = live;
    this.#next = next;
    for (let w = 0; w < words; w++) if ((live[w]! & this.#accepts[w]!) !== 0) return true;
    return false;
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
