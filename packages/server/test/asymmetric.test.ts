import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, sign as nodeSign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand,
  GetPublicKeyCommand, SignCommand, VerifyCommand, type KeySpec, type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { rawRequest, startTestServer, type TestServer } from './support/server.js';
import { SIGNING_SPECS, assertError, assertOk, b64, bytesOf, digest, verifiesLocally } from './support/asymmetric.js';

/**
 * Asymmetric keys over HTTP with the official AWS SDK: every signing spec and algorithm, checked
 * against independent implementations; GetPublicKey; RSA encryption and its OAEP limits. Keys are
 * made once per spec and reused (RSA-4096 generation is slow).
 */
describe('asymmetric keys: Sign, Verify, GetPublicKey, RSA Encrypt/Decrypt', () => {
  let t: TestServer;
  const keys = new Map<string, string>();
  const message = Buffer.from('a message to sign, RAW');
  const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);

  async function createKey(KeySpec: string, KeyUsage: string): Promise<string> {
    const created = await t.kms.send(new CreateKeyCommand({ KeySpec: KeySpec as KeySpec, KeyUsage: KeyUsage as 'SIGN_VERIFY' }));
    return created.KeyMetadata!.KeyId!;
  }

  before(async () => {
    t = await startTestServer();
    await Promise.all(SIGNING_SPECS.map(async ([spec]) => keys.set(spec, await createKey(spec, 'SIGN_VERIFY'))));
    await Promise.all(['RSA_2048', 'RSA_3072', 'RSA_4096'].map(async (spec) => keys.set(`${spec}/enc`, await createKey(spec, 'ENCRYPT_DECRYPT'))));
  });
  after(() => t.dispose());

  const publicKeyOf = async (keyId: string) => Buffer.from((await t.kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!);

  for (const [spec, algorithms] of SIGNING_SPECS) {
    for (const algorithm of algorithms.filter((name) => name !== 'ED25519_PH_SHA_512')) {
      it(`${spec} ${algorithm}: a RAW signature verifies with the public key outside Coffer, and in Coffer`, async () => {
        const keyId = keys.get(spec)!;
        const signed = await t.kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: algorithm as SigningAlgorithmSpec }));
        assert.equal(signed.SigningAlgorithm, algorithm);
        const signature = Buffer.from(signed.Signature!);
        assert.ok(verifiesLocally(spec, algorithm, await publicKeyOf(keyId), message, signature));
        assert.equal(verifiesLocally(spec, algorithm, await publicKeyOf(keyId), Buffer.from('another message'), signature), false);
        const verified = await t.kms.send(new VerifyCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', Signature: signature, SigningAlgorithm: algorithm as SigningAlgorithmSpec }));
        assert.equal(verified.SignatureValid, true);
        const tampered = Buffer.from(signature);
        tampered[tampered.length >> 1]! ^= 1;
        const refused = await raw('Verify', { KeyId: keyId, Message: b64(message), Signature: b64(tampered), SigningAlgorithm: algorithm });
        assertError(refused, 'KMSInvalidSignatureException');
        assert.equal('message' in refused.body, false, 'AWS sends no message');
      });

      if (algorithm !== 'ML_DSA_SHAKE_256' && algorithm !== 'ED25519_SHA_512') { // Ed25519ph: its own test below
        it(`${spec} ${algorithm}: a DIGEST signature verifies over the message outside Coffer, and both ways in Coffer`, async () => {
          const keyId = keys.get(spec)!;
          const hashed = digest(algorithm, message);
          const signed = assertOk(await raw('Sign', { KeyId: keyId, Message: b64(hashed), MessageType: 'DIGEST', SigningAlgorithm: algorithm }));
          const signature = bytesOf(signed.Signature);
          assert.ok(verifiesLocally(spec, algorithm, await publicKeyOf(keyId), message, signature));
          // A DIGEST signature is a signature of the message: RAW verification accepts it too.
          assertOk(await raw('Verify', { KeyId: keyId, Message: b64(message), MessageType: 'RAW', Signature: signed.Signature, SigningAlgorithm: algorithm }));
          const rawSigned = assertOk(await raw('Sign', { KeyId: keyId, Message: b64(message), SigningAlgorithm: algorithm }));
          const verified = assertOk(await raw('Verify', { KeyId: keyId, Message: b64(hashed), MessageType: 'DIGEST', Signature: rawSigned.Signature, SigningAlgorithm: algorithm }));
          assert.equal(verified.SignatureValid, true);
          assertError(await raw('Verify', { KeyId: keyId, Message: b64(digest(algorithm, Buffer.from('x'))), MessageType: 'DIGEST', Signature: rawSigned.Signature, SigningAlgorithm: algorithm }), 'KMSInvalidSignatureException');
        });
      }
    }
  }

  it('ED25519_PH_SHA_512 takes a 64-byte DIGEST only, and pre-hashes it again as Ed25519ph (as AWS documents)', async () => {
    const keyId = keys.get('ECC_NIST_EDWARDS25519')!;
    const hashed = digest('ED25519_PH_SHA_512', message);
    const signed = assertOk(await raw('Sign', { KeyId: keyId, Message: b64(hashed), MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_PH_SHA_512' }));
    const signature = bytesOf(signed.Signature);
    const publicKey = (await publicKeyOf(keyId)).subarray(-32);
    // The digest is Ed25519ph's message: noble's ed25519ph hashes it with SHA-512 once more.
    assert.ok(ed25519ph.verify(signature, hashed, publicKey));
    assert.equal(ed25519ph.verify(signature, message, publicKey), false);
    const verified = assertOk(await raw('Verify', { KeyId: keyId, Message: b64(hashed), MessageType: 'DIGEST', Signature: signed.Signature, SigningAlgorithm: 'ED25519_PH_SHA_512' }));
    assert.equal(verified.SignatureValid, true);
    const foreign = ed25519ph.sign(hashed, randomBytes(32));
    assertError(await raw('Verify', { KeyId: keyId, Message: b64(hashed), MessageType: 'DIGEST', Signature: b64(foreign), SigningAlgorithm: 'ED25519_PH_SHA_512' }), 'KMSInvalidSignatureException');
    for (const messageType of ['RAW', undefined]) {
      for (const operation of ['Sign', 'Verify']) {
        assertError(await raw(operation, { KeyId: keyId, Message: b64(message), MessageType: messageType, Signature: operation === 'Verify' ? signed.Signature : undefined, SigningAlgorithm: 'ED25519_PH_SHA_512' }),
          'ValidationException', 'MessageType RAW is not valid for algorithm ED25519_PH_SHA_512.');
      }
    }
  });

  it('a secp256k1 signature over a 32-byte digest verifies with @noble/curves after DER -> compact, as blockchain signers do', async () => {
    const keyId = keys.get('ECC_SECG_P256K1')!;
    const hashed = digest('ECDSA_SHA_256', Buffer.from('a transaction'));
    const signed = assertOk(await raw('Sign', { KeyId: keyId, Message: b64(hashed), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
    const spki = await publicKeyOf(keyId);
    const jwk = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    const compact = secp256k1.Signature.fromBytes(bytesOf(signed.Signature), 'der').toBytes('compact');
    assert.equal(compact.length, 64);
    assert.ok(secp256k1.verify(compact, hashed, point, { prehash: false, lowS: false }));
    const other = digest('ECDSA_SHA_256', Buffer.from('another transaction'));
    assert.equal(secp256k1.verify(compact, other, point, { prehash: false, lowS: false }), false);
    // Coffer signs a digest with noble and a RAW message with node:crypto: each is checked by the other.
    assert.ok(verifiesLocally('ECC_SECG_P256K1', 'ECDSA_SHA_256', spki, Buffer.from('a transaction'), bytesOf(signed.Signature)));
    const rawSigned = assertOk(await raw('Sign', { KeyId: keyId, Message: b64(Buffer.from('a transaction')), SigningAlgorithm: 'ECDSA_SHA_256' }));
    const rawCompact = secp256k1.Signature.fromBytes(bytesOf(rawSigned.Signature), 'der').toBytes('compact');
    assert.ok(secp256k1.verify(rawCompact, hashed, point, { prehash: false, lowS: false }));
  });

  it('a signature by another P-256 key does not verify under the KMS key', async () => {
    const local = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const foreign = nodeSign('sha256', message, { key: local.privateKey, dsaEncoding: 'der' });
    assertError(await raw('Verify', { KeyId: keys.get('ECC_NIST_P256'), Message: b64(message), Signature: b64(foreign), SigningAlgorithm: 'ECDSA_SHA_256' }), 'KMSInvalidSignatureException');
  });

  describe('message limits', () => {
    it('RAW: 4096 bytes are signed; 4097 are a ValidationException', async () => {
      const keyId = keys.get('ECC_NIST_P256')!;
      assertOk(await raw('Sign', { KeyId: keyId, Message: b64(randomBytes(4096)), SigningAlgorithm: 'ECDSA_SHA_256' }));
      assertError(await raw('Sign', { KeyId: keyId, Message: b64(randomBytes(4097)), SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException',
        "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096");
    });

    it('an empty message is a ValidationException', async () => {
      assertError(await raw('Sign', { KeyId: keys.get('ECC_NIST_P256'), Message: '', SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException');
    });

    for (const [algorithm, length] of [['ECDSA_SHA_256', 32], ['RSASSA_PSS_SHA_384', 48], ['RSASSA_PKCS1_V1_5_SHA_512', 64]] as const) {
      it(`DIGEST for ${algorithm}: exactly ${length} bytes; ${length - 1} and ${length + 1} are refused`, async () => {
        const keyId = keys.get(algorithm.startsWith('ECDSA') ? 'ECC_NIST_P256' : 'RSA_2048')!;
        assertOk(await raw('Sign', { KeyId: keyId, Message: b64(randomBytes(length)), MessageType: 'DIGEST', SigningAlgorithm: algorithm }));
        for (const wrong of [length - 1, length + 1]) {
          assertError(await raw('Sign', { KeyId: keyId, Message: b64(randomBytes(wrong)), MessageType: 'DIGEST', SigningAlgorithm: algorithm }),
            'ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
          assertError(await raw('Verify', { KeyId: keyId, Message: b64(randomBytes(wrong)), MessageType: 'DIGEST', Signature: b64(randomBytes(64)), SigningAlgorithm: algorithm }),
            'ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
        }
      });
    }

    it('Ed25519 and ML-DSA sign RAW messages only (and ML-DSA its external mu)', async () => {
      assertError(await raw('Sign', { KeyId: keys.get('ECC_NIST_EDWARDS25519'), Message: b64(randomBytes(64)), MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_SHA_512' }), 'ValidationException');
      assertError(await raw('Sign', { KeyId: keys.get('ML_DSA_44'), Message: b64(randomBytes(64)), MessageType: 'DIGEST', SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'ValidationException');
      assertError(await raw('Sign', { KeyId: keys.get('ECC_NIST_P256'), Message: b64(randomBytes(64)), MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException',
        'MessageType EXTERNAL_MU is not valid for algorithm ECDSA_SHA_256.');
      assertError(await raw('Sign', { KeyId: keys.get('ML_DSA_44'), Message: b64(randomBytes(32)), MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'ValidationException',
        'Message of MessageType EXTERNAL_MU must be 64 bytes for algorithm ML_DSA_SHAKE_256.');
    });

    it('ML-DSA signs an external mu (FIPS 204) as the signature of the message it was made from', async () => {
      const keyId = keys.get('ML_DSA_65')!;
      const publicKey = (await publicKeyOf(keyId)).subarray(-ml_dsa65.lengths.publicKey!);
      // mu = SHAKE256(SHAKE256(pk, 64) || 0 || 0 || M, 64): pure ML-DSA with an empty context.
      const tr = createHash('shake256', { outputLength: 64 }).update(publicKey).digest();
      const mu = createHash('shake256', { outputLength: 64 }).update(tr).update(Buffer.from([0, 0])).update(message).digest();
      const signed = await t.kms.send(new SignCommand({ KeyId: keyId, Message: mu, MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ML_DSA_SHAKE_256' }));
      const signature = Buffer.from(signed.Signature!);
      assert.ok(ml_dsa65.verify(signature, message, publicKey), 'a signature of the message, outside Coffer');
      for (const [Message, MessageType] of [[message, 'RAW'], [mu, 'EXTERNAL_MU']] as const) {
        const verified = await t.kms.send(new VerifyCommand({ KeyId: keyId, Message, MessageType, Signature: signature, SigningAlgorithm: 'ML_DSA_SHAKE_256' }));
        assert.equal(verified.SignatureValid, true, MessageType);
      }
      const other = Buffer.from(mu);
      other[0]! ^= 1;
      assertError(await raw('Verify', { KeyId: keyId, Message: b64(other), MessageType: 'EXTERNAL_MU', Signature: b64(signature), SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'KMSInvalidSignatureException');
    });

    it('a signature over 6144 bytes is a ValidationException; a missing SigningAlgorithm too', async () => {
      assertError(await raw('Verify', { KeyId: keys.get('ECC_NIST_P256'), Message: b64(message), Signature: b64(randomBytes(6145)), SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException');
      assertError(await raw('Verify', { KeyId: keys.get('ECC_NIST_P256'), Message: b64(message), Signature: b64(randomBytes(6144)), SigningAlgorithm: 'ECDSA_SHA_256' }), 'KMSInvalidSignatureException');
      assertError(await raw('Sign', { KeyId: keys.get('ECC_NIST_P256'), Message: b64(message) }), 'ValidationException');
    });
  });

  describe('usages, algorithms and states', () => {
    it('an algorithm the key spec does not offer is InvalidKeyUsageException', async () => {
      const keyId = keys.get('ECC_NIST_P256')!;
      assertError(await raw('Sign', { KeyId: keyId, Message: b64(message), SigningAlgorithm: 'ECDSA_SHA_384' }), 'InvalidKeyUsageException',
        'Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.');
      assertError(await raw('Sign', { KeyId: keys.get('RSA_2048'), Message: b64(message), SigningAlgorithm: 'ECDSA_SHA_256' }), 'InvalidKeyUsageException');
    });

    it('Sign with an ENCRYPT_DECRYPT key or a symmetric key is InvalidKeyUsageException', async () => {
      const encKey = keys.get('RSA_2048/enc')!;
      const arn = `arn:aws:kms:us-east-1:${t.server.config.accountId}:key/${encKey}`;
      assertError(await raw('Sign', { KeyId: encKey, Message: b64(message), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }), 'InvalidKeyUsageException',
        `${arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`);
      const symmetric = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      assertError(await raw('Sign', { KeyId: symmetric, Message: b64(message), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }), 'InvalidKeyUsageException');
      assertError(await raw('GetPublicKey', { KeyId: symmetric }), 'UnsupportedOperationException');
    });

    it('a disabled key neither signs nor gives its public key; enabled again, it does', async () => {
      const keyId = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      await t.kms.send(new DisableKeyCommand({ KeyId: keyId }));
      assertError(await raw('Sign', { KeyId: keyId, Message: b64(message), SigningAlgorithm: 'ECDSA_SHA_256' }), 'DisabledException');
      assertError(await raw('GetPublicKey', { KeyId: keyId }), 'DisabledException');
      await t.kms.send(new EnableKeyCommand({ KeyId: keyId }));
      assertOk(await raw('Sign', { KeyId: keyId, Message: b64(message), SigningAlgorithm: 'ECDSA_SHA_256' }));
    });

    it('condition keys: a key policy can deny DIGEST signing (kms:MessageType) and one algorithm (kms:SigningAlgorithm)', async () => {
      const root = `arn:aws:iam::${t.server.config.accountId}:root`;
      const Policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Deny', Principal: { AWS: root }, Action: 'kms:Sign', Resource: '*', Condition: { StringEquals: { 'kms:MessageType': 'DIGEST' } } },
          { Effect: 'Deny', Principal: { AWS: root }, Action: 'kms:Verify', Resource: '*', Condition: { StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PSS_SHA_512' } } },
        ],
      });
      const keyId = assertOk(await raw('CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Policy })).KeyMetadata as Record<string, string>;
      const signed = assertOk(await raw('Sign', { KeyId: keyId.KeyId, Message: b64(message), SigningAlgorithm: 'RSASSA_PSS_SHA_512' }));
      assertError(await raw('Sign', { KeyId: keyId.KeyId, Message: b64(digest('RSASSA_PSS_SHA_512', message)), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_512' }), 'AccessDeniedException');
      assertError(await raw('Verify', { KeyId: keyId.KeyId, Message: b64(message), Signature: signed.Signature, SigningAlgorithm: 'RSASSA_PSS_SHA_512' }), 'AccessDeniedException');
      const other = assertOk(await raw('Sign', { KeyId: keyId.KeyId, Message: b64(message), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }));
      assertOk(await raw('Verify', { KeyId: keyId.KeyId, Message: b64(message), Signature: other.Signature, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }));
    });

    it('ListKeyRotations: IncludeKeyMaterial only for keys that rotate (UnsupportedOperationException)', async () => {
      assertError(await raw('ListKeyRotations', { KeyId: keys.get('ECC_NIST_P256'), IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }), 'UnsupportedOperationException');
      assert.deepEqual(assertOk(await raw('ListKeyRotations', { KeyId: keys.get('ECC_NIST_P256') })).Rotations, []);
    });

    it('DryRun: the signature is not returned', async () => {
      assertError(await raw('Sign', { KeyId: keys.get('ECC_NIST_P256'), Message: b64(message), SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true }), 'DryRunOperationException');
    });

    it('automatic and on-demand rotation are refused for asymmetric keys', async () => {
      assertError(await raw('EnableKeyRotation', { KeyId: keys.get('ECC_NIST_P256') }), 'UnsupportedOperationException');
      assertError(await raw('RotateKeyOnDemand', { KeyId: keys.get('ECC_NIST_P256') }), 'UnsupportedOperationException');
    });
  });

  describe('CreateKey, DescribeKey and GetPublicKey', () => {
    it('DescribeKey lists the signing algorithms, no EncryptionAlgorithms and no CurrentKeyMaterialId', async () => {
      const { KeyMetadata } = await t.kms.send(new DescribeKeyCommand({ KeyId: keys.get('RSA_2048') }));
      assert.deepEqual(KeyMetadata!.SigningAlgorithms, SIGNING_SPECS[0]![1].slice(3).concat(SIGNING_SPECS[0]![1].slice(0, 3)));
      assert.equal(KeyMetadata!.EncryptionAlgorithms, undefined);
      assert.equal(KeyMetadata!.CurrentKeyMaterialId, undefined);
      const enc = await t.kms.send(new DescribeKeyCommand({ KeyId: keys.get('RSA_2048/enc') }));
      assert.deepEqual(enc.KeyMetadata!.EncryptionAlgorithms, ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
      const ec = await t.kms.send(new DescribeKeyCommand({ KeyId: keys.get('ECC_NIST_P521') }));
      assert.deepEqual(ec.KeyMetadata!.SigningAlgorithms, ['ECDSA_SHA_512']);
    });

    it('GetPublicKey: DER SPKI of the key type and size, with the key\'s usage and algorithms', async () => {
      for (const [spec, type, detail] of [['RSA_3072', 'rsa', 3072], ['ECC_NIST_P384', 'ec', 'secp384r1'], ['ECC_NIST_EDWARDS25519', 'ed25519', undefined]] as const) {
        const answer = await t.kms.send(new GetPublicKeyCommand({ KeyId: keys.get(spec) }));
        const key = createPublicKey({ key: Buffer.from(answer.PublicKey!), format: 'der', type: 'spki' });
        assert.equal(key.asymmetricKeyType, type);
        if (type === 'rsa') assert.equal(key.asymmetricKeyDetails!.modulusLength, detail);
        if (type === 'ec') assert.equal(key.asymmetricKeyDetails!.namedCurve, detail);
        assert.equal(answer.KeySpec, spec);
        assert.equal(answer.KeyUsage, 'SIGN_VERIFY');
        assert.ok(answer.SigningAlgorithms!.length > 0);
        assert.equal(answer.EncryptionAlgorithms, undefined);
      }
      const ml = await t.kms.send(new GetPublicKeyCommand({ KeyId: keys.get('ML_DSA_65') }));
      assert.equal(ml.PublicKey!.length, 1952 + 22);
      assert.deepEqual(ml.SigningAlgorithms, ['ML_DSA_SHAKE_256']);
    });

    for (const [spec, usage] of [['RSA_2048', 'GENERATE_VERIFY_MAC'], ['ECC_SECG_P256K1', 'KEY_AGREEMENT'], ['HMAC_256', 'SIGN_VERIFY'], ['ECC_NIST_EDWARDS25519', 'ENCRYPT_DECRYPT'], ['ML_DSA_44', 'KEY_AGREEMENT'], ['SYMMETRIC_DEFAULT', 'SIGN_VERIFY']] as const) {
      it(`CreateKey refuses ${spec} with ${usage}`, async () => {
        assertError(await raw('CreateKey', { KeySpec: spec, KeyUsage: usage }), 'ValidationException', `KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
      });
    }

    it('CreateKey needs a KeyUsage for an asymmetric spec; SM2 is not supported', async () => {
      assertError(await raw('CreateKey', { KeySpec: 'RSA_2048' }), 'ValidationException');
      assertError(await raw('CreateKey', { KeySpec: 'SM2', KeyUsage: 'SIGN_VERIFY' }), 'UnsupportedOperationException');
    });
  });

  describe('RSA encryption (RSAES-OAEP)', () => {
    const LIMITS = [
      ['RSA_2048', 'RSAES_OAEP_SHA_1', 214], ['RSA_2048', 'RSAES_OAEP_SHA_256', 190],
      ['RSA_3072', 'RSAES_OAEP_SHA_1', 342], ['RSA_3072', 'RSAES_OAEP_SHA_256', 318],
      ['RSA_4096', 'RSAES_OAEP_SHA_1', 470], ['RSA_4096', 'RSAES_OAEP_SHA_256', 446],
    ] as const;

    for (const [spec, algorithm, max] of LIMITS) {
      it(`${spec} ${algorithm}: ${max} bytes encrypt and decrypt (in Coffer and outside); ${max + 1} are refused`, async () => {
        const keyId = keys.get(`${spec}/enc`)!;
        const plaintext = randomBytes(max);
        const encrypted = await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionAlgorithm: algorithm }));
        assert.equal(encrypted.CiphertextBlob!.length, Number(spec.slice(4)) / 8, 'the raw RSA ciphertext');
        assert.equal(encrypted.EncryptionAlgorithm, algorithm);
        const decrypted = await t.kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: encrypted.CiphertextBlob, EncryptionAlgorithm: algorithm }));
        assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext);
        assert.equal(decrypted.EncryptionAlgorithm, algorithm);
        assertError(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(randomBytes(max + 1)), EncryptionAlgorithm: algorithm }), 'ValidationException',
          `Algorithm ${algorithm} and key spec ${spec} cannot encrypt data larger than ${max} bytes.`);
      });
    }

    it('ciphertexts made outside with the public key decrypt in Coffer, for both algorithms', async () => {
      for (const [algorithm, oaepHash] of [['RSAES_OAEP_SHA_1', 'sha1'], ['RSAES_OAEP_SHA_256', 'sha256']] as const) {
        const keyId = keys.get('RSA_2048/enc')!;
        const key = createPublicKey({ key: await publicKeyOf(keyId), format: 'der', type: 'spki' });
        const plaintext = randomBytes(100);
        const ciphertext = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, plaintext);
        const decrypted = assertOk(await raw('Decrypt', { KeyId: keyId, CiphertextBlob: b64(ciphertext), EncryptionAlgorithm: algorithm }));
        assert.deepEqual(bytesOf(decrypted.Plaintext), plaintext);
        // The other OAEP hash does not open it, and says nothing more.
        const other = algorithm === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
        const refused = await raw('Decrypt', { KeyId: keyId, CiphertextBlob: b64(ciphertext), EncryptionAlgorithm: other });
        assertError(refused, 'InvalidCiphertextException');
        assert.equal('message' in refused.body, false);
      }
    });

    it('Decrypt of an RSA ciphertext needs the KeyId; Encrypt needs an RSA algorithm and no encryption context', async () => {
      const keyId = keys.get('RSA_2048/enc')!;
      const encrypted = assertOk(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(message), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
      // Without the KeyId the raw RSA ciphertext names no key: it cannot be decrypted.
      assertError(await raw('Decrypt', { CiphertextBlob: encrypted.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'InvalidCiphertextException');
      assertOk(await raw('Decrypt', { KeyId: keyId, CiphertextBlob: encrypted.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
      assertError(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(message) }), 'InvalidKeyUsageException',
        'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.');
      assertError(await raw('Encrypt', { KeyId: keyId, Plaintext: b64(message), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { a: 'b' } }), 'ValidationException');
      const symmetric = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      assertError(await raw('Encrypt', { KeyId: symmetric, Plaintext: b64(message), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'InvalidKeyUsageException');
      assertError(await raw('Decrypt', { KeyId: symmetric, CiphertextBlob: encrypted.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'InvalidKeyUsageException');
    });

    it('ReEncrypt moves a ciphertext between symmetric and RSA keys both ways, echoing each side\'s algorithm', async () => {
      const rsa2048 = keys.get('RSA_2048/enc')!;
      const rsa3072 = keys.get('RSA_3072/enc')!;
      const symmetric = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const sealed = assertOk(await raw('Encrypt', { KeyId: symmetric, Plaintext: b64(message), EncryptionContext: { a: 'b' } }));

      const toRsa = assertOk(await raw('ReEncrypt', {
        CiphertextBlob: sealed.CiphertextBlob, SourceEncryptionContext: { a: 'b' }, DestinationKeyId: rsa2048, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      }));
      assert.equal(toRsa.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      assert.equal(toRsa.DestinationEncryptionAlgorithm, 'RSAES_OAEP_SHA_256');
      assert.equal(typeof toRsa.SourceKeyMaterialId, 'string');
      assert.equal('DestinationKeyMaterialId' in toRsa, false);
      // Raw RSAES-OAEP, as Encrypt with the RSA key makes it: the modulus long, opened by Decrypt.
      assert.equal(bytesOf(toRsa.CiphertextBlob).length, 256);
      const opened = assertOk(await raw('Decrypt', { KeyId: rsa2048, CiphertextBlob: toRsa.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
      assert.deepEqual(bytesOf(opened.Plaintext), message);

      const rsaToRsa = assertOk(await raw('ReEncrypt', {
        CiphertextBlob: toRsa.CiphertextBlob, SourceKeyId: rsa2048, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        DestinationKeyId: rsa3072, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
      }));
      assert.equal(rsaToRsa.SourceEncryptionAlgorithm, 'RSAES_OAEP_SHA_256');
      assert.equal(rsaToRsa.DestinationEncryptionAlgorithm, 'RSAES_OAEP_SHA_1');
      assert.equal(bytesOf(rsaToRsa.CiphertextBlob).length, 384);

      const back = assertOk(await raw('ReEncrypt', {
        CiphertextBlob: rsaToRsa.CiphertextBlob, SourceKeyId: rsa3072, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
        DestinationKeyId: symmetric, DestinationEncryptionContext: { c: 'd' },
      }));
      assert.equal(back.SourceEncryptionAlgorithm, 'RSAES_OAEP_SHA_1');
      assert.equal(back.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      assert.equal('SourceKeyMaterialId' in back, false);
      const plain = assertOk(await raw('Decrypt', { CiphertextBlob: back.CiphertextBlob, EncryptionContext: { c: 'd' } }));
      assert.deepEqual(bytesOf(plain.Plaintext), message);
    });

    it('ReEncrypt to an RSA key needs its algorithm and takes no context; from one, the algorithm that made it', async () => {
      const rsa = keys.get('RSA_2048/enc')!;
      const symmetric = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const sealed = assertOk(await raw('Encrypt', { KeyId: symmetric, Plaintext: b64(message) }));
      assertError(await raw('ReEncrypt', { CiphertextBlob: sealed.CiphertextBlob, DestinationKeyId: rsa }), 'InvalidKeyUsageException',
        'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.');
      assertError(await raw('ReEncrypt', {
        CiphertextBlob: sealed.CiphertextBlob, DestinationKeyId: rsa, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationEncryptionContext: { a: 'b' },
      }), 'ValidationException', 'EncryptionContext is not supported with asymmetric KMS keys.');
      assertError(await raw('ReEncrypt', { CiphertextBlob: sealed.CiphertextBlob, DestinationKeyId: symmetric, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }),
        'InvalidKeyUsageException', 'Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT.');
      const rsaSealed = assertOk(await raw('Encrypt', { KeyId: rsa, Plaintext: b64(message), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }));
      const wrongHash = await raw('ReEncrypt', {
        CiphertextBlob: rsaSealed.CiphertextBlob, SourceKeyId: rsa, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: symmetric,
      });
      assertError(wrongHash, 'InvalidCiphertextException');
      assert.equal('message' in wrongHash.body, false);
      // The destination's OAEP limit holds as it does for Encrypt: RSA_2048 with SHA-256 takes 190 bytes.
      for (const [length, ok] of [[190, true], [191, false]] as const) {
        const long = assertOk(await raw('Encrypt', { KeyId: symmetric, Plaintext: b64(randomBytes(length)) }));
        const moved = await raw('ReEncrypt', { CiphertextBlob: long.CiphertextBlob, DestinationKeyId: rsa, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
        if (ok) assertOk(moved);
        else assertError(moved, 'ValidationException', 'Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.');
      }
    });

    it('a symmetric blob altered to name an RSA or HMAC key is answered as one naming a key that does not exist: nothing of that key is told', async () => {
      const rsa = keys.get('RSA_2048/enc')!;
      const symmetric = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const blob = bytesOf(assertOk(await raw('Encrypt', { KeyId: symmetric, Plaintext: b64(message) })).CiphertextBlob);
      // The blob carries its key id as text (docs/ciphertext-blob.md): put the RSA key's in its place.
      const forged = Buffer.from(blob.toString('latin1').replace(symmetric, rsa), 'latin1');
      assert.notDeepEqual(forged, blob);
      const hmac = (await t.kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
      const toHmac = Buffer.from(blob.toString('latin1').replace(symmetric, hmac), 'latin1');
      const nowhere = Buffer.from(blob.toString('latin1').replace(symmetric, '00000000-0000-4000-8000-000000000000'), 'latin1');
      for (const operation of ['Decrypt', 'ReEncrypt'] as const) {
        const answerTo = (altered: Buffer) => raw(operation, operation === 'Decrypt'
          ? { CiphertextBlob: b64(altered) } : { CiphertextBlob: b64(altered), DestinationKeyId: symmetric });
        const missing = await answerTo(nowhere);
        assertError(missing, 'AccessDeniedException', 'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.');
        for (const altered of [forged, toHmac]) assert.deepEqual((await answerTo(altered)).body, missing.body, operation);
      }
    });

    it('GenerateDataKey and GenerateDataKeyPair, with or without plaintext, refuse an RSA key: only a symmetric key wraps data keys', async () => {
      const rsa = keys.get('RSA_2048/enc')!;
      const arn = (await t.kms.send(new DescribeKeyCommand({ KeyId: rsa }))).KeyMetadata!.Arn!;
      for (const [operation, input] of [
        ['GenerateDataKey', { KeySpec: 'AES_256' }], ['GenerateDataKeyWithoutPlaintext', { NumberOfBytes: 32 }],
        ['GenerateDataKeyPair', { KeyPairSpec: 'ECC_NIST_P256' }], ['GenerateDataKeyPairWithoutPlaintext', { KeyPairSpec: 'RSA_2048' }],
      ] as const) {
        assertError(await raw(operation, { KeyId: rsa, ...input }), 'InvalidKeyUsageException', `${arn} key KeySpec is RSA_2048 which is not valid for ${operation}.`);
      }
    });
  });
});
