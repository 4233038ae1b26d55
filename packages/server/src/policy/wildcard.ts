/**
 * The `*` and `?` wildcards of the policy language, compiled once to Globs (glob.ts: no RegExp,
 * so no pattern can make matching slow). Three flavours,
 * because AWS matches three kinds of text differently (IAM User Guide, "Action", "Resource" and
 * "Condition operators"):
 *
 * - actions: the whole string, case-insensitive (`kms:Gen*` matches `KMS:GenerateDataKey`);
 * - StringLike values: the whole string, case-sensitive;
 * - ARNs: case-sensitive and segment-aware. In the five segments before the resource part a
 *   wildcard stays inside its segment, so `arn:aws:kms:*:111122223333:key/*` cannot match an ARN of
 *   another account by letting `*` run across colons.
 */
import { GlobBuilder, starRunsGlob, type Glob } from './glob.js';

/** `*` any run of characters, `?` one character, the rest literal. */
export function globOf(pattern: string, ignoreCase = false): Glob {
  return addGlobText(new GlobBuilder(), pattern).build(ignoreCase);
}

/**
 * A pattern's parts: literal ones (policy variables' values) as written, the others as globs. A
 * pattern of stars and text is split into its runs as strings, without a step per character: a
 * variable's value is as long as the request makes it, and is compiled on each request.
 */
export function partsGlob(parts: readonly ArnPart[]): Glob {
  return starRunsOf(parts) ?? partsBuilder(parts).build();
}

/** The runs between the stars of a pattern with no `?`, as starRunsGlob takes them; undefined otherwise. */
function starRunsOf(parts: readonly ArnPart[]): Glob | undefined {
  const runs = [''];
  for (const part of parts) {
    if (part.literal) {
      runs[runs.length - 1] += part.text;
      continue;
    }
    if (part.text.includes('?')) return undefined;
    const [head, ...rest] = part.text.split('*');
    runs[runs.length - 1] += head!;
    runs.push(...rest);
  }
  // Only literal text: the positions' build() compares it whole.
  return runs.length < 2 ? undefined : starRunsGlob(runs);
}

/** partsGlob's pattern, not yet built (for unionGlob). */
export function partsBuilder(parts: readonly ArnPart[]): GlobBuilder {
  const builder = new GlobBuilder();
  for (const part of parts) {
    if (part.literal) builder.literal(part.text);
    else addGlobText(builder, part.text);
  }
  return builder;
}

function addGlobText(builder: GlobBuilder, text: string): GlobBuilder {
  for (const c of text) {
    if (c === '*') builder.star();
    else if (c === '?') builder.one();
    else builder.literal(c);
  }
  return builder;
}

/**
 * Which flavour of ARN matching: the `Resource` element lets a `*` that ends a segment run past the
 * colon ("If the * wildcard is the last character of a resource ARN segment, it can expand to match
 * beyond the colon boundaries"); the ArnLike operators check "each of the six colon-delimited
 * components separately".
 */
export type ArnMatchMode = 'resource' | 'condition';

/**
 * An ARN pattern. Only text that starts with `arn:` is treated as an ARN; any other pattern (`*`,
 * a bare name) is a plain glob. `parts` may mix literal text with pattern text, so a policy
 * variable's value is never read as a wildcard.
 */
export function arnGlob(parts: readonly ArnPart[], mode: ArnMatchMode): Glob {
  return arnBuilder(parts, mode).build();
}

/** arnGlob's pattern, not yet built (for unionGlob). */
export function arnBuilder(parts: readonly ArnPart[], mode: ArnMatchMode): GlobBuilder {
  const flat = parts.map((p) => p.text).join('');
  if (!flat.startsWith('arn:')) return partsBuilder(parts);
  const flatChars = [...flat];
  const builder = new GlobBuilder();
  let colons = 0;
  let index = 0;
  for (const part of parts) {
    for (const c of part.text) {
      if (part.literal || (c !== '*' && c !== '?')) {
        if (c === ':') colons++;
        builder.literal(c);
      } else if (colons >= 5) {
        if (c === '*') builder.star();
        else builder.one();
      } else if (c === '*') {
        const next = flatChars[index + 1];
        builder.star(next === undefined || (mode === 'resource' && next === ':'));
      } else {
        builder.one(false);
      }
      index++;
    }
  }
  return builder;
}

export interface ArnPart {
  readonly text: string;
  /** Text from a policy variable or `${*}`: matched as written. */
  readonly literal: boolean;
}
