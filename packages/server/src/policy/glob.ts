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

class PositionGlob implements Glob {
  readonly #kinds: Uint8Array;
  readonly #chars: Uint32Array;
  readonly #colons: Uint8Array;
  readonly #ignoreCase: boolean;

  constructor(kinds: Uint8Array, chars: Uint32Array, colons: Uint8Array, ignoreCase: boolean) {
    this.#kinds = kinds;
    this.#chars = chars;
    this.#colons = colons;
    this.#ignoreCase = ignoreCase;
  }

  test(text: string): boolean {
    const kinds = this.#kinds;
    const length = kinds.length;
    // Position i live: the pattern's first i tokens match the text read so far.
    let live = new Uint8Array(length + 1);
    let next = new Uint8Array(length + 1);
    live[0] = 1;
    this.#skipStars(live);
    for (const c of text) {
      const char = this.#ignoreCase ? lower(c.codePointAt(0)!) : c.codePointAt(0)!;
      next.fill(0);
      let any = false;
      for (let i = 0; i < length; i++) {
        if (live[i] === 0) continue;
        const kind = kinds[i];
        if (kind === LITERAL ? this.#chars[i] === char : this.#colons[i] === 1 || char !== COLON) {
          // A star takes the character and stays; a literal or `?` moves on.
          next[kind === STAR ? i : i + 1] = 1;
          any = true;
        }
      }
      if (!any) return false;
      this.#skipStars(next);
      [live, next] = [next, live];
    }
    return live[length] === 1;
  }

  /** A star may take nothing: a live position before a star makes the one after it live. */
  #skipStars(live: Uint8Array): void {
    for (let i = 0; i < this.#kinds.length; i++) {
      if (live[i] === 1 && this.#kinds[i] === STAR) live[i + 1] = 1;
    }
  }
}
