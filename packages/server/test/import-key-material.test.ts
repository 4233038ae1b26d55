import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  CreateKeyCommand, DeleteImportedKeyMaterialCommand, DescribeKeyCommand, GetParametersForImportCommand, ImportKeyMaterialCommand, ListKeyRotationsCommand,
  RotateKeyOnDemandCommand, type ImportKeyMaterialRequest, type KeySpec, type KeyUsageType,
} from '@aws-sdk/client-kms';
import { rawRequest, startTestServer, type TestServer } from './support/server.js';
import { assertError, assertOk, b64, bytesOf, digest } from './support/asymmetric.js';
import { wrapForImport } from './support/recorded.js';

/**
 * Importing key material (BYOK) over HTTP with every wrapping algorithm; MACs against node:crypto
 * with a known (imported) HMAC key; ECDH against a local computation; data key pairs, whose
 * private keys sign outside Coffer and, imported, inside it. The server's clock is the test's, so
 * import tokens and material can expire.
 */
describe('imported key material, MACs, key agreement and data key pairs', () => {
  let t: TestServer;
  let clock = Date.now();
  const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);
  const HOUR = 3_600_000;

  before(async () => {
    t = await startTestServer({ now: () => clock });
  });
  after(() => t.dispose());

  async function createKey(input: { KeySpec?: string; KeyUsage?: string; Origin?: 'EXTERNAL' } = {}): Promise<string> {
    const created = await t.kms.send(new CreateKeyCommand({ ...input, KeySpec: input.KeySpec as KeySpec, KeyUsage: input.KeyUsage as KeyUsageType }));
    return created.KeyMetadata!.KeyId!;
  }

  /** GetParametersForImport, the material wrapped locally, then ImportKeyMaterial as a raw answer. */
  async function importMaterial(keyId: string, material: Buffer, opts: { algorithm?: string; spec?: string; model?: string | null; validTo?: number; importType?: string; description?: string; keyMaterialId?: string } = {}) {
    const algorithm = opts.algorithm ?? 'RSAES_OAEP_SHA_256';
    const params = assertOk(await raw('GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: opts.spec ?? 'RSA_2048' }));
    const wrappingKey = createPublicKey({ key: bytesOf(params.PublicKey), format: 'der', type: 'spki' });
    return raw('ImportKeyMaterial', {
      KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: b64(wrapForImport(material, wrappingKey, algorithm)),
      // `model: null` leaves ExpirationModel out (AWS's default, KEY_MATERIAL_EXPIRES).
      ...(opts.model === null ? {} : { ExpirationModel: opts.model ?? 'KEY_MATERIAL_DOES_NOT_EXPIRE' }), ...(opts.validTo !== undefined ? { ValidTo: opts.validTo / 1000 } : {}),
      ...(opts.importType !== undefined ? { ImportType: opts.importType } : {}),
      ...(opts.description !== undefined ? { KeyMaterialDescription: opts.description } : {}),
      ...(opts.keyMaterialId !== undefined ? { KeyMaterialId: opts.keyMaterialId } : {}),
    });
  }

  const stateOf = async (keyId: string) => ((assertOk(await raw('DescribeKey', { KeyId: keyId })).KeyMetadata as Record<string, unknown>).KeyState);

  describe('BYOK', () => {
    for (const algorithm of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256']) {
      it(`${algorithm}: a symmetric key made PendingImport is Enabled by its material and encrypts with it`, async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        assert.equal(await stateOf(keyId), 'PendingImport');
        assertError(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('x')) }), 'KMSInvalidStateException');
        const imported = assertOk(await importMaterial(keyId, randomBytes(32), { algorithm, spec: algorithm === 'RSAES_OAEP_SHA_1' ? 'RSA_3072' : 'RSA_2048' }));
        assert.match(String(imported.KeyMaterialId), /^[0-9a-f]{64}$/);
        assert.equal(await stateOf(keyId), 'Enabled');
        const encrypted = assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('imported')) }));
        assert.equal(bytesOf(assertOk(await raw('Decrypt', { CiphertextBlob: encrypted.CiphertextBlob })).Plaintext).toString(), 'imported');
      });
    }

    it('GetParametersForImport: a key of AWS_KMS origin is refused; the token and public key are good for 24 hours', async () => {
      const own = await createKey();
      assertError(await raw('GetParametersForImport', { KeyId: own, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }), 'UnsupportedOperationException',
        `arn:aws:kms:us-east-1:${t.server.config.accountId}:key/${own} origin is AWS_KMS which is not valid for this operation.`);
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const params = await t.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' }));
      assert.equal(params.ParametersValidTo!.getTime(), clock + 24 * HOUR);
      assert.equal(createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyDetails!.modulusLength, 4096);
      assertError(await raw('GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_1024' }), 'ValidationException');
    });

    it('an import token expires after 24 hours: a millisecond before it works, at 24 hours it is ExpiredImportTokenException', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const start = clock;
      const send = async (age: number) => {
        clock = start;
        const params = assertOk(await raw('GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' }));
        const key = createPublicKey({ key: bytesOf(params.PublicKey), format: 'der', type: 'spki' });
        clock = start + age;
        return raw('ImportKeyMaterial', { KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: b64(wrapForImport(randomBytes(32), key, 'RSAES_OAEP_SHA_1')), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      };
      try {
        assertError(await send(24 * HOUR), 'ExpiredImportTokenException');
        assertOk(await send(24 * HOUR - 1));
      } finally {
        clock = start;
      }
    });

    it('a token of another key, or altered, is InvalidImportTokenException; material the wrapping key did not wrap is InvalidCiphertextException', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const other = await createKey({ Origin: 'EXTERNAL' });
      const params = assertOk(await raw('GetParametersForImport', { KeyId: other, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const key = createPublicKey({ key: bytesOf(params.PublicKey), format: 'der', type: 'spki' });
      const wrapped = b64(wrapForImport(randomBytes(32), key, 'RSAES_OAEP_SHA_256'));
      const base = { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', EncryptedKeyMaterial: wrapped };
      assertError(await raw('ImportKeyMaterial', { ...base, KeyId: keyId, ImportToken: params.ImportToken }), 'InvalidImportTokenException');
      const altered = bytesOf(params.ImportToken);
      altered[altered.length - 1]! ^= 1;
      assertError(await raw('ImportKeyMaterial', { ...base, KeyId: other, ImportToken: b64(altered) }), 'InvalidImportTokenException');
      assertError(await raw('ImportKeyMaterial', { ...base, KeyId: other, ImportToken: params.ImportToken, EncryptedKeyMaterial: b64(randomBytes(256)) }), 'InvalidCiphertextException');
      assertOk(await raw('ImportKeyMaterial', { ...base, KeyId: other, ImportToken: params.ImportToken }));
    });

    it('RSA_AES_KEY_WRAP material whose AES key wrap part is missing or cut is InvalidCiphertextException, not wrong material', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const params = assertOk(await raw('GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const key = createPublicKey({ key: bytesOf(params.PublicKey), format: 'der', type: 'spki' });
      const whole = wrapForImport(randomBytes(32), key, 'RSA_AES_KEY_WRAP_SHA_256');
      const base = { KeyId: keyId, ImportToken: params.ImportToken, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' };
      for (const cut of [256, 256 + 8, whole.length - 1]) {
        assertError(await raw('ImportKeyMaterial', { ...base, EncryptedKeyMaterial: b64(whole.subarray(0, cut)) }), 'InvalidCiphertextException');
      }
      assert.equal(await stateOf(keyId), 'PendingImport');
      assertOk(await raw('ImportKeyMaterial', { ...base, EncryptedKeyMaterial: b64(whole) }));
    });

    it('ExpirationModel: KEY_MATERIAL_EXPIRES needs ValidTo; DOES_NOT_EXPIRE takes none; ValidTo in the past or past 365 days is refused', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const material = randomBytes(32);
      assertError(await importMaterial(keyId, material, { model: 'KEY_MATERIAL_EXPIRES' }), 'ValidationException',
        'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES');
      assertError(await importMaterial(keyId, material, { validTo: clock + HOUR }), 'ValidationException');
      assertError(await importMaterial(keyId, material, { model: 'KEY_MATERIAL_EXPIRES', validTo: clock - 1000 }), 'ValidationException');
      assertError(await importMaterial(keyId, material, { model: 'KEY_MATERIAL_EXPIRES', validTo: clock + 365 * 24 * HOUR + 1000 }), 'ValidationException');
      assertOk(await importMaterial(keyId, material, { model: 'KEY_MATERIAL_EXPIRES', validTo: clock + 365 * 24 * HOUR }));
    });

    it('kms:ExpirationModel is in the request context only when the request gives ExpirationModel, as the KMS guide\'s Null example reads it', async () => {
      // "uses the kms:ExpirationModel condition key with the Null condition operator to allow a user
      // to import key material only when the request does not have an ExpirationModel parameter".
      const root = `arn:aws:iam::${t.server.config.accountId}:root`;
      const policy = JSON.stringify({ Version: '2012-10-17', Statement: [
        { Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: root }, Action: 'kms:ImportKeyMaterial', Resource: '*', Condition: { Null: { 'kms:ExpirationModel': 'false' } } },
      ] });
      const keyId = String((assertOk(await raw('CreateKey', { Origin: 'EXTERNAL', Policy: policy })).KeyMetadata as { KeyId: string }).KeyId);
      const material = randomBytes(32);
      assertError(await importMaterial(keyId, material, { model: 'KEY_MATERIAL_EXPIRES', validTo: clock + HOUR }), 'AccessDeniedException');
      assertOk(await importMaterial(keyId, material, { model: null, validTo: clock + HOUR }));
    });

    it('expired material: the key is PendingImport and its ciphertexts stop decrypting until the same material is imported again', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const material = randomBytes(32);
      const start = clock;
      const validTo = Math.floor((start + HOUR) / 1000) * 1000;
      assertOk(await importMaterial(keyId, material, { model: 'KEY_MATERIAL_EXPIRES', validTo }));
      const described = assertOk(await raw('DescribeKey', { KeyId: keyId })).KeyMetadata as Record<string, unknown>;
      assert.equal(described.ExpirationModel, 'KEY_MATERIAL_EXPIRES');
      assert.equal(described.ValidTo, validTo / 1000);
      const encrypted = assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('before expiry')) }));
      try {
        clock = validTo - 1;
        assertOk(await raw('Decrypt', { CiphertextBlob: encrypted.CiphertextBlob }));
        clock = validTo;
        assert.equal(await stateOf(keyId), 'PendingImport');
        // Expired material is deleted material: DescribeKey shows no expiration, as after DeleteImportedKeyMaterial.
        const expired = assertOk(await raw('DescribeKey', { KeyId: keyId })).KeyMetadata as Record<string, unknown>;
        assert.equal('ExpirationModel' in expired || 'ValidTo' in expired, false, JSON.stringify(expired));
        assertError(await raw('Decrypt', { CiphertextBlob: encrypted.CiphertextBlob }), 'KMSInvalidStateException',
          `arn:aws:kms:us-east-1:${t.server.config.accountId}:key/${keyId} is pending import.`);
        assertError(await importMaterial(keyId, randomBytes(32)), 'IncorrectKeyMaterialException');
        assertOk(await importMaterial(keyId, material));
        assert.equal(await stateOf(keyId), 'Enabled');
        assert.equal(bytesOf(assertOk(await raw('Decrypt', { CiphertextBlob: encrypted.CiphertextBlob })).Plaintext).toString(), 'before expiry');
      } finally {
        clock = start;
      }
    });

    it('DeleteImportedKeyMaterial: PendingImport at once; EnableKey is refused; the same material brings the ciphertexts back', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const material = randomBytes(32);
      assertOk(await importMaterial(keyId, material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
      const encrypted = assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('kept')) }));
      assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: keyId }));
      assert.equal(await stateOf(keyId), 'PendingImport');
      assertError(await raw('Decrypt', { CiphertextBlob: encrypted.CiphertextBlob }), 'KMSInvalidStateException');
      assertError(await raw('EnableKey', { KeyId: keyId }), 'KMSInvalidStateException');
      assertError(await importMaterial(keyId, randomBytes(32)), 'IncorrectKeyMaterialException');
      assertOk(await importMaterial(keyId, material));
      assert.equal(bytesOf(assertOk(await raw('Decrypt', { CiphertextBlob: encrypted.CiphertextBlob })).Plaintext).toString(), 'kept');
      assertError(await raw('DeleteImportedKeyMaterial', { KeyId: await createKey() }), 'UnsupportedOperationException');
    });

    it('imports into one key at once: the material of the first to land is the key\'s; the same material is a re-import, other material IncorrectKeyMaterialException', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const materials = [randomBytes(32), randomBytes(32)];
      // Tokens first, then every import sent together, so they race for the first version.
      const requests = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
        const params = assertOk(await raw('GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
        const wrappingKey = createPublicKey({ key: bytesOf(params.PublicKey), format: 'der', type: 'spki' });
        return { material: i % 2, body: { KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: b64(wrapForImport(materials[i % 2]!, wrappingKey, 'RSAES_OAEP_SHA_256')), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } };
      }));
      const answers = await Promise.all(requests.map(async (r) => ({ material: r.material, answer: await raw('ImportKeyMaterial', r.body) })));
      const won = answers.filter((a) => a.answer.status === 200);
      assert.equal(won.length, 6, JSON.stringify(answers.filter((a) => a.answer.status !== 200).map((a) => a.answer.body)));
      assert.equal(new Set(won.map((a) => a.material)).size, 1, 'only one material is the key\'s');
      assert.equal(new Set(won.map((a) => String(a.answer.body.KeyMaterialId))).size, 1);
      for (const lost of answers.filter((a) => a.answer.status !== 200)) assertError(lost.answer, 'IncorrectKeyMaterialException');
      const versions = assertOk(await raw('ListKeyRotations', { KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).Rotations as unknown[];
      assert.equal(versions.length, 1);
    });

    it('ImportKeyMaterial with a KeyMaterialId: only with EXISTING_KEY_MATERIAL, and only the id of the material it brings back', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      const material = randomBytes(32);
      const id = String(assertOk(await importMaterial(keyId, material)).KeyMaterialId);
      assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: keyId }));
      const params = assertOk(await raw('GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const wrapped = b64(wrapForImport(material, createPublicKey({ key: bytesOf(params.PublicKey), format: 'der', type: 'spki' }), 'RSAES_OAEP_SHA_256'));
      const reimport = (extra: Record<string, unknown>) => raw('ImportKeyMaterial', {
        KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra,
      });
      assertError(await reimport({ ImportType: 'NEW_KEY_MATERIAL', KeyMaterialId: id }), 'ValidationException');
      assertError(await reimport({ ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: 'b'.repeat(64) }), 'IncorrectKeyMaterialException');
      assert.equal(await stateOf(keyId), 'PendingImport');
      assert.equal(assertOk(await reimport({ ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: id })).KeyMaterialId, id);
      assert.equal(await stateOf(keyId), 'Enabled');
    });

    it('DeleteImportedKeyMaterial on a key pending deletion leaves it pending deletion; cancelling makes it PendingImport', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      assertOk(await importMaterial(keyId, randomBytes(32)));
      assertOk(await raw('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 }));
      assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: keyId }));
      assert.equal(await stateOf(keyId), 'PendingDeletion');
      assertOk(await raw('CancelKeyDeletion', { KeyId: keyId }));
      assert.equal(await stateOf(keyId), 'PendingImport');
    });

    it('ListKeyRotations: the current material is ImportState PENDING_IMPORT once deleted or expired (pending deletion too), IMPORTED again when re-imported', async () => {
      const importStateOf = async (keyId: string) =>
        (assertOk(await raw('ListKeyRotations', { KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).Rotations as Record<string, unknown>[])
          .map((r) => [r.KeyMaterialState, r.ImportState]);
      const deleted = await createKey({ Origin: 'EXTERNAL' });
      const material = randomBytes(32);
      assertOk(await importMaterial(deleted, material));
      assert.deepEqual(await importStateOf(deleted), [['CURRENT', 'IMPORTED']]);
      assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: deleted }));
      assert.deepEqual(await importStateOf(deleted), [['CURRENT', 'PENDING_IMPORT']]);
      assertOk(await importMaterial(deleted, material));
      assert.deepEqual(await importStateOf(deleted), [['CURRENT', 'IMPORTED']]);

      const expiring = await createKey({ Origin: 'EXTERNAL' });
      const start = clock;
      const validTo = Math.floor((start + HOUR) / 1000) * 1000;
      assertOk(await importMaterial(expiring, randomBytes(32), { model: 'KEY_MATERIAL_EXPIRES', validTo }));
      assertOk(await raw('ScheduleKeyDeletion', { KeyId: expiring, PendingWindowInDays: 7 }));
      try {
        assert.deepEqual(await importStateOf(expiring), [['CURRENT', 'IMPORTED']]);
        clock = validTo;
        assert.deepEqual(await importStateOf(expiring), [['CURRENT', 'PENDING_IMPORT']]);
      } finally {
        clock = start;
      }
    });

    it('symmetric material must be 32 bytes; imported keys rotate neither automatically nor (without new material) on demand', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL' });
      // Pending import, the origin is what refuses automatic rotation (AWS's key-state table).
      for (const op of ['EnableKeyRotation', 'DisableKeyRotation']) {
        assertError(await raw(op, { KeyId: keyId }), 'UnsupportedOperationException', `arn:aws:kms:us-east-1:${t.server.config.accountId}:key/${keyId} origin is EXTERNAL which is not valid for this operation.`);
      }
      assertError(await importMaterial(keyId, randomBytes(31)), 'IncorrectKeyMaterialException');
      assertError(await importMaterial(keyId, randomBytes(33)), 'IncorrectKeyMaterialException');
      assertOk(await importMaterial(keyId, randomBytes(32)));
      assertError(await raw('EnableKeyRotation', { KeyId: keyId }), 'UnsupportedOperationException');
      assertError(await raw('RotateKeyOnDemand', { KeyId: keyId }), 'KMSInvalidStateException');
    });

    describe('rotation to new imported material (ImportType NEW_KEY_MATERIAL)', () => {
      const arnOf = (keyId: string) => `arn:aws:kms:us-east-1:${t.server.config.accountId}:key/${keyId}`;
      const currentMaterialOf = async (keyId: string) =>
        (assertOk(await raw('DescribeKey', { KeyId: keyId })).KeyMetadata as Record<string, unknown>).CurrentKeyMaterialId;
      const rotationsOf = async (keyId: string, include = 'ALL_KEY_MATERIAL') =>
        assertOk(await raw('ListKeyRotations', { KeyId: keyId, IncludeKeyMaterial: include })).Rotations as Record<string, unknown>[];

      it('new material waits PENDING_ROTATION; RotateKeyOnDemand makes it current; old ciphertexts still decrypt', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        const first = String(assertOk(await importMaterial(keyId, randomBytes(32))).KeyMaterialId);
        const old = assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('under the first')) }));
        const imported = assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL', description: 'second' }));
        assert.equal(imported.KeyId, arnOf(keyId));
        const second = String(imported.KeyMaterialId);
        assert.match(second, /^[0-9a-f]{64}$/);
        assert.notEqual(second, first);
        // Pending material is not used yet.
        assert.equal(await currentMaterialOf(keyId), first);
        const materialOf = async (ciphertext: unknown) => assertOk(await raw('Decrypt', { CiphertextBlob: ciphertext })).KeyMaterialId;
        assert.equal(await materialOf(assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('still first')) })).CiphertextBlob), first);
        assert.deepEqual((await rotationsOf(keyId)).map((r) => [r.KeyMaterialId, r.KeyMaterialState]), [[first, 'CURRENT'], [second, 'PENDING_ROTATION']]);
        const pending = (await rotationsOf(keyId))[1]!;
        assert.equal(pending.KeyMaterialDescription, 'second');
        assertError(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL', description: 'not allowed!*' }), 'ValidationException');
        assert.equal(pending.ImportState, 'IMPORTED');
        assert.equal(pending.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
        assert.equal(pending.RotationDate, undefined);
        assert.deepEqual(await rotationsOf(keyId, 'ROTATIONS_ONLY'), []);

        assert.equal(assertOk(await raw('RotateKeyOnDemand', { KeyId: keyId })).KeyId, arnOf(keyId));
        assert.equal(await currentMaterialOf(keyId), second);
        const rotations = await rotationsOf(keyId);
        assert.deepEqual(rotations.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.RotationType]), [[first, 'NON_CURRENT', undefined], [second, 'CURRENT', 'ON_DEMAND']]);
        assert.equal(rotations[1]!.RotationDate, clock / 1000);
        const fresh = assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('under the second')) }));
        assert.equal(await materialOf(fresh.CiphertextBlob), second);
        assert.equal(await materialOf(old.CiphertextBlob), first);
        assert.equal(bytesOf(assertOk(await raw('Decrypt', { CiphertextBlob: old.CiphertextBlob })).Plaintext).toString(), 'under the first');
        assert.equal(bytesOf(assertOk(await raw('Decrypt', { CiphertextBlob: fresh.CiphertextBlob })).Plaintext).toString(), 'under the second');
        // Nothing is pending any more.
        assertError(await raw('RotateKeyOnDemand', { KeyId: keyId }), 'KMSInvalidStateException',
          `No available key material pending rotation for the key: ${arnOf(keyId)}.`);
        assert.equal((await rotationsOf(keyId, 'ROTATIONS_ONLY')).length, 1);
      });

      it('a second new material while one is pending is KMSInvalidStateException, naming the pending one', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        assertOk(await importMaterial(keyId, randomBytes(32)));
        const pending = String(assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId);
        const refused = await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' });
        assertError(refused, 'KMSInvalidStateException');
        const pattern = `^New key material \\(id: [0-9a-f]{64}\\) cannot be imported into KMS key ${arnOf(keyId)}, because another key material \\(id: ${pending}\\) is pending rotation\\.$`;
        assert.match(String(refused.body.message), new RegExp(pattern));
        assert.deepEqual((await rotationsOf(keyId)).map((r) => r.KeyMaterialState), ['CURRENT', 'PENDING_ROTATION']);
        // Once rotated to, the next new material is taken.
        assertOk(await raw('RotateKeyOnDemand', { KeyId: keyId }));
        assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' }));
        assert.deepEqual((await rotationsOf(keyId)).map((r) => r.KeyMaterialState), ['NON_CURRENT', 'CURRENT', 'PENDING_ROTATION']);
      });

      it('pending material past its ValidTo is not rotated to: PENDING_IMPORT in the listing, the key unchanged, new material takes its place', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        const first = String(assertOk(await importMaterial(keyId, randomBytes(32))).KeyMaterialId);
        const start = clock;
        const validTo = start + 2 * 24 * HOUR;
        try {
          const expiring = String(assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL', model: 'KEY_MATERIAL_EXPIRES', validTo })).KeyMaterialId);
          clock = validTo;
          assert.deepEqual((await rotationsOf(keyId)).map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.ImportState]),
            [[first, 'CURRENT', 'IMPORTED'], [expiring, 'PENDING_ROTATION', 'PENDING_IMPORT']]);
          assertError(await raw('RotateKeyOnDemand', { KeyId: keyId }), 'KMSInvalidStateException',
            `No available key material pending rotation for the key: ${arnOf(keyId)}.`);
          assert.equal(await stateOf(keyId), 'Enabled');
          assert.equal(await currentMaterialOf(keyId), first);
          const sealed = assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('still first')) }));
          assert.equal(assertOk(await raw('Decrypt', { CiphertextBlob: sealed.CiphertextBlob })).KeyMaterialId, first);
          // The expired material is gone: other new material is taken in its place, and rotated to.
          const next = String(assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId);
          assert.deepEqual((await rotationsOf(keyId)).map((r) => [r.KeyMaterialId, r.KeyMaterialState]), [[first, 'CURRENT'], [next, 'PENDING_ROTATION']]);
          assertOk(await raw('RotateKeyOnDemand', { KeyId: keyId }));
          assert.equal(await currentMaterialOf(keyId), next);
        } finally {
          clock = start;
        }
      });

      it('an earlier material that expires after a rotation makes the key PendingImport until it is imported again by its KeyMaterialId', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        const start = clock;
        const validTo = start + 10 * 24 * HOUR;
        const firstMaterial = randomBytes(32);
        try {
          const first = String(assertOk(await importMaterial(keyId, firstMaterial, { model: 'KEY_MATERIAL_EXPIRES', validTo })).KeyMaterialId);
          const old = assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(Buffer.from('under the first')) }));
          const second = String(assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId);
          assertOk(await raw('RotateKeyOnDemand', { KeyId: keyId }));
          // The first material still binds the key: its expiry is the key's.
          const metadata = assertOk(await raw('DescribeKey', { KeyId: keyId })).KeyMetadata as Record<string, unknown>;
          assert.equal(metadata.ValidTo, validTo / 1000);
          assert.equal(metadata.ExpirationModel, 'KEY_MATERIAL_EXPIRES');
          assert.deepEqual((await rotationsOf(keyId)).map((r) => [r.KeyMaterialId, r.ImportState, r.ExpirationModel, r.ValidTo]),
            [[first, 'IMPORTED', 'KEY_MATERIAL_EXPIRES', validTo / 1000], [second, 'IMPORTED', 'KEY_MATERIAL_DOES_NOT_EXPIRE', undefined]]);
          clock = validTo;
          assert.equal(await stateOf(keyId), 'PendingImport');
          assertError(await raw('Decrypt', { CiphertextBlob: old.CiphertextBlob }), 'KMSInvalidStateException');
          assert.deepEqual((await rotationsOf(keyId)).map((r) => [r.KeyMaterialId, r.ImportState]), [[first, 'PENDING_IMPORT'], [second, 'IMPORTED']]);
          // Other material under its id is refused; the material itself brings the key back.
          const reimport = (material: Buffer) => importMaterial(keyId, material, { importType: 'EXISTING_KEY_MATERIAL', keyMaterialId: first });
          assertError(await reimport(randomBytes(32)), 'IncorrectKeyMaterialException');
          // Without its id, the bytes name it, as AWS derives a material's id from the key and the
          // material. Before, IncorrectKeyMaterialException said it was never imported into the key.
          assert.equal(assertOk(await importMaterial(keyId, firstMaterial, { importType: 'EXISTING_KEY_MATERIAL' })).KeyMaterialId, first);
          assert.equal(await stateOf(keyId), 'Enabled');
          assertError(await importMaterial(keyId, randomBytes(32), { importType: 'EXISTING_KEY_MATERIAL' }), 'IncorrectKeyMaterialException');
          assert.equal(assertOk(await reimport(firstMaterial)).KeyMaterialId, first);
          assert.equal(await stateOf(keyId), 'Enabled');
          assert.equal(bytesOf(assertOk(await raw('Decrypt', { CiphertextBlob: old.CiphertextBlob })).Plaintext).toString(), 'under the first');
          assert.equal(await currentMaterialOf(keyId), second);
          assert.equal((assertOk(await raw('DescribeKey', { KeyId: keyId })).KeyMetadata as Record<string, unknown>).ValidTo, undefined);
        } finally {
          clock = start;
        }
      });

      it('an earlier material rotated away from by an earlier release (no record of it) is listed without an expiry, and re-importing it gives it one', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        const firstMaterial = randomBytes(32);
        const first = String(assertOk(await importMaterial(keyId, firstMaterial)).KeyMaterialId);
        assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' }));
        assertOk(await raw('RotateKeyOnDemand', { KeyId: keyId }));
        assert.equal((await rotationsOf(keyId))[0]!.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
        // The key record as the release before kept it: nothing of the earlier material.
        const db = new Database(join(t.dataDir, 'coffer.db'));
        try {
          db.prepare("UPDATE keys SET record = json_remove(record, '$.earlierMaterials') WHERE key_id = ?").run(keyId);
        } finally {
          db.close();
        }
        const [earlier] = await rotationsOf(keyId);
        assert.deepEqual([earlier!.KeyMaterialId, earlier!.KeyMaterialState, earlier!.ImportState, earlier!.ExpirationModel], [first, 'NON_CURRENT', undefined, undefined]);
        assert.equal(await stateOf(keyId), 'Enabled');
        const validTo = clock + 30 * 24 * HOUR;
        assertOk(await importMaterial(keyId, firstMaterial, { importType: 'EXISTING_KEY_MATERIAL', keyMaterialId: first, model: 'KEY_MATERIAL_EXPIRES', validTo }));
        const [known] = await rotationsOf(keyId);
        assert.deepEqual([known!.ImportState, known!.ExpirationModel, known!.ValidTo], ['IMPORTED', 'KEY_MATERIAL_EXPIRES', validTo / 1000]);
      });

      it('DeleteImportedKeyMaterial of the pending material drops only it; asymmetric keys take no new material', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        const first = String(assertOk(await importMaterial(keyId, randomBytes(32))).KeyMaterialId);
        const pending = String(assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId);
        assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: keyId, KeyMaterialId: pending }));
        assert.equal(await stateOf(keyId), 'Enabled');
        assert.deepEqual((await rotationsOf(keyId)).map((r) => [r.KeyMaterialId, r.KeyMaterialState]), [[first, 'CURRENT']]);
        assertError(await raw('RotateKeyOnDemand', { KeyId: keyId }), 'KMSInvalidStateException');

        // An earlier material on its own is refused, not mistaken for the current one; an unknown id is not found.
        const second = String(assertOk(await importMaterial(keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId);
        assertOk(await raw('RotateKeyOnDemand', { KeyId: keyId }));
        assertError(await raw('DeleteImportedKeyMaterial', { KeyId: keyId, KeyMaterialId: first }), 'UnsupportedOperationException');
        assertError(await raw('DeleteImportedKeyMaterial', { KeyId: keyId, KeyMaterialId: 'a'.repeat(64) }), 'NotFoundException');
        assertError(await raw('DeleteImportedKeyMaterial', { KeyId: keyId, KeyMaterialId: 'G'.repeat(64) }), 'ValidationException');
        assert.equal(await stateOf(keyId), 'Enabled');
        assert.equal(assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: keyId, KeyMaterialId: second })).KeyMaterialId, second);
        assert.equal(await stateOf(keyId), 'PendingImport');

        const rsa = await createKey({ Origin: 'EXTERNAL', KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
        const pkcs8 = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' });
        const rsaMaterial = pkcs8();
        assertOk(await importMaterial(rsa, rsaMaterial, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
        assertError(await importMaterial(rsa, pkcs8(), { algorithm: 'RSA_AES_KEY_WRAP_SHA_256', importType: 'NEW_KEY_MATERIAL' }), 'UnsupportedOperationException');
        // Nor any member that tells one material of a key from another: an asymmetric or HMAC key has one.
        const hmac = await createKey({ Origin: 'EXTERNAL', KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
        const hmacMaterial = randomBytes(32);
        const hmacId = String(assertOk(await importMaterial(hmac, hmacMaterial)).KeyMaterialId);
        for (const [keyId, material, algorithm] of [[rsa, rsaMaterial, 'RSA_AES_KEY_WRAP_SHA_256'], [hmac, hmacMaterial, 'RSAES_OAEP_SHA_256']] as const) {
          for (const extra of [{ importType: 'EXISTING_KEY_MATERIAL' }, { keyMaterialId: hmacId }, { description: 'the only one' }]) {
            const refused = await importMaterial(keyId, material, { algorithm, ...extra });
            assertError(refused, 'UnsupportedOperationException', /only symmetric encryption keys have more than one key material/);
          }
          assertOk(await importMaterial(keyId, material, { algorithm }));
        }
      });

      it('new key material must be new: the current or an earlier material is refused, and a material\'s id comes from the key and the material', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        const [a, b] = [randomBytes(32), randomBytes(32)];
        const first = String(assertOk(await importMaterial(keyId, a)).KeyMaterialId);
        // The same bytes imported again have the same id, whatever the wrapping.
        assert.equal(assertOk(await importMaterial(keyId, a, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' })).KeyMaterialId, first);
        const refused = await importMaterial(keyId, a, { importType: 'NEW_KEY_MATERIAL' });
        assertError(refused, 'IncorrectKeyMaterialException', `The key material is already key material ${first} of ${arnOf(keyId)}; new key material must differ from every key material of the KMS key, the one pending rotation included.`);
        assert.deepEqual((await rotationsOf(keyId)).map((r) => r.KeyMaterialId), [first], 'nothing pending');
        const second = String(assertOk(await importMaterial(keyId, b, { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId);
        // The pending material's bytes again: that one, named as such, not "another" pending material of the same id.
        assertError(await importMaterial(keyId, b, { importType: 'NEW_KEY_MATERIAL' }), 'IncorrectKeyMaterialException', new RegExp(`already key material ${second} .*pending rotation included`));
        assertOk(await raw('RotateKeyOnDemand', { KeyId: keyId }));
        assertError(await importMaterial(keyId, a, { importType: 'NEW_KEY_MATERIAL' }), 'IncorrectKeyMaterialException', new RegExp(`already key material ${first}`));
        assertError(await importMaterial(keyId, b, { importType: 'NEW_KEY_MATERIAL' }), 'IncorrectKeyMaterialException', new RegExp(`already key material ${second}`));
        // The same bytes in another key are another material, with another id.
        const other = await createKey({ Origin: 'EXTERNAL' });
        assert.notEqual(assertOk(await importMaterial(other, a)).KeyMaterialId, first);
      });

      it('the same new material imported twice at once: the one that loses is answered as it would be a moment later', async () => {
        for (let round = 0; round < 8; round++) {
          const keyId = await createKey({ Origin: 'EXTERNAL' });
          assertOk(await importMaterial(keyId, randomBytes(32)));
          const material = randomBytes(32);
          // Wrapped first, so that the two imports themselves arrive together.
          const wrapped = await Promise.all([0, 1].map(async () => {
            const params = assertOk(await raw('GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
            const wrappingKey = createPublicKey({ key: bytesOf(params.PublicKey), format: 'der', type: 'spki' });
            return { ImportToken: params.ImportToken, EncryptedKeyMaterial: b64(wrapForImport(material, wrappingKey, 'RSAES_OAEP_SHA_256')) };
          }));
          const answers = await Promise.all(wrapped.map((w) => raw('ImportKeyMaterial', { KeyId: keyId, ...w, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ImportType: 'NEW_KEY_MATERIAL' })));
          const [won, lost] = answers[0]!.status === 200 ? answers : [answers[1]!, answers[0]!];
          const id = String(assertOk(won!).KeyMaterialId);
          assertError(lost!, 'IncorrectKeyMaterialException', new RegExp(`^The key material is already key material ${id} of .*pending rotation included\\.$`));
        }
      });

      /** ImportKeyMaterial through the AWS SDK, with a fresh token; KEY_MATERIAL_DOES_NOT_EXPIRE unless `input` says otherwise. */
      async function sdkImport(keyId: string, material: Buffer, input: Partial<ImportKeyMaterialRequest> = {}): Promise<string> {
        const params = await t.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
        const wrappingKey = createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' });
        const answer = await t.kms.send(new ImportKeyMaterialCommand({
          KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapForImport(material, wrappingKey, 'RSAES_OAEP_SHA_256'),
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...input,
        }));
        return answer.KeyMaterialId!;
      }
      const sdkRotations = async (keyId: string) =>
        (await t.kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!;

      it('the material pending rotation is re-imported by its KeyMaterialId: its expiry and description change and it stays pending; other bytes under its id are refused', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        const first = await sdkImport(keyId, randomBytes(32));
        const pendingBytes = randomBytes(32);
        const pending = await sdkImport(keyId, pendingBytes, { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'next' });
        const pendingEntry = async () => (await sdkRotations(keyId)).find((r) => r.KeyMaterialId === pending)!;
        const validTo = new Date(Math.floor((clock + 30 * 24 * HOUR) / 1000) * 1000);
        // A new expiry; no description given, so the one it had stays.
        assert.equal(await sdkImport(keyId, pendingBytes, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: pending, ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo }), pending);
        let entry = await pendingEntry();
        assert.deepEqual([entry.KeyMaterialState, entry.ImportState, entry.ExpirationModel, entry.ValidTo, entry.KeyMaterialDescription],
          ['PENDING_ROTATION', 'IMPORTED', 'KEY_MATERIAL_EXPIRES', validTo, 'next']);
        // ImportType left out is EXISTING_KEY_MATERIAL too; a description given replaces the one it had.
        assert.equal(await sdkImport(keyId, pendingBytes, { KeyMaterialId: pending, KeyMaterialDescription: 'next renamed' }), pending);
        entry = await pendingEntry();
        assert.deepEqual([entry.KeyMaterialState, entry.ExpirationModel, entry.ValidTo, entry.KeyMaterialDescription],
          ['PENDING_ROTATION', 'KEY_MATERIAL_DOES_NOT_EXPIRE', undefined, 'next renamed']);
        // Its bytes without its id name it too.
        assert.equal(await sdkImport(keyId, pendingBytes, { KeyMaterialDescription: 'by its bytes' }), pending);
        assert.deepEqual([(await pendingEntry()).KeyMaterialState, (await pendingEntry()).KeyMaterialDescription], ['PENDING_ROTATION', 'by its bytes']);
        await assert.rejects(sdkImport(keyId, randomBytes(32), { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: pending }), (e: Error) =>
          e.name === 'IncorrectKeyMaterialException' && e.message === 'The key material is not the key material that was previously imported into this KMS key.');
        assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId, first, 'still only pending');

        // Past its ValidTo the pending material is not rotated to; imported again by its id, it is.
        const start = clock;
        try {
          await sdkImport(keyId, pendingBytes, { KeyMaterialId: pending, ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
          clock = validTo.getTime();
          assert.equal((await pendingEntry()).ImportState, 'PENDING_IMPORT');
          await assert.rejects(t.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })), (e: Error) => e.name === 'KMSInvalidStateException');
          await sdkImport(keyId, pendingBytes, { KeyMaterialId: pending });
          await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
          assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId, pending);
        } finally {
          clock = start;
        }
      });

      it('KeyMaterialDescription is kept for every material: the first import\'s, through RotateKeyOnDemand, and when a re-import gives none; one given replaces it', async () => {
        const keyId = await createKey({ Origin: 'EXTERNAL' });
        const [firstBytes, secondBytes] = [randomBytes(32), randomBytes(32)];
        const described = async () => (await sdkRotations(keyId)).map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.KeyMaterialDescription]);
        const first = await sdkImport(keyId, firstBytes, { KeyMaterialDescription: 'first' });
        assert.deepEqual(await described(), [[first, 'CURRENT', 'first']]);
        const second = await sdkImport(keyId, secondBytes, { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'second' });
        await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
        assert.deepEqual(await described(), [[first, 'NON_CURRENT', 'first'], [second, 'CURRENT', 'second']]);
        // Re-imports that give no description keep each material's own.
        await sdkImport(keyId, secondBytes);
        await sdkImport(keyId, firstBytes, { KeyMaterialId: first });
        assert.deepEqual(await described(), [[first, 'NON_CURRENT', 'first'], [second, 'CURRENT', 'second']]);
        // Deleted and imported again, the material still has it.
        await t.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
        assert.deepEqual(await described(), [[first, 'NON_CURRENT', 'first'], [second, 'CURRENT', 'second']]);
        await sdkImport(keyId, secondBytes);
        assert.deepEqual(await described(), [[first, 'NON_CURRENT', 'first'], [second, 'CURRENT', 'second']]);
        // One given replaces the material's own, and only that material's.
        await sdkImport(keyId, firstBytes, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: first, KeyMaterialDescription: 'first renamed' });
        await sdkImport(keyId, secondBytes, { KeyMaterialDescription: 'second renamed' });
        assert.deepEqual(await described(), [[first, 'NON_CURRENT', 'first renamed'], [second, 'CURRENT', 'second renamed']]);
      });
    });

    it('asymmetric material: an imported RSA key\'s public key is the local one, and it decrypts what the local public key encrypted', async () => {
      const keyId = await createKey({ Origin: 'EXTERNAL', KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
      const local = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pkcs8 = local.privateKey.export({ format: 'der', type: 'pkcs8' });
      assertError(await importMaterial(keyId, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'der', type: 'pkcs8' }), { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }), 'IncorrectKeyMaterialException');
      assertOk(await importMaterial(keyId, pkcs8, { algorithm: 'RSA_AES_KEY_WRAP_SHA_1' }));
      const publicKey = bytesOf(assertOk(await raw('GetPublicKey', { KeyId: keyId })).PublicKey);
      assert.deepEqual(publicKey, local.publicKey.export({ format: 'der', type: 'spki' }));
      const ciphertext = publicEncrypt({ key: local.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('for the imported key'));
      const decrypted = assertOk(await raw('Decrypt', { KeyId: keyId, CiphertextBlob: b64(ciphertext), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
      assert.equal(bytesOf(decrypted.Plaintext).toString(), 'for the imported key');
    });

    it('a private key whose public half is another key\'s is IncorrectKeyMaterialException: it would sign with one and publish the other', async () => {
      const mine = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
      const theirs = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
      const mixedEc = createPrivateKey({ key: { ...mine, x: theirs.x, y: theirs.y }, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
      for (const usage of ['SIGN_VERIFY', 'KEY_AGREEMENT']) {
        const keyId = await createKey({ Origin: 'EXTERNAL', KeySpec: 'ECC_NIST_P256', KeyUsage: usage });
        assertError(await importMaterial(keyId, mixedEc, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }), 'IncorrectKeyMaterialException');
      }
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
      const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
      const mixedRsa = createPrivateKey({ key: { ...rsa, n: otherRsa.n }, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
      const rsaKey = await createKey({ Origin: 'EXTERNAL', KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
      assertError(await importMaterial(rsaKey, mixedRsa, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }), 'IncorrectKeyMaterialException');
      // The whole keys import.
      const ecKey = await createKey({ Origin: 'EXTERNAL', KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      assertOk(await importMaterial(ecKey, createPrivateKey({ key: mine, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' }), { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
      assertOk(await importMaterial(rsaKey, createPrivateKey({ key: rsa, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' }), { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
    });

    it('an RSA key whose numbers do not agree (e of 1, a d of no e, primes that do not make n, wrong CRT values) is IncorrectKeyMaterialException', async () => {
      const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
      const big = (value: string) => BigInt(`0x${Buffer.from(value, 'base64url').toString('hex')}`);
      const text = (value: bigint) => Buffer.from(value.toString(16).padStart(2, '0').replace(/^(.(..)*)$/, '0$1'), 'hex').toString('base64url');
      const [d, p, q] = [big(jwk.d!), big(jwk.p!), big(jwk.q!)];
      const broken = {
        // Every "signature" its own message: OpenSSL signs with such a key without complaint.
        'e of 1': { ...jwk, e: 'AQ', d: 'AQ', dp: 'AQ', dq: 'AQ' },
        'an even e': { ...jwk, e: text(65538n) },
        'a d that inverts no e': { ...jwk, d: text(d + 2n), dp: text((d + 2n) % (p - 1n)), dq: text((d + 2n) % (q - 1n)) },
        'a prime that does not divide n': { ...jwk, p: text(p + 2n) },
        'a wrong CRT exponent': { ...jwk, dp: text(big(jwk.dp!) + 1n) },
        'a wrong CRT coefficient': { ...jwk, qi: text((big(jwk.qi!) + 1n) % p) },
      };
      const keyId = await createKey({ Origin: 'EXTERNAL', KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
      for (const [what, numbers] of Object.entries(broken)) {
        const material = createPrivateKey({ key: numbers, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
        const answer = await importMaterial(keyId, material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' });
        assert.equal(answer.body.__type, 'IncorrectKeyMaterialException', `${what}: ${answer.text}`);
      }
      // The whole key imports; so does one with e = 3 (odd, and not 1).
      assertOk(await importMaterial(keyId, createPrivateKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' }), { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
      const three = await createKey({ Origin: 'EXTERNAL', KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
      const small = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey.export({ format: 'der', type: 'pkcs8' });
      assertOk(await importMaterial(three, small, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
    });

    it('an EC scalar outside 1..n-1, a public point off the curve, or explicit curve parameters are IncorrectKeyMaterialException, and the server lives on', async () => {
      // Node 20 aborts the process when asked about an EC key loaded with a scalar past the order: such
      // material must be refused before node:crypto sees it.
      const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
      const local = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
      const d = BigInt(`0x${Buffer.from(local.d!, 'base64url').toString('hex')}`);
      const scalar = (value: bigint, bytes: number) => Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex');
      const der = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, ...(body.length < 128 ? [body.length] : [0x81, body.length])]), body]);
      const named = Buffer.from('301306072a8648ce3d020106082a8648ce3d030107', 'hex');
      const pkcs8 = (secret: Buffer, algorithm = named, publicPoint?: Buffer) => der(0x30, Buffer.concat([Buffer.from([0x02, 0x01, 0x00]), algorithm,
        der(0x04, der(0x30, Buffer.concat([Buffer.from([0x02, 0x01, 0x01]), der(0x04, secret), ...(publicPoint ? [der(0xa1, der(0x03, Buffer.concat([Buffer.from([0]), publicPoint])))] : [])])))]));
      const keyId = await createKey({ Origin: 'EXTERNAL', KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      const offCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]);
      // P-256 over explicit parameters (the field, curve, base point and order spelled out), as openssl writes it on request.
      const explicit = execFileSync('sh', ['-c', 'openssl ecparam -name prime256v1 -param_enc explicit -genkey | openssl pkcs8 -topk8 -nocrypt -outform DER']);
      assert.equal(createPrivateKey({ key: explicit, format: 'der', type: 'pkcs8' }).asymmetricKeyType, 'ec', 'a key node:crypto reads');
      // DER's one encoding: no trailing bytes, no second public key (the last one would have won), no
      // [0] parameters naming another curve, no OneAsymmetricKey public key that is not the scalar's.
      const mineDer = pkcs8(scalar(d, 32));
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(local.x!, 'base64url'), Buffer.from(local.y!, 'base64url')]);
      const bitString = (p: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), p]));
      const ecKey = (...fields: Buffer[]) => der(0x30, Buffer.concat([Buffer.from([0x02, 0x01, 0x01]), der(0x04, scalar(d, 32)), ...fields]));
      const wrap = (inner: Buffer, version = 0, ...after: Buffer[]) => der(0x30, Buffer.concat([Buffer.from([0x02, 0x01, version]), named, der(0x04, inner), ...after]));
      const strictness = [
        Buffer.concat([mineDer, Buffer.from([0x05, 0x00])]),
        wrap(ecKey(der(0xa1, bitString(offCurve.subarray(0, 3))), der(0xa1, bitString(point)))),
        wrap(ecKey(der(0xa0, Buffer.from('06052b81040022', 'hex')), der(0xa1, bitString(point)))),
        wrap(ecKey(), 1, der(0x81, Buffer.from([0, 0]))),
        wrap(ecKey(), 7),
      ];
      assertOk(await importMaterial(await createKey({ Origin: 'EXTERNAL', KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }), wrap(ecKey(der(0xa1, bitString(point))), 1, der(0x81, Buffer.concat([Buffer.from([0]), point]))), { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
      for (const material of [pkcs8(scalar(d + n, 33)), pkcs8(scalar(n, 32)), pkcs8(scalar(0n, 32)), pkcs8(scalar(d, 32), named, offCurve), explicit, ...strictness]) {
        assertError(await importMaterial(keyId, material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }), 'IncorrectKeyMaterialException');
      }
      assertOk(await importMaterial(keyId, pkcs8(scalar(d, 32)), { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
    });

    it('an RSA key of three primes imports, as OpenSSL makes and reads them', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'coffer-rsa3-'));
      try {
        execFileSync('sh', ['-c', `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_primes:3 | openssl pkcs8 -topk8 -nocrypt -outform DER -out '${join(dir, 'k.der')}'`], { stdio: 'ignore' });
        const material = readFileSync(join(dir, 'k.der'));
        assert.equal(createPrivateKey({ key: material, format: 'der', type: 'pkcs8' }).asymmetricKeyType, 'rsa', 'a key node:crypto reads');
        const keyId = await createKey({ Origin: 'EXTERNAL', KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
        assertOk(await importMaterial(keyId, material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
        const message = b64(Buffer.from('three primes'));
        const signature = assertOk(await raw('Sign', { KeyId: keyId, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })).Signature;
        assert.equal(assertOk(await raw('Verify', { KeyId: keyId, Message: message, Signature: signature, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })).SignatureValid, true);
        assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: keyId }));
        assertOk(await importMaterial(keyId, material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('an EC key without its optional public point imports (its public key derived) and re-imports as the same material in either encoding', async () => {
      const local = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const withPoint = local.privateKey.export({ format: 'der', type: 'pkcs8' });
      const d = Buffer.from(local.privateKey.export({ format: 'jwk' }).d!, 'base64url');
      // PrivateKeyInfo { 0, id-ecPublicKey prime256v1, OCTET STRING { ECPrivateKey { 1, d } } }: no [1] publicKey.
      const algorithm = Buffer.from('301306072a8648ce3d020106082a8648ce3d030107', 'hex');
      const ecPrivateKey = Buffer.concat([Buffer.from([0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20]), d]);
      const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x00]), algorithm, Buffer.from([0x04, ecPrivateKey.length]), ecPrivateKey]);
      const withoutPoint = Buffer.concat([Buffer.from([0x30, body.length]), body]);
      assert.notDeepEqual(withoutPoint, withPoint);

      const keyId = await createKey({ Origin: 'EXTERNAL', KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      assertOk(await importMaterial(keyId, withoutPoint, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
      assert.deepEqual(bytesOf(assertOk(await raw('GetPublicKey', { KeyId: keyId })).PublicKey), local.publicKey.export({ format: 'der', type: 'spki' }));
      const message = b64(Buffer.from('signed by the imported key'));
      const signature = assertOk(await raw('Sign', { KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })).Signature;
      assert.equal(assertOk(await raw('Verify', { KeyId: keyId, Message: message, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })).SignatureValid, true);
      assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: keyId }));
      assertOk(await importMaterial(keyId, withPoint, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
      assertOk(await raw('DeleteImportedKeyMaterial', { KeyId: keyId }));
      assertOk(await importMaterial(keyId, withoutPoint, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
      assert.equal(assertOk(await raw('Verify', { KeyId: keyId, Message: message, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })).SignatureValid, true);
    });

    for (const [spec, min, max] of [['HMAC_224', 28, 64], ['HMAC_256', 32, 64], ['HMAC_384', 48, 128], ['HMAC_512', 64, 128]] as const) {
      it(`${spec}: imported keys of ${min}..${max} bytes; MACs agree with node:crypto both ways`, async () => {
        const wrapping = spec === 'HMAC_512' ? 'RSA_4096' : 'RSA_2048';
        const keyId = await createKey({ Origin: 'EXTERNAL', KeySpec: spec, KeyUsage: 'GENERATE_VERIFY_MAC' });
        assertError(await importMaterial(keyId, randomBytes(min - 1), { spec: wrapping }), 'IncorrectKeyMaterialException');
        assertError(await importMaterial(keyId, randomBytes(max + 1), { spec: wrapping }), 'IncorrectKeyMaterialException');
        const key = randomBytes(max);
        assertOk(await importMaterial(keyId, key, { spec: wrapping }));
        const algorithm = `HMAC_SHA_${spec.slice(5)}`;
        const message = randomBytes(100);
        const local = createHmac(`sha${spec.slice(5)}`, key).update(message).digest();
        const mac = assertOk(await raw('GenerateMac', { KeyId: keyId, Message: b64(message), MacAlgorithm: algorithm }));
        assert.deepEqual(bytesOf(mac.Mac), local);
        assert.equal(assertOk(await raw('VerifyMac', { KeyId: keyId, Message: b64(message), MacAlgorithm: algorithm, Mac: b64(local) })).MacValid, true);
        const other = createHmac(`sha${spec.slice(5)}`, randomBytes(max)).update(message).digest();
        const refused = await raw('VerifyMac', { KeyId: keyId, Message: b64(message), MacAlgorithm: algorithm, Mac: b64(other) });
        assertError(refused, 'KMSInvalidMacException');
        assert.equal('message' in refused.body, false);
      });
    }
  });

  describe('GenerateMac and VerifyMac', () => {
    let hmacKey: string;
    before(async () => {
      hmacKey = await createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    });

    it('messages of 1..4096 bytes; 0 and 4097 are ValidationException', async () => {
      assert.equal(bytesOf(assertOk(await raw('GenerateMac', { KeyId: hmacKey, Message: b64(randomBytes(4096)), MacAlgorithm: 'HMAC_SHA_256' })).Mac).length, 32);
      assertOk(await raw('GenerateMac', { KeyId: hmacKey, Message: b64(randomBytes(1)), MacAlgorithm: 'HMAC_SHA_256' }));
      assertError(await raw('GenerateMac', { KeyId: hmacKey, Message: b64(randomBytes(4097)), MacAlgorithm: 'HMAC_SHA_256' }), 'ValidationException');
      assertError(await raw('GenerateMac', { KeyId: hmacKey, Message: '', MacAlgorithm: 'HMAC_SHA_256' }), 'ValidationException');
    });

    it('a MAC of a changed message, or cut short, is KMSInvalidMacException; another algorithm is InvalidKeyUsageException', async () => {
      const message = Buffer.from('mac me');
      const mac = assertOk(await raw('GenerateMac', { KeyId: hmacKey, Message: b64(message), MacAlgorithm: 'HMAC_SHA_256' })).Mac;
      assertOk(await raw('VerifyMac', { KeyId: hmacKey, Message: b64(message), MacAlgorithm: 'HMAC_SHA_256', Mac: mac }));
      assertError(await raw('VerifyMac', { KeyId: hmacKey, Message: b64(Buffer.from('mac mf')), MacAlgorithm: 'HMAC_SHA_256', Mac: mac }), 'KMSInvalidMacException');
      assertError(await raw('VerifyMac', { KeyId: hmacKey, Message: b64(message), MacAlgorithm: 'HMAC_SHA_256', Mac: b64(bytesOf(mac).subarray(0, 31)) }), 'KMSInvalidMacException');
      assertError(await raw('VerifyMac', { KeyId: hmacKey, Message: b64(message), MacAlgorithm: 'HMAC_SHA_512', Mac: mac }), 'InvalidKeyUsageException',
        'Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.');
    });

    it('an HMAC key neither encrypts nor signs; a symmetric key makes no MAC', async () => {
      assertError(await raw('Encrypt', { KeyId: hmacKey, Plaintext: b64(Buffer.from('x')) }), 'InvalidKeyUsageException');
      assertError(await raw('Sign', { KeyId: hmacKey, Message: b64(Buffer.from('x')), SigningAlgorithm: 'ECDSA_SHA_256' }), 'InvalidKeyUsageException');
      assertError(await raw('GenerateMac', { KeyId: await createKey(), Message: b64(Buffer.from('x')), MacAlgorithm: 'HMAC_SHA_256' }), 'InvalidKeyUsageException');
      assertError(await raw('GetPublicKey', { KeyId: hmacKey }), 'UnsupportedOperationException');
    });

    it('an unknown MacAlgorithm lists the algorithms in the order AWS prints them', async () => {
      const expected = "1 validation error detected: Value 'HMAC_MD5' at 'macAlgorithm' failed to satisfy constraint: "
        + 'Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]';
      const message = b64(Buffer.from('x'));
      assertError(await raw('GenerateMac', { KeyId: hmacKey, Message: message, MacAlgorithm: 'HMAC_MD5' }), 'ValidationException', expected);
      assertError(await raw('VerifyMac', { KeyId: hmacKey, Message: message, MacAlgorithm: 'HMAC_MD5', Mac: message }), 'ValidationException', expected);
    });
  });

  describe('DeriveSharedSecret', () => {
    for (const [spec, curve] of [['ECC_NIST_P256', 'prime256v1'], ['ECC_NIST_P384', 'secp384r1'], ['ECC_NIST_P521', 'secp521r1']] as const) {
      it(`${spec}: the shared secret is the one computed locally with the key's public key`, async () => {
        const keyId = await createKey({ KeySpec: spec, KeyUsage: 'KEY_AGREEMENT' });
        const local = generateKeyPairSync('ec', { namedCurve: curve });
        const answer = assertOk(await raw('DeriveSharedSecret', { KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: b64(local.publicKey.export({ format: 'der', type: 'spki' })) }));
        const kmsPublic = createPublicKey({ key: bytesOf(assertOk(await raw('GetPublicKey', { KeyId: keyId })).PublicKey), format: 'der', type: 'spki' });
        assert.deepEqual(bytesOf(answer.SharedSecret), diffieHellman({ privateKey: local.privateKey, publicKey: kmsPublic }));
        assert.equal(answer.KeyOrigin, 'AWS_KMS');
        assert.equal(answer.KeyAgreementAlgorithm, 'ECDH');
      });
    }

    it('a public key of another curve, or no public key at all, is a ValidationException without a message', async () => {
      const keyId = await createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' });
      const otherCurve = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' });
      // The point at infinity (one zero byte): Node 20 aborts the process when asked about such a key.
      const infinity = Buffer.from('3019301306072a8648ce3d020106082a8648ce3d030107030200' + '00', 'hex');
      // DER, not BER: trailing bytes, a length in a longer form than it needs, an extra algorithm parameter.
      const good = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
      const trailing = Buffer.concat([good, Buffer.from([0x05, 0x00])]);
      const longForm = Buffer.concat([Buffer.from([0x30, 0x81, good[1]!]), good.subarray(2)]);
      const extraParameter = Buffer.from(good.toString('hex').replace('3059301306072a8648ce3d020106082a8648ce3d030107', '305b301506072a8648ce3d020106082a8648ce3d0301070500'), 'hex');
      assertOk(await raw('DeriveSharedSecret', { KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: b64(good) }));
      for (const publicKey of [otherCurve, Buffer.from('not a key'), infinity, trailing, longForm, extraParameter]) {
        const refused = await raw('DeriveSharedSecret', { KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: b64(publicKey) });
        assertError(refused, 'ValidationException');
        assert.equal('message' in refused.body, false);
      }
      assertError(await raw('DeriveSharedSecret', { KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: b64(randomBytes(8193)) }), 'ValidationException');
    });
  });

  describe('GenerateDataKeyPair', () => {
    let kek: string;
    before(async () => {
      kek = await createKey();
    });

    for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519']) {
      it(`${spec}: a PKCS#8 private key matching the public key, sealed under the KMS key with the encryption context`, async () => {
        const context = { purpose: 'test' };
        const pair = assertOk(await raw('GenerateDataKeyPair', { KeyId: kek, KeyPairSpec: spec, EncryptionContext: context }));
        assert.equal(pair.KeyPairSpec, spec);
        const privateKey = createPrivateKey({ key: bytesOf(pair.PrivateKeyPlaintext), format: 'der', type: 'pkcs8' });
        assert.deepEqual(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }), bytesOf(pair.PublicKey));
        const opened = assertOk(await raw('Decrypt', { CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext: context }));
        assert.deepEqual(bytesOf(opened.Plaintext), bytesOf(pair.PrivateKeyPlaintext));
        assertError(await raw('Decrypt', { CiphertextBlob: pair.PrivateKeyCiphertextBlob }), 'InvalidCiphertextException');
      });
    }

    it('WithoutPlaintext returns no private key; SM2 is not supported; an asymmetric KMS key is refused', async () => {
      const pair = assertOk(await raw('GenerateDataKeyPairWithoutPlaintext', { KeyId: kek, KeyPairSpec: 'ECC_NIST_P256' }));
      assert.equal(pair.PrivateKeyPlaintext, undefined);
      assert.ok(bytesOf(pair.PrivateKeyCiphertextBlob).length > 0);
      assertError(await raw('GenerateDataKeyPair', { KeyId: kek, KeyPairSpec: 'SM2' }), 'UnsupportedOperationException');
      assertError(await raw('GenerateDataKeyPair', { KeyId: kek, KeyPairSpec: 'RSA_1024' }), 'ValidationException');
      const signKey = await createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      assertError(await raw('GenerateDataKeyPair', { KeyId: signKey, KeyPairSpec: 'ECC_NIST_P256' }), 'InvalidKeyUsageException');
    });

    for (const [spec, algorithm] of [['ECC_NIST_P256', 'ECDSA_SHA_256'], ['ECC_SECG_P256K1', 'ECDSA_SHA_256'], ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'], ['ECC_NIST_EDWARDS25519', 'ED25519_SHA_512']] as const) {
      it(`${spec}: a signature made outside with the data key pair verifies in Coffer once the private key is imported`, async () => {
        const pair = assertOk(await raw('GenerateDataKeyPair', { KeyId: kek, KeyPairSpec: spec }));
        const privateKey = createPrivateKey({ key: bytesOf(pair.PrivateKeyPlaintext), format: 'der', type: 'pkcs8' });
        const message = Buffer.from('signed outside');
        const signature = algorithm === 'ED25519_SHA_512'
          ? nodeSign(null, message, privateKey)
          : nodeSign(`sha${algorithm.slice(-3)}`, message, { key: privateKey, dsaEncoding: 'der' });
        const keyId = await createKey({ Origin: 'EXTERNAL', KeySpec: spec, KeyUsage: 'SIGN_VERIFY' });
        assertOk(await importMaterial(keyId, bytesOf(pair.PrivateKeyPlaintext), { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }));
        const verified = assertOk(await raw('Verify', { KeyId: keyId, Message: b64(message), Signature: b64(signature), SigningAlgorithm: algorithm }));
        assert.equal(verified.SignatureValid, true);
        if (algorithm !== 'ED25519_SHA_512') {
          assertOk(await raw('Verify', { KeyId: keyId, Message: b64(digest(algorithm, message)), MessageType: 'DIGEST', Signature: b64(signature), SigningAlgorithm: algorithm }));
        }
        assertError(await raw('Verify', { KeyId: keyId, Message: b64(Buffer.from('changed')), Signature: b64(signature), SigningAlgorithm: algorithm }), 'KMSInvalidSignatureException');
      });
    }
  });
});
