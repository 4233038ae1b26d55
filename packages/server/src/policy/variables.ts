import { contextValue, type RequestContext } from './context.js';
import type { ArnPart } from './wildcard.js';

/**
 * Policy variables (`${aws:username}`), IAM User Guide "Policy variables": only in policies of
 * Version 2012-10-17 (earlier documents keep `${...}` as literal text), in the Resource element and
 * in the values of string and ARN conditions. `${*}`, `${?}` and `${$}` stand for the literal
 * characters; `${key, 'default'}` supplies a value when the key is absent.
 *
 * A template is parsed once at compile time. Resolving it yields parts whose substituted text is
 * marked literal, so a user name that contains `*` never acts as a wildcard.
 */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'variable'; readonly key: string; readonly fallback: string | undefined };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  readonly hasVariables: boolean;
}

const VARIABLE = /\$\{([^}]*)\}/g;
const WITH_DEFAULT = /^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$/;
const SPECIAL_CHARS = new Set(['*', '?', '$']);

export function parseTemplate(source: string, variablesEnabled: boolean): Template {
  if (!variablesEnabled || !source.includes('${')) {
    return { source, parts: [{ kind: 'text', text: source }], hasVariables: false };
  }
  const parts: TemplatePart[] = [];
  let last = 0;
  let hasVariables = false;
  for (const m of source.matchAll(VARIABLE)) {
    if (m.index > last) parts.push({ kind: 'text', text: source.slice(last, m.index) });
    last = m.index + m[0].length;
    const inner = m[1]!.trim();
    if (SPECIAL_CHARS.has(inner)) {
      parts.push({ kind: 'literal', text: inner });
      continue;
    }
    const withDefault = WITH_DEFAULT.exec(inner);
    const key = (withDefault ? withDefault[1]! : inner).toLowerCase();
    parts.push({ kind: 'variable', key, fallback: withDefault ? withDefault[2] : undefined });
    hasVariables = true;
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  return { source, parts, hasVariables };
}

/**
 * The template with its variables replaced, or undefined when a variable has no value and no
 * default: AWS says such a match "fails and causes the statement to be invalid". A multi-valued key
 * cannot stand in for one string either.
 */
export function resolveTemplate(template: Template, context: RequestContext): ArnPart[] | undefined {
  const out: ArnPart[] = [];
  for (const part of template.parts) {
    if (part.kind === 'text') out.push({ text: part.text, literal: false });
    else if (part.kind === 'literal') out.push({ text: part.text, literal: true });
    else {
      const value = contextValue(context, part.key);
      if (value === undefined || Array.isArray(value)) {
        if (part.fallback === undefined) return undefined;
        out.push({ text: part.fallback, literal: true });
      } else {
        out.push({ text: String(value), literal: true });
      }
    }
  }
  return out;
}

/** The resolved text with wildcards as written; for equality operators, where nothing is a wildcard. */
export const joinParts = (parts: readonly ArnPart[]): string => parts.map((p) => p.text).join('');
