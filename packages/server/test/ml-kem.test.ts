/**
 * ML-KEM keys (FIPS 203) over HTTP with the official AWS SDK: CreateKey, DescribeKey and
 * GetPublicKey as AWS answers them, Encapsulate and Decapsulate checked against an independent
 * implementation on the client's side (@noble/post-quantum, with the public key GetPublicKey gives),
 * implicit rejection, the errors of wrong keys, algorithms and lengths, and imported material.
 */
import assert from 'node:assert/strict';
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand, DecapsulateCommand, DecryptCommand, DescribeKeyCommand, EncapsulateCommand,
  GenerateDataKeyPairCommand, GenerateDataKeyPairWithoutPlaintextCommand, GetParametersForImportCommand,
  GetPublicKeyCommand, ImportKeyMaterialCommand, type DataKeyPairSpec, type KeySpec,
} from '@aws-sdk/client-kms';
import { ml_kem1024, ml_kem512, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

const SPECS = [
  ['ML_KEM_512', ml_kem512, 0x01, 768],
  ['ML_KEM_768', ml_kem768, 0x02, 1088],
  ['ML_KEM_1024', ml_kem1024, 0x03, 1568],
] as const;

/** The raw public key in an ML-KEM SubjectPublicKeyInfo, after checking its algorithm (id-alg-ml-kem-*). */
function rawPublicKey(spki: Buffer, oid: number, length: number): Buffer {
  const algorithm = Buffer.from([0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, oid]);
  assert.ok(spki.subarray(4, 4 + algorithm.length).equals(algorithm), 'the algorithm is id-alg-ml-kem of the spec');
  assert.equal(spki.length, 4 + algorithm.length + 4 + 1 + length);
  return spki.subarray(spki.length - length);
}

describe('ML-KEM keys: Encapsulate, Decapsulate, GetPublicKey', () => {
  let t: TestServer;
  const keys = new Map<string, string>();
  before(async () => {
    t = await startTestServer();
    for (const [spec] of SPECS) {
      const created = await t.kms.send(new CreateKeyCommand({ KeySpec: spec as KeySpec, KeyUsage: 'ENCAPSULATE_DECAPSULATE' }));
      keys.set(spec, created.KeyMetadata!.KeyId!);
    }
  });
  after(() => t.dispose());

  for (const [spec, kem, oid, ciphertextLength] of SPECS) {
    it(`${spec}: the server's encapsulations open on the client, and the client's in the server`, async () => {
      const keyId = keys.get(spec)!;
      const meta = (await t.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
      assert.equal(meta.KeySpec, spec);
      assert.equal(meta.KeyUsage, 'ENCAPSULATE_DECAPSULATE');
      assert.deepEqual(meta.EncapsulationAlgorithms, ['ML_KEM']);
      const published = await t.kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      assert.equal(published.KeyUsage, 'ENCAPSULATE_DECAPSULATE');
      assert.deepEqual(published.EncapsulationAlgorithms, ['ML_KEM']);
      const publicKey = rawPublicKey(Buffer.from(published.PublicKey!), oid, kem.lengths.publicKey!);

      // The client encapsulates with the published key; the server recovers the same secret.
      const theirs = kem.encapsulate(publicKey);
      const opened = await t.kms.send(new DecapsulateCommand({ KeyId: keyId, SharedSecretCiphertextBlob: theirs.cipherText, EncapsulationAlgorithm: 'ML_KEM' }));
      assert.deepEqual(Buffer.from(opened.SharedSecret!), Buffer.from(theirs.sharedSecret));
      assert.equal(opened.KeyId, meta.Arn);
      assert.equal(opened.EncapsulationAlgorithm, 'ML_KEM');

      // The server encapsulates; a second call gives another secret; its own Decapsulate recovers each.
      const ours = await t.kms.send(new EncapsulateCommand({ KeyId: keyId, EncapsulationAlgorithm: 'ML_KEM' }));
      const again = await t.kms.send(new EncapsulateCommand({ KeyId: keyId, EncapsulationAlgorithm: 'ML_KEM' }));
      assert.equal(ours.SharedSecret!.length, 32);
      assert.equal(ours.SharedSecretCiphertextBlob!.length, ciphertextLength);
      assert.notDeepEqual(Buffer.from(ours.SharedSecret!), Buffer.from(again.SharedSecret!));
      for (const sealed of [ours, again]) {
        const back = await t.kms.send(new DecapsulateCommand({ KeyId: keyId, SharedSecretCiphertextBlob: sealed.SharedSecretCiphertextBlob, EncapsulationAlgorithm: 'ML_KEM' }));
        assert.deepEqual(Buffer.from(back.SharedSecret!), Buffer.from(sealed.SharedSecret!));
      }
    });
  }

  it('an altered encapsulation gives a pseudo-random secret (implicit rejection); one of another length is InvalidCiphertextException', async () => {
    const keyId = keys.get('ML_KEM_768')!;
    const sealed = await t.kms.send(new EncapsulateCommand({ KeyId: keyId, EncapsulationAlgorithm: 'ML_KEM' }));
    const altered = Buffer.from(sealed.SharedSecretCiphertextBlob!);
    altered[100]! ^= 1;
    const rejected = await t.kms.send(new DecapsulateCommand({ KeyId: keyId, SharedSecretCiphertextBlob: altered, EncapsulationAlgorithm: 'ML_KEM' }));
    assert.equal(rejected.SharedSecret!.length, 32);
    assert.notDeepEqual(Buffer.from(rejected.SharedSecret!), Buffer.from(sealed.SharedSecret!));
    // Under another ML-KEM key of another spec, the length is wrong.
    const other = await errorOf(() => t.kms.send(new DecapsulateCommand({ KeyId: keys.get('ML_KEM_512'), SharedSecretCiphertextBlob: sealed.SharedSecretCiphertextBlob, EncapsulationAlgorithm: 'ML_KEM' })));
    assert.equal(other.name, 'InvalidCiphertextException');
  });

  it('refuses keys of another usage, other algorithms and a DryRun as AWS does', async () => {
    const symmetric = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const wrongUsage = await errorOf(() => t.kms.send(new EncapsulateCommand({ KeyId: symmetric.KeyId, EncapsulationAlgorithm: 'ML_KEM' })));
    assert.equal(wrongUsage.name, 'InvalidKeyUsageException');
    assert.equal(wrongUsage.message, `${symmetric.Arn} key usage is ENCRYPT_DECRYPT which is not valid for Encapsulate.`);
    const badAlgorithm = await errorOf(() => t.kms.send(new EncapsulateCommand({ KeyId: keys.get('ML_KEM_512'), EncapsulationAlgorithm: 'ECDH' as 'ML_KEM' })));
    assert.equal(badAlgorithm.name, 'ValidationException');
    const dryRun = await errorOf(() => t.kms.send(new EncapsulateCommand({ KeyId: keys.get('ML_KEM_512'), EncapsulationAlgorithm: 'ML_KEM', DryRun: true })));
    assert.equal(dryRun.name, 'DryRunOperationException');
    const mismatch = await errorOf(() => t.kms.send(new CreateKeyCommand({ KeySpec: 'ML_KEM_768', KeyUsage: 'SIGN_VERIFY' })));
    assert.equal(mismatch.name, 'ValidationException');
  });

  it('GenerateDataKeyPair(WithoutPlaintext): ML-KEM data key pairs, the private key a seed in PKCS#8 of one length for every spec', async () => {
    const kek = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const context = { purpose: 'ml-kem data key pair' };
    const lengths = new Set<number>();
    for (const [spec, kem, oid] of SPECS) {
      const pair = await t.kms.send(new GenerateDataKeyPairCommand({ KeyId: kek, KeyPairSpec: spec as DataKeyPairSpec, EncryptionContext: context }));
      assert.equal(pair.KeyPairSpec, spec);
      const privateKey = Buffer.from(pair.PrivateKeyPlaintext!);
      lengths.add(privateKey.length);
      // PrivateKeyInfo { version 0, id-alg-ml-kem-*, OCTET STRING { [0] seed (64 bytes) } }.
      const algorithm = Buffer.from([0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, oid]);
      assert.deepEqual(privateKey.subarray(0, 5 + algorithm.length), Buffer.concat([Buffer.from([0x30, 0x54, 0x02, 0x01, 0x00]), algorithm]));
      const seed = privateKey.subarray(privateKey.length - 64);
      const published = rawPublicKey(Buffer.from(pair.PublicKey!), oid, kem.lengths.publicKey!);
      assert.deepEqual(published, Buffer.from(kem.keygen(seed).publicKey));
      const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext: context }));
      assert.deepEqual(Buffer.from(opened.Plaintext!), privateKey);

      const withoutPlaintext = await t.kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: kek, KeyPairSpec: spec as DataKeyPairSpec }));
      assert.equal('PrivateKeyPlaintext' in withoutPlaintext, false);
      const sealed = await t.kms.send(new DecryptCommand({ CiphertextBlob: withoutPlaintext.PrivateKeyCiphertextBlob }));
      const sealedSeed = Buffer.from(sealed.Plaintext!).subarray(-64);
      assert.deepEqual(rawPublicKey(Buffer.from(withoutPlaintext.PublicKey!), oid, kem.lengths.publicKey!), Buffer.from(kem.keygen(sealedSeed).publicKey));
    }
    assert.deepEqual([...lengths], [86]);
  });

  it('imports ML-KEM material as its 64-byte seed in PKCS#8, and refuses anything else', async () => {
    const created = await t.kms.send(new CreateKeyCommand({ KeySpec: 'ML_KEM_768', KeyUsage: 'ENCAPSULATE_DECAPSULATE', Origin: 'EXTERNAL' }));
    const keyId = created.KeyMetadata!.KeyId!;
    const seed = randomBytes(64);
    const pkcs8 = Buffer.concat([
      Buffer.from([0x30, 0x54, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, 0x02, 0x04, 0x42, 0x80, 0x40]), seed,
    ]);
    const wrap = async (material: Buffer) => {
      const params = await t.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const wrappingKey = { key: Buffer.from(params.PublicKey!), format: 'der' as const, type: 'spki' as const, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
      return { ImportToken: params.ImportToken, EncryptedKeyMaterial: publicEncrypt(wrappingKey, material) };
    };
    const refused = await errorOf(async () => t.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ...(await wrap(seed)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })));
    assert.equal(refused.name, 'IncorrectKeyMaterialException');
    await t.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ...(await wrap(pkcs8)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    // The key pair is the one the seed makes.
    const { publicKey, secretKey } = ml_kem768.keygen(seed);
    const published = rawPublicKey(Buffer.from((await t.kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!), 0x02, ml_kem768.lengths.publicKey!);
    assert.deepEqual(published, Buffer.from(publicKey));
    const sealed = await t.kms.send(new EncapsulateCommand({ KeyId: keyId, EncapsulationAlgorithm: 'ML_KEM' }));
    assert.deepEqual(Buffer.from(ml_kem768.decapsulate(sealed.SharedSecretCiphertextBlob!, secretKey)), Buffer.from(sealed.SharedSecret!));
  });
});
