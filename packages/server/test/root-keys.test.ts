import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import pkcs11js from 'pkcs11js';
import { rootKeyView } from '../src/admin/root-key-view.js';
import type { StartOptions } from '../src/index.js';
import { admin, adminRequest } from './support/principals.js';
import { initSoftHsmToken, SOFTHSM_LIBRARY, tokenSlot, uninitialisedSlot, withLabelledObjects, type SoftHsmToken } from './support/softhsm.js';
import { startTestServer, tempDataDir, type TestServer } from './support/server.js';

// Before any server opens the token: SoftHSM reads SOFTHSM2_CONF at C_Initialize.
const token: SoftHsmToken = initSoftHsmToken();
/** Short enough for a test: nodes re-read the keyring every 100 ms and a rotation starts at once. */
const rootKeyWork = { refreshMs: 100, settleMs: 0, batchSize: 2 };

async function encrypt(kms: KMSClient, keyId: string, text: string): Promise<Uint8Array> {
  return (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text), EncryptionContext: { purpose: 'root-key-test' } }))).CiphertextBlob!;
}

async function decrypt(kms: KMSClient, blob: Uint8Array): Promise<string> {
  return Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { purpose: 'root-key-test' } }))).Plaintext!).toString();
}

async function newKey(kms: KMSClient): Promise<string> {
  return (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
}

/** Every file of the data directory with its size and content hash, and every meta row: what a refused start must leave alone. */
function snapshot(dataDir: string): string {
  const files = readdirSync(dataDir).sort().map((name) => {
    const path = join(dataDir, name);
    return `${name}:${statSync(path).size}:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  });
  const db = new Database(join(dataDir, 'coffer.db'), { readonly: true });
  try {
    const meta = (db.prepare('SELECT name, hex(value) AS v FROM meta ORDER BY name').all() as { name: string; v: string }[]).map((r) => `${r.name}=${r.v}`);
    const keys = (db.prepare('SELECT count(*) AS n FROM keys').get() as { n: number }).n;
    return JSON.stringify({ files: files.filter((f) => !f.startsWith('coffer.db')), meta, keys });
  } finally {
    db.close();
  }
}

async function refusedStart(options: StartOptions & { dataDir: string }, message: RegExp): Promise<void> {
  const before = snapshot(options.dataDir);
  await assert.rejects(startTestServer(options), (error: Error) => {
    assert.equal(error.name, 'StartupError', error.message);
    assert.match(error.message, message);
    return true;
  });
  assert.equal(snapshot(options.dataDir), before, 'a refused start writes nothing');
}

async function rotationDone(t: TestServer, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await admin(t, 'GetRootKeyStatus', {});
    if (status.RotationState === 'NONE') return status;
    if (Date.now() > deadline) throw new Error(`rotation not done: ${JSON.stringify(status)}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

function keyringOf(dataDir: string): { current: string; keys: { id: string; provider: string; settings: Record<string, unknown> }[]; rotation?: { phase: string; after?: string; rewrapped: number } } | undefined {
  const db = new Database(join(dataDir, 'coffer.db'), { readonly: true });
  try {
    const row = db.prepare("SELECT value FROM meta WHERE name = 'root-keyring'").get() as { value: Buffer } | undefined;
    return row && JSON.parse(row.value.toString('utf8'));
  } finally {
    db.close();
  }
}

const pkcs11Options = (keyLabel: string, pin = token.pin) => ({ library: SOFTHSM_LIBRARY, tokenLabel: token.label, pin, keyLabel });

describe('root-key providers', () => {
  describe('passphrase', () => {
    const passphrase = 'correct horse battery staple';
    let dataDir: string;
    let blob: Uint8Array;

    before(async () => {
      dataDir = tempDataDir();
      const t = await startTestServer({ dataDir, rootKey: { provider: 'passphrase', passphrase }, rootKeyWork });
      blob = await encrypt(t.kms, await newKey(t.kms), 'under a passphrase');
      await t.stop();
    });

    it('round-trips: a restart with the passphrase decrypts what was encrypted before', async () => {
      const t = await startTestServer({ dataDir, rootKey: { passphrase }, rootKeyWork });
      try {
        assert.equal(await decrypt(t.kms, blob), 'under a passphrase');
        const status = await admin(t, 'GetRootKeyStatus', {});
        const [only] = status.RootKeys as { Provider: string; Settings: Record<string, unknown> }[];
        assert.equal(only?.Provider, 'passphrase');
        assert.equal(only?.Settings.kdf, 'scrypt');
        assert.ok(Number(only?.Settings.N) >= 2 ** 15, 'scrypt N at least 2^15');
        assert.equal(readdirSync(dataDir).some((f) => /^root.*\.key$/.test(f)), false, 'no root key file');
      } finally {
        await t.stop();
      }
    });

    it('refuses a wrong passphrase and writes nothing', async () => {
      await refusedStart({ dataDir, rootKey: { passphrase: 'wrong horse battery staple' }, rootKeyWork }, /passphrase is wrong/);
    });

    it('refuses a start without the passphrase and writes nothing', async () => {
      await refusedStart({ dataDir, rootKeyWork }, /no passphrase was given.*COFFER_ROOT_PASSPHRASE/);
    });
  });

  describe('pkcs11 (SoftHSM2)', () => {
    let dataDir: string;
    let blob: Uint8Array;

    before(async () => {
      dataDir = tempDataDir();
      const t = await startTestServer({ dataDir, rootKey: { provider: 'pkcs11', pkcs11: pkcs11Options('coffer-root') }, rootKeyWork });
      blob = await encrypt(t.kms, await newKey(t.kms), 'under a token key');
      await t.stop();
    });

    it('keeps the root key on the token as sensitive and non-extractable: reading its value is refused', () => {
      withLabelledObjects(token, 'coffer-root', (module, session, [key]) => {
        assert.ok(key, 'the root key is on the token');
        assert.throws(() => module.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
        const [extractable, sensitive, onToken] = module.C_GetAttributeValue(session, key, [
          { type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_TOKEN },
        ]);
        assert.deepEqual([extractable?.value, sensitive?.value, onToken?.value], [Buffer.of(0), Buffer.of(1), Buffer.of(1)]);
      });
    });

    it('round-trips with the token as the only copy of the root key: no root key file in the data directory', async () => {
      assert.deepEqual(readdirSync(dataDir).filter((f) => /root/.test(f)), []);
      const t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork });
      try {
        assert.equal(await decrypt(t.kms, blob), 'under a token key');
        assert.equal(await decrypt(t.kms, await encrypt(t.kms, await newKey(t.kms), 'again')), 'again');
      } finally {
        await t.stop();
      }
    });

    it('finds the token by slot id as well as by label', async () => {
      const slot = tokenSlot(token);
      const bySlot = tempDataDir();
      const t = await startTestServer({ dataDir: bySlot, rootKey: { provider: 'pkcs11', pkcs11: { library: SOFTHSM_LIBRARY, slot, pin: token.pin, keyLabel: 'by-slot' } }, rootKeyWork });
      try {
        const blob = await encrypt(t.kms, await newKey(t.kms), 'by slot');
        const settings = ((await admin(t, 'GetRootKeyStatus', {})).RootKeys as { Settings: Record<string, unknown> }[])[0]?.Settings;
        assert.equal(settings?.slot, slot);
        await t.stop();
        const again = await startTestServer({ dataDir: bySlot, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork });
        try {
          assert.equal(await decrypt(again.kms, blob), 'by slot');
        } finally {
          await again.stop();
        }
      } finally {
        await t.dispose();
      }
    });

    it('refuses a wrong PIN, writing nothing', async () => {
      await refusedStart({ dataDir, rootKey: { pkcs11: { pin: '111111' } }, rootKeyWork }, /PKCS#11 PIN is wrong/);
    });

    it('refuses a missing PIN, a missing library and a missing token, writing nothing', async () => {
      await refusedStart({ dataDir, rootKeyWork }, /needs its user PIN.*COFFER_PKCS11_PIN/);
      await refusedStart({ dataDir, rootKey: { pkcs11: { pin: token.pin, library: '/nonexistent/libpkcs11.so' } }, rootKeyWork }, /library \/nonexistent\/libpkcs11.so does not exist/);
      const saved = process.env.SOFTHSM2_CONF;
      process.env.SOFTHSM2_CONF = initSoftHsmToken('another-token').conf;
      try {
        await refusedStart({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork }, /No PKCS#11 token labelled 'coffer-test' is present/);
      } finally {
        process.env.SOFTHSM2_CONF = saved;
      }
    });

    it('names a slot whose token is not initialised, for a fresh store as for a rotation to it', async () => {
      const fresh = tempDataDir();
      const free = uninitialisedSlot(token);
      // Before, the bare CKR_TOKEN_NOT_RECOGNIZED, and a rotation's KMSInternalException.
      await assert.rejects(startTestServer({ dataDir: fresh, rootKey: { provider: 'pkcs11', pkcs11: { library: SOFTHSM_LIBRARY, slot: free, pin: token.pin, keyLabel: 'never' } }, rootKeyWork }),
        new RegExp(`The PKCS#11 token in slot ${free} is not initialised \\(library ${SOFTHSM_LIBRARY}\\): initialise it`));
      const t = await startTestServer({ dataDir: tempDataDir(), rootKeyWork });
      try {
        const refused = await adminRequest(t, 'RotateRootKey', { Provider: 'pkcs11', Pkcs11Library: SOFTHSM_LIBRARY, Pkcs11Slot: free, Pkcs11KeyLabel: 'never' });
        assert.equal(refused.status, 400, refused.text);
        assert.equal(refused.body.__type, 'ValidationException');
        assert.match(String(refused.body.message), new RegExp(`token in slot ${free} is not initialised`));
      } finally {
        await t.dispose();
      }
    });

    it('refuses a fresh store whose key label is taken on the token, and a store whose key label is not on it', async () => {
      const fresh = tempDataDir();
      await assert.rejects(startTestServer({ dataDir: fresh, rootKey: { provider: 'pkcs11', pkcs11: pkcs11Options('coffer-root') }, rootKeyWork }),
        /already holds a key labelled 'coffer-root'/);
      assert.deepEqual(readdirSync(fresh).filter((f) => /root/.test(f)), [], 'no root key made');
      // A store whose descriptor names a label the token does not hold (wrong token, key deleted).
      const other = tempDataDir();
      const t = await startTestServer({ dataDir: other, rootKey: { provider: 'pkcs11', pkcs11: pkcs11Options('short-lived') }, rootKeyWork });
      await t.stop();
      destroyTokenKey('short-lived');
      await refusedStart({ dataDir: other, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork }, /holds no key labelled 'short-lived'/);
    });

    it('counts any object as taking a label, and names a key of another type under the root key\'s label as another key', async () => {
      const rsaPair = (label: string) => onToken((module, session) => module.C_GenerateKeyPair(session, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN }, [
        { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ], [{ type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true }]));
      rsaPair('rsa-taken');
      const fresh = tempDataDir();
      await assert.rejects(startTestServer({ dataDir: fresh, rootKey: { provider: 'pkcs11', pkcs11: pkcs11Options('rsa-taken') }, rootKeyWork }),
        /already holds a key labelled 'rsa-taken' \(or another object of that label\)/);

      const dataDir = tempDataDir();
      const t = await startTestServer({ dataDir, rootKey: { provider: 'pkcs11', pkcs11: pkcs11Options('replaced') }, rootKeyWork });
      await t.stop();
      destroyTokenKey('replaced');
      onToken((module, session) => module.C_GenerateKey(session, { mechanism: pkcs11js.CKM_DES3_KEY_GEN }, [
        { type: pkcs11js.CKA_LABEL, value: 'replaced' }, { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: true }, { type: pkcs11js.CKA_DECRYPT, value: true },
      ]));
      await refusedStart({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork },
        /The key labelled 'replaced' on the PKCS#11 token is not the root key the store was written with/);
      destroyTokenKey('replaced');
      rsaPair('replaced');
      await refusedStart({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork },
        /holds no key labelled 'replaced' \(it holds an object of that label that is not a secret key\)/);
    });

    it('names the reason a library will not load', async () => {
      const library = join(tempDataDir(), 'not-a-module.so');
      writeFileSync(library, 'this is not a shared object, but long enough to have a header of one');
      await refusedStart({ dataDir, rootKey: { pkcs11: { pin: token.pin, library } }, rootKeyWork },
        /could not be loaded or initialised \(.*invalid ELF header.*\)/);
    });
  });

  describe('kms (another Coffer server as the remote)', () => {
    let remote: TestServer;
    let remoteKeyId: string;
    let dataDir: string;
    let blob: Uint8Array;
    const kmsOptions = () => ({ endpoint: remote.server.endpoint, region: 'us-east-1', keyId: remoteKeyId, credentials: remote.credentials });

    before(async () => {
      remote = await startTestServer();
      remoteKeyId = await newKey(remote.kms);
      dataDir = tempDataDir();
      const t = await startTestServer({ dataDir, rootKey: { provider: 'kms', kms: kmsOptions() }, rootKeyWork });
      blob = await encrypt(t.kms, await newKey(t.kms), 'unsealed by another KMS');
      await t.stop();
    });
    after(() => remote.dispose());

    it('the AWS SDK\'s own warnings (its credential chain\'s) reach the server\'s log, not the console', async () => {
      // A profile and environment credentials at once: the SDK's credential chain warns of it.
      const credentialsFile = join(tempDataDir(), 'credentials');
      mkdirSync(dirname(credentialsFile), { recursive: true });
      writeFileSync(credentialsFile, `[remote]\naws_access_key_id = ${remote.credentials.accessKeyId}\naws_secret_access_key = ${remote.credentials.secretAccessKey}\n`);
      const saved = { ...process.env };
      Object.assign(process.env, {
        AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_ACCESS_KEY_ID: remote.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: remote.credentials.secretAccessKey,
      });
      const printed: unknown[] = [];
      const consoleWarn = console.warn;
      console.warn = (...parts: unknown[]) => void printed.push(parts);
      const logged: string[] = [];
      try {
        const t = await startTestServer({
          dataDir, rootKey: { kms: { profile: 'remote' } }, rootKeyWork, logger: (level, message) => void (level === 'warn' && logged.push(message)),
        });
        await t.stop();
      } finally {
        console.warn = consoleWarn;
        process.env = saved;
      }
      assert.deepEqual(printed, [], 'nothing on the console');
      assert.ok(logged.some((m) => /Multiple credential sources detected/.test(m)), logged.join('\n'));
    });

    it('round-trips: the remote decrypts the root key at the next start', async () => {
      const t = await startTestServer({ dataDir, rootKey: { kms: { credentials: remote.credentials } }, rootKeyWork });
      try {
        assert.equal(await decrypt(t.kms, blob), 'unsealed by another KMS');
        const status = await admin(t, 'GetRootKeyStatus', {});
        const [only] = status.RootKeys as { Provider: string; Settings: Record<string, unknown> }[];
        assert.equal(only?.Provider, 'kms');
        assert.equal(only?.Settings.keyId, remoteKeyId);
        assert.equal(only?.Settings.blob, undefined, 'the encrypted root key is not shown');
      } finally {
        await t.stop();
      }
    });

    it('refuses to start when the remote refuses (bad credentials), writing nothing', async () => {
      await refusedStart({ dataDir, rootKey: { kms: { credentials: { accessKeyId: remote.credentials.accessKeyId, secretAccessKey: 'not-the-secret-0000000000000000000000000' } } }, rootKeyWork },
        /remote KMS at .* refused to decrypt the root key.*InvalidSignatureException/);
    });

    it('refuses a --root-kms-endpoint with credentials in it, as RotateRootKey does, without echoing them', async () => {
      // The endpoint is kept in the keyring and shown by GetRootKeyStatus: a password in it was stored in the clear.
      const endpoint = remote.server.endpoint.replace('http://', 'http://operator:pa55word@');
      await refusedStart({ dataDir, rootKey: { kms: { credentials: remote.credentials, endpoint } }, rootKeyWork },
        /^--root-kms-endpoint must not carry credentials \(user:password@\)/);
      await assert.rejects(startTestServer({ dataDir, rootKey: { kms: { credentials: remote.credentials, endpoint } }, rootKeyWork }),
        (error: Error) => !error.message.includes('pa55word'));
    });

    it('GetRootKeyStatus shows a remote endpoint by its scheme, host and port only, whatever the keyring holds', () => {
      const view = rootKeyView({
        id: 'r1', provider: 'kms', createdAt: 1, check: '',
        settings: { endpoint: 'https://user:pa55word@kms.example:8443/PATHSECRET?token=QSECRET#F', region: 'us-east-1', keyId: 'alias/x', blob: 'AAAA' },
      }, 'r1');
      assert.deepEqual(view.Settings, { endpoint: 'https://kms.example:8443', region: 'us-east-1', keyId: 'alias/x' });
    });

    it('refuses to start when the remote cannot be reached, writing nothing', async () => {
      await refusedStart({ dataDir, rootKey: { kms: { credentials: remote.credentials, endpoint: 'http://127.0.0.1:9' } }, rootKeyWork },
        /remote KMS at http:\/\/127.0.0.1:9 could not be reached/);
    });
  });
});

describe('a fresh store whose first root key cannot be made', () => {
  it('keeps no root key and no keyring: a wrong PIN, an unreachable remote, a short passphrase', async () => {
    const cases: [StartOptions['rootKey'], RegExp][] = [
      [{ provider: 'pkcs11', pkcs11: pkcs11Options('never-made', '000000') }, /PKCS#11 PIN is wrong/],
      [{ provider: 'kms', kms: { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', keyId: 'alias/none', credentials: { accessKeyId: 'AKIAEXAMPLE000000000', secretAccessKey: 'x'.repeat(40) } } }, /could not be reached/],
      [{ provider: 'passphrase', passphrase: 'short' }, /shorter than 8 characters/],
      // A NUL could never be set in the environment again, a Ctrl-U never typed at the prompt.
      [{ provider: 'passphrase', passphrase: 'long enough\u0000' }, /holds a control character/],
      [{ provider: 'passphrase', passphrase: 'long\u0015enough' }, /holds a control character/],
    ];
    for (const [rootKey, message] of cases) {
      const dataDir = tempDataDir();
      await assert.rejects(startTestServer({ dataDir, rootKey, rootKeyWork }), (error: Error) => error.name === 'StartupError' && message.test(error.message));
      assert.deepEqual(readdirSync(dataDir).filter((f) => !f.startsWith('coffer.db') && f !== 'server.lock'), [], 'no root key file, no credentials');
      const db = new Database(join(dataDir, 'coffer.db'), { readonly: true });
      try {
        assert.deepEqual(db.prepare('SELECT name FROM meta').all(), [], 'no keyring, no check value, no audit key');
      } finally {
        db.close();
      }
    }
  });
});

describe('root-key rotation and migration', () => {
  it('rotates a file root key while serving: old ciphertexts decrypt, the old root.key is no longer needed', async () => {
    let t = await startTestServer({ rootKeyWork });
    try {
      const keyId = await newKey(t.kms);
      const blobs = await Promise.all(['one', 'two', 'three'].map((text) => encrypt(t.kms, keyId, text)));
      for (let i = 0; i < 4; i++) await newKey(t.kms);
      const begun = await admin(t, 'RotateRootKey', {});
      assert.equal(begun.Provider, 'file');
      assert.notEqual(begun.RootKeyId, 'legacy');
      // Serving goes on during the rotation: new values are wrapped by the new root key at once.
      const during = await encrypt(t.kms, await newKey(t.kms), 'during');
      const status = await rotationDone(t);
      assert.deepEqual((status.RootKeys as { RootKeyId: string }[]).map((k) => k.RootKeyId), [begun.RootKeyId], 'the old root key retired');
      await t.stop();
      rmSync(join(t.dataDir, 'root.key'));
      t = await t.restart();
      assert.deepEqual(await Promise.all(blobs.map((b) => decrypt(t.kms, b))), ['one', 'two', 'three']);
      assert.equal(await decrypt(t.kms, during), 'during');
      // The admin's access key secret was re-wrapped too (every request here is signed with it), and the audit key.
      assert.equal((await admin(t, 'VerifyAuditChain', {})).Valid, true);
    } finally {
      await t.dispose();
    }
  });

  it('migrates from a file root key to a PKCS#11 token: the token is then the only copy', async () => {
    let t = await startTestServer({ rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork });
    try {
      const blob = await encrypt(t.kms, await newKey(t.kms), 'before the migration');
      const begun = await admin(t, 'RotateRootKey', { Provider: 'pkcs11', Pkcs11Library: SOFTHSM_LIBRARY, Pkcs11TokenLabel: token.label, Pkcs11KeyLabel: 'migrated-root' });
      assert.equal(begun.Provider, 'pkcs11');
      await rotationDone(t);
      await t.stop();
      rmSync(join(t.dataDir, 'root.key'));
      assert.deepEqual(readdirSync(t.dataDir).filter((f) => /^root.*\.key$/.test(f)), []);
      t = await t.restart();
      assert.equal(await decrypt(t.kms, blob), 'before the migration');
      assert.equal((await admin(t, 'VerifyAuditChain', {})).Valid, true);
      // The audit record names the module the server was told to load.
      const records = (await admin(t, 'QueryAuditRecords', { Operation: 'RotateRootKey' })).Records as { requestParameters: Record<string, unknown> }[];
      assert.deepEqual(records.map((r) => r.requestParameters),
        [{ provider: 'pkcs11', pkcs11Library: SOFTHSM_LIBRARY, pkcs11TokenLabel: token.label, pkcs11KeyLabel: 'migrated-root' }]);
    } finally {
      await t.dispose();
    }
  });

  it('rotates to a new key on the same token: the old token key can then be destroyed', async () => {
    let t = await startTestServer({ rootKey: { provider: 'pkcs11', pkcs11: pkcs11Options('rotating-1') }, rootKeyWork });
    try {
      const blob = await encrypt(t.kms, await newKey(t.kms), 'before the token rotation');
      const begun = await admin(t, 'RotateRootKey', { Pkcs11KeyLabel: 'rotating-2' });
      assert.equal(begun.Provider, 'pkcs11');
      const status = await rotationDone(t);
      const [only] = status.RootKeys as { Settings: Record<string, unknown> }[];
      assert.deepEqual([only?.Settings.keyLabel, only?.Settings.tokenLabel, only?.Settings.library], ['rotating-2', token.label, SOFTHSM_LIBRARY], 'the new key lives where the old one did');
      await t.stop();
      destroyTokenKey('rotating-1');
      t = await t.restart();
      assert.equal(await decrypt(t.kms, blob), 'before the token rotation');
    } finally {
      await t.dispose();
    }
  });

  it('rotates a kms root key under the same remote key, then migrates it to a passphrase', async () => {
    const remote = await startTestServer();
    try {
      const remoteKeyId = await newKey(remote.kms);
      const passphrase = 'leaving the remote behind';
      const options = { rootKey: { provider: 'kms' as const, passphrase, kms: { endpoint: remote.server.endpoint, region: 'us-east-1', keyId: remoteKeyId, credentials: remote.credentials } }, rootKeyWork };
      let t = await startTestServer(options);
      try {
        const blob = await encrypt(t.kms, await newKey(t.kms), 'before both rotations');
        await admin(t, 'RotateRootKey', {});
        const rotated = await rotationDone(t);
        assert.equal((rotated.RootKeys as { Provider: string }[])[0]?.Provider, 'kms');
        await admin(t, 'RotateRootKey', { Provider: 'passphrase' });
        await rotationDone(t);
        await t.stop();
        // The remote is no longer needed: a start without it decrypts with the passphrase alone.
        await remote.stop();
        t = await startTestServer({ dataDir: t.dataDir, rootKey: { passphrase }, rootKeyWork });
        assert.equal(await decrypt(t.kms, blob), 'before both rotations');
      } finally {
        await t.dispose();
      }
    } finally {
      await remote.dispose();
    }
  });

  /** Six keys with a value encrypted under each: the rotation re-wraps them in batches. */
  const sixValues = async (kms: KMSClient): Promise<Uint8Array[]> => {
    const blobs: Uint8Array[] = [];
    for (let i = 0; i < 6; i++) blobs.push(await encrypt(kms, await newKey(kms), `value ${i}`));
    return blobs;
  };

  it('resumes an interrupted rotation at the next start, where it stopped', async () => {
    const dataDir = tempDataDir();
    const passphrase = 'a passphrase for the rotation';
    let t = await startTestServer({ dataDir, rootKeyWork });
    const blobs = await sixValues(t.kms);
    await t.stop();
    let batches = 0;
    t = await startTestServer({
      dataDir, rootKey: { passphrase },
      // No keyring refresh before the stop: a refresh would retry the paused rotation in this process.
      rootKeyWork: { ...rootKeyWork, refreshMs: 600_000, testOnlyAfterBatch: async () => { if (++batches >= 2) throw new Error('simulated crash after two batches'); } },
    });
    await admin(t, 'RotateRootKey', { Provider: 'passphrase' });
    for (let waited = 0; batches < 2 && waited < 10_000; waited += 20) await new Promise((done) => setTimeout(done, 20));
    await t.stop();
    const interrupted = keyringOf(dataDir);
    assert.equal(interrupted?.keys.length, 2, 'both root keys still in the keyring');
    assert.equal(interrupted?.rotation?.phase, 'keys');
    assert.ok(interrupted?.rotation?.after, 'the place it stopped at is kept');
    assert.ok((interrupted?.rotation?.rewrapped ?? 0) > 0, 'some values were re-wrapped before the interruption');
    t = await startTestServer({ dataDir, rootKey: { passphrase }, rootKeyWork });
    try {
      const status = await rotationDone(t);
      assert.equal((status.RootKeys as unknown[]).length, 1);
      await t.stop();
      rmSync(join(dataDir, 'root.key'));
      t = await startTestServer({ dataDir, rootKey: { passphrase }, rootKeyWork });
      assert.deepEqual(await Promise.all(blobs.map((b) => decrypt(t.kms, b))), [0, 1, 2, 3, 4, 5].map((i) => `value ${i}`));
    } finally {
      await t.dispose();
    }
  });

  it('resumes a rotation from one passphrase to another cut short: the start takes the previous passphrase too', async () => {
    const dataDir = tempDataDir();
    const first = 'the first root passphrase';
    const second = 'the second root passphrase';
    let t = await startTestServer({ dataDir, rootKey: { provider: 'passphrase', passphrase: first }, rootKeyWork });
    const blobs = await sixValues(t.kms);
    await t.stop();
    let batches = 0;
    t = await startTestServer({
      dataDir, rootKey: { passphrase: first },
      rootKeyWork: { ...rootKeyWork, refreshMs: 600_000, testOnlyAfterBatch: async () => { if (++batches >= 2) throw new Error('simulated crash after two batches'); } },
    });
    await admin(t, 'RotateRootKey', { Provider: 'passphrase', Passphrase: second });
    for (let waited = 0; batches < 2 && waited < 10_000; waited += 20) await new Promise((done) => setTimeout(done, 20));
    await t.stop();
    assert.equal(keyringOf(dataDir)?.keys.length, 2, 'both root keys still in the keyring');
    // Either passphrase alone opens only one of the two keys.
    await refusedStart({ dataDir, rootKey: { passphrase: second }, rootKeyWork }, /COFFER_ROOT_PREVIOUS_PASSPHRASE/);
    await refusedStart({ dataDir, rootKey: { passphrase: first }, rootKeyWork }, /passphrase is wrong/);
    t = await startTestServer({ dataDir, rootKey: { passphrase: second, previousPassphrase: first }, rootKeyWork });
    try {
      assert.equal(((await rotationDone(t)).RootKeys as unknown[]).length, 1);
      await t.stop();
      t = await startTestServer({ dataDir, rootKey: { passphrase: second }, rootKeyWork });
      assert.deepEqual(await Promise.all(blobs.map((b) => decrypt(t.kms, b))), [0, 1, 2, 3, 4, 5].map((i) => `value ${i}`));
    } finally {
      await t.dispose();
    }
  });

  it('keeps a passphrase sent with RotateRootKey (or a password in a KmsEndpoint) out of the log, the audit trail and the keyring', async () => {
    const lines: string[] = [];
    const passphrase = 'sent in the signed body only';
    const t = await startTestServer({ rootKeyWork, logger: (level, message, fields) => lines.push(JSON.stringify({ level, message, fields })) });
    try {
      await admin(t, 'RotateRootKey', { Provider: 'passphrase', Passphrase: passphrase });
      await rotationDone(t);
      // A wrong-typed or too-short passphrase is refused without echoing it.
      const refused = await adminRequest(t, 'RotateRootKey', { Provider: 'passphrase', Passphrase: 'short' });
      assert.equal(refused.status, 400);
      assert.equal(refused.text.includes('short'), false, refused.text);
      const controlled = await adminRequest(t, 'RotateRootKey', { Provider: 'passphrase', Passphrase: 'with a NUL\u0000 in it' });
      assert.equal(controlled.status, 400);
      assert.match(String(controlled.body.message), /holds a control character/);
      assert.equal(controlled.text.includes('with a NUL'), false, controlled.text);
      const db = new Database(join(t.dataDir, 'coffer.db'), { readonly: true });
      try {
        const everything = JSON.stringify([db.prepare('SELECT * FROM audit').all(), db.prepare('SELECT name, hex(value) FROM meta').all(), db.prepare("SELECT value FROM meta WHERE name = 'root-keyring'").get()]);
        assert.equal(everything.includes(passphrase), false, 'not in the audit trail or the keyring');
        assert.equal(everything.includes(Buffer.from(passphrase).toString('hex').toUpperCase()), false);
        assert.match(everything, /CofferAdmin.RotateRootKey/);
      } finally {
        db.close();
      }
      assert.ok(lines.length > 0);
      assert.equal(lines.some((line) => line.includes(passphrase)), false, 'not in the log');
      // Nor a password in a remote KMS's endpoint: refused before any use, without echoing it.
      for (const endpoint of ['http://user:pa55word@127.0.0.1:1/', 'ftp://127.0.0.1/', 'not a url']) {
        const bad = await adminRequest(t, 'RotateRootKey', { Provider: 'kms', KmsEndpoint: endpoint, KmsKeyId: 'alias/remote', KmsRegion: 'us-east-1' });
        assert.equal(bad.status, 400, bad.text);
        assert.equal(bad.body.__type, 'ValidationException', bad.text);
        assert.equal(bad.text.includes('pa55word'), false, bad.text);
      }
      // A token in the endpoint's path, parameters, query string or fragment: the remote's refusal names its origin only.
      const tokened = await adminRequest(t, 'RotateRootKey', { Provider: 'kms', KmsEndpoint: 'http://127.0.0.1:1/PATHSECRET;p=PARAMSECRET?X-Amz-Security-Token=QSECRET#FRAGSECRET', KmsKeyId: 'alias/remote', KmsRegion: 'us-east-1' });
      assert.equal(tokened.status, 400, tokened.text);
      assert.match(String(tokened.body.message), /The remote KMS at http:\/\/127\.0\.0\.1:1 (could not be reached|refused) /);
      const trail = new Database(join(t.dataDir, 'coffer.db'), { readonly: true });
      try {
        const records = JSON.stringify(trail.prepare('SELECT * FROM audit').all());
        for (const secret of ['PATHSECRET', 'PARAMSECRET', 'QSECRET', 'FRAGSECRET']) {
          assert.equal(tokened.text.includes(secret), false, tokened.text);
          assert.equal(records.includes(secret), false, `${secret} is in the audit trail`);
          assert.equal(lines.some((line) => line.includes(secret)), false, `${secret} is in the log`);
        }
      } finally {
        trail.close();
      }
      // What only the request can supply is asked for in the request's terms, not in coffer serve's flags.
      const noKey = await adminRequest(t, 'RotateRootKey', { Provider: 'kms', KmsEndpoint: 'http://127.0.0.1:1/', KmsRegion: 'us-east-1' });
      assert.equal(noKey.body.__type, 'ValidationException', noKey.text);
      assert.match(String(noKey.body.message), /give KmsKeyId \(coffer root rotate --kms-key-id\)/);
      // A slot id is 32 bits: beyond is refused before any PKCS#11 library is loaded.
      const slot = await adminRequest(t, 'RotateRootKey', { Provider: 'pkcs11', Pkcs11Slot: 2 ** 32 });
      assert.equal(slot.body.__type, 'ValidationException', slot.text);
      assert.match(String(slot.body.message), /pkcs11Slot/i);
      // A setting for another provider is refused, not ignored: a passphrase given with Provider
      // file rotated to a file key and answered 200.
      const before = (await adminRequest(t, 'GetRootKeyStatus', {})).body.CurrentRootKeyId;
      for (const [input, named] of [
        [{ Provider: 'file', Passphrase: 'a long enough passphrase' }, /^Passphrase is not used by a file root key/],
        [{ Provider: 'kms', KmsKeyId: 'alias/remote', Pkcs11Slot: 1, Pkcs11KeyLabel: 'x' }, /^Pkcs11Slot, Pkcs11KeyLabel are not used by a kms root key/],
        [{ KmsRegion: 'us-east-1' }, /^KmsRegion is not used by a (file|passphrase) root key/],
      ] as const) {
        const stray = await adminRequest(t, 'RotateRootKey', input);
        assert.equal(stray.body.__type, 'ValidationException', stray.text);
        assert.match(String(stray.body.message), named);
        assert.equal(stray.text.includes('a long enough passphrase'), false, stray.text);
      }
      assert.equal((await adminRequest(t, 'GetRootKeyStatus', {})).body.CurrentRootKeyId, before, 'no rotation began');
    } finally {
      await t.dispose();
    }
  });

  it('keeps an old root key while a value under it does not unwrap, and retires it only once the value does', async () => {
    const dataDir = tempDataDir();
    let t = await startTestServer({ dataDir, rootKeyWork });
    const keyId = await newKey(t.kms);
    const blob = await encrypt(t.kms, keyId, 'kept under the old key');
    const others = await sixValues(t.kms);
    await t.stop();
    // The value fails to unwrap for a while: a damaged byte here, an HSM that does not answer in practice.
    const db = new Database(join(dataDir, 'coffer.db'));
    const original = (db.prepare('SELECT wrapped FROM key_versions WHERE key_id = ?').get(keyId) as { wrapped: Buffer }).wrapped;
    const damaged = Buffer.from(original);
    damaged[damaged.length - 1]! ^= 1;
    db.prepare('UPDATE key_versions SET wrapped = ? WHERE key_id = ?').run(damaged, keyId);
    db.close();
    const logged: string[] = [];
    t = await startTestServer({
      dataDir, rootKeyWork: { ...rootKeyWork, refreshMs: 600_000 },
      logger: (_level: string, message: string, fields?: Record<string, unknown>) => { logged.push(`${message} ${JSON.stringify(fields ?? {})}`); },
    });
    try {
      await admin(t, 'RotateRootKey', {});
      for (let waited = 0; !logged.some((line) => line.startsWith('root key rotation paused')) && waited < 10_000; waited += 20) await new Promise((done) => setTimeout(done, 20));
      assert.ok(logged.some((line) => line.startsWith('root key rotation paused') && line.includes(`${keyId}:1`)), logged.join('\n'));
      const paused = keyringOf(dataDir);
      assert.equal(paused?.keys.length, 2, 'the old root key stays in the keyring');
      assert.ok(paused?.rotation, 'the rotation is still under way');
      await t.stop();
      // The value unwraps again: the resumed rotation re-wraps it and only then retires the old key.
      const fixed = new Database(join(dataDir, 'coffer.db'));
      fixed.prepare('UPDATE key_versions SET wrapped = ? WHERE key_id = ?').run(original, keyId);
      fixed.close();
      t = await startTestServer({ dataDir, rootKeyWork });
      assert.equal(((await rotationDone(t)).RootKeys as unknown[]).length, 1);
      await t.stop();
      rmSync(join(dataDir, 'root.key'));
      t = await startTestServer({ dataDir, rootKeyWork });
      assert.equal(await decrypt(t.kms, blob), 'kept under the old key');
      assert.deepEqual(await Promise.all(others.map((b) => decrypt(t.kms, b))), [0, 1, 2, 3, 4, 5].map((i) => `value ${i}`));
    } finally {
      await t.dispose();
    }
  });

  it('re-wraps the access keys of an account root the server no longer serves (a start with another --account-id)', async () => {
    const dataDir = tempDataDir();
    let t = await startTestServer({ dataDir, rootKeyWork });
    await t.stop();
    // The admin credential belongs to the root of 111122223333; this start serves another account.
    t = await startTestServer({ dataDir, rootKeyWork, accountId: '444455556666' });
    try {
      await admin(t, 'RotateRootKey', {});
      assert.equal(((await rotationDone(t)).RootKeys as unknown[]).length, 1);
      await t.stop();
      t = await startTestServer({ dataDir, rootKeyWork });
      const listed = await t.kms.send(new ListKeysCommand({}));
      assert.deepEqual(listed.Keys, [], 'the admin credential of the first account still signs');
    } finally {
      await t.dispose();
    }
  });

  it('refuses a second rotation while one is under way', async () => {
    const t = await startTestServer({ rootKeyWork: { ...rootKeyWork, settleMs: 60_000 } });
    try {
      await admin(t, 'RotateRootKey', {});
      const second = await adminRequest(t, 'RotateRootKey', {});
      assert.equal(second.status, 400);
      assert.equal(second.body.__type, 'KMSInvalidStateException');
    } finally {
      await t.dispose();
    }
  });
});

/** Runs `use` in a logged-in read-write session on the test's token, from a module of its own. */
function onToken<T>(use: (module: pkcs11js.PKCS11, session: Buffer) => T): T {
  const module = new pkcs11js.PKCS11();
  module.load(SOFTHSM_LIBRARY);
  module.C_Initialize();
  try {
    const slot = module.C_GetSlotList(true).find((s) => module.C_GetTokenInfo(s).label.trim() === token.label)!;
    const session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    module.C_Login(session, pkcs11js.CKU_USER, token.pin);
    try {
      return use(module, session);
    } finally {
      module.C_CloseSession(session);
    }
  } finally {
    module.C_Finalize();
  }
}

function destroyTokenKey(label: string): void {
  onToken((module, session) => {
    module.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
    const found = module.C_FindObjects(session, 10);
    module.C_FindObjectsFinal(session);
    for (const handle of found) module.C_DestroyObject(session, handle);
  });
}
