import { SerializationException, ValidationException } from '../errors.js';
import { isBase64 } from './base64.js';

/**
 * Input validation in the shape of AWS's own: every constraint a member violates is collected and
 * reported in one ValidationException, `N validation error(s) detected: Value '...' at 'member'
 * failed to satisfy constraint: ...`. A member of the wrong JSON type is a SerializationException,
 * as it is for AWS's JSON protocol. Sensitive members (plaintexts, grant tokens, policy documents) are
 * reported without their value, so that it reaches neither the caller's error nor the audit record.
 */
export interface Violations {
  /** `shown`: the value as AWS prints it; null for a missing value, undefined for a hidden one. */
  add(member: string, shown: string | null | undefined, constraint: string): void;
}

export interface Member<T> {
  parse(value: unknown, path: string, violations: Violations): T;
}

type Parsed<S> = { [K in keyof S]: S[K] extends Member<infer T> ? T : never };

/** The wire name of a member in messages: AWS writes `keyId` for `KeyId`. */
export function memberPath(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

export function parseShape<S extends Record<string, Member<unknown>>>(body: unknown, shape: S): Parsed<S> {
  const input = (body ?? {}) as Record<string, unknown>;
  const messages: string[] = [];
  const violations: Violations = {
    add(member, shown, constraint) {
      // AWS prints an empty string as '' and leaves sensitive values out entirely.
      const value = shown === null ? 'Value null at' : shown === undefined ? 'Value at' : `Value '${shown}' at`;
      messages.push(`${value} '${member}' failed to satisfy constraint: ${constraint}`);
    },
  };
  const out: Record<string, unknown> = {};
  for (const [field, member] of Object.entries(shape)) {
    const value = Object.hasOwn(input, field) ? input[field] : undefined;
    out[field] = member.parse(value === null ? undefined : value, memberPath(field), violations);
  }
  if (messages.length > 0) {
    const count = messages.length === 1 ? '1 validation error' : `${messages.length} validation errors`;
    throw new ValidationException(`${count} detected: ${messages.join('; ')}`);
  }
  return out as Parsed<S>;
}

function typeError(path: string, expected: string): never {
  throw new SerializationException(`Expected ${expected} for member '${path}'`);
}

/** Required members: absent is `Member must not be null`. */
export function required<T>(member: Member<T | undefined>): Member<T> {
  return {
    parse(value, path, violations) {
      if (value === undefined) {
        violations.add(path, null, 'Member must not be null');
        return undefined as T;
      }
      return member.parse(value, path, violations) as T;
    },
  };
}

function checkLength(length: number, shown: string | undefined, path: string, violations: Violations, min?: number, max?: number): void {
  if (min !== undefined && length < min) violations.add(path, shown, `Member must have length greater than or equal to ${min}`);
  if (max !== undefined && length > max) violations.add(path, shown, `Member must have length less than or equal to ${max}`);
}

/** A lone surrogate: half of a UTF-16 pair, which has no UTF-8 form. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * `pattern` is written as AWS's model writes it, because AWS's message quotes it as written
 * (`[\w]+`, `[\u0020-\u00FF]*`); AWS matches it against the whole value whether or not it is anchored.
 */
export function string(opts: { min?: number; max?: number; pattern?: string; sensitive?: boolean } = {}): Member<string | undefined> {
  const whole = opts.pattern === undefined ? undefined : new RegExp(`^(?:${opts.pattern})$`);
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (typeof value !== 'string') typeError(path, 'a string');
      // Text with no UTF-8 form: kept, it would come back in answers that clients reading UTF-8
      // (the AWS CLI among them) cannot print or store. Said alone and never quoted, so that the
      // error itself holds no such text either.
      if (LONE_SURROGATE.test(value)) {
        violations.add(path, undefined, 'Member must be valid Unicode: it holds an unpaired surrogate');
        return value;
      }
      const shown = opts.sensitive ? undefined : value;
      checkLength(value.length, shown, path, violations, opts.min, opts.max);
      if (whole && !whole.test(value)) {
        violations.add(path, shown, `Member must satisfy regular expression pattern: ${opts.pattern}`);
      }
      return value;
    },
  };
}

export function integer(opts: { min?: number; max?: number } = {}): Member<number | undefined> {
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isInteger(value)) typeError(path, 'an integer');
      if (opts.min !== undefined && value < opts.min) violations.add(path, String(value), `Member must have value greater than or equal to ${opts.min}`);
      if (opts.max !== undefined && value > opts.max) violations.add(path, String(value), `Member must have value less than or equal to ${opts.max}`);
      return value;
    },
  };
}

export function boolean(): Member<boolean | undefined> {
  return {
    parse(value, path) {
      if (value === undefined) return undefined;
      if (typeof value !== 'boolean') typeError(path, 'a boolean');
      return value;
    },
  };
}

export function enumeration<E extends string>(values: readonly E[]): Member<E | undefined> {
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (typeof value !== 'string') typeError(path, 'a string');
      if (!(values as readonly string[]).includes(value)) {
        violations.add(path, value, `Member must satisfy enum value set: [${values.join(', ')}]`);
      }
      return value as E;
    },
  };
}

/** A blob travels as base64 in JSON. Its bytes are never shown in a message. */
export function blob(opts: { min?: number; max?: number } = {}): Member<Buffer | undefined> {
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (typeof value !== 'string' || !isBase64(value)) typeError(path, 'a base64-encoded blob');
      const bytes = Buffer.from(value, 'base64');
      checkLength(bytes.length, undefined, path, violations, opts.min, opts.max);
      return bytes;
    },
  };
}

/**
 * A list of strings. AWS reports a member that breaks its limits on the list as a whole, as it does
 * an enum list: the list's value, and every constraint of its members whichever one failed
 * (`Member must satisfy constraint: [Member must have length less than or equal to 128, ...]`).
 */
export function stringList(opts: { maxItems?: number; itemMin?: number; itemMax?: number; sensitive?: boolean }): Member<string[] | undefined> {
  const itemConstraints = [
    ...(opts.itemMax !== undefined ? [`Member must have length less than or equal to ${opts.itemMax}`] : []),
    ...(opts.itemMin !== undefined ? [`Member must have length greater than or equal to ${opts.itemMin}`] : []),
  ];
  const breaksLimits = (item: string) =>
    (opts.itemMin !== undefined && item.length < opts.itemMin) || (opts.itemMax !== undefined && item.length > opts.itemMax);
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (!Array.isArray(value)) typeError(path, 'a list');
      for (const item of value) if (typeof item !== 'string') typeError(path, 'a list of strings');
      const items = value as string[];
      const shown = opts.sensitive ? undefined : `[${items.join(', ')}]`;
      if (opts.maxItems !== undefined && items.length > opts.maxItems) {
        violations.add(path, shown, `Member must have length less than or equal to ${opts.maxItems}`);
      }
      if (items.some(breaksLimits)) violations.add(path, shown, `Member must satisfy constraint: [${itemConstraints.join(', ')}]`);
      return items;
    },
  };
}

/** A JSON object whose values are all strings (encryption contexts). */
export function stringMap(): Member<Record<string, string> | undefined> {
  return {
    parse(value, path) {
      if (value === undefined) return undefined;
      if (typeof value !== 'object' || Array.isArray(value)) typeError(path, 'a map of strings');
      const map = value as Record<string, unknown>;
      for (const key of Object.keys(map)) {
        if (typeof map[key] !== 'string') typeError(`${path}.${key}`, 'a string');
      }
      return map as Record<string, string>;
    },
  };
}

export interface TagInput {
  TagKey: string;
  TagValue: string;
}

/** Tags as AWS validates them: key 1..128, value 0..256, both required. */
export function tags(): Member<TagInput[] | undefined> {
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (!Array.isArray(value)) typeError(path, 'a list of tags');
      return value.map((item: unknown, i: number) => {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) typeError(path, 'a list of tags');
        const tag = item as Record<string, unknown>;
        const prefix = `${path}.${i + 1}.member`;
        const key = required(string({ min: 1, max: 128 })).parse(tag.TagKey ?? undefined, `${prefix}.tagKey`, violations);
        const val = required(string({ min: 0, max: 256 })).parse(tag.TagValue ?? undefined, `${prefix}.tagValue`, violations);
        return { TagKey: key, TagValue: val };
      });
    },
  };
}
