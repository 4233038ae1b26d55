/**
 * Interoperability with the official AWS Encryption SDK for JavaScript (@aws-crypto/client-node):
 * messages we write decrypt there, and messages it writes decrypt here, for raw AES and raw RSA
 * keyrings across every suite.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as official from '@aws-crypto/client-node';
import {
  ALGORITHM_SUITES,
  AlgorithmSuiteId,
  CommitmentPolicy,
  decrypt,
  encrypt,
  RsaPadding,
  type AlgorithmSuite,
  type Keyring,
} from '../src/index.js';
import { AES_KEYS, aesKeyring, hex, policyFor, rsaKeyPair, rsaKeyring } from './helpers/fixtures.js';
import { fromDescription, type KeyDescription, type Keys } from './helpers/keyrings.js';
import { VECTORS_DIR } from './helpers/paths.js';

const officialForbid = official.buildClient(official.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
const officialRequire = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const officialClient = (s: AlgorithmSuite) => (s.commitment ? officialRequire : officialForbid);

// Mixed case and characters whose UTF-8 and UTF-16 orders differ; the official raw AES
// keyring needs utf8Sorting to follow the specification's byte order.
const CONTEXT = { b: '1', A: '2', 'é': '3', '\u{10000}': '4', '\ue000': '5' };

const WRAPPING_SUITE = {
  16: official.RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  24: official.RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  32: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
} as const;

function officialAes(bytes: 16 | 24 | 32, keyName = `aes-${bytes * 8}`, keyNamespace = 'coffer-test') {
  return new official.RawAesKeyringNode({ keyNamespace, keyName, unencryptedMasterKey: new Uint8Array(AES_KEYS[bytes]), wrappingSuite: WRAPPING_SUITE[bytes], utf8Sorting: true });
}

const OAEP_HASH = { 'oaep-sha1': 'sha1', 'oaep-sha256': 'sha256', 'oaep-sha384': 'sha384', 'oaep-sha512': 'sha512' } as const;

function officialRsa(padding: RsaPadding) {
  const { publicKey, privateKey } = rsaKeyPair();
  const rsaKey = {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const common = { keyNamespace: 'coffer-test-rsa', keyName: `rsa-${padding}`, rsaKey };
  return padding === RsaPadding.PKCS1
    ? new official.RawRsaKeyringNode({ ...common, padding: constants.RSA_PKCS1_PADDING })
    : new official.RawRsaKeyringNode({ ...common, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[padding] });
}

/** Decrypts with the official SDK in a child process that may use PKCS#1 v1.5 (see the helper). */
function officialPkcs1Decrypt(messages: readonly Buffer[]): Buffer[] {
  const helper = fileURLToPath(new URL('./helpers/official-pkcs1-decrypt.js', import.meta.url));
  const input = JSON.stringify({
    privateKey: rsaKeyPair().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    keyNamespace: 'coffer-test-rsa',
    keyName: `rsa-${RsaPadding.PKCS1}`,
    messages: messages.map((m) => m.toString('base64')),
  });
  const out = execFileSync(process.execPath, ['--security-revert=CVE-2023-46809', helper], { input, stdio: ['pipe', 'pipe', 'ignore'] });
  // Node prints its security-revert warning on stdout first; the JSON is the last line.
  const lastLine = out.toString('utf8').trim().split('\n').at(-1)!;
  return (JSON.parse(lastLine) as string[]).map((s) => Buffer.from(s, 'base64'));
}

async function ourRoundTripThroughOfficial(suite: AlgorithmSuite, ours: Keyring, theirs: official.KeyringNode, frameLength: number) {
  const policy = policyFor(suite);
  const plaintext = randomBytes(3000);
  // Ours -> official.
  const { ciphertext } = await encrypt(ours, plaintext, { suiteId: suite.id, frameLength, encryptionContext: CONTEXT, commitmentPolicy: policy });
  const theirOut = await officialClient(suite).decrypt(theirs, ciphertext);
  assert.ok(theirOut.plaintext.equals(plaintext), 'official SDK decrypted our message to different bytes');
  for (const [k, v] of Object.entries(CONTEXT)) assert.equal(theirOut.messageHeader.encryptionContext[k], v);
  // Official -> ours.
  const { result } = await officialClient(suite).encrypt(theirs, plaintext, { suiteId: suite.id as number, frameLength, encryptionContext: CONTEXT });
  const ourOut = await decrypt(ours, result, { commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT, encryptionContext: CONTEXT });
  assert.ok(ourOut.plaintext.equals(plaintext), 'we decrypted the official message to different bytes');
  assert.equal(ourOut.messageHeader.suiteId, suite.id);
}

describe('interop with @aws-crypto/client-node: raw AES', () => {
  for (const suite of ALGORITHM_SUITES) {
    test(`suite ${hex(suite.id)} both directions, AES-256 wrapping, 1000-byte frames`, () =>
      ourRoundTripThroughOfficial(suite, aesKeyring(32), officialAes(32), 1000));
  }
  for (const bytes of [16, 24] as const) {
    test(`AES-${bytes * 8} wrapping both directions (suites 0578 and 0114)`, async () => {
      for (const id of [AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, AlgorithmSuiteId.AES_128_GCM_IV12_TAG16_HKDF_SHA256]) {
        await ourRoundTripThroughOfficial(ALGORITHM_SUITES.find((s) => s.id === id)!, aesKeyring(bytes), officialAes(bytes), 4096);
      }
    });
  }
  test('decrypts what the official raw AES keyring writes as built by default (its locale order of context keys)', async () => {
    // Without utf8Sorting the official keyring wraps the data key over the context in
    // String.prototype.localeCompare order: here 'A' before 'b' and 'é' before '\ue000'.
    const theirs = new official.RawAesKeyringNode({
      keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]), wrappingSuite: WRAPPING_SUITE[32],
    });
    for (const suite of [AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, AlgorithmSuiteId.AES_256_GCM_IV12_TAG16_HKDF_SHA256]) {
      const plaintext = randomBytes(700);
      const { result } = await officialClient(ALGORITHM_SUITES.find((s) => s.id === suite)!).encrypt(theirs, plaintext, { suiteId: suite as number, encryptionContext: CONTEXT });
      // The official keyring as built by default fails on the specification's order: the two orders differ here.
      await assert.rejects(officialRequire.decrypt(officialAes(32), result));
      const ours = await decrypt(aesKeyring(32), result, { commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT, encryptionContext: CONTEXT });
      assert.ok(ours.plaintext.equals(plaintext));
    }
    // The other order is read, never a way around the context: a changed value still fails.
    const { result } = await officialRequire.encrypt(theirs, randomBytes(10), { encryptionContext: CONTEXT });
    const tampered = Buffer.from(result);
    const at = tampered.indexOf(Buffer.from('\u{10000}', 'utf8')) + 4 + 2;
    tampered[at] = '5'.charCodeAt(0);
    await assert.rejects(decrypt(aesKeyring(32), tampered), (e: Error) => e.name === 'NoDecryptionKeyError' || e.name === 'AuthenticationError');
  });

  test('hostile encryption context keys both directions: __proto__ and Object.prototype names, an empty key, NUL, astral characters, 30,000-byte pairs', async () => {
    const contexts: Array<Record<string, string>> = [
      JSON.parse('{"__proto__": "p", "a": "b"}'),
      { constructor: 'c', toString: 't', hasOwnProperty: 'h', valueOf: '' },
      { '': '', 'a\u0000b': '\u0000', '\u{1F600}': '\u{10FFFF}' },
      { ['k'.repeat(30_000)]: 'v'.repeat(30_000) },
    ];
    for (const encryptionContext of contexts) {
      const keys = Object.keys(encryptionContext).sort();
      const plaintext = randomBytes(100);
      const { ciphertext } = await encrypt(aesKeyring(), plaintext, { encryptionContext });
      const there = await officialRequire.decrypt(officialAes(32), ciphertext);
      assert.ok(there.plaintext.equals(plaintext));
      for (const k of keys) assert.ok(Object.hasOwn(there.messageHeader.encryptionContext, k) && there.messageHeader.encryptionContext[k] === encryptionContext[k], `official reads ${JSON.stringify(k.slice(0, 20))}`);
      const { result } = await officialRequire.encrypt(officialAes(32), plaintext, { encryptionContext });
      const here = await decrypt(aesKeyring(), result, { encryptionContext });
      assert.ok(here.plaintext.equals(plaintext));
      for (const k of keys) assert.ok(Object.hasOwn(here.messageHeader.encryptionContext, k) && here.messageHeader.encryptionContext[k] === encryptionContext[k], `we read ${JSON.stringify(k.slice(0, 20))}`);
      // A stored pair expected with another value still fails, whatever its key's name.
      const changed = Object.fromEntries(Object.entries(encryptionContext).map(([k, v]) => [k, `${v}!`]));
      await assert.rejects(decrypt(aesKeyring(), result, { encryptionContext: changed }), (e: Error) => e.name === 'PolicyViolationError');
    }
    // What has no serialization is refused before anything is written: a lone surrogate (no UTF-8
    // form; the official SDK writes U+FFFD instead, which we then read as U+FFFD), and a context
    // longer than its 2-byte length field.
    await assert.rejects(encrypt(aesKeyring(), randomBytes(10), { encryptionContext: { '\ud800': 'x' } }), TypeError);
    await assert.rejects(encrypt(aesKeyring(), randomBytes(10), { encryptionContext: { ['k'.repeat(40_000)]: 'v'.repeat(30_000) } }), RangeError);
    const { result } = await officialRequire.encrypt(officialAes(32), randomBytes(10), { encryptionContext: { '\ud800': 'x' } });
    assert.equal((await decrypt(aesKeyring(), result, { encryptionContext: { '\ufffd': 'x' } })).messageHeader.encryptionContext['\ufffd'], 'x');
  });

  test('empty plaintext and exact-multiple plaintext both directions', async () => {
    for (const length of [0, 2048]) {
      const plaintext = randomBytes(length);
      const { ciphertext } = await encrypt(aesKeyring(), plaintext, { frameLength: 512 });
      assert.ok((await officialRequire.decrypt(officialAes(32), ciphertext)).plaintext.equals(plaintext));
      const { result } = await officialRequire.encrypt(officialAes(32), plaintext, { frameLength: 512 });
      assert.ok((await decrypt(aesKeyring(), result)).plaintext.equals(plaintext));
    }
  });
});

describe('interop with @aws-crypto/client-node: raw RSA', () => {
  const oaep = [RsaPadding.OAEP_SHA1, RsaPadding.OAEP_SHA256, RsaPadding.OAEP_SHA384, RsaPadding.OAEP_SHA512];
  for (const padding of oaep) {
    test(`${padding} both directions across every suite`, async () => {
      for (const suite of ALGORITHM_SUITES) await ourRoundTripThroughOfficial(suite, rsaKeyring(padding), officialRsa(padding), 4096);
    });
  }

  test('pkcs1 both directions across every suite (official decrypt under --security-revert=CVE-2023-46809)', async () => {
    const ours = rsaKeyring(RsaPadding.PKCS1);
    const theirs = officialRsa(RsaPadding.PKCS1);
    const plaintexts: Buffer[] = [];
    const ourMessages: Buffer[] = [];
    for (const suite of ALGORITHM_SUITES) {
      const plaintext = randomBytes(1500);
      // Official -> ours: the official SDK can wrap with PKCS#1 v1.5 on Node 20; only unwrapping is refused.
      const { result } = await officialClient(suite).encrypt(theirs, plaintext, { suiteId: suite.id as number, encryptionContext: CONTEXT });
      assert.ok((await decrypt(ours, result, { commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT })).plaintext.equals(plaintext));
      const { ciphertext } = await encrypt(ours, plaintext, { suiteId: suite.id, encryptionContext: CONTEXT, commitmentPolicy: policyFor(suite) });
      plaintexts.push(plaintext);
      ourMessages.push(ciphertext);
    }
    // Ours -> official, all in one child process.
    const decrypted = officialPkcs1Decrypt(ourMessages);
    assert.equal(decrypted.length, plaintexts.length);
    decrypted.forEach((p, i) => assert.ok(p.equals(plaintexts[i]!), `suite ${hex(ALGORITHM_SUITES[i]!.id)}`));
  });
});

describe('re-encrypting the dafny-4.1.0 encrypt scenarios', () => {
  interface Scenario {
    algorithmSuiteId: string; plaintext: string; encryptKeyDescription: KeyDescription; decryptKeyDescription: KeyDescription;
    'encryption-context': Record<string, string>; 'reproduced-encryption-context': Record<string, string>;
  }
  const dir = join(VECTORS_DIR, 'dafny-4.1.0');
  const manifest = JSON.parse(readFileSync(join(dir, 'encrypt-manifest.json'), 'utf8')) as { tests: Record<string, { 'encryption-scenario': Scenario }> };
  const keys = (JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8')) as { keys: Keys }).keys;
  const plaintext = readFileSync(join(dir, 'plaintexts', 'small'));

  test('all 113 scenarios: our message decrypts with our decrypt keyring (and with the official SDK for plain AES/OAEP keyrings)', async () => {
    const scenarios = Object.values(manifest.tests).map((t) => t['encryption-scenario']);
    assert.equal(scenarios.length, 113);
    let officialChecked = 0;
    for (const s of scenarios) {
      const suiteId = parseInt(s.algorithmSuiteId, 16) as AlgorithmSuiteId;
      const suite = ALGORITHM_SUITES.find((x) => x.id === suiteId)!;
      const policy = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT;
      const { ciphertext } = await encrypt(fromDescription(keys, s.encryptKeyDescription), plaintext, {
        suiteId, encryptionContext: s['encryption-context'], commitmentPolicy: suite.commitment ? policy : CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
      });
      const out = await decrypt(fromDescription(keys, s.decryptKeyDescription), ciphertext, { commitmentPolicy: policy, encryptionContext: s['reproduced-encryption-context'] });
      assert.ok(out.plaintext.equals(plaintext));
      const d = s.decryptKeyDescription;
      if (d.type === 'raw' && d['encryption-algorithm'] === 'aes') {
        const material = Buffer.from(keys[d.key]!.material!, 'base64');
        const theirs = new official.RawAesKeyringNode({
          keyNamespace: d['provider-id'], keyName: keys[d.key]!['key-id'], unencryptedMasterKey: new Uint8Array(material),
          wrappingSuite: WRAPPING_SUITE[material.length as 16 | 24 | 32], utf8Sorting: true,
        });
        assert.ok((await officialClient(suite).decrypt(theirs, ciphertext)).plaintext.equals(plaintext));
        officialChecked++;
      } else if (d.type === 'raw' && d['padding-algorithm'] === 'oaep-mgf1') {
        const theirs = new official.RawRsaKeyringNode({
          keyNamespace: d['provider-id'], keyName: keys[d.key]!['key-id'], rsaKey: { privateKey: keys[d.key]!.material! },
          padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: d['padding-hash']!,
        });
        assert.ok((await officialClient(suite).decrypt(theirs, ciphertext)).plaintext.equals(plaintext));
        officialChecked++;
      }
    }
    assert.ok(officialChecked > 0);
  });
});
