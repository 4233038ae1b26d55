/**
 * The AWS KMS recordings of shared/aws-recorded/kms-responses.json, as its README describes them:
 * which scenarios this server can replay, the placeholders, the blob expressions of requests, and
 * the matchers that compare an answer with the one AWS gave.
 */
import {
  constants, createCipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync,
  publicEncrypt, randomBytes, randomUUID, verify, type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface CallStep {
  readonly call: string;
  readonly input: JsonObject;
  readonly saveKey?: string;
  readonly save?: Readonly<Record<string, string>>;
  readonly region?: string;
}
export interface WaitStep { readonly $wait: string; readonly keyId?: string; readonly from?: string }
export interface RepeatStep { readonly $repeat: number; readonly steps: readonly Step[] }
export interface LocalStep { readonly $local: string }
export type Step = CallStep | WaitStep | RepeatStep | LocalStep;

export interface RecordedError {
  readonly error: string;
  /** `""`: AWS sent no message at all; `null`: the text was not recorded. */
  readonly message: string | null;
  readonly status: number | null;
  readonly messageMatch?: 'enum-set';
}
export interface RecordedSuccess {
  readonly ok: true;
  readonly fields?: JsonObject;
  readonly status?: number | null;
}

export interface Scenario {
  readonly id: string;
  readonly operation: string;
  readonly request: JsonObject;
  readonly steps?: readonly Step[];
  readonly requestRegion?: string;
  readonly response: RecordedError | RecordedSuccess;
}

export function loadScenarios(path: string): Scenario[] {
  return JSON.parse(readFileSync(path, 'utf8')) as Scenario[];
}

// ---------------------------------------------------------------------------------------------
// Which scenarios this server can replay

/** The operations Coffer serves (packages/server/src/routes.ts). */
export const SUPPORTED_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateKey', 'DescribeKey', 'ListKeys', 'UpdateKeyDescription', 'EnableKey', 'DisableKey',
  'ScheduleKeyDeletion', 'CancelKeyDeletion', 'CreateAlias', 'UpdateAlias', 'DeleteAlias',
  'ListAliases', 'TagResource', 'UntagResource', 'ListResourceTags', 'Encrypt', 'Decrypt',
  'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateRandom',
  'EnableKeyRotation', 'DisableKeyRotation', 'GetKeyRotationStatus', 'RotateKeyOnDemand',
  'ListKeyRotations', 'GetKeyPolicy', 'ListKeyPolicies', 'PutKeyPolicy', 'CreateGrant', 'ListGrants',
  'ListRetirableGrants', 'RetireGrant', 'RevokeGrant', 'Sign', 'Verify', 'GetPublicKey', 'GenerateMac',
  'VerifyMac', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'DeriveSharedSecret',
  'GetParametersForImport', 'ImportKeyMaterial', 'DeleteImportedKeyMaterial',
]);

/** AWS key specs Coffer does not make (packages/server/src/keys/specs/index.ts lists those it does). */
export const UNSUPPORTED_KEY_SPECS: ReadonlySet<string> = new Set(['SM2']);

/** The client-side steps the replay implements (test/aws-recorded.test.ts). */
export const SUPPORTED_LOCAL_STEPS: ReadonlySet<string> = new Set(['ec-key-pair', 'ecdh', 'hmac', 'wrap-key-material']);

const isCall = (step: Step): step is CallStep => 'call' in step;
export const isWait = (step: Step): step is WaitStep => '$wait' in step;
export const isRepeat = (step: Step): step is RepeatStep => '$repeat' in step;
export const isLocal = (step: Step): step is LocalStep => '$local' in step;

/** The steps with every `$repeat` body listed once: what a scenario calls, not how often. */
function flatSteps(steps: readonly Step[]): Step[] {
  return steps.flatMap((step) => (isRepeat(step) ? flatSteps(step.steps) : [step]));
}

/**
 * A scenario is replayable when every call, steps and request alike, is an operation Coffer serves
 * on a key Coffer can make (a supported key spec, AWS_KMS or EXTERNAL origin; a multi-Region key
 * only as a primary without replicas) in its one region, and every client-side step (`$local`)
 * is one the replay implements.
 */
export function isReplayable(scenario: Scenario): boolean {
  if (scenario.requestRegion !== undefined || JSON.stringify(scenario).includes('<other-region>')) return false;
  const request: CallStep = { call: scenario.operation, input: scenario.request };
  return [...flatSteps(scenario.steps ?? []), request].every((step) => {
    if (isWait(step)) return true;
    if (isLocal(step)) return SUPPORTED_LOCAL_STEPS.has(step.$local);
    if (!isCall(step)) return false;
    return SUPPORTED_OPERATIONS.has(step.call) && step.region === undefined && onlySupportedKeys(step);
  });
}

/** The operations whose `Policy` member is a key policy, which Coffer takes as AWS does. */
const KEY_POLICY_OPERATIONS: ReadonlySet<string> = new Set(['CreateKey', 'PutKeyPolicy']);

function onlySupportedKeys({ call, input }: CallStep): boolean {
  if (input.Policy !== undefined && !KEY_POLICY_OPERATIONS.has(call)) return false;
  // Only CreateKey says what kind of key to make; GenerateDataKey's KeySpec is the data key's.
  if (call !== 'CreateKey') return true;
  const is = (value: Json | undefined, allowed: Json) => value === undefined || value === allowed;
  // A KeySpec that is no AWS spec at all stays: Coffer must refuse it as AWS does.
  const spec = (value: Json | undefined) => typeof value !== 'string' || !UNSUPPORTED_KEY_SPECS.has(value);
  return spec(input.KeySpec) && spec(input.CustomerMasterKeySpec)
    && (is(input.Origin, 'AWS_KMS') || input.Origin === 'EXTERNAL');
}

// ---------------------------------------------------------------------------------------------
// Placeholders

const PLACEHOLDER = /<([^<>\s]+)>/g;

/** The values of one scenario's placeholders: the realm, a fresh alias, and what steps saved. */
export class Bindings {
  readonly #values = new Map<string, Json>();

  constructor(realm: { readonly region: string; readonly account: string; readonly partition: string }) {
    const aliasName = `alias/recorded-${randomUUID()}`;
    this.set('region', realm.region);
    this.set('account', realm.account);
    this.set('alias-name', aliasName);
    this.set('alias-name-without-prefix', aliasName.slice('alias/'.length));
    this.set('alias-arn', `arn:${realm.partition}:kms:${realm.region}:${realm.account}:${aliasName}`);
    // The recordings' caller was an IAM principal of the account; Coffer's tests call as the account root.
    this.set('caller-arn', `arn:${realm.partition}:iam::${realm.account}:root`);
  }

  set(name: string, value: Json): void {
    this.#values.set(name, value);
  }

  /** `"saveKey": NAME` keeps the key as `<NAME-id>` and `<NAME-arn>`. */
  saveKey(name: string, createKeyResponse: Record<string, unknown>): void {
    const metadata = createKeyResponse.KeyMetadata as { KeyId: string; Arn: string };
    this.set(`${name}-id`, metadata.KeyId);
    this.set(`${name}-arn`, metadata.Arn);
  }

  get(name: string, extra?: (name: string) => Json | undefined): Json {
    const value = extra?.(name) ?? this.#values.get(name);
    if (value === undefined) throw new Error(`placeholder <${name}> has no value`);
    return value;
  }

  /**
   * Replaces the placeholders of a template. A template that is one placeholder gives the bound
   * value itself (it may be a number); otherwise each placeholder is replaced by its text.
   */
  substitute(template: string, extra?: (name: string) => Json | undefined): Json {
    const whole = /^<([^<>\s]+)>$/.exec(template);
    if (whole) return this.get(whole[1]!, extra);
    return template.replace(PLACEHOLDER, (_, name: string) => String(this.get(name, extra)));
  }

  text(template: string, extra?: (name: string) => Json | undefined): string {
    return String(this.substitute(template, extra));
  }
}

/** The value at a dotted path (`KeyMetadata.KeyId`) of a response. */
export function valueAt(document: unknown, path: string): Json | undefined {
  let value: unknown = document;
  for (const part of path.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value as Json | undefined;
}

// ---------------------------------------------------------------------------------------------
// Requests

const BLOB_OPERATORS = ['$utf8', '$size', '$concat', '$slice', '$digest'];
const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A request (or step input) as it goes on the wire: placeholders bound, blobs in base64. */
export function resolveRequest(value: Json, bindings: Bindings): Json {
  if (typeof value === 'string') return bindings.substitute(value);
  if (Array.isArray(value)) return value.map((item) => resolveRequest(item, bindings));
  if (!isObject(value)) return value;
  if ('$json' in value) return JSON.stringify(resolveRequest(value.$json!, bindings));
  if (BLOB_OPERATORS.some((op) => op in value)) return blobOf(value, bindings).toString('base64');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRequest(v, bindings)]));
}

/** The bytes of a blob expression. A placeholder names a saved blob, which is base64 as received. */
function blobOf(value: Json, bindings: Bindings): Buffer {
  if (typeof value === 'string') return Buffer.from(bindings.text(value), 'base64');
  if (!isObject(value)) throw new Error(`not a blob: ${JSON.stringify(value)}`);
  if (value.$utf8 !== undefined) return Buffer.from(value.$utf8 as string, 'utf8');
  if (value.$size !== undefined) return randomBytes(value.$size as number);
  if (value.$concat !== undefined) return Buffer.concat((value.$concat as Json[]).map((part) => blobOf(part, bindings)));
  if (value.$slice !== undefined) {
    const [blob, start, end] = value.$slice as [Json, number, number?];
    return blobOf(blob, bindings).subarray(start, end);
  }
  if (value.$digest !== undefined) {
    const [algorithm, blob] = value.$digest as [string, Json];
    return createHash(algorithm.replace('SHA_', 'sha')).update(blobOf(blob, bindings)).digest();
  }
  throw new Error(`unknown blob expression: ${JSON.stringify(value)}`);
}

// ---------------------------------------------------------------------------------------------
// Responses

const show = (value: unknown): string => (value === undefined ? '(absent)' : JSON.stringify(value));
const isBase64 = (value: unknown): value is string =>
  typeof value === 'string' && /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value);

/** The shape matchers of `fields`: a value that varies by nature is checked by its form. */
const SHAPES: Readonly<Record<string, (value: unknown) => boolean>> = {
  '<absent>': (v) => v === undefined,
  '<present>': (v) => v !== undefined,
  // Epoch seconds on the JSON wire; the bounds tell seconds from milliseconds.
  '<timestamp>': (v) => typeof v === 'number' && v > 1e9 && v < 1e10,
  '<bytes>': isBase64,
  '<key-material-id>': (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v),
  '<uuid>': (v) => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v),
  '<mrk-id>': (v) => typeof v === 'string' && /^mrk-[0-9a-f]{32}$/.test(v),
};

interface MatchContext {
  readonly bindings: Bindings;
  /** `<response:PATH>` reads the response being checked. */
  readonly extra: (name: string) => Json | undefined;
}

/** What differs between a success body and the recorded `fields`; empty when it matches. */
export function fieldProblems(body: Record<string, unknown>, fields: JsonObject, bindings: Bindings): string[] {
  const extra = (name: string) => (name.startsWith('response:') ? valueAt(body, name.slice('response:'.length)) : undefined);
  const problems: string[] = [];
  check(body, fields, '', { bindings, extra }, problems);
  return problems;
}

function check(actual: unknown, expected: Json, path: string, ctx: MatchContext, problems: string[]): void {
  const fail = (what: string) => problems.push(`${path || '(body)'}: expected ${what}, got ${show(actual)}`);
  const matches = (value: unknown, pattern: Json) => {
    const inner: string[] = [];
    check(value, pattern, path, ctx, inner);
    return inner.length === 0;
  };
  if (typeof expected === 'string') {
    checkString(actual, expected, ctx, fail);
  } else if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return void fail(`a list of ${expected.length}: ${show(expected)}`);
    expected.forEach((item, i) => check(actual[i], item, `${path}[${i}]`, ctx, problems));
  } else if (isObject(expected) && '$json' in expected) {
    let parsed: unknown;
    try { parsed = JSON.parse(String(actual)); } catch { return void fail('a JSON document'); }
    const wanted = resolveRequest(expected.$json!, ctx.bindings);
    if (!isDeepStrictEqual(parsed, wanted)) fail(`JSON ${show(wanted)}`);
  } else if (isObject(expected) && '$utf8' in expected) {
    if (!isBase64(actual) || Buffer.from(actual, 'base64').toString('utf8') !== expected.$utf8) fail(`base64 of ${show(expected.$utf8)}`);
  } else if (isObject(expected) && '$contains' in expected) {
    if (!Array.isArray(actual) || !actual.some((item) => matches(item, expected.$contains!))) fail(`a list containing ${show(expected.$contains)}`);
  } else if (isObject(expected) && '$excludes' in expected) {
    if (!Array.isArray(actual) || actual.some((item) => matches(item, expected.$excludes!))) fail(`a list without ${show(expected.$excludes)}`);
  } else if (isObject(expected) && '$length' in expected) {
    if (!Array.isArray(actual) || actual.length !== expected.$length) fail(`a list of ${show(expected.$length)}`);
  } else if (isObject(expected) && '$oneOf' in expected) {
    if (!(expected.$oneOf as Json[]).some((option) => matches(actual, option))) fail(`one of ${show(expected.$oneOf)}`);
  } else if (isObject(expected)) {
    if (!isObject(actual)) return void fail('an object');
    for (const [key, value] of Object.entries(expected)) check(actual[key], value, path ? `${path}.${key}` : key, ctx, problems);
  } else if (actual !== expected) {
    fail(show(expected));
  }
}

function checkString(actual: unknown, expected: string, ctx: MatchContext, fail: (what: string) => void): void {
  const shape = SHAPES[expected];
  if (shape) {
    if (!shape(actual)) fail(expected);
    return;
  }
  const bytes = /^<bytes:(\d+)>$/.exec(expected);
  if (bytes) {
    if (!isBase64(actual) || Buffer.from(actual, 'base64').length !== Number(bytes[1])) fail(`${bytes[1]} bytes in base64`);
    return;
  }
  const differs = /^<differs:([^<>]+)>$/.exec(expected);
  if (differs) {
    const saved = ctx.bindings.get(differs[1]!);
    if (actual === undefined || actual === saved) fail(`a value other than ${show(saved)}`);
    return;
  }
  if (expected === '<verifies-locally>') {
    if (!verifiesLocally(actual, ctx)) fail('a signature that verifies under <public-key>');
    return;
  }
  const wanted = ctx.bindings.substitute(expected, ctx.extra);
  if (actual !== wanted) fail(show(wanted));
}

/**
 * `<verifies-locally>`: the signature verifies with node:crypto under the public key a step saved
 * as `<public-key>`, over the request's message (`<request>`, bound by the replay): RSASSA-PSS
 * with a salt as long as the digest, or ECDSA in DER.
 */
function verifiesLocally(signature: unknown, ctx: MatchContext): boolean {
  if (!isBase64(signature)) return false;
  const request = ctx.bindings.get('request') as JsonObject;
  const algorithm = String(request.SigningAlgorithm);
  const hash = algorithm.replace(/^.*SHA_(\d+)$/, 'sha$1');
  const key = createPublicKey({ key: Buffer.from(String(ctx.bindings.get('public-key')), 'base64'), format: 'der', type: 'spki' });
  if (request.MessageType !== undefined && request.MessageType !== 'RAW') throw new Error('<verifies-locally> is defined for RAW messages');
  const message = Buffer.from(String(request.Message), 'base64');
  const bytes = Buffer.from(signature, 'base64');
  if (algorithm.startsWith('RSASSA_PSS_')) {
    return verify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, bytes);
  }
  if (algorithm.startsWith('ECDSA_')) return verify(hash, message, { key, dsaEncoding: 'der' }, bytes);
  throw new Error(`<verifies-locally> is not defined for ${algorithm}`);
}

/** Message placeholders for values the client never sees. */
const MESSAGE_SHAPES: Readonly<Record<string, string>> = {
  'new-key-material-id': '[0-9a-f]{64}',
};

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The recorded message as a pattern: bound placeholders literal, hidden values by their form. */
function messagePattern(template: string, bindings: Bindings): string {
  let pattern = '';
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    pattern += escapeRegExp(template.slice(last, m.index)) + (MESSAGE_SHAPES[m[1]!] ?? escapeRegExp(bindings.text(m[0])));
    last = m.index! + m[0].length;
  }
  return pattern + escapeRegExp(template.slice(last));
}

/** What differs between an error body and the recorded error; empty when it matches. */
export function errorProblems(status: number, body: Record<string, unknown>, recorded: RecordedError, bindings: Bindings): string[] {
  const problems: string[] = [];
  // `__type` may carry a namespace (`com.amazonaws.kms#NotFoundException`); the name follows `#`.
  const type = String(body.__type ?? '').split('#').pop();
  if (type !== recorded.error) problems.push(`__type: expected ${recorded.error}, got ${show(body.__type)}`);
  if (recorded.status !== null && status !== recorded.status) problems.push(`status: expected ${recorded.status}, got ${status}`);
  const message = body.message;
  if (recorded.message === '') {
    // AWS sent no message at all: the body must not have the field, not even empty.
    if ('message' in body || 'Message' in body) problems.push(`message: expected none, got ${show(message ?? body.Message)}`);
  } else if (recorded.message !== null && recorded.messageMatch === 'enum-set') {
    problems.push(...enumSetProblems(message, recorded.message, bindings));
  } else if (recorded.message !== null) {
    const pattern = new RegExp(`^${messagePattern(recorded.message, bindings)}$`);
    if (typeof message !== 'string' || !pattern.test(message)) {
      problems.push(`message: expected ${show(bindings.text(recorded.message))}, got ${show(message)}`);
    }
  }
  return problems;
}

/**
 * `messageMatch: "enum-set"`: the text around the brackets exactly; inside them every recorded
 * value, in any order, among any values AWS added since.
 */
function enumSetProblems(message: unknown, recorded: string, bindings: Bindings): string[] {
  const open = recorded.indexOf('[');
  const close = recorded.lastIndexOf(']');
  const before = messagePattern(recorded.slice(0, open), bindings);
  const after = messagePattern(recorded.slice(close + 1), bindings);
  const listed = typeof message === 'string' ? new RegExp(`^${before}\\[(.*)\\]${after}$`).exec(message) : null;
  if (!listed) return [`message: expected ${show(recorded)} (any enum order), got ${show(message)}`];
  const values = new Set(listed[1]!.split(',').map((v) => v.trim()));
  const missing = recorded.slice(open + 1, close).split(',').map((v) => v.trim()).filter((v) => !values.has(v));
  return missing.length ? [`message: enum list lacks ${missing.join(', ')}: ${show(message)}`] : [];
}

// ---------------------------------------------------------------------------------------------
// Client-side steps (`$local`)

const LOCAL_CURVES: Readonly<Record<string, string>> = {
  ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1', ECC_SECG_P256K1: 'secp256k1',
};

/**
 * Runs one `$local` step with node:crypto and binds what it makes, as the README says:
 * `ec-key-pair` keeps `<NAME-private-key>` (PKCS#8) and `<NAME-public-key>` (SPKI), `ecdh` and
 * `hmac` keep their result, all base64 as a KMS response would carry them.
 */
export function runLocalStep(step: LocalStep & Record<string, Json>, bindings: Bindings): void {
  const save = String(step.save);
  switch (step.$local) {
    case 'ec-key-pair': {
      const namedCurve = LOCAL_CURVES[String(step.curve)];
      if (!namedCurve) throw new Error(`no local curve for ${String(step.curve)}`);
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
      bindings.set(`${save}-private-key`, privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'));
      bindings.set(`${save}-public-key`, publicKey.export({ format: 'der', type: 'spki' }).toString('base64'));
      return;
    }
    case 'ecdh': {
      const privateKey = createPrivateKey({ key: Buffer.from(bindings.text(`<${String(step.privateKey)}-private-key>`), 'base64'), format: 'der', type: 'pkcs8' });
      const publicKey = createPublicKey({ key: Buffer.from(bindings.text(String(step.peerPublicKey)), 'base64'), format: 'der', type: 'spki' });
      bindings.set(save, diffieHellman({ privateKey, publicKey }).toString('base64'));
      return;
    }
    case 'hmac': {
      const key = Buffer.from(bindings.text(String(step.key)), 'base64');
      const message = Buffer.from(String(resolveRequest(step.message!, bindings)), 'base64');
      bindings.set(save, createHmac(String(step.hash).replace('SHA_', 'sha'), key).update(message).digest('base64'));
      return;
    }
    case 'wrap-key-material': {
      const { material, publicKey } = localMaterial(String(step.material));
      const wrappingKey = createPublicKey({ key: Buffer.from(bindings.text(String(step.wrappingKey)), 'base64'), format: 'der', type: 'spki' });
      bindings.set(save, wrapForImport(material, wrappingKey, String(step.wrappingAlgorithm)).toString('base64'));
      bindings.set(`${save}-plaintext`, material.toString('base64'));
      if (publicKey) bindings.set(`${save}-public-key`, publicKey.toString('base64'));
      return;
    }
    default:
      throw new Error(`cannot run $local ${step.$local}`);
  }
}

/** Material made on the client: `symmetric-256`, `random:N`, `ec-private-key:<spec>`, `rsa-private-key:RSA_N` (PKCS#8). */
export function localMaterial(kind: string): { material: Buffer; publicKey?: Buffer } {
  if (kind === 'symmetric-256') return { material: randomBytes(32) };
  const random = /^random:(\d+)$/.exec(kind);
  if (random) return { material: randomBytes(Number(random[1])) };
  const [type, spec] = kind.split(':') as [string, string];
  const pair = type === 'ec-private-key'
    ? generateKeyPairSync('ec', { namedCurve: LOCAL_CURVES[spec]! })
    : generateKeyPairSync('rsa', { modulusLength: Number(spec.slice('RSA_'.length)) });
  return {
    material: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }),
  };
}

/**
 * Wraps material for ImportKeyMaterial as AWS documents: RSAES-OAEP (SHA-1 or SHA-256, MGF1 of the
 * same hash), or RSA-OAEP of a fresh AES-256 key followed by AES key wrap with padding (RFC 5649).
 */
export function wrapForImport(material: Buffer, wrappingKey: KeyObject, algorithm: string): Buffer {
  const oaepHash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  const oaep = (data: Buffer) => publicEncrypt({ key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, data);
  if (algorithm.startsWith('RSAES_OAEP_')) return oaep(material);
  const aesKey = randomBytes(32);
  const cipher = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('a65959a6', 'hex'));
  return Buffer.concat([oaep(aesKey), cipher.update(material), cipher.final()]);
}
