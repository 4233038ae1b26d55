import assert from 'node:assert/strict';
import { readdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Service } from '../src/context.js';
import { createImportParameters, openImportedMaterial } from '../src/keys/import.js';
import { BackingKeys } from '../src/keys/backing-keys.js';
import { RootKeyMismatchError, RootKeyUnavailableError, type RootKey } from '../src/root/root-key.js';
import { initSoftHsmToken, SOFTHSM_LIBRARY, type SoftHsmToken } from './support/softhsm.js';
import { errorOf, startTestServer, tempDataDir, type TestServer } from './support/server.js';

// A token of this file's own (node --test runs each file in its own process): SoftHSM reads
// SOFTHSM2_CONF at C_Initialize, before any server opens the token.
const token: SoftHsmToken = initSoftHsmToken('coffer-failing');
const rootKeyWork = { refreshMs: 100, settleMs: 0, batchSize: 2 };
const pkcs11 = { library: SOFTHSM_LIBRARY, tokenLabel: token.label, pin: token.pin, keyLabel: 'failing-root' };

/**
 * The token fails while the server runs, as an HSM that is pulled or whose storage goes away: its
 * directory is moved aside (SoftHSM2 then answers CKR_OBJECT_HANDLE_INVALID, CKR_GENERAL_ERROR),
 * and put back by the function returned.
 */
function takeTokenAway(): () => void {
  const tokens = join(dirname(token.conf), 'tokens');
  const [dir] = readdirSync(tokens).filter((name) => !name.endsWith('.away'));
  renameSync(join(tokens, dir!), join(tokens, `${dir!}.away`));
  return () => renameSync(join(tokens, `${dir!}.away`), join(tokens, dir!));
}

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
  });
});

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
