/**
 * Known-answer vectors written by the official SDKs (shared/vectors/esdk, see its README):
 * every vector of every set is decrypted with the keyrings its manifest describes, and must
 * give the expected plaintext or a named error without plaintext.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  AuthenticationError,
  CommitmentPolicy,
  decrypt,
  EncryptionSdkError,
  getSuite,
  PolicyViolationError,
  RawAesKeyring,
  RequiredEncryptionContextCryptographicMaterialsManager,
  type CryptographicMaterialsManager,
  type Keyring,
} from '../src/index.js';
import { VECTORS_DIR } from './helpers/paths.js';
import { fromDescription, fromMasterKeys, StaticDataKeyKeyring, type KeyDescription, type Keys, type RawKeyDescription } from './helpers/keyrings.js';

const ALLOW_DECRYPT = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT;

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Resolves `file://` URIs relative to the manifest's directory, reading each file once. */
function fileReader(manifestPath: string): (uri: string) => Buffer {
  const base = dirname(manifestPath);
  const cache = new Map<string, Buffer>();
  return (uri) => {
    assert.ok(uri.startsWith('file://'), `unexpected URI ${uri}`);
    let b = cache.get(uri);
    if (b === undefined) {
      b = readFileSync(join(base, uri.slice('file://'.length)));
      cache.set(uri, b);
    }
    return b;
  };
}

/** What a vector must do: give these bytes, succeed (plaintext not published), or fail with this error. */
type Expected =
  | { readonly kind: 'plaintext'; readonly bytes: Buffer }
  | { readonly kind: 'success' }
  | { readonly kind: 'failure'; readonly error: typeof EncryptionSdkError };

interface Case {
  readonly id: string;
  readonly ciphertext: Buffer;
  readonly decryptor: Keyring | CryptographicMaterialsManager;
  readonly encryptionContext: Record<string, string>;
  readonly expected: Expected;
}

async function check(c: Case): Promise<void> {
  const options = { encryptionContext: c.encryptionContext, commitmentPolicy: ALLOW_DECRYPT };
  if (c.expected.kind === 'failure') {
    await assert.rejects(decrypt(c.decryptor, c.ciphertext, options), c.expected.error);
    return;
  }
  const { plaintext, messageHeader } = await decrypt(c.decryptor, c.ciphertext, options);
  if (c.expected.kind === 'plaintext') assert.ok(plaintext.equals(c.expected.bytes), 'plaintext differs');
  for (const [k, v] of Object.entries(c.encryptionContext)) assert.equal(messageHeader.encryptionContext[k], v);
}

// ---- awses-decrypt v5 (dafny-4.1.0) ----------------------------------------------------------

interface V5Manifest {
  manifest: { type: string; version: number };
  keys: string;
  tests: Record<string, { 'decryption-scenario': {
    type: string; ciphertext: string; result: string; algorithmSuiteId: string;
    decryptKeyDescription: KeyDescription; 'reproduced-encryption-context': Record<string, string>;
  } }>;
}

const v5Cache = new Map<string, Case[]>();

/** Cases of a v5 set; memoized so each ciphertext file is read once per run. */
function v5Cases(set: string): Case[] {
  let cases = v5Cache.get(set);
  if (cases === undefined) {
    cases = loadV5Cases(set);
    v5Cache.set(set, cases);
  }
  return cases;
}

function loadV5Cases(set: string): Case[] {
  const path = join(VECTORS_DIR, set, 'decrypt-manifest.json');
  const m = readJson<V5Manifest>(path);
  assert.equal(m.manifest.type, 'awses-decrypt');
  assert.equal(m.manifest.version, 5);
  const file = fileReader(path);
  const keys = readJson<{ keys: Keys }>(join(dirname(path), m.keys.slice('file://'.length))).keys;
  return Object.entries(m.tests).map(([id, t]) => {
    const s = t['decryption-scenario'];
    assert.equal(s.type, 'positive-esdk');
    return {
      id: `${s.algorithmSuiteId} ${id}`,
      ciphertext: file(s.ciphertext),
      decryptor: fromDescription(keys, s.decryptKeyDescription),
      encryptionContext: s['reproduced-encryption-context'],
      expected: { kind: 'plaintext', bytes: file(s.result) },
    };
  });
}

// ---- awses-decrypt v4 (net-*) ----------------------------------------------------------------

interface V4Manifest {
  manifest: { type: string; version: number };
  keys: string;
  tests: Record<string, {
    ciphertext: string; 'master-keys': RawKeyDescription[]; cmm: 'Default' | 'RequiredEncryptionContext';
    'encryption-context': Record<string, string>;
    result: { output: { plaintext: string } } | { error: { 'error-description': string } };
  }>;
}

function v4Cases(set: string): Case[] {
  const path = join(VECTORS_DIR, set, 'manifest.json');
  const m = readJson<V4Manifest>(path);
  assert.equal(m.manifest.type, 'awses-decrypt');
  assert.equal(m.manifest.version, 4);
  const file = fileReader(path);
  const keys = readJson<{ keys: Keys }>(join(dirname(path), m.keys.slice('file://'.length))).keys;
  return Object.entries(m.tests).map(([id, t]) => {
    const keyring = fromMasterKeys(keys, t['master-keys'], true);
    const ec = t['encryption-context'];
    // With the required-context manager every reproduced key is a required key.
    const decryptor: Keyring | CryptographicMaterialsManager =
      t.cmm === 'RequiredEncryptionContext'
        ? new RequiredEncryptionContextCryptographicMaterialsManager({ underlying: keyring, requiredEncryptionContextKeys: Object.keys(ec) })
        : keyring;
    return {
      id,
      ciphertext: file(t.ciphertext),
      decryptor,
      encryptionContext: ec,
      // The pre-release .NET build computed its header tags wrongly: the tag check must catch it.
      expected: 'output' in t.result
        ? { kind: 'plaintext', bytes: file(t.result.output.plaintext) }
        : { kind: 'failure', error: AuthenticationError },
    };
  });
}

// ---- static data key sets -----------------------------------------------------------------------

interface StaticManifest {
  manifest: { type: string; version: number };
  tests: Record<string, { ciphertext: string; 'data-key': string; plaintext?: string; result: 'success' | 'failure' }>;
}

function staticCases(file: string): Case[] {
  const m = readJson<StaticManifest>(join(VECTORS_DIR, 'static-key', file));
  assert.equal(m.manifest.type, 'esdk-static-data-key-decrypt');
  return Object.entries(m.tests).map(([id, t]): Case => ({
    id,
    ciphertext: Buffer.from(t.ciphertext, 'base64'),
    decryptor: new StaticDataKeyKeyring(Buffer.from(t['data-key'], 'base64')),
    encryptionContext: {},
    // The failing commitment vectors pair a message with a data key it does not commit to.
    expected: t.result === 'failure'
      ? { kind: 'failure', error: AuthenticationError }
      : t.plaintext === undefined ? { kind: 'success' } : { kind: 'plaintext', bytes: Buffer.from(t.plaintext, 'base64') },
  }));
}

// ---- the sets -------------------------------------------------------------------------------

const SETS: ReadonlyArray<readonly [string, () => Case[], number]> = [
  ['dafny-4.1.0', () => v5Cases('dafny-4.1.0'), 113],
  ['net-4.0.1', () => v4Cases('net-4.0.1'), 99],
  ['net-4.0.0-prefix', () => v4Cases('net-4.0.0-prefix'), 99],
  ['static-key/commitment-vectors', () => staticCases('commitment-vectors.json'), 28],
  ['static-key/zero-key-vectors', () => staticCases('zero-key-vectors.json'), 27],
];

for (const [name, load, count] of SETS) {
  describe(`vectors ${name}`, () => {
    const cases = load();
    test(`has all ${count} vectors`, () => assert.equal(cases.length, count));
    for (const c of cases) {
      test(`${c.id} ${c.expected.kind === 'failure' ? 'fails' : 'decrypts'}`, () => check(c));
    }
  });
}

describe('vectors under the default policy REQUIRE_ENCRYPT_REQUIRE_DECRYPT', () => {
  const cases = v5Cases('dafny-4.1.0');
  test('every non-committing message is refused before any keyring runs, every committing one decrypts', async () => {
    let refused = 0;
    for (const c of cases) {
      const suite = getSuite(parseInt(c.id.slice(0, 4), 16));
      if (suite.commitment) {
        const { plaintext } = await decrypt(c.decryptor, c.ciphertext, { encryptionContext: c.encryptionContext });
        assert.ok(c.expected.kind === 'plaintext' && plaintext.equals(c.expected.bytes));
      } else {
        await assert.rejects(decrypt(c.decryptor, c.ciphertext, { encryptionContext: c.encryptionContext }), PolicyViolationError);
        refused++;
      }
    }
    assert.ok(refused > 0);
  });
});

// ---- raw AES keyring unwrap vectors ------------------------------------------------------------

describe('vectors static-key/raw-aes-keyring-vectors', () => {
  const m = readJson<{ tests: Record<string, { wrappingKeyBits: number; suite: string; dataKey: string; iv: string; edkCiphertextAndTag: string; encryptionContext: Record<string, string> }> }>(
    join(VECTORS_DIR, 'static-key', 'raw-aes-keyring-vectors.json'),
  );
  const keyName = 'asdfhasiufhiasuhviawurhgiuawrhefiuawhf';
  const allKeyBytes = Buffer.from([...Array(32).keys()]);
  test('has all 3 vectors', () => assert.equal(Object.keys(m.tests).length, 3));
  for (const [id, t] of Object.entries(m.tests)) {
    test(`${id} unwraps to the expected data key (context sorted by UTF-8 bytes)`, async () => {
      const keyring = new RawAesKeyring({ keyNamespace: 'static-random', keyName, wrappingKey: allKeyBytes.subarray(0, t.wrappingKeyBits / 8) });
      const suite = getSuite(parseInt(t.suite, 16));
      const encryptionContext = t.encryptionContext;
      const providerInfo = Buffer.concat([Buffer.from(keyName), Buffer.from('000000800000000c', 'hex'), Buffer.from(t.iv, 'hex')]);
      const edk = { providerId: 'static-random', providerInfo, ciphertext: Buffer.from(t.edkCiphertextAndTag, 'hex') };
      const out = await keyring.onDecrypt({ suite, encryptionContext, requiredEncryptionContextKeys: [] }, [edk]);
      assert.equal(Buffer.from(out.plaintextDataKey!).toString('hex'), t.dataKey);
    });
  }
});
