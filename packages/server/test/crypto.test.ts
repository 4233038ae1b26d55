import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand,
  GenerateDataKeyCommand, ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { errorOf, rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

/**
 * The cryptographic operations over real HTTP, checked against AWS KMS's documented behaviour:
 * sizes, identifier forms, encryption context binding, ReEncrypt, data keys, GenerateRandom,
 * GrantTokens and DryRun.
 */

const DRY_RUN_MESSAGE = 'The request would have succeeded, but the DryRun option is set.';

interface Key {
  readonly id: string;
  readonly arn: string;
}

/** Every form AWS accepts for a key in Encrypt, Decrypt, ReEncrypt and GenerateDataKey*. */
interface KeyForms extends Key {
  readonly aliasName: string;
  readonly aliasArn: string;
}

/** The error name without the namespace AWS sometimes puts in `__type` (`ns#Name`). */
const errorType = (res: RawResponse): string => String(res.body.__type).split('#').pop()!;

function assertError(res: RawResponse, type: string, message?: string): void {
  assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx ${type}, got ${res.status} ${res.text}`);
  assert.equal(errorType(res), type, res.text);
  if (message !== undefined) assert.equal(res.body.message, message);
}

function assertOk(res: RawResponse): Record<string, unknown> {
  assert.equal(res.status, 200, res.text);
  return res.body;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytesOf = (value: unknown) => Buffer.from(String(value), 'base64');

describe('cryptographic operations', () => {
  let t: TestServer;
  let a: KeyForms;
  let b: KeyForms;
  /** A key disabled after one ciphertext was made under it. */
  let disabled: Key;
  let underDisabled: string;

  const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);
  const encrypt = async (body: Record<string, unknown>) => assertOk(await raw('Encrypt', { KeyId: a.id, ...body }));

  async function createKey(alias?: string): Promise<KeyForms> {
    const created = await t.kms.send(new CreateKeyCommand({}));
    const id = created.KeyMetadata!.KeyId!;
    const arn = created.KeyMetadata!.Arn!;
    const aliasName = alias ?? `alias/none-${id}`;
    if (alias) await t.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: id }));
    return { id, arn, aliasName, aliasArn: arn.replace(/key\/.*$/, aliasName) };
  }

  const formsOf = (key: KeyForms) => [key.id, key.arn, key.aliasName, key.aliasArn];

  before(async () => {
    t = await startTestServer();
    a = await createKey('alias/crypto-a');
    b = await createKey('alias/crypto-b');
    disabled = await createKey();
    underDisabled = String((await encrypt({ KeyId: disabled.id, Plaintext: b64(Buffer.from('x')) })).CiphertextBlob);
    await t.kms.send(new DisableKeyCommand({ KeyId: disabled.id }));
  });
  after(() => t.dispose());

  describe('Encrypt', () => {
    it('accepts plaintexts of 1 and 4096 bytes, and they decrypt to the same bytes', async () => {
      for (const size of [1, 4096]) {
        const plaintext = randomBytes(size);
        const sealed = await t.kms.send(new EncryptCommand({ KeyId: a.id, Plaintext: plaintext }));
        assert.equal(sealed.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
        const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
        assert.deepEqual(Buffer.from(opened.Plaintext!), plaintext);
      }
    });

    it('refuses an empty plaintext with ValidationException', async () => {
      const res = await raw('Encrypt', { KeyId: a.id, Plaintext: '' });
      assertError(res, 'ValidationException',
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1");
    });

    it('refuses a missing plaintext with ValidationException', async () => {
      assertError(await raw('Encrypt', { KeyId: a.id }), 'ValidationException');
    });

    it('refuses 4097 bytes with AWS message, never echoing the plaintext', async () => {
      const plaintext = Buffer.alloc(4097, 'SECRETPLAINTEXT');
      const res = await raw('Encrypt', { KeyId: a.id, Plaintext: b64(plaintext) });
      assertError(res, 'ValidationException',
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
      assert.ok(!res.text.includes('SECRETPLAINTEXT'));
      assert.ok(!res.text.includes(b64(plaintext).slice(0, 40)));
    });

    it('accepts EncryptionAlgorithm SYMMETRIC_DEFAULT and refuses RSAES_OAEP_SHA_256 for a symmetric key', async () => {
      const ok = await encrypt({ Plaintext: b64(Buffer.from('x')), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
      assert.equal(ok.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      const refused = await raw('Encrypt', { KeyId: a.id, Plaintext: b64(Buffer.from('x')), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
      assertError(refused, 'InvalidKeyUsageException');
      assertError(await raw('Encrypt', { KeyId: a.id, Plaintext: b64(Buffer.from('x')), EncryptionAlgorithm: 'AES_GCM' }), 'ValidationException');
    });

    it('answers with the key ARN whichever identifier form was sent', async () => {
      for (const form of formsOf(a)) {
        const sealed = await encrypt({ KeyId: form, Plaintext: b64(Buffer.from('id forms')) });
        assert.equal(sealed.KeyId, a.arn, `KeyId ${form}`);
      }
    });

    it('takes a key ARN only with a key id after key/: key/alias/<name> is an invalid key id, not the alias', async () => {
      const keyArnOfAlias = a.arn.replace(/key\/.*$/, `key/${a.aliasName}`);
      for (const [operation, body] of [
        ['Encrypt', { KeyId: keyArnOfAlias, Plaintext: b64(Buffer.from('x')) }], ['DescribeKey', { KeyId: keyArnOfAlias }],
        ['GenerateDataKey', { KeyId: keyArnOfAlias, KeySpec: 'AES_256' }],
      ] as const) {
        assertError(await raw(operation, body), 'NotFoundException', `Invalid keyId '${keyArnOfAlias}'`);
      }
    });

    it('refuses a disabled key, an unknown key and an unknown alias', async () => {
      const plaintext = b64(Buffer.from('x'));
      assertError(await raw('Encrypt', { KeyId: disabled.id, Plaintext: plaintext }), 'DisabledException');
      assertError(await raw('Encrypt', { KeyId: '00000000-0000-0000-0000-000000000000', Plaintext: plaintext }), 'NotFoundException');
      assertError(await raw('Encrypt', { KeyId: 'alias/no-such-alias', Plaintext: plaintext }), 'NotFoundException');
    });
  });

  describe('Decrypt', () => {
    let blob: string;
    before(async () => {
      blob = String((await encrypt({ Plaintext: b64(Buffer.from('decrypt me')) })).CiphertextBlob);
    });

    it('decrypts without a KeyId, answering the key ARN, the algorithm and the key material id', async () => {
      const opened = assertOk(await raw('Decrypt', { CiphertextBlob: blob }));
      assert.equal(bytesOf(opened.Plaintext).toString(), 'decrypt me');
      assert.equal(opened.KeyId, a.arn);
      assert.equal(opened.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      assert.match(String(opened.KeyMaterialId), /^[0-9a-f]{64}$/);
    });

    it('decrypts with the right KeyId in every form', async () => {
      for (const form of formsOf(a)) {
        const opened = assertOk(await raw('Decrypt', { CiphertextBlob: blob, KeyId: form }));
        assert.equal(bytesOf(opened.Plaintext).toString(), 'decrypt me');
        assert.equal(opened.KeyId, a.arn, `KeyId ${form}`);
      }
    });

    it('refuses another existing key with IncorrectKeyException, in every form', async () => {
      for (const form of formsOf(b)) {
        assertError(await raw('Decrypt', { CiphertextBlob: blob, KeyId: form }), 'IncorrectKeyException');
      }
    });

    it('refuses a malformed or unknown KeyId with NotFoundException', async () => {
      for (const keyId of ['not-a-key', 'alias/no-such-alias', '11111111-2222-3333-4444-555555555555', 'arn:aws:kms:us-east-1:111122223333:nonsense']) {
        assertError(await raw('Decrypt', { CiphertextBlob: blob, KeyId: keyId }), 'NotFoundException');
      }
    });

    it('refuses a ciphertext whose key is disabled with DisabledException', async () => {
      assertError(await raw('Decrypt', { CiphertextBlob: underDisabled }), 'DisabledException');
    });

    it('refuses a non-SYMMETRIC_DEFAULT algorithm', async () => {
      assertError(await raw('Decrypt', { CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }), 'InvalidKeyUsageException');
    });
  });

  describe('EncryptionContext', () => {
    const plaintext = b64(Buffer.from('in context'));
    const sealUnder = async (context: Record<string, string>) =>
      String((await encrypt({ Plaintext: plaintext, EncryptionContext: context })).CiphertextBlob);
    const openWith = (blob: string, context?: Record<string, string>) =>
      raw('Decrypt', { CiphertextBlob: blob, ...(context ? { EncryptionContext: context } : {}) });

    it('round-trips, and every change to the pairs is InvalidCiphertextException', async () => {
      const context = { purpose: 'test', tenant: 'a' };
      const blob = await sealUnder(context);
      assert.equal(bytesOf(assertOk(await openWith(blob, context)).Plaintext).toString(), 'in context');
      const wrongs: Array<Record<string, string> | undefined> = [
        undefined,
        {},
        { purpose: 'test' },
        { purpose: 'test', tenant: 'a', extra: 'x' },
        { purpose: 'test', tenant: 'b' },
        { purpose: 'test', Tenant: 'a' },
        { purpose: 'test', tenant: 'a ' },
      ];
      for (const wrong of wrongs) {
        const res = await openWith(blob, wrong);
        assertError(res, 'InvalidCiphertextException');
        assert.equal(res.body.message, undefined, 'AWS sends no message for a failed decryption');
      }
    });

    it('a ciphertext made without a context does not decrypt with one', async () => {
      const blob = String((await encrypt({ Plaintext: plaintext })).CiphertextBlob);
      assertOk(await openWith(blob));
      assertOk(await openWith(blob, {}));
      assertError(await openWith(blob, { a: '' }), 'InvalidCiphertextException');
    });

    it('does not depend on the order the pairs are sent in', async () => {
      const blob = String((await encrypt({ Plaintext: plaintext, EncryptionContext: { b: '2', a: '1', c: '3' } })).CiphertextBlob);
      for (const order of ['{"a":"1","b":"2","c":"3"}', '{"c":"3","a":"1","b":"2"}', '{"b":"2","c":"3","a":"1"}']) {
        const res = await rawRequest(t.server.endpoint, t.credentials, 'Decrypt', undefined, {
          rawBody: `{"CiphertextBlob":"${blob}","EncryptionContext":${order}}`,
        });
        assert.equal(bytesOf(assertOk(res).Plaintext).toString(), 'in context', order);
      }
    });

    it('is bound injectively: contexts with the same concatenation never authenticate alike', async () => {
      const lookalikes: Array<[Record<string, string>, Record<string, string>]> = [
        [{ a: 'bc' }, { ab: 'c' }],
        [{ a: 'b', c: 'd' }, { a: 'b\u0000c\u0000d' }],
        [{ a: 'b', c: 'd' }, { a: 'b\u0000\u0000\u0000\u0001c\u0000\u0000\u0000\u0001d' }],
        [{ a: 'b', c: 'd' }, { a: 'bc', '': 'd' }],
        [{ a: 'b', c: 'd' }, { a: 'b,c=d' }],
        [{ a: 'b', c: 'd' }, { ac: 'bd' }],
        [{ a: '' }, { '': 'a' }],
        [{ ab: '' }, { a: 'b' }],
        [{}, { '': '' }],
        [{ a: 'b' }, { a: 'b', '': '' }],
        [{ 'a\u0000': 'b' }, { a: '\u0000b' }],
        [{ é: 'x' }, { 'e\u0301': 'x' }],
      ];
      await Promise.all(lookalikes.map(async ([x, y]) => {
        const label = `${JSON.stringify(x)} vs ${JSON.stringify(y)}`;
        const [underX, underY] = await Promise.all([sealUnder(x), sealUnder(y)]);
        assertOk(await openWith(underX, x));
        assertOk(await openWith(underY, y));
        for (const crossed of [await openWith(underX, y), await openWith(underY, x)]) {
          assert.equal(crossed.status, 400, `${label}: ${crossed.text}`);
          assert.equal(errorType(crossed), 'InvalidCiphertextException', label);
        }
      }));
    });

    it('refuses unpaired surrogates, which would share a UTF-8 form with U+FFFD', async () => {
      // An encoder writes U+FFFD for a lone surrogate, so {"a":"\ud800"} would authenticate as {"a":"\ufffd"}.
      for (const context of [{ a: '\ud800' }, { '\udc00': 'x' }, { a: 'ok\udfff' }]) {
        assertError(await raw('Encrypt', { KeyId: a.id, Plaintext: plaintext, EncryptionContext: context }), 'ValidationException');
      }
      const blob = await sealUnder({ a: '\ufffd' });
      assertOk(await openWith(blob, { a: '\ufffd' }));
      assertError(await openWith(blob, { a: '\ud800' }), 'ValidationException');
      // Said before the key is looked up (and its policies read the values).
      assertError(await raw('Encrypt', { KeyId: 'alias/no-such-alias', Plaintext: plaintext, EncryptionContext: { a: '\ud800' } }), 'ValidationException',
        'Encryption context keys and values must be valid Unicode; one contains an unpaired surrogate.');
    });

    it('takes 8192 bytes of keys and values, and refuses more before it looks at the key (whose policies read every value)', async () => {
      const message = 'The encryption context is larger than 8192 bytes of keys and values.';
      // 2 + 8190 bytes; then one more, as a three-byte character in place of a one-byte one.
      const most = { ab: 'x'.repeat(8188) + 'é' };
      const blob = await sealUnder(most);
      assertOk(await openWith(blob, most));
      for (const operation of ['Encrypt', 'GenerateDataKey'] as const) {
        const over = { ab: 'x'.repeat(8188) + '鍵' };
        const input = operation === 'Encrypt' ? { Plaintext: plaintext } : { NumberOfBytes: 32 };
        assertError(await raw(operation, { KeyId: a.id, ...input, EncryptionContext: over }), 'ValidationException', message);
        // Before, the key was looked up and its policies evaluated with the whole context first.
        assertError(await raw(operation, { KeyId: 'alias/no-such-alias', ...input, EncryptionContext: over }), 'ValidationException', message);
      }
      assertError(await openWith(blob, { ...most, c: 'd' }), 'ValidationException', message);
    });

    it('still binds pairs made of multi-byte characters', async () => {
      const context = { 'clé': 'valeur 🔑', '鍵': '値' };
      const blob = await sealUnder(context);
      assertOk(await openWith(blob, context));
      assertError(await openWith(blob, { 'clé': 'valeur 🔐', '鍵': '値' }), 'InvalidCiphertextException');
    });
  });

  describe('CiphertextBlob limits', () => {
    it('accepts up to 6144 bytes and refuses 6145 and 0 with ValidationException', async () => {
      // 6144 random bytes are a well-sized but invalid ciphertext.
      assertError(await raw('Decrypt', { CiphertextBlob: b64(randomBytes(6144)) }), 'InvalidCiphertextException');
      // AWS shows a blob's value as a Java buffer description, or not at all: only the constraint is fixed.
      const tooLong = await raw('Decrypt', { CiphertextBlob: b64(randomBytes(6145)) });
      assertError(tooLong, 'ValidationException');
      assert.match(String(tooLong.body.message), /^1 validation error detected: Value .*at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144$/);
      const empty = await raw('Decrypt', { CiphertextBlob: '' });
      assertError(empty, 'ValidationException');
      assert.match(String(empty.body.message), /^1 validation error detected: Value .*at 'ciphertextBlob' failed to satisfy constraint: Member must have length greater than or equal to 1$/);
      assertError(await raw('Decrypt', {}), 'ValidationException');
      assertError(await raw('ReEncrypt', { CiphertextBlob: b64(randomBytes(6145)), DestinationKeyId: a.id }), 'ValidationException');
    });
  });

  describe('ReEncrypt', () => {
    let blob: string;
    const context = { app: 'reencrypt' };
    before(async () => {
      blob = String((await encrypt({ Plaintext: b64(Buffer.from('move me')), EncryptionContext: context })).CiphertextBlob);
    });

    it('moves a ciphertext to another key, answering both ARNs and both key material ids', async () => {
      const source = assertOk(await raw('Decrypt', { CiphertextBlob: blob, EncryptionContext: context }));
      const destinationMaterial = assertOk(await raw('GenerateDataKey', { KeyId: b.id, KeySpec: 'AES_256' })).KeyMaterialId;
      for (const form of formsOf(b)) {
        const moved = assertOk(await raw('ReEncrypt', {
          CiphertextBlob: blob, SourceEncryptionContext: context, DestinationKeyId: form, DestinationEncryptionContext: context,
        }));
        assert.equal(moved.SourceKeyId, a.arn);
        assert.equal(moved.KeyId, b.arn, `DestinationKeyId ${form}`);
        assert.equal(moved.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
        assert.equal(moved.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
        assert.equal(moved.SourceKeyMaterialId, source.KeyMaterialId);
        assert.equal(moved.DestinationKeyMaterialId, destinationMaterial);
        assert.notEqual(moved.SourceKeyMaterialId, moved.DestinationKeyMaterialId);
        assert.equal('Plaintext' in moved, false);
        const opened = assertOk(await raw('Decrypt', { CiphertextBlob: moved.CiphertextBlob, EncryptionContext: context }));
        assert.equal(bytesOf(opened.Plaintext).toString(), 'move me');
        assert.equal(opened.KeyId, b.arn);
        assertError(await raw('Decrypt', { CiphertextBlob: moved.CiphertextBlob, KeyId: a.id, EncryptionContext: context }), 'IncorrectKeyException');
      }
    });

    it('changes the encryption context', async () => {
      const next = { app: 'reencrypt', stage: 'two' };
      const moved = await t.kms.send(new ReEncryptCommand({
        CiphertextBlob: bytesOf(blob), SourceEncryptionContext: context, DestinationKeyId: a.aliasName, DestinationEncryptionContext: next,
      }));
      assert.equal(moved.KeyId, a.arn);
      assert.equal(moved.SourceKeyId, a.arn);
      const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, EncryptionContext: next }));
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'move me');
      const error = await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, EncryptionContext: context })));
      assert.equal(error.name, 'InvalidCiphertextException');
    });

    it('checks SourceKeyId: any form of the right key passes, another key is IncorrectKeyException', async () => {
      for (const form of formsOf(a)) {
        const moved = assertOk(await raw('ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: context, SourceKeyId: form, DestinationKeyId: b.id }));
        assert.equal(moved.SourceKeyId, a.arn);
      }
      for (const form of formsOf(b)) {
        assertError(await raw('ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: context, SourceKeyId: form, DestinationKeyId: b.id }), 'IncorrectKeyException');
      }
    });

    it('refuses a wrong source context, a missing or disabled destination', async () => {
      assertError(await raw('ReEncrypt', { CiphertextBlob: blob, DestinationKeyId: b.id }), 'InvalidCiphertextException');
      assertError(await raw('ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { app: 'other' }, DestinationKeyId: b.id }), 'InvalidCiphertextException');
      assertError(await raw('ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: context }), 'ValidationException');
      assertError(await raw('ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: context, DestinationKeyId: disabled.id }), 'DisabledException');
      assertError(await raw('ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: context, DestinationKeyId: 'alias/no-such-alias' }), 'NotFoundException');
      assertError(await raw('ReEncrypt', { CiphertextBlob: underDisabled, DestinationKeyId: a.id }), 'DisabledException');
    });
  });

  describe('GenerateDataKey', () => {
    it('makes 32 bytes for AES_256, 16 for AES_128, and 1 to 1024 for NumberOfBytes', async () => {
      const cases: Array<[Record<string, unknown>, number]> = [
        [{ KeySpec: 'AES_256' }, 32], [{ KeySpec: 'AES_128' }, 16], [{ NumberOfBytes: 1 }, 1], [{ NumberOfBytes: 1024 }, 1024],
      ];
      for (const [spec, length] of cases) {
        const made = assertOk(await raw('GenerateDataKey', { KeyId: a.id, ...spec }));
        assert.equal(bytesOf(made.Plaintext).length, length, JSON.stringify(spec));
        assert.equal(made.KeyId, a.arn);
        assert.match(String(made.KeyMaterialId), /^[0-9a-f]{64}$/);
        const opened = assertOk(await raw('Decrypt', { CiphertextBlob: made.CiphertextBlob }));
        assert.equal(opened.Plaintext, made.Plaintext);
        assert.equal(opened.KeyMaterialId, made.KeyMaterialId);
      }
    });

    it('answers the key ARN for every identifier form and binds the encryption context', async () => {
      for (const form of formsOf(b)) {
        const made = await t.kms.send(new GenerateDataKeyCommand({ KeyId: form, KeySpec: 'AES_256', EncryptionContext: { k: form } }));
        assert.equal(made.KeyId, b.arn);
        const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, EncryptionContext: { k: form } }));
        assert.deepEqual(Buffer.from(opened.Plaintext!), Buffer.from(made.Plaintext!));
        assertError(await raw('Decrypt', { CiphertextBlob: b64(made.CiphertextBlob!) }), 'InvalidCiphertextException');
      }
    });

    it('makes different keys on every call', async () => {
      const [x, y] = await Promise.all([1, 2].map(async () => assertOk(await raw('GenerateDataKey', { KeyId: a.id, KeySpec: 'AES_256' }))));
      assert.notEqual(x!.Plaintext, y!.Plaintext);
      assert.notEqual(x!.CiphertextBlob, y!.CiphertextBlob);
    });

    it('refuses 0 and 1025 bytes with AWS messages', async () => {
      assertError(await raw('GenerateDataKey', { KeyId: a.id, NumberOfBytes: 0 }), 'ValidationException',
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1");
      assertError(await raw('GenerateDataKey', { KeyId: a.id, NumberOfBytes: 1025 }), 'ValidationException',
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
    });

    it('wants exactly one of KeySpec and NumberOfBytes', async () => {
      for (const operation of ['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext']) {
        // The text other emulators copy from AWS.
        assertError(await raw(operation, { KeyId: a.id }), 'ValidationException', 'Please specify either number of bytes or key spec.');
        assertError(await raw(operation, { KeyId: a.id, KeySpec: 'AES_256', NumberOfBytes: 32 }), 'ValidationException', 'Please specify either number of bytes or key spec.');
        assertError(await raw(operation, { KeyId: a.id, KeySpec: 'AES_512' }), 'ValidationException');
      }
    });

    it('refuses a missing KeyId and a disabled key', async () => {
      assertError(await raw('GenerateDataKey', { KeySpec: 'AES_256' }), 'ValidationException');
      assertError(await raw('GenerateDataKey', { KeyId: disabled.id, KeySpec: 'AES_256' }), 'DisabledException');
    });
  });

  describe('GenerateDataKeyWithoutPlaintext', () => {
    it('answers no Plaintext at all, and its blob decrypts to a key of the asked size', async () => {
      for (const form of formsOf(a)) {
        const res = await raw('GenerateDataKeyWithoutPlaintext', { KeyId: form, KeySpec: 'AES_128', EncryptionContext: { x: 'y' } });
        const made = assertOk(res);
        assert.equal('Plaintext' in made, false, res.text);
        assert.equal(made.KeyId, a.arn);
        assert.match(String(made.KeyMaterialId), /^[0-9a-f]{64}$/);
        const opened = assertOk(await raw('Decrypt', { CiphertextBlob: made.CiphertextBlob, EncryptionContext: { x: 'y' } }));
        assert.equal(bytesOf(opened.Plaintext).length, 16);
        assert.equal(opened.KeyMaterialId, made.KeyMaterialId);
      }
      const sized = assertOk(await raw('GenerateDataKeyWithoutPlaintext', { KeyId: a.id, NumberOfBytes: 1024 }));
      assert.equal(bytesOf(assertOk(await raw('Decrypt', { CiphertextBlob: sized.CiphertextBlob })).Plaintext).length, 1024);
      assertError(await raw('GenerateDataKeyWithoutPlaintext', { KeyId: a.id, NumberOfBytes: 1025 }), 'ValidationException');
    });

    it('ignores a Recipient member, which the WithoutPlaintext operations do not have, as AWS ignores any unknown member', async () => {
      const recipient = { Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: 'AAAA' } };
      const key = assertOk(await raw('GenerateDataKeyWithoutPlaintext', { KeyId: a.id, KeySpec: 'AES_256', ...recipient }));
      assert.equal(bytesOf(assertOk(await raw('Decrypt', { CiphertextBlob: key.CiphertextBlob })).Plaintext).length, 32);
      const pair = assertOk(await raw('GenerateDataKeyPairWithoutPlaintext', { KeyId: a.id, KeyPairSpec: 'ECC_NIST_P256', ...recipient }));
      assert.equal('PrivateKeyPlaintext' in pair, false);
      // The operations that do have the member still refuse it: Coffer has no attestation to check.
      assertError(await raw('GenerateDataKey', { KeyId: a.id, KeySpec: 'AES_256', ...recipient }), 'UnsupportedOperationException');
      assertError(await raw('GenerateDataKeyPair', { KeyId: a.id, KeyPairSpec: 'ECC_NIST_P256', ...recipient }), 'UnsupportedOperationException');
    });

    it('parses a Recipient as AWS\'s RecipientInfo before refusing it: wrong JSON types and unknown algorithms are answered as AWS answers them', async () => {
      const requests = [
        ['GenerateDataKey', { KeyId: a.id, KeySpec: 'AES_256' }], ['GenerateDataKeyPair', { KeyId: a.id, KeyPairSpec: 'ECC_NIST_P256' }],
        ['GenerateRandom', { NumberOfBytes: 8 }], ['Decrypt', { CiphertextBlob: b64(Buffer.alloc(40)) }],
      ] as const;
      for (const [operation, base] of requests) {
        for (const wrong of ['x', 5, [], { AttestationDocument: 5 }, { AttestationDocument: 'not base64!' }, { KeyEncryptionAlgorithm: 5 }]) {
          assertError(await raw(operation, { ...base, Recipient: wrong }), 'SerializationException');
        }
        assertError(await raw(operation, { ...base, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' } }), 'ValidationException',
          "1 validation error detected: Value 'RSAES_OAEP_SHA_1' at 'recipient.keyEncryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_256]");
        assertError(await raw(operation, { ...base, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: 'AAAA' } }), 'UnsupportedOperationException');
      }
    });
  });

  describe('GenerateRandom', () => {
    it('makes 1 and 1024 bytes, different on every call', async () => {
      assert.equal(bytesOf(assertOk(await raw('GenerateRandom', { NumberOfBytes: 1 })).Plaintext).length, 1);
      const [x, y] = await Promise.all([1, 2].map(async () => assertOk(await raw('GenerateRandom', { NumberOfBytes: 1024 }))));
      assert.equal(bytesOf(x!.Plaintext).length, 1024);
      assert.notEqual(x!.Plaintext, y!.Plaintext);
      const small = await Promise.all([1, 2].map(async () => assertOk(await raw('GenerateRandom', { NumberOfBytes: 16 })).Plaintext));
      assert.notEqual(small[0], small[1]);
    });

    it('refuses 0, 1025 and a missing NumberOfBytes with AWS messages', async () => {
      assertError(await raw('GenerateRandom', { NumberOfBytes: 0 }), 'ValidationException',
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1");
      assertError(await raw('GenerateRandom', { NumberOfBytes: 1025 }), 'ValidationException',
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
      assertError(await raw('GenerateRandom', {}), 'ValidationException', 'NumberOfBytes is required.');
    });
  });

  describe('GrantTokens', () => {
    const tokens = (n: number) => Array.from({ length: n }, (_, i) => `grant-token-${i}`);
    let blob: string;
    before(async () => {
      blob = String((await encrypt({ Plaintext: b64(Buffer.from('granted')) })).CiphertextBlob);
    });
    const requests = (grantTokens: string[]): Array<[string, Record<string, unknown>]> => [
      ['Encrypt', { KeyId: a.id, Plaintext: b64(Buffer.from('granted')), GrantTokens: grantTokens }],
      ['Decrypt', { CiphertextBlob: blob, GrantTokens: grantTokens }],
      ['ReEncrypt', { CiphertextBlob: blob, DestinationKeyId: b.id, GrantTokens: grantTokens }],
      ['GenerateDataKey', { KeyId: a.id, KeySpec: 'AES_256', GrantTokens: grantTokens }],
      ['GenerateDataKeyWithoutPlaintext', { KeyId: a.id, KeySpec: 'AES_256', GrantTokens: grantTokens }],
    ];

    it('accepts up to 10 tokens, and refuses strings that are not grant tokens with InvalidGrantTokenException', async () => {
      for (const [operation, body] of requests([])) assertOk(await raw(operation, body));
      // Ten real tokens, from CreateGrant on both keys (ReEncrypt uses both).
      const real: string[] = [];
      for (let i = 0; i < 10; i++) {
        const granted = assertOk(await raw('CreateGrant', {
          KeyId: i % 2 === 0 ? a.id : b.id, GranteePrincipal: `arn:aws:iam::${t.server.config.accountId}:root`,
          Operations: ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'],
        }));
        real.push(String(granted.GrantToken));
      }
      for (const [operation, body] of requests(real)) assertOk(await raw(operation, body));
      for (const [operation, body] of requests(tokens(10))) {
        assertError(await raw(operation, body), 'InvalidGrantTokenException', undefined);
      }
      // One made-up token among real ones is refused all the same.
      for (const [operation, body] of requests([...real.slice(0, 9), 'grant-token-x'])) {
        assertError(await raw(operation, body), 'InvalidGrantTokenException', undefined);
      }
    });

    it('refuses 11 tokens and an empty token with ValidationException', async () => {
      for (const grantTokens of [tokens(11), [''], ['ok', '']]) {
        for (const [operation, body] of requests(grantTokens)) {
          assertError(await raw(operation, body), 'ValidationException', undefined);
        }
      }
    });
  });

  describe('DryRun', () => {
    let blob: string;
    before(async () => {
      blob = String((await encrypt({ Plaintext: b64(Buffer.from('dry')), EncryptionContext: { d: 'r' } })).CiphertextBlob);
    });
    const valid = (): Array<[string, Record<string, unknown>]> => [
      ['Encrypt', { KeyId: a.aliasName, Plaintext: b64(Buffer.from('dry')) }],
      ['Decrypt', { CiphertextBlob: blob, EncryptionContext: { d: 'r' } }],
      ['ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { d: 'r' }, DestinationKeyId: b.id }],
      ['GenerateDataKey', { KeyId: a.id, KeySpec: 'AES_256' }],
      ['GenerateDataKeyWithoutPlaintext', { KeyId: a.id, NumberOfBytes: 64 }],
      ['GenerateDataKeyPair', { KeyId: a.id, KeyPairSpec: 'RSA_2048' }],
      ['GenerateDataKeyPairWithoutPlaintext', { KeyId: a.id, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: { d: 'r' } }],
    ];

    it('answers DryRunOperationException, with no result, when the request would succeed', async () => {
      for (const [operation, body] of valid()) {
        assertOk(await raw(operation, { ...body, DryRun: false }));
        const res = await raw(operation, { ...body, DryRun: true });
        assertError(res, 'DryRunOperationException', DRY_RUN_MESSAGE);
        for (const field of ['Plaintext', 'CiphertextBlob', 'KeyId', 'PrivateKeyPlaintext', 'PrivateKeyCiphertextBlob', 'PublicKey']) {
          assert.equal(field in res.body, false, `${operation} ${field}`);
        }
      }
    });

    it('answers the real error when the request would fail', async () => {
      const failing: Array<[string, Record<string, unknown>, string]> = [
        ['Encrypt', { KeyId: disabled.id, Plaintext: b64(Buffer.from('dry')) }, 'DisabledException'],
        ['Encrypt', { KeyId: a.id, Plaintext: '' }, 'ValidationException'],
        ['Encrypt', { KeyId: 'alias/no-such-alias', Plaintext: b64(Buffer.from('dry')) }, 'NotFoundException'],
        ['Decrypt', { CiphertextBlob: b64(randomBytes(80)) }, 'InvalidCiphertextException'],
        ['Decrypt', { CiphertextBlob: blob }, 'InvalidCiphertextException'],
        ['Decrypt', { CiphertextBlob: blob, EncryptionContext: { d: 'r' }, KeyId: b.id }, 'IncorrectKeyException'],
        ['Decrypt', { CiphertextBlob: underDisabled }, 'DisabledException'],
        ['ReEncrypt', { CiphertextBlob: b64(randomBytes(80)), DestinationKeyId: b.id }, 'InvalidCiphertextException'],
        ['ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { d: 'r' }, DestinationKeyId: disabled.id }, 'DisabledException'],
        ['GenerateDataKey', { KeyId: disabled.id, KeySpec: 'AES_256' }, 'DisabledException'],
        ['GenerateDataKey', { KeyId: a.id, NumberOfBytes: 0 }, 'ValidationException'],
        ['GenerateDataKeyWithoutPlaintext', { KeyId: disabled.id, KeySpec: 'AES_256' }, 'DisabledException'],
        ['GenerateDataKeyWithoutPlaintext', { KeyId: a.id }, 'ValidationException'],
        ['GenerateDataKeyPair', { KeyId: disabled.id, KeyPairSpec: 'RSA_2048' }, 'DisabledException'],
        ['GenerateDataKeyPairWithoutPlaintext', { KeyId: a.id, KeyPairSpec: 'RSA_1024' }, 'ValidationException'],
      ];
      for (const [operation, body, type] of failing) {
        const res = await raw(operation, { ...body, DryRun: true });
        assertError(res, type);
        assert.notEqual(res.body.message, DRY_RUN_MESSAGE);
      }
    });

    it('IGNORE_CIPHERTEXT checks only the permission: the KeyId given, or the key the blob names', async () => {
      const garbage = b64(randomBytes(80));
      const ignore = { DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] };
      assertError(await raw('Decrypt', { CiphertextBlob: garbage, KeyId: a.id, ...ignore }), 'DryRunOperationException', DRY_RUN_MESSAGE);
      // The blob's context is not checked either.
      assertError(await raw('Decrypt', { CiphertextBlob: blob, ...ignore }), 'DryRunOperationException', DRY_RUN_MESSAGE);
      assertError(await raw('ReEncrypt', { CiphertextBlob: garbage, SourceKeyId: a.id, DestinationKeyId: b.id, ...ignore }), 'DryRunOperationException', DRY_RUN_MESSAGE);
      // No key to check: a blob that names none, or a key that does not exist.
      assertError(await raw('Decrypt', { CiphertextBlob: garbage, ...ignore }), 'InvalidCiphertextException');
      assertError(await raw('Decrypt', { CiphertextBlob: garbage, KeyId: 'alias/no-such-alias', ...ignore }), 'NotFoundException');
      // Without DryRun the modifier changes nothing; an unknown modifier is a ValidationException.
      assertError(await raw('Decrypt', { CiphertextBlob: garbage, KeyId: a.id, DryRunModifiers: ['IGNORE_CIPHERTEXT'] }), 'InvalidCiphertextException');
      assertError(await raw('Decrypt', { CiphertextBlob: blob, DryRun: true, DryRunModifiers: ['FOO'] }), 'ValidationException',
        "1 validation error detected: Value '[FOO]' at 'dryRunModifiers' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [IGNORE_CIPHERTEXT]]");
    });

    it('IGNORE_CIPHERTEXT needs no CiphertextBlob, as AWS documents; any other request does', async () => {
      const ignore = { DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] };
      assertError(await raw('Decrypt', { KeyId: a.id, ...ignore }), 'DryRunOperationException', DRY_RUN_MESSAGE);
      assertError(await raw('ReEncrypt', { SourceKeyId: a.id, DestinationKeyId: b.id, ...ignore }), 'DryRunOperationException', DRY_RUN_MESSAGE);
      const missing = "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null";
      // Without a KeyId the blob would name the key to check.
      assertError(await raw('Decrypt', { ...ignore }), 'ValidationException', missing);
      assertError(await raw('ReEncrypt', { DestinationKeyId: b.id, ...ignore }), 'ValidationException', missing);
      for (const dryRun of [{}, { DryRun: true }, { DryRunModifiers: ['IGNORE_CIPHERTEXT'] }]) {
        assertError(await raw('Decrypt', { KeyId: a.id, ...dryRun }), 'ValidationException', missing);
        assertError(await raw('ReEncrypt', { SourceKeyId: a.id, DestinationKeyId: b.id, ...dryRun }), 'ValidationException', missing);
      }
    });

    it('refuses a DryRun that is not a boolean', async () => {
      assertError(await raw('Encrypt', { KeyId: a.id, Plaintext: b64(Buffer.from('dry')), DryRun: 'true' }), 'SerializationException');
    });
  });
});
