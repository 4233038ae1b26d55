import type { Effect } from './compile.js';
import { contextValue, isCaseFolded, type RequestContext } from './context.js';
import {
  anyValueTest, compileValue, parseOperator, resolveValue, type CompiledValue, type ParsedOperator, type Scalar, type ValueTest,
} from './operators.js';

/**
 * The Condition element, compiled: one entry per (operator, key). A statement's conditions hold
 * when every entry holds (keys and operators are ANDed); an entry holds when the request value
 * matches any of its policy values (values are ORed), negated operators when it matches none.
 *
 * Missing keys, AWS's rule ("Condition operators"): an absent key makes a condition false, except
 * that a negated operator is then true, `...IfExists` is then true, `ForAllValues` over no values is
 * true and `ForAnyValue` over no values is false. An empty list counts as absent.
 */
export interface ConditionEntry {
  readonly operator: ParsedOperator;
  /** Lowercase: condition-key names are not case-sensitive. */
  readonly key: string;
  readonly values: readonly CompiledValue[];
  /** Whether a request value matches any of `values`, in one test, where one can be made (operators.ts anyValueTest). */
  readonly anyValue: ValueTest | undefined;
  /** `Null`: true when the policy requires the key to be absent, per value. */
  readonly nullExpectations: readonly boolean[];
}

const KEY_NAME = /^[A-Za-z0-9.-]+:\S/;

/** Single-valued keys that KMS refuses to see under ForAllValues (KMS guide, "set operators"). */
function overlyPermissive(operator: ParsedOperator, key: string): string | undefined {
  if (operator.qualifier !== 'ForAllValues') return undefined;
  if (key.startsWith('kms:encryptioncontext:')) {
    return 'OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.';
  }
  if (key.startsWith('aws:requesttag/')) {
    return 'OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified tag or with an unspecified tag. To fix, remove ForAllValues.';
  }
  return undefined;
}

/** The text a number of the policy was written as (`holder[key]`), where it is known. */
export type NumberLiteral = (holder: object, key: string | number) => string | undefined;

/**
 * Compiles a Condition element; throws the fault through `fail`. A number among the values of a
 * String or ARN operator is taken as written (`literal`): those compare text, and
 * 12345678901234567890 read as a double would be 12345678901234567000 (policy/json-source.ts).
 */
export function compileCondition(
  element: unknown,
  opts: { variables: boolean; keyPolicy: boolean; literal?: NumberLiteral },
  fail: (detail: string) => never,
): ConditionEntry[] {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    fail('Condition must be an object of condition operators');
  }
  const entries: ConditionEntry[] = [];
  for (const [operatorText, block] of Object.entries(element as Record<string, unknown>)) {
    const operator = parseOperator(operatorText);
    if (operator === undefined) fail(`Condition: unknown condition operator "${operatorText}"`);
    if (typeof block !== 'object' || block === null || Array.isArray(block) || Object.keys(block).length === 0) {
      fail(`Condition: "${operatorText}" must be an object of condition keys and values`);
    }
    for (const [keyText, raw] of Object.entries(block as Record<string, unknown>)) {
      const where = `Condition: "${operatorText}" "${keyText}"`;
      if (!KEY_NAME.test(keyText)) fail(`${where}: a condition key must be prefixed by a vendor, like kms: or aws:`);
      const key = keyText.toLowerCase();
      if (opts.keyPolicy) {
        const fault = overlyPermissive(operator, key);
        if (fault !== undefined) fail(fault);
      }
      const list = Array.isArray(raw) ? raw : [raw];
      if (list.length === 0) fail(`${where}: no values`);
      const values: CompiledValue[] = [];
      // String and ARN operators compare text: a number is the text written. Numeric and date
      // operators read it as the number it is, as they always did (1.7e9 is epoch seconds there,
      // though no date text), so that no policy stored before this rule stops compiling.
      const comparesText = operator.name.startsWith('String') || operator.name.startsWith('Arn');
      for (const [index, item] of list.entries()) {
        if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
          fail(`${where}: values must be strings, numbers or booleans`);
        }
        const written = typeof item !== 'number' || !comparesText ? undefined
          : Array.isArray(raw) ? opts.literal?.(raw, index) : opts.literal?.(block as object, keyText);
        const compiled = compileValue(operator.spec, written ?? String(item), opts.variables);
        if (typeof compiled === 'string') fail(`${where}: ${compiled}`);
        values.push(compiled);
      }
      const nullExpectations = operator.name === 'Null' ? list.map((v) => String(v).toLowerCase() === 'true') : [];
      entries.push({ operator, key, values, anyValue: anyValueTest(operator, values), nullExpectations });
    }
  }
  return entries;
}

function asValues(value: ReturnType<typeof contextValue>): readonly Scalar[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly string[]) : [value as Scalar];
}

/** Readings of a request tried at most for one condition entry; past it, read against the caller outright. */
const MAX_READINGS = 64;

/**
 * The policy variables of an entry's values that name a case-folded key (isCaseFolded), each with
 * its values: a variable of such a key has one value per reading, as the key itself does.
 */
function caseFoldedVariables(entry: ConditionEntry, context: RequestContext): [string, readonly string[]][] {
  const found = new Map<string, readonly string[]>();
  for (const value of entry.values) {
    if (!value.template.hasVariables) continue;
    for (const part of value.template.parts) {
      if (part.kind !== 'variable' || found.has(part.key)) continue;
      const named = contextValue(context, part.key);
      if (isCaseFolded(named)) found.set(part.key, named as readonly string[]);
    }
  }
  return [...found];
}

/** Every way of taking one value of each key: the request's readings. */
function readings(keys: readonly [string, readonly string[]][]): Record<string, string>[] {
  let all: Record<string, string>[] = [{}];
  for (const [key, values] of keys) all = all.flatMap((reading) => values.map((v) => ({ ...reading, [key]: v })));
  return all;
}

const NO_MATCH: ValueTest = () => false;

/** Whether one entry holds for the request. */
export function entryHolds(entry: ConditionEntry, context: RequestContext, effect: Effect = 'Allow'): boolean {
  // A variable naming a key that differs only in case resolves to no one string: the entry is
  // decided reading by reading, against the caller (an Allow must hold for every reading, a Deny
  // applies if it does for any), as for such a key itself (below).
  const folded = caseFoldedVariables(entry, context);
  if (folded.length > 0) {
    const size = folded.reduce((n, [, values]) => n * values.length, 1);
    if (size > MAX_READINGS) return effect === 'Deny';
    const holds = (reading: Record<string, string>) => entryHolds(entry, { ...context, ...reading }, effect);
    return effect === 'Deny' ? readings(folded).some(holds) : readings(folded).every(holds);
  }
  const value = contextValue(context, entry.key);
  const actual = asValues(value);
  const absent = actual.length === 0;
  const { operator } = entry;
  if (operator.name === 'Null') return entry.nullExpectations.some((expectAbsent) => expectAbsent === absent);
  if (absent) {
    if (operator.ifExists || operator.qualifier === 'ForAllValues') return true;
    if (operator.qualifier === 'ForAnyValue') return false;
    return operator.spec.negated;
  }
  const tests: ValueTest[] = entry.anyValue ? [entry.anyValue] : [];
  for (const value of entry.anyValue ? [] : entry.values) {
    // A policy variable with no value is null (IAM User Guide, "Policy variables with no value"):
    // no request value is equal to or like it, so a positive operator finds no match there and a
    // negated one holds (a Deny of StringNotEquals against ${aws:PrincipalTag/team} applies to
    // a caller without the tag).
    tests.push(resolveValue(operator.spec, value, context) ?? NO_MATCH);
  }
  const negated = operator.spec.negated;
  // One request value against the policy values: any of them, or for negated operators none.
  const matchOne = (a: Scalar): boolean => (tests.some((t) => t(a)) ? !negated : negated);
  if (operator.qualifier === 'ForAllValues') return actual.every(matchOne);
  if (operator.qualifier === 'ForAnyValue') return actual.some(matchOne);
  // Tag or context keys that differ only in case (isCaseFolded): each value is one reading of a
  // single-valued key, and the policy is read against the caller: an Allow holds only if it holds
  // for every reading, a Deny applies if it applies to any.
  if (isCaseFolded(value)) return effect === 'Deny' ? actual.some(matchOne) : actual.every(matchOne);
  // No qualifier on a multi-valued key: a positive operator needs one matching value, a negated
  // operator needs every value to match none (the negation of the positive operator).
  return negated ? actual.every(matchOne) : actual.some(matchOne);
}

export function conditionsHold(entries: readonly ConditionEntry[], context: RequestContext, effect: Effect = 'Allow'): boolean {
  for (const entry of entries) if (!entryHolds(entry, context, effect)) return false;
  return true;
}
