import { LimitExceededException, MalformedPolicyDocumentException } from '../errors.js';
import { compileCondition, type ConditionEntry, type NumberLiteral } from './condition.js';
import { parseJsonWithSource, type SourcedJson } from './json-source.js';
import { INVALID_PRINCIPALS, parsePrincipalElement, type PrincipalSet } from './principal.js';
import { parseTemplate, type Template } from './variables.js';
import { anyGlob, type Glob } from './glob.js';
import { arnGlob, globOf } from './wildcard.js';

/**
 * Parsing and validation of a policy document, done once when the policy is stored or loaded, so
 * that evaluation on the request path only runs pre-built Globs and comparisons.
 *
 * Key policies follow the KMS Developer Guide ("Key policy format"): at most 32768 characters of
 * tab, line feed, carriage return and U+0020..U+00FF (longer: LimitExceededException, as AWS
 * answers); every statement names a Principal or NotPrincipal, and one without Action or without
 * Resource is accepted and matches nothing ("the PutKeyPolicy API request succeeds, even though the
 * policy statement is ineffective"). Identity policies follow IAM: no principal at all, and Action
 * or NotAction and Resource or NotResource required. Every statement needs an Effect. Every other
 * fault is a MalformedPolicyDocumentException whose message names the statement and the element.
 */
export const POLICY_KINDS = Object.freeze(['key', 'identity'] as const);
export type PolicyKind = (typeof POLICY_KINDS)[number];

export const POLICY_VERSIONS = Object.freeze(['2012-10-17', '2008-10-17'] as const);
export type PolicyVersion = (typeof POLICY_VERSIONS)[number];

export const EFFECTS = Object.freeze(['Allow', 'Deny'] as const);
export type Effect = (typeof EFFECTS)[number];

/** A key policy's size limit: "32 KiB (32768 bytes)" (API reference, PutKeyPolicy), in UTF-8. */
export const MAX_POLICY_LENGTH = 32768;

/**
 * An identity policy's document may be as long as IAM's PutUserPolicy allows (131072 characters):
 * IAM's quota is on the principal's policies together, white space not counted
 * (admin/principal-policy.ts), so a pretty-printed policy may be far longer than a key policy.
 */
export const MAX_IDENTITY_POLICY_LENGTH = 131072;

export interface CompiledPrincipals {
  readonly negated: boolean;
  readonly set: PrincipalSet;
}

export interface CompiledActions {
  readonly negated: boolean;
  /** All patterns as one case-insensitive Glob; undefined when one of them is `*`. */
  readonly pattern: Glob | undefined;
}

export interface CompiledResource {
  /** Set when the pattern has no policy variables. */
  readonly pattern: Glob | undefined;
  /** Set when it has: resolved per request. */
  readonly template: Template | undefined;
}

export interface CompiledResources {
  readonly negated: boolean;
  /** True when one of the patterns is `*`. */
  readonly any: boolean;
  readonly patterns: readonly CompiledResource[];
}

export interface CompiledStatement {
  /** Position in the Statement list, for messages and audit. */
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: Effect;
  /** Undefined in identity policies. */
  readonly principals: CompiledPrincipals | undefined;
  readonly actions: CompiledActions;
  readonly resources: CompiledResources;
  readonly conditions: readonly ConditionEntry[];
}

export interface CompiledPolicy {
  readonly kind: PolicyKind;
  readonly version: PolicyVersion | undefined;
  readonly id: string | undefined;
  readonly statements: readonly CompiledStatement[];
}

const ALLOWED_CHARACTERS = /^[\t\n\r\u0020-\u00FF]*$/;
const TOP_LEVEL = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_ELEMENTS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
/** `service:action` with wildcards, or `*` alone. */
const ACTION = /^(?:\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/;

/** What a key policy statement without Action or without Resource matches: nothing. */
const NO_ACTIONS: CompiledActions = Object.freeze({ negated: false, pattern: Object.freeze({ test: () => false }) });
const NO_RESOURCES: CompiledResources = Object.freeze({ negated: false, any: false, patterns: Object.freeze([]) });

const malformed = (message: string): never => {
  throw new MalformedPolicyDocumentException(message);
};

function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

function compileActions(value: unknown, negated: boolean, fail: (detail: string) => never): CompiledActions {
  const name = negated ? 'NotAction' : 'Action';
  const list = stringList(value) ?? fail(`${name} must be a string or a non-empty list of strings`);
  for (const action of list) {
    if (!ACTION.test(action)) fail(`${name} "${action}" must be "*" or prefixed by a service, like kms:Encrypt`);
  }
  if (list.includes('*')) return { negated, pattern: undefined };
  return { negated, pattern: anyGlob(list.map((action) => globOf(action, true))) };
}

function compileResources(value: unknown, negated: boolean, variables: boolean, fail: (detail: string) => never): CompiledResources {
  const name = negated ? 'NotResource' : 'Resource';
  const list = stringList(value) ?? fail(`${name} must be a string or a non-empty list of strings`);
  const patterns: CompiledResource[] = [];
  for (const resource of list) {
    if (resource !== '*' && !resource.startsWith('arn:')) fail(`${name} "${resource}" must be "*" or an ARN`);
    if (resource.startsWith('arn:') && resource.split(':').length < 6 && !resource.endsWith('*')) fail(`${name} "${resource}" is not a complete ARN`);
    // Variables only in the resource part, after the fifth colon (IAM User Guide, "Policy variables").
    const head = resource.split(':').slice(0, 5).join(':');
    const template = parseTemplate(resource.slice(head.length), variables);
    const full: Template = { source: resource, parts: [{ kind: 'text', text: head }, ...template.parts], hasVariables: template.hasVariables };
    if (full.hasVariables) {
      patterns.push({ pattern: undefined, template: full });
    } else {
      const parts = full.parts.map((p) => ({ text: p.kind === 'variable' ? '' : p.text, literal: p.kind === 'literal' }));
      patterns.push({ pattern: arnGlob(parts, 'resource'), template: undefined });
    }
  }
  return { negated, any: list.includes('*'), patterns };
}

function exactlyOne(statement: Record<string, unknown>, a: string, b: string, fail: (detail: string) => never): [unknown, boolean] | undefined {
  const hasA = Object.hasOwn(statement, a);
  const hasB = Object.hasOwn(statement, b);
  if (hasA && hasB) fail(`a statement may have ${a} or ${b}, not both`);
  if (!hasA && !hasB) return undefined;
  return hasA ? [statement[a], false] : [statement[b], true];
}

function compileStatement(raw: unknown, index: number, where: string, kind: PolicyKind, variables: boolean, literal: NumberLiteral): CompiledStatement {
  const sid = typeof raw === 'object' && raw !== null && typeof (raw as Record<string, unknown>).Sid === 'string'
    ? (raw as Record<string, string>).Sid : undefined;
  const label = sid === undefined ? where : `${where} (Sid "${sid}")`;
  const fail = (detail: string): never => malformed(`${label}: ${detail}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('a statement must be an object');
  const statement = raw as Record<string, unknown>;
  for (const element of Object.keys(statement)) {
    if (!STATEMENT_ELEMENTS.has(element)) fail(`unknown element "${element}"`);
  }
  if (Object.hasOwn(statement, 'Sid') && typeof statement.Sid !== 'string') fail('Sid must be a string');

  const effect = statement.Effect;
  if (effect === undefined) fail('missing Effect');
  if (effect !== 'Allow' && effect !== 'Deny') fail(`Effect must be "Allow" or "Deny", not ${JSON.stringify(effect)}`);

  let principals: CompiledPrincipals | undefined;
  const principal = exactlyOne(statement, 'Principal', 'NotPrincipal', fail);
  if (kind === 'identity') {
    if (principal !== undefined) malformed(`Policy document should not specify a principal. ${label}: an identity policy has no Principal or NotPrincipal`);
  } else {
    if (principal === undefined) fail('a key policy statement must have a Principal or NotPrincipal');
    const [value, negated] = principal!;
    const set = parsePrincipalElement(value);
    if (typeof set === 'string') malformed(`${INVALID_PRINCIPALS} ${label}: ${negated ? 'NotPrincipal' : 'Principal'} ${set}`);
    principals = { negated, set: set as PrincipalSet };
  }

  const action = exactlyOne(statement, 'Action', 'NotAction', fail);
  const resource = exactlyOne(statement, 'Resource', 'NotResource', fail);
  const conditions = Object.hasOwn(statement, 'Condition')
    ? compileCondition(statement.Condition, { variables, keyPolicy: kind === 'key', literal }, fail)
    : [];
  // IAM refuses such a statement; KMS takes it in a key policy, where it has no effect.
  if (kind === 'identity') {
    if (!action) fail('Policy statement must contain actions (Action or NotAction)');
    if (!resource) fail('Policy statement must contain resources (Resource or NotResource)');
  }
  return {
    index,
    sid,
    effect: effect as Effect,
    principals,
    actions: action ? compileActions(action[0], action[1], fail) : NO_ACTIONS,
    resources: resource ? compileResources(resource[0], resource[1], variables, fail) : NO_RESOURCES,
    conditions,
  };
}

/**
 * A key policy being written: at most 32768 bytes of UTF-8, as KMS documents its limit ("32 KiB
 * (32768 bytes)"); its Latin-1 letters past ASCII take two bytes each.
 */
export function assertKeyPolicySize(text: string): void {
  const bytes = text.length > MAX_POLICY_LENGTH / 3 ? Buffer.byteLength(text, 'utf8') : text.length;
  if (bytes > MAX_POLICY_LENGTH) throw new LimitExceededException(`The policy document is ${bytes} bytes long; the limit is ${MAX_POLICY_LENGTH} bytes.`);
}

function parseDocument(text: string): SourcedJson {
  try {
    return parseJsonWithSource(text);
  } catch (e) {
    return malformed(`The policy document is not valid JSON: ${(e as Error).message}`);
  }
}

/** Parses, validates and compiles a policy document. Throws MalformedPolicyDocumentException. */
export function compilePolicy(text: string, kind: PolicyKind): CompiledPolicy {
  if (typeof text !== 'string') throw new TypeError('compilePolicy: the policy must be a string');
  if (!POLICY_KINDS.includes(kind)) throw new TypeError(`compilePolicy: unknown policy kind ${String(kind)}`);
  if (text.length === 0) malformed('The policy document is empty.');
  // A bound on what is compiled at all: characters. A key policy's own limit, in bytes, holds for
  // what is written (assertKeyPolicySize, on CreateKey and PutKeyPolicy), not for what is stored:
  // a policy an earlier release stored within 32768 characters is evaluated still.
  const maxLength = kind === 'key' ? MAX_POLICY_LENGTH : MAX_IDENTITY_POLICY_LENGTH;
  if (text.length > maxLength) {
    throw new LimitExceededException(`The policy document is ${text.length} characters long; the limit is ${maxLength}.`);
  }
  if (!ALLOWED_CHARACTERS.test(text)) {
    const bad = [...text].find((c) => !ALLOWED_CHARACTERS.test(c))!;
    const code = bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    malformed(`The policy document contains the character U+${code}; only tab, line feed, carriage return and U+0020 to U+00FF are allowed.`);
  }
  const sourced = parseDocument(text);
  const document = sourced.value;
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    malformed('The policy document must be a JSON object.');
  }
  const policy = document as Record<string, unknown>;
  for (const element of Object.keys(policy)) {
    if (!TOP_LEVEL.has(element)) malformed(`Unknown policy element "${element}"; a policy has Version, Id and Statement.`);
  }
  const version = policy.Version;
  if (version !== undefined && !POLICY_VERSIONS.includes(version as PolicyVersion)) {
    malformed(`Version ${JSON.stringify(version)} is not supported; use "2012-10-17".`);
  }
  if (policy.Id !== undefined && typeof policy.Id !== 'string') malformed('Id must be a string.');
  const raw = policy.Statement;
  if (raw === undefined) malformed('The policy document has no Statement.');
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) malformed('The policy document has an empty Statement list.');
  // Variables arrived with 2012-10-17; in older documents `${...}` is literal text.
  const variables = version === '2012-10-17';
  const literal: NumberLiteral = (holder, key) => {
    const span = sourced.span(holder, key);
    return span && text.slice(span[0], span[1]);
  };
  const statements = list.map((s, i) => compileStatement(s, i, Array.isArray(raw) ? `Statement[${i}]` : 'Statement', kind, variables, literal));
  return Object.freeze({
    kind,
    version: version as PolicyVersion | undefined,
    id: policy.Id as string | undefined,
    statements: Object.freeze(statements),
  });
}

/**
 * The accounts, user, role or session ARNs, and ARN partitions a key policy names, in Principal and
 * NotPrincipal alike. AWS refuses a key policy naming a principal that does not exist with
 * INVALID_PRINCIPALS; the server, which knows its users and roles, checks these against its store.
 */
export function namedPrincipals(policy: CompiledPolicy): { readonly accounts: string[]; readonly arns: string[]; readonly partitions: string[] } {
  const accounts = new Set<string>();
  const arns = new Set<string>();
  const partitions = new Set<string>();
  for (const statement of policy.statements) {
    if (statement.principals === undefined) continue;
    for (const account of statement.principals.set.accounts) accounts.add(account);
    for (const arn of statement.principals.set.arns) arns.add(arn);
    for (const partition of statement.principals.set.partitions) partitions.add(partition);
  }
  return { accounts: [...accounts], arns: [...arns], partitions: [...partitions] };
}
