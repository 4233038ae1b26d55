/**
 * The `*` and `?` wildcards of the policy language, compiled once to RegExps. Three flavours,
 * because AWS matches three kinds of text differently (IAM User Guide, "Action", "Resource" and
 * "Condition operators"):
 *
 * - actions: the whole string, case-insensitive (`kms:Gen*` matches `KMS:GenerateDataKey`);
 * - StringLike values: the whole string, case-sensitive;
 * - ARNs: case-sensitive and segment-aware. In the five segments before the resource part a
 *   wildcard stays inside its segment, so `arn:aws:kms:*:111122223333:key/*` cannot match an ARN of
 *   another account by letting `*` run across colons.
 */

const SPECIAL = /[\\^$.|+()[\]{}]/g;

const escapeChar = (c: string): string => c.replace(SPECIAL, '\\$&');

/** A RegExp source for literal text: no wildcard in it is special. */
export const escapeLiteral = (text: string): string => text.replace(/[\\^$.|+()[\]{}*?]/g, '\\$&');

function globSource(pattern: string): string {
  let out = '';
  for (const c of pattern) out += c === '*' ? '.*' : c === '?' ? '.' : escapeChar(c);
  return out;
}

/** `*` any run of characters, `?` one character, the rest literal. `s` so `.` also takes newlines. */
export function globRegExp(pattern: string, ignoreCase = false): RegExp {
  return new RegExp(`^${globSource(pattern)}$`, ignoreCase ? 'is' : 's');
}

/**
 * Which flavour of ARN matching: the `Resource` element lets a `*` that ends a segment run past the
 * colon ("If the * wildcard is the last character of a resource ARN segment, it can expand to match
 * beyond the colon boundaries"); the ArnLike operators check "each of the six colon-delimited
 * components separately".
 */
export type ArnMatchMode = 'resource' | 'condition';

/**
 * The RegExp source of an ARN pattern. Only text that starts with `arn:` is treated as an ARN; any
 * other pattern (`*`, a bare name) is a plain glob. `parts` may mix literal text (already RegExp
 * source) with pattern text, so a policy variable's value is never read as a wildcard.
 */
export function arnPatternSource(parts: readonly ArnPart[], mode: ArnMatchMode): string {
  const flat = parts.map((p) => p.text).join('');
  if (!flat.startsWith('arn:')) {
    return parts.map((p) => (p.literal ? escapeLiteral(p.text) : globSource(p.text))).join('');
  }
  // Code points, so a character outside the BMP is one character to `?` as it is to AWS.
  const flatChars = [...flat];
  let colons = 0;
  let out = '';
  let index = 0;
  for (const part of parts) {
    const chars = [...part.text];
    for (let i = 0; i < chars.length; i++, index++) {
      const c = chars[i]!;
      if (colons >= 5) {
        out += part.literal ? escapeLiteral(c) : c === '*' ? '.*' : c === '?' ? '.' : escapeChar(c);
        continue;
      }
      if (c === ':') {
        colons++;
        out += ':';
      } else if (part.literal) {
        out += escapeLiteral(c);
      } else if (c === '*') {
        const next = flatChars[index + 1];
        const expands = next === undefined || (mode === 'resource' && next === ':');
        out += expands ? '.*' : '[^:]*';
      } else if (c === '?') {
        out += '[^:]';
      } else {
        out += escapeChar(c);
      }
    }
  }
  return out;
}

export interface ArnPart {
  readonly text: string;
  /** Text from a policy variable or `${*}`: matched as written. */
  readonly literal: boolean;
}
