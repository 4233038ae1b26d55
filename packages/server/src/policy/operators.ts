import { BlockList, isIP } from 'node:net';
import type { RequestContext } from './context.js';
import { parseTemplate, resolveTemplate, joinParts, type Template } from './variables.js';
import { unionGlob } from './glob.js';
import { arnBuilder, arnGlob, partsBuilder, partsGlob, type ArnPart } from './wildcard.js';
import { isBase64 } from '../validate/base64.js';

/**
 * The condition operators (IAM User Guide, "IAM JSON policy elements: Condition operators"), each
 * with how it reads its policy values and compares one request value against one of them. The set
 * is closed: a policy naming any other operator is malformed.
 *
 * Every operator is a positive comparison plus a `negated` flag. A negated operator (StringNotEquals,
 * NotIpAddress, ...) holds when the request value matches none of the policy values, and holds when
 * the key is absent; condition.ts applies that rule in one place.
 */
export type Scalar = string | number | boolean;

/** One policy value, ready to compare; `test` never throws. */
export type ValueTest = (actual: Scalar) => boolean;

interface OperatorSpec {
  readonly negated: boolean;
  /** Policy variables are substituted in string, ARN and Bool values only. */
  readonly variables: boolean;
  /** Builds the test for one policy value whose variables are resolved; a string is the fault. */
  readonly compile: (value: ResolvedValue) => ValueTest | string;
}

/** A policy value after variable substitution: its parts keep substituted text literal. */
export interface ResolvedValue {
  readonly parts: readonly ArnPart[];
  readonly text: string;
}

const asString = (actual: Scalar): string => (typeof actual === 'string' ? actual : String(actual));

function stringEquals(v: ResolvedValue): ValueTest {
  return (a) => asString(a) === v.text;
}
function stringEqualsIgnoreCase(v: ResolvedValue): ValueTest {
  const expected = v.text.toLowerCase();
  return (a) => asString(a).toLowerCase() === expected;
}
function stringLike(v: ResolvedValue): ValueTest {
  const glob = partsGlob(v.parts);
  return (a) => glob.test(asString(a));
}

function arnLike(v: ResolvedValue): ValueTest {
  const glob = arnGlob(v.parts, 'condition');
  return (a) => typeof a === 'string' && glob.test(a);
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function toNumber(value: Scalar): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value);
  return Number.NaN;
}

function numeric(compare: (actual: number, expected: number) => boolean) {
  return (v: ResolvedValue): ValueTest | string => {
    const expected = toNumber(v.text);
    if (Number.isNaN(expected)) return `"${v.text}" is not a number`;
    return (a) => {
      const actual = toNumber(a);
      return !Number.isNaN(actual) && compare(actual, expected);
    };
  };
}

/** W3C ISO 8601 profile (YYYY, YYYY-MM, YYYY-MM-DD, with time, seconds, fraction, zone). */
const W3C_DATE = /^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** Milliseconds since the epoch, from ISO 8601 text or epoch seconds; NaN when neither. */
export function toEpochMs(value: Scalar): number {
  if (typeof value === 'number') return value * 1000;
  if (typeof value !== 'string') return Number.NaN;
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!W3C_DATE.test(text)) return Number.NaN;
  // A time without a zone is UTC, as AWS reads it; Date.parse would take local time.
  const zoned = text.includes('T') && !/(?:Z|[+-]\d{2}:\d{2})$/.test(text) ? `${text}Z` : text;
  return Date.parse(zoned);
}

function date(compare: (actual: number, expected: number) => boolean) {
  return (v: ResolvedValue): ValueTest | string => {
    const expected = toEpochMs(v.text);
    if (Number.isNaN(expected)) return `"${v.text}" is not an ISO 8601 date or epoch seconds`;
    return (a) => {
      const actual = toEpochMs(a);
      return !Number.isNaN(actual) && compare(actual, expected);
    };
  };
}

function bool(v: ResolvedValue): ValueTest | string {
  const expected = v.text.toLowerCase();
  if (expected !== 'true' && expected !== 'false') return `"${v.text}" is not true or false`;
  return (a) => asString(a).toLowerCase() === expected;
}

function nullCheck(v: ResolvedValue): ValueTest | string {
  const expected = v.text.toLowerCase();
  if (expected !== 'true' && expected !== 'false') return `"${v.text}" is not true or false`;
  // Null is decided in condition.ts from the key's presence; this only validates the value.
  return () => expected === 'true';
}

function binaryEquals(v: ResolvedValue): ValueTest | string {
  if (!isBase64(v.text)) return `"${v.text}" is not base64`;
  const expected = Buffer.from(v.text, 'base64');
  return (a) => typeof a === 'string' && isBase64(a) && Buffer.from(a, 'base64').equals(expected);
}

function ipAddress(v: ResolvedValue): ValueTest | string {
  const [address = '', prefixText, ...rest] = v.text.split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (family === 0 || rest.length > 0 || !(prefix >= 0 && prefix <= max)) return `"${v.text}" is not an IP address or CIDR block`;
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(address, prefix, type);
  return (a) => {
    if (typeof a !== 'string') return false;
    // One family against the same family only: BlockList takes an IPv4 address as its IPv4-mapped
    // IPv6 form, which ::/0 and ::ffff:0:0/96 hold, and AWS keeps the two apart (an IPv4 caller is
    // outside every IPv6 block). Callers' IPv4-mapped addresses arrive as IPv4 (http/app.ts).
    return isIP(a) === family && list.check(a, type);
  };
}

const op = (negated: boolean, variables: boolean, compile: OperatorSpec['compile']): OperatorSpec =>
  Object.freeze({ negated, variables, compile });

/** The closed table of base operators, by lowercase name. */
const OPERATORS: ReadonlyMap<string, OperatorSpec & { readonly name: string }> = new Map(
  Object.entries({
    StringEquals: op(false, true, stringEquals),
    StringNotEquals: op(true, true, stringEquals),
    StringEqualsIgnoreCase: op(false, true, stringEqualsIgnoreCase),
    StringNotEqualsIgnoreCase: op(true, true, stringEqualsIgnoreCase),
    StringLike: op(false, true, stringLike),
    StringNotLike: op(true, true, stringLike),
    NumericEquals: op(false, false, numeric((a, e) => a === e)),
    NumericNotEquals: op(true, false, numeric((a, e) => a === e)),
    NumericLessThan: op(false, false, numeric((a, e) => a < e)),
    NumericLessThanEquals: op(false, false, numeric((a, e) => a <= e)),
    NumericGreaterThan: op(false, false, numeric((a, e) => a > e)),
    NumericGreaterThanEquals: op(false, false, numeric((a, e) => a >= e)),
    DateEquals: op(false, false, date((a, e) => a === e)),
    DateNotEquals: op(true, false, date((a, e) => a === e)),
    DateLessThan: op(false, false, date((a, e) => a < e)),
    DateLessThanEquals: op(false, false, date((a, e) => a <= e)),
    DateGreaterThan: op(false, false, date((a, e) => a > e)),
    DateGreaterThanEquals: op(false, false, date((a, e) => a >= e)),
    Bool: op(false, true, bool),
    BinaryEquals: op(false, false, binaryEquals),
    IpAddress: op(false, false, ipAddress),
    NotIpAddress: op(true, false, ipAddress),
    ArnEquals: op(false, true, arnLike),
    ArnLike: op(false, true, arnLike),
    ArnNotEquals: op(true, true, arnLike),
    ArnNotLike: op(true, true, arnLike),
    Null: op(false, false, nullCheck),
  }).map(([name, spec]) => [name.toLowerCase(), { ...spec, name }] as const),
);

export const SET_QUALIFIERS = Object.freeze(['ForAnyValue', 'ForAllValues'] as const);
export type SetQualifier = (typeof SET_QUALIFIERS)[number];

export interface ParsedOperator {
  /** The canonical base name, e.g. `StringEquals` for `ForAnyValue:stringequalsIfExists`. */
  readonly name: string;
  readonly qualifier: SetQualifier | undefined;
  readonly ifExists: boolean;
  readonly spec: OperatorSpec;
}

/**
 * Splits `ForAnyValue:StringLikeIfExists` into its three parts; undefined for an unknown operator.
 * Names are matched without regard to case, as AWS does for keys; `NullIfExists` does not exist.
 */
export function parseOperator(text: string): ParsedOperator | undefined {
  let rest = text;
  let qualifier: SetQualifier | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const prefix = rest.slice(0, colon).toLowerCase();
    qualifier = SET_QUALIFIERS.find((q) => q.toLowerCase() === prefix);
    if (qualifier === undefined) return undefined;
    rest = rest.slice(colon + 1);
  }
  let spec = OPERATORS.get(rest.toLowerCase());
  let ifExists = false;
  if (spec === undefined && rest.toLowerCase().endsWith('ifexists')) {
    spec = OPERATORS.get(rest.slice(0, -'ifexists'.length).toLowerCase());
    ifExists = true;
    if (spec?.name === 'Null') return undefined;
  }
  if (spec === undefined) return undefined;
  return { name: spec.name, qualifier, ifExists, spec };
}

/** A policy value of one condition: compiled now when static, on each request when it has variables. */
export interface CompiledValue {
  /** The test, or undefined when it depends on the request (variables). */
  readonly test: ValueTest | undefined;
  readonly template: Template;
}

/** Compiles one value; returns the fault as a string. */
export function compileValue(spec: OperatorSpec, raw: string, variablesEnabled: boolean): CompiledValue | string {
  const template = parseTemplate(raw, variablesEnabled && spec.variables);
  if (template.hasVariables) {
    // Validate what can be: the shape of a value with variables is only known per request.
    return { test: undefined, template };
  }
  const parts = resolveTemplate(template, {})!;
  const test = spec.compile({ parts, text: joinParts(parts) });
  return typeof test === 'string' ? test : { test, template };
}

/**
 * One test for whether a request value matches any of a condition's values, when none of them has
 * variables, for the operators whose values can be one: a set of strings, or one union of
 * patterns (glob.ts unionGlob). Testing them one by one costs values × request values: a 32 KB key
 * policy of 4,000 StringLike values against an encryption context of 2,000 keys took seconds of
 * the event loop per request. Undefined where the values are tested one by one.
 */
export function anyValueTest(operator: ParsedOperator, values: readonly CompiledValue[]): ValueTest | undefined {
  if (values.length < 2 || values.some((value) => value.test === undefined)) return undefined;
  const resolved = values.map((value) => resolveTemplate(value.template, {})!);
  switch (operator.name) {
    case 'StringEquals':
    case 'StringNotEquals': {
      const texts = new Set(resolved.map(joinParts));
      return (a) => texts.has(asString(a));
    }
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase': {
      const texts = new Set(resolved.map((parts) => joinParts(parts).toLowerCase()));
      return (a) => texts.has(asString(a).toLowerCase());
    }
    case 'StringLike':
    case 'StringNotLike': {
      const glob = unionGlob(resolved.map(partsBuilder));
      return (a) => glob.test(asString(a));
    }
    case 'ArnEquals':
    case 'ArnLike':
    case 'ArnNotEquals':
    case 'ArnNotLike': {
      const glob = unionGlob(resolved.map((parts) => arnBuilder(parts, 'condition')));
      return (a) => typeof a === 'string' && glob.test(a);
    }
    default:
      return undefined;
  }
}

/** A value's tests by the text its variables resolved to: callers repeat (one user, one key). */
const resolvedTests = new WeakMap<CompiledValue, Map<string, ValueTest | undefined>>();
/** Per value: enough for the callers of a busy key, small enough for thousands of values. */
const RESOLVED_TESTS_PER_VALUE = 16;

/** The test for a value with variables in this request; undefined when a variable cannot resolve. */
export function resolveValue(spec: OperatorSpec, value: CompiledValue, context: RequestContext): ValueTest | undefined {
  if (value.test !== undefined) return value.test;
  const parts = resolveTemplate(value.template, context);
  if (parts === undefined) return undefined;
  // Parts, not only their text: text from a variable is literal where the same text written is a pattern.
  const cacheKey = JSON.stringify(parts);
  let tests = resolvedTests.get(value);
  if (!tests) resolvedTests.set(value, (tests = new Map()));
  if (tests.has(cacheKey)) return tests.get(cacheKey);
  const compiled = spec.compile({ parts, text: joinParts(parts) });
  const test = typeof compiled === 'string' ? undefined : compiled;
  if (tests.size >= RESOLVED_TESTS_PER_VALUE) tests.clear();
  tests.set(cacheKey, test);
  return test;
}
