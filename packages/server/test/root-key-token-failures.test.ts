import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Service } from '../src/context.js';
import { checkStore } from '../src/index.js';
import { createImportParameters, openImportedMaterial } from '../src/keys/import.js';
import { BackingKeys } from '../src/keys/backing-keys.js';
import { RootKeyMismatchError, RootKeyUnavailableError, type RootKey } from '../src/root/root-key.js';
import { admin } from './support/principals.js';
import { changeUserPin as changeTokenUserPin, initSoftHsmToken, SOFTHSM_LIBRARY, takeTokenAway as takeTokenAwayFrom, type SoftHsmToken } from './support/softhsm.js';
import { errorOf, startTestServer, tempDataDir, type TestServer } from './support/server.js';

// A token of this file's own (node --test runs each file in its own process): SoftHSM reads
// SOFTHSM2_CONF at C_Initialize, before any server opens the token.
const token: SoftHsmToken = initSoftHsmToken('coffer-failing');
const rootKeyWork = { refreshMs: 100, settleMs: 0, batchSize: 2 };
const pkcs11 = { library: SOFTHSM_LIBRARY, tokenLabel: token.label, pin: token.pin, keyLabel: 'failing-root' };

/** This file's token fails while the server runs, and comes back (support/softhsm.ts). */
const takeTokenAway = () => takeTokenAwayFrom(token);

async function newKey(kms: KMSClient): Promise<string> {
  return (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
}

async function encrypt(kms: KMSClient, keyId: string, text: string): Promise<Uint8Array> {
  return (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }))).CiphertextBlob!;
}

interface Logged { readonly level: string; readonly message: string; readonly fields: Record<string, unknown> }

describe('a PKCS#11 root key whose token fails while serving (SoftHSM2)', () => {
  const dataDir = tempDataDir();
  let keyId: string;
  let blob: Uint8Array;
  let t: TestServer;
  const logged: Logged[] = [];
  const logger = (level: string, message: string, fields?: Record<string, unknown>) => void logged.push({ level, message, fields: fields ?? {} });

  before(async () => {
    const first = await startTestServer({ dataDir, rootKey: { provider: 'pkcs11', pkcs11 }, rootKeyWork });
    keyId = await newKey(first.kms);
    blob = await encrypt(first.kms, keyId, 'sound data');
    await first.stop();
  });

  after(async () => {
    await t?.dispose();
  });

  it('answers KeyUnavailableException (500), logged with the request id and the token\'s code, never InvalidCiphertextException', async () => {
    // A fresh start: no backing key is cached, every operation needs the token.
    t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork, logger });
    const other = await newKey(t.kms);
    const putBack = takeTokenAway();
    try {
      for (const [operation, send] of [
        ['Decrypt', () => t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))],
        ['Encrypt', () => encrypt(t.kms, other, 'new data')],
      ] as const) {
        const error = await errorOf(send);
        assert.equal(error.name, 'KeyUnavailableException', `${operation}: ${error.name}: ${error.message}`);
        assert.equal(error.$metadata?.httpStatusCode, 500);
        const requestId = (error.$metadata as { requestId?: string }).requestId!;
        assert.equal(error.message, `The key material is not available: the server's root key could not be used; retry the request. Request id: ${requestId}`);
        const line = logged.find((l) => l.fields.requestId === requestId && l.level === 'error');
        assert.equal(line?.message, 'root key unavailable', JSON.stringify(line));
        assert.equal(line?.fields.operation, operation);
        assert.match(String(line?.fields.error), /PKCS#11 token failed to (un)?wrap with the key labelled 'failing-root' \(CKR_\w+/);
      }
      // A later try in the same outage meets only the session the module's re-initialisation ended:
      // its log line still names the token's code that began the outage.
      await new Promise((done) => setTimeout(done, 1_100));
      const later = await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: blob })));
      assert.equal(later.name, 'KeyUnavailableException');
      const laterId = (later.$metadata as { requestId?: string }).requestId!;
      assert.match(String(logged.find((l) => l.fields.requestId === laterId && l.level === 'error')?.fields.error),
        /could not be opened again after its source failed \(the PKCS#11 token failed to (un)?wrap with the key labelled 'failing-root' \(CKR_\w+/);
      // CreateKey wraps new material: AWS gives it no KeyUnavailableException, so it is the internal error.
      const created = await errorOf(() => newKey(t.kms));
      assert.equal(created.name, 'KMSInternalException', created.message);
      assert.match(created.message, /root key could not be used; retry the request/);
      const text = JSON.stringify(logged);
      assert.ok(!text.includes(token.pin), 'the PIN is never logged');
    } finally {
      putBack();
      await t.stop();
    }
    // A genuinely bad ciphertext is still the one opaque InvalidCiphertextException.
    t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork });
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    const refused = await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: tampered })));
    assert.equal(refused.name, 'InvalidCiphertextException');
    assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'sound data');
    await t.stop();
  });

  it('while the token is away, still authenticates callers it has seen: calls that need no key material work, and GetRootKeyStatus says what is wrong', async () => {
    t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork });
    await t.kms.send(new ListKeysCommand({}));
    const putBack = takeTokenAway();
    try {
      // Past the 250 ms an unwrapped secret is cached for: the secret must be unwrapped again, and cannot be.
      await new Promise((done) => setTimeout(done, 400));
      // Before, each of these failed as the root key could not unwrap the caller's secret.
      const listed = await t.kms.send(new ListKeysCommand({}));
      assert.ok(listed.Keys!.some((k) => k.KeyId === keyId));
      const status = await admin(t, 'GetRootKeyStatus', {});
      assert.match(String(status.NodeProblem), /^This node cannot use its root key now, so it refuses requests that need the root key: .*CKR_/);
      assert.equal((await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: blob })))).name, 'KeyUnavailableException');
    } finally {
      putBack();
      await t.stop();
    }
  });

  it('recovers by itself when the token comes back: a new session, the key proven by its check value; nothing is lost', async () => {
    t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork, logger });
    const other = await newKey(t.kms);
    const putBack = takeTokenAway();
    let back = false;
    try {
      assert.equal((await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: blob })))).name, 'KeyUnavailableException');
      putBack();
      back = true;
      // A failed reopen is not tried again for a second.
      await new Promise((done) => setTimeout(done, 1_100));
      assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'sound data');
      const fresh = await encrypt(t.kms, other, 'after the outage');
      const made = await newKey(t.kms);
      const again = await encrypt(t.kms, made, 'a key made after the outage');
      await t.stop();
      // What the recovered server wrote opens after a restart, and the store is intact.
      t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork });
      for (const [sealed, text] of [[blob, 'sound data'], [fresh, 'after the outage'], [again, 'a key made after the outage']] as const) {
        assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: sealed }))).Plaintext!).toString(), text);
      }
      await t.stop();
      process.env.COFFER_PKCS11_PIN = token.pin;
      assert.deepEqual((await checkStore({ dataDir })).problems, []);
    } finally {
      if (!back) putBack();
      await t.stop();
    }
  });

  it('refuses another token the module\'s configuration points at after start, and recovers once it points back', async () => {
    // Another token of the same label, holding another key of the same label.
    const impostor = initSoftHsmToken(token.label);
    const impostorData = tempDataDir();
    try {
      await (await startTestServer({ dataDir: impostorData, rootKey: { provider: 'pkcs11', pkcs11 }, rootKeyWork })).dispose();
    } finally {
      process.env.SOFTHSM2_CONF = token.conf;
    }
    t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork, logger });
    const original = readFileSync(token.conf);
    let putBack: (() => void) | undefined;
    const lastRefusal = async () => {
      const error = await errorOf(() => newKey(t.kms));
      assert.equal(error.name, 'KMSInternalException');
      const requestId = (error.$metadata as { requestId?: string }).requestId!;
      return String(logged.find((l) => l.fields.requestId === requestId && l.level === 'error')?.fields.error);
    };
    try {
      writeFileSync(token.conf, readFileSync(impostor.conf));
      // The token fails: the module is initialised again, reads the changed configuration and finds the impostor.
      putBack = takeTokenAway();
      await lastRefusal();
      putBack();
      putBack = undefined;
      await new Promise((done) => setTimeout(done, 1_100));
      assert.match(await lastRefusal(), /The key labelled 'failing-root' on the PKCS#11 token is not the root key the store was written with/);
      writeFileSync(token.conf, original);
      await new Promise((done) => setTimeout(done, 1_100));
      assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'sound data');
      await newKey(t.kms);
    } finally {
      writeFileSync(token.conf, original);
      putBack?.();
      await t.stop();
    }
  });

  it('does not try again a PIN the token refused: a PIN changed while serving leaves the key unavailable until a restart', async () => {
    t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork, logger });
    const newPin = '135792468';
    changeUserPin(token.pin, newPin);
    let putBack: (() => void) | undefined;
    try {
      // The logged-in session goes on: a PIN change alone stops nothing. (CreateKey wraps new material: it always needs the token.)
      await newKey(t.kms);
      putBack = takeTokenAway();
      assert.equal((await errorOf(() => newKey(t.kms))).name, 'KMSInternalException');
      putBack();
      putBack = undefined;
      const refusals: string[] = [];
      for (let attempt = 0; attempt < 2; attempt++) {
        await new Promise((done) => setTimeout(done, 1_100));
        const error = await errorOf(() => newKey(t.kms));
        assert.equal(error.name, 'KMSInternalException');
        const requestId = (error.$metadata as { requestId?: string }).requestId!;
        refusals.push(String(logged.find((l) => l.fields.requestId === requestId && l.level === 'error')?.fields.error));
      }
      assert.match(refusals[0]!, /PKCS#11 PIN is wrong/);
      assert.match(refusals[1]!, /PKCS#11 PIN is wrong.*not tried again until a restart/);
      assert.ok(!JSON.stringify(logged).includes(newPin) && !JSON.stringify(logged).includes(token.pin), 'no PIN is logged');
    } finally {
      putBack?.();
      await t.stop();
      changeUserPin(newPin, token.pin);
    }
    // A restart with the PIN the token has now opens the key again.
    t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork });
    assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'sound data');
    await t.stop();
  });
});

describe('a root-key rotation under way when the token fails (SoftHSM2)', () => {
  it('pauses, resumes by itself when the token is back, and retires the old key only once every value is re-wrapped', async () => {
    const dataDir = tempDataDir();
    const logged: string[] = [];
    const logger = (_level: string, message: string, fields?: Record<string, unknown>) => void logged.push(`${message} ${JSON.stringify(fields ?? {})}`);
    let t = await startTestServer({ dataDir, rootKey: { provider: 'pkcs11', pkcs11: { ...pkcs11, keyLabel: 'rotating-from' } }, rootKeyWork });
    const blobs: Uint8Array[] = [];
    for (let i = 0; i < 6; i++) blobs.push(await encrypt(t.kms, await newKey(t.kms), `value ${i}`));
    await t.stop();
    // The token goes away for a moment after the first batch is re-wrapped.
    let batches = 0;
    let putBack: (() => void) | undefined;
    const testOnlyAfterBatch = async () => {
      if (++batches !== 1) return;
      putBack = takeTokenAway();
      setTimeout(() => { putBack?.(); putBack = undefined; }, 300);
    };
    t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork: { ...rootKeyWork, testOnlyAfterBatch }, logger });
    try {
      await admin(t, 'RotateRootKey', { Provider: 'pkcs11', Pkcs11Library: SOFTHSM_LIBRARY, Pkcs11TokenLabel: token.label, Pkcs11KeyLabel: 'rotating-to' });
      const deadline = Date.now() + 20_000;
      for (;;) {
        // Requests fail while the token is away: their access key's secret is under the root key too.
        const status = await admin(t, 'GetRootKeyStatus', {}).catch(() => undefined);
        if (status?.RotationState === 'NONE') {
          assert.equal((status.RootKeys as unknown[]).length, 1, 'only the new root key is left');
          break;
        }
        assert.ok(Date.now() < deadline, `rotation not done: ${JSON.stringify(status)}\n${logged.join('\n')}`);
        await new Promise((done) => setTimeout(done, 100));
      }
      assert.ok(logged.some((line) => line.startsWith('root key rotation paused') && line.includes('PKCS#11')), logged.join('\n'));
      await t.stop();
      t = await startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } }, rootKeyWork });
      assert.deepEqual(
        await Promise.all(blobs.map(async (blob) => Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString())),
        blobs.map((_, i) => `value ${i}`));
      await t.stop();
      process.env.COFFER_PKCS11_PIN = token.pin;
      assert.deepEqual((await checkStore({ dataDir })).problems, []);
    } finally {
      putBack?.();
      await t.dispose();
    }
  });
});

const changeUserPin = (from: string, to: string) => changeTokenUserPin(token, from, to);

describe('ImportKeyMaterial when the root key fails', () => {
  /** A root key that wraps (GetParametersForImport worked) and then fails to unwrap with `failure`. */
  const serviceWhoseRootKeyFails = (failure: Error): Service => {
    const root: RootKey = { description: 'failing', wrap: async (plaintext) => Buffer.from(plaintext), unwrap: async () => { throw failure; } };
    return { backingKeys: new BackingKeys(root, undefined as never), now: Date.now } as unknown as Service;
  };
  const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';

  it('is the server\'s fault, not InvalidImportTokenException, when the root key cannot be used', async () => {
    const service = serviceWhoseRootKeyFails(new RootKeyUnavailableError('the PKCS#11 token failed to unwrap (CKR_DEVICE_REMOVED)'));
    const { importToken } = await createImportParameters(service, keyId, 'RSAES_OAEP_SHA_256', 'RSA_2048');
    await assert.rejects(openImportedMaterial(service, keyId, importToken, Buffer.alloc(256)), RootKeyUnavailableError);
  });

  it('is InvalidImportTokenException when the root key does not open the token', async () => {
    const service = serviceWhoseRootKeyFails(new RootKeyMismatchError('wrapped value does not open under its root key'));
    const { importToken } = await createImportParameters(service, keyId, 'RSAES_OAEP_SHA_256', 'RSA_2048');
    await assert.rejects(openImportedMaterial(service, keyId, importToken, Buffer.alloc(256)), (error: Error) => error.name === 'InvalidImportTokenException');
  });
});
