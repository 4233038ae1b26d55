import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import type { LogLevel } from '../src/index.js';
import { rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

/**
 * A bounded, seeded fuzz of the cryptographic operations over HTTP: random and damaged ciphertexts,
 * odd numbers, members of the wrong JSON type, malformed and non-object bodies. Every answer must
 * be a 4xx JSON error of a known type (or, where the input may happen to be valid, a 200), never a
 * 5xx, and the server must still work afterwards. Set FUZZ_SEED to replay another run.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0xc0ffee);
const CONCURRENCY = 8;

/** The errors a malformed cryptographic request may fairly earn. Anything else is a bug. */
const KNOWN_ERRORS = new Set([
  'SerializationException', 'ValidationException', 'InvalidCiphertextException', 'NotFoundException',
  'IncorrectKeyException', 'InvalidKeyUsageException', 'DisabledException', 'KMSInvalidStateException',
  'UnsupportedOperationException', 'DryRunOperationException',
]);

/** mulberry32: a small seeded PRNG, so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  readonly label: string;
  readonly operation: string;
  readonly body?: unknown;
  readonly rawBody?: string;
  /** The error types this case may earn; `ok` also allows a 200 (the input may be valid). */
  readonly allowed?: readonly string[];
  readonly ok?: boolean;
}

const errorType = (res: RawResponse): string => String(res.body.__type).split('#').pop()!;

function check(res: RawResponse, c: Case): void {
  const label = `[seed ${SEED}] ${c.operation} ${c.label}: ${res.status} ${res.text.slice(0, 300)}`;
  assert.ok(res.status < 500, label);
  assert.match(res.headers.get('content-type') ?? '', /^application\/x-amz-json-1\.1/, label);
  assert.doesNotThrow(() => JSON.parse(res.text), label);
  if (res.status === 200 && c.ok) return;
  assert.ok(res.status >= 400 && res.status < 500, label);
  assert.ok(KNOWN_ERRORS.has(errorType(res)), label);
  if (c.allowed) assert.ok(c.allowed.includes(errorType(res)), `expected one of ${c.allowed.join(', ')}; ${label}`);
}

/** Wrong JSON values for each kind of member; none of them is a valid value of that kind. */
const WRONG: Record<string, readonly unknown[]> = {
  string: [5, -1, 1.5, true, false, [], ['x'], {}, { a: 'b' }],
  blob: [5, true, [], [1, 2], {}, { a: 'b' }, 'not base64!', 'AAA', 'A===', '====', ' AAAA', 'AAAA\n', '', 'QUFB-_'],
  map: [[], ['a'], 'a=b', 5, true, { a: 1 }, { a: true }, { a: null }, { a: {} }, { a: [] }, { a: 'b', c: 2 }],
  list: ['token', 5, true, {}, [1], [null], [{}], [['x']], ['ok', 5], ['']],
  boolean: ['true', 'false', 1, 0, [], {}, 'yes'],
  integer: ['32', 32.5, true, [], {}, [32], { n: 32 }, -1, 0, 1e9, 2 ** 53, 1.0000001, 1025],
  enum: [5, true, [], {}, 'symmetric_default', 'AES_512', '', ' SYMMETRIC_DEFAULT', 'RSA_2048'],
  struct: [5, 'x', [], {}, { AttestationDocument: 'AAAA' }],
};

describe('fuzzing the cryptographic operations', () => {
  let t: TestServer;
  let keyId: string;
  let blob: Buffer;
  let blobs: Buffer[];
  const errorLines: string[] = [];
  const rng = prng(SEED);
  const int = (n: number) => Math.floor(rng() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

  const send = (c: Case) => rawRequest(t.server.endpoint, t.credentials, c.operation, c.body, c.rawBody === undefined ? {} : { rawBody: c.rawBody });

  async function run(cases: readonly Case[]): Promise<void> {
    for (let i = 0; i < cases.length; i += CONCURRENCY) {
      await Promise.all(cases.slice(i, i + CONCURRENCY).map(async (c) => check(await send(c), c)));
    }
  }

  async function encrypt(body: Record<string, unknown>): Promise<Buffer> {
    const res = await rawRequest(t.server.endpoint, t.credentials, 'Encrypt', { KeyId: keyId, ...body });
    assert.equal(res.status, 200, res.text);
    return Buffer.from(String(res.body.CiphertextBlob), 'base64');
  }

  before(async () => {
    t = await startTestServer({
      logger: (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
        if (level !== 'info') errorLines.push(JSON.stringify({ level, message, ...fields }));
      },
    });
    keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    blob = await encrypt({ Plaintext: Buffer.from('fuzz plaintext').toString('base64') });
    blobs = [
      blob,
      await encrypt({ Plaintext: bytes(4096).toString('base64') }),
      await encrypt({ Plaintext: 'AA==', EncryptionContext: { a: 'b' } }),
    ];
  });
  after(() => t.dispose());

  const decryptOrReEncrypt = (bytesToSend: Buffer, label: string, allowed: readonly string[]): Case =>
    rng() < 0.5
      ? { label, operation: 'Decrypt', body: { CiphertextBlob: bytesToSend.toString('base64') }, allowed }
      : { label, operation: 'ReEncrypt', body: { CiphertextBlob: bytesToSend.toString('base64'), DestinationKeyId: keyId }, allowed };

  it('random bytes as a ciphertext are InvalidCiphertextException', async () => {
    const cases: Case[] = [];
    for (let i = 0; i < 60; i++) {
      const length = i < 5 ? 1 + int(6144) : 1 + int(300);
      const random = bytes(length);
      // Half of them start like a real blob, so they get past the first checks.
      if (i % 2 === 0 && random.length > 2) random[0] = 0x01;
      cases.push(decryptOrReEncrypt(random, `${length} random bytes`, ['InvalidCiphertextException']));
    }
    await run(cases);
  });

  it('random base64-like strings are refused cleanly', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ .\n\u00e9';
    const cases: Case[] = [];
    for (let i = 0; i < 40; i++) {
      const text = Array.from({ length: 1 + int(200) }, () => alphabet[rng() < 0.9 ? int(64) : int(alphabet.length)]).join('');
      cases.push({
        label: `base64-ish ${JSON.stringify(text.slice(0, 20))}`, operation: pick(['Decrypt', 'ReEncrypt']),
        body: { CiphertextBlob: text, DestinationKeyId: keyId },
        allowed: ['SerializationException', 'InvalidCiphertextException'],
      });
    }
    await run(cases);
  });

  it('truncated real ciphertexts and real headers with random tails are InvalidCiphertextException', async () => {
    const cases: Case[] = [];
    for (let i = 0; i < 40; i++) {
      const source = pick(blobs);
      const length = 1 + int(source.length - 1);
      cases.push(decryptOrReEncrypt(source.subarray(0, length), `truncated to ${length}`, ['InvalidCiphertextException']));
    }
    const headerLength = 2 + blob[1]! + 4;
    for (let i = 0; i < 50; i++) {
      const header = Buffer.from(blob.subarray(0, headerLength + (i % 2 === 0 ? 12 : 0)));
      // Some keep the real version, some name versions the key does not have.
      if (i % 5 === 0) header.writeUInt32BE(int(2 ** 32), headerLength - 4);
      const tail = bytes(int(200));
      cases.push(decryptOrReEncrypt(Buffer.concat([header, tail]), `header + ${tail.length} random bytes`, ['InvalidCiphertextException']));
    }
    await run(cases);
  });

  it('odd NumberOfBytes are refused cleanly', async () => {
    const values: unknown[] = [
      1e9, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 1e308, -1, -(2 ** 31), -1e308, 1.5, 0.1, 32.0000001,
      '32', '', 'abc', true, false, [], [32], {}, { n: 32 }, 1025, 0,
    ];
    const cases: Case[] = [];
    for (const operation of ['GenerateRandom', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext']) {
      for (const value of values) {
        cases.push({
          label: `NumberOfBytes ${JSON.stringify(value)}`, operation, body: { KeyId: keyId, NumberOfBytes: value },
          allowed: ['SerializationException', 'ValidationException'],
        });
      }
      // Numbers JSON.stringify cannot write; some of them are valid spellings of valid values.
      for (const text of ['1e400', '-1e400', '1e-400', '-0', '32.0', '3.2e1', '1E3', '0x20', 'NaN', 'Infinity', '032', '+32', '.5', '99999999999999999999999999']) {
        cases.push({
          label: `NumberOfBytes ${text}`, operation, rawBody: `{"KeyId":"${keyId}","NumberOfBytes":${text}}`,
          allowed: ['SerializationException', 'ValidationException'], ok: true,
        });
      }
    }
    await run(cases);
  });

  it('every member of the wrong JSON type is refused cleanly', async () => {
    const aliasOrKey = keyId;
    const good = blob.toString('base64');
    const operations: Record<string, { base: Record<string, unknown>; members: Record<string, keyof typeof WRONG> }> = {
      Encrypt: {
        base: { KeyId: aliasOrKey, Plaintext: 'AAAA' },
        members: { KeyId: 'string', Plaintext: 'blob', EncryptionContext: 'map', GrantTokens: 'list', EncryptionAlgorithm: 'enum', DryRun: 'boolean' },
      },
      Decrypt: {
        base: { CiphertextBlob: good },
        members: {
          CiphertextBlob: 'blob', EncryptionContext: 'map', GrantTokens: 'list', KeyId: 'string',
          EncryptionAlgorithm: 'enum', Recipient: 'struct', DryRun: 'boolean',
        },
      },
      ReEncrypt: {
        base: { CiphertextBlob: good, DestinationKeyId: aliasOrKey },
        members: {
          CiphertextBlob: 'blob', SourceEncryptionContext: 'map', SourceKeyId: 'string', DestinationKeyId: 'string',
          DestinationEncryptionContext: 'map', SourceEncryptionAlgorithm: 'enum', DestinationEncryptionAlgorithm: 'enum',
          GrantTokens: 'list', DryRun: 'boolean',
        },
      },
      GenerateDataKey: {
        base: { KeyId: aliasOrKey, KeySpec: 'AES_256' },
        members: { KeyId: 'string', EncryptionContext: 'map', NumberOfBytes: 'integer', KeySpec: 'enum', GrantTokens: 'list', Recipient: 'struct', DryRun: 'boolean' },
      },
      GenerateDataKeyWithoutPlaintext: {
        base: { KeyId: aliasOrKey, NumberOfBytes: 32 },
        members: { KeyId: 'string', EncryptionContext: 'map', NumberOfBytes: 'integer', KeySpec: 'enum', GrantTokens: 'list', DryRun: 'boolean' },
      },
      GenerateRandom: {
        base: { NumberOfBytes: 32 },
        members: { NumberOfBytes: 'integer', CustomKeyStoreId: 'string', Recipient: 'struct' },
      },
    };
    const cases: Case[] = [];
    for (const [operation, { base, members }] of Object.entries(operations)) {
      // Each base request is valid: only the one wrong member can make it fail.
      const res = await rawRequest(t.server.endpoint, t.credentials, operation, base);
      assert.equal(res.status, 200, `${operation} base request: ${res.text}`);
      for (const [member, kind] of Object.entries(members)) {
        for (const value of WRONG[kind]!) {
          cases.push({ label: `${member}: ${JSON.stringify(value)}`, operation, body: { ...base, [member]: value } });
        }
      }
    }
    assert.ok(cases.length > 250, `only ${cases.length} cases`);
    await run(cases);
  });

  it('malformed JSON bodies are SerializationException', async () => {
    const valid = JSON.stringify({ KeyId: keyId, Plaintext: 'AAAA' });
    const fixed = [
      '{', '}', '{"KeyId":', '{"KeyId":"x"', 'not json', '{"a":1,}', "{'KeyId':'x'}", '{KeyId:"x"}', '\u0000',
      '{"Plaintext":"AAAA"}}', '[{]', '"unterminated', '{"a":tru}', '{"a":01}', '{"a":"\\x41"}', '{"a":"\\u12"}',
      '\ufeff{}x', '{"a"}', '[', ']', ',', '{"a":1}{"b":2}', valid.slice(0, -1), valid + ',', `${valid}x`,
    ];
    const cases: Case[] = [];
    for (const rawBody of fixed) {
      cases.push({ label: `body ${JSON.stringify(rawBody.slice(0, 30))}`, operation: pick(['Encrypt', 'Decrypt', 'GenerateDataKey', 'GenerateRandom']), rawBody, allowed: ['SerializationException'] });
    }
    // Random one-character damage to a valid body: sometimes still valid JSON, so a clean
    // answer of any known kind is enough.
    for (let i = 0; i < 40; i++) {
      const at = int(valid.length);
      const damaged = rng() < 0.5
        ? valid.slice(0, at) + valid.slice(at + 1)
        : valid.slice(0, at) + pick(['{', '}', '[', ']', '"', ':', ',', '\\', '\u0000', 'x']) + valid.slice(at);
      cases.push({ label: `damaged body ${JSON.stringify(damaged)}`, operation: 'Encrypt', rawBody: damaged, ok: true });
    }
    // Deep nesting must not overflow the parser's stack.
    cases.push({ label: 'deep array', operation: 'Encrypt', rawBody: '['.repeat(50_000) + ']'.repeat(50_000), allowed: ['SerializationException'] });
    cases.push({
      label: 'deep object', operation: 'Encrypt', rawBody: `{"EncryptionContext":${'{"a":'.repeat(20_000)}"b"${'}'.repeat(20_000)}}`,
      allowed: ['SerializationException'],
    });
    await run(cases);
  });

  it('JSON that is not an object is SerializationException', async () => {
    const cases: Case[] = [];
    for (const operation of ['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateRandom']) {
      for (const rawBody of ['[]', `[${JSON.stringify({ KeyId: keyId, Plaintext: 'AAAA' })}]`, '5', '-1.5', 'null', '"Encrypt"', 'true', 'false']) {
        cases.push({ label: `body ${rawBody.slice(0, 20)}`, operation, rawBody, allowed: ['SerializationException'] });
      }
    }
    await run(cases);
  });

  it('random well-typed encryption contexts either round-trip or are refused, never confused', async () => {
    const pieces = ['a', 'b', '', '\u0000', '=', ',', '"', '\\', 'é', 'e\u0301', '🔑', '\ud800', '\udfff', '\ufffd', '__proto__', 'constructor', ' '];
    const word = () => Array.from({ length: int(4) }, () => pick(pieces)).join('');
    const contexts: Array<Record<string, string>> = [];
    for (let i = 0; i < 40; i++) {
      const context: Record<string, string> = {};
      for (let n = int(4); n > 0; n--) Object.defineProperty(context, word(), { value: word(), enumerable: true, writable: true, configurable: true });
      contexts.push(context);
    }
    for (let i = 0; i < contexts.length; i += CONCURRENCY) {
      await Promise.all(contexts.slice(i, i + CONCURRENCY).map(async (context) => {
        const label = `context ${JSON.stringify(context)}`;
        const sealed = await rawRequest(t.server.endpoint, t.credentials, 'Encrypt', { KeyId: keyId, Plaintext: 'AAAA', EncryptionContext: context });
        check(sealed, { label, operation: 'Encrypt', allowed: ['ValidationException'], ok: true });
        if (sealed.status !== 200) return;
        const opened = await rawRequest(t.server.endpoint, t.credentials, 'Decrypt', { CiphertextBlob: sealed.body.CiphertextBlob, EncryptionContext: context });
        assert.equal(opened.status, 200, `${label}: ${opened.text}`);
        assert.equal(opened.body.Plaintext, 'AAAA');
        const changed = { ...context, [word() + '!']: word() };
        const refused = await rawRequest(t.server.endpoint, t.credentials, 'Decrypt', { CiphertextBlob: sealed.body.CiphertextBlob, EncryptionContext: changed });
        check(refused, { label: `${label} changed`, operation: 'Decrypt', allowed: ['InvalidCiphertextException', 'ValidationException'] });
      }));
    }
  });

  it('a JSON "__proto__" member is data, never a way to change the request', async () => {
    const sealed = await rawRequest(t.server.endpoint, t.credentials, 'Encrypt', undefined, {
      rawBody: `{"KeyId":"${keyId}","Plaintext":"AAAA","EncryptionContext":{"__proto__":"x"}}`,
    });
    assert.equal(sealed.status, 200, sealed.text);
    const withContext = await rawRequest(t.server.endpoint, t.credentials, 'Decrypt', undefined, {
      rawBody: `{"CiphertextBlob":"${String(sealed.body.CiphertextBlob)}","EncryptionContext":{"__proto__":"x"}}`,
    });
    assert.equal(withContext.status, 200, withContext.text);
    const without = await rawRequest(t.server.endpoint, t.credentials, 'Decrypt', { CiphertextBlob: sealed.body.CiphertextBlob });
    assert.equal(errorType(without), 'InvalidCiphertextException', without.text);
    const smuggled = await rawRequest(t.server.endpoint, t.credentials, 'Encrypt', undefined, {
      rawBody: `{"__proto__":{"KeyId":"${keyId}","Plaintext":"AAAA"}}`,
    });
    check(smuggled, { label: 'members under __proto__', operation: 'Encrypt', allowed: ['ValidationException'] });
  });

  it('the server still encrypts and decrypts afterwards, and logged no internal error', async () => {
    const sealed = await rawRequest(t.server.endpoint, t.credentials, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('still here').toString('base64') });
    assert.equal(sealed.status, 200, sealed.text);
    const opened = await rawRequest(t.server.endpoint, t.credentials, 'Decrypt', { CiphertextBlob: sealed.body.CiphertextBlob });
    assert.equal(opened.status, 200, opened.text);
    assert.equal(Buffer.from(String(opened.body.Plaintext), 'base64').toString(), 'still here');
    assert.deepEqual(errorLines, []);
  });
});
