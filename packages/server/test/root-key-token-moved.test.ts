/**
 * A PKCS#11 root key whose token shows up elsewhere than the store recorded (another slot
 * number, as an HSM's partitions change): the server, configured with where the token is now,
 * opens it there, since the key it finds must still prove to be the store's; without that, it
 * stops with a message that says which flag to give.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { checkStore } from '../src/index.js';
import { initSoftHsmToken, moveTokenToAnotherSlot, SOFTHSM_LIBRARY, tokenSlot, type SoftHsmToken } from './support/softhsm.js';
import { startTestServer, tempDataDir } from './support/server.js';

// A token of this file's own (node --test runs each file in its own process).
const token: SoftHsmToken = initSoftHsmToken('coffer-moving');

describe('a PKCS#11 root key whose token moved to another slot (SoftHSM2)', () => {
  const dataDir = tempDataDir();
  let blob: Uint8Array;
  let oldSlot: number;
  let newSlot: number;

  before(async () => {
    oldSlot = tokenSlot(token);
    // Recorded by slot number: the form that breaks when slots are renumbered.
    const first = await startTestServer({
      dataDir, rootKey: { provider: 'pkcs11', pkcs11: { library: SOFTHSM_LIBRARY, slot: oldSlot, pin: token.pin, keyLabel: 'moving-root' } },
    });
    const keyId = (await first.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    blob = (await first.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept') }))).CiphertextBlob!;
    await first.stop();
    newSlot = moveTokenToAnotherSlot(token);
    assert.notEqual(newSlot, oldSlot);
    assert.equal(tokenSlot(token), newSlot);
  });

  it('without the token\'s place, refuses to start and names the recorded slot and the flags to give', async () => {
    await assert.rejects(startTestServer({ dataDir, rootKey: { pkcs11: { pin: token.pin } } }),
      new RegExp(`No PKCS#11 token in slot ${oldSlot} is present .*--pkcs11-token-label / --pkcs11-slot`));
  });

  for (const where of ['slot', 'tokenLabel'] as const) {
    it(`opens the key where --pkcs11-${where === 'slot' ? 'slot' : 'token-label'} says, with a warning, and everything decrypts`, async () => {
      const logged: string[] = [];
      const location = where === 'slot' ? { slot: newSlot } : { tokenLabel: token.label };
      const t = await startTestServer({
        dataDir, rootKey: { pkcs11: { pin: token.pin, ...location } }, logger: (level, message) => void (level === 'warn' && logged.push(message)),
      });
      try {
        assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'kept');
        assert.ok(logged.some((m) => m.includes(`is not in slot ${oldSlot}, where the store recorded it`)), logged.join('\n'));
      } finally {
        await t.stop();
      }
    });
  }

  it('a token elsewhere that does not hold the key is refused as before', async () => {
    const other = initSoftHsmToken('coffer-other');
    try {
      await assert.rejects(startTestServer({ dataDir, rootKey: { pkcs11: { pin: other.pin, tokenLabel: other.label } } }), /holds no key labelled 'moving-root'/);
    } finally {
      process.env.SOFTHSM2_CONF = token.conf;
    }
  });

  it('the store checks clean (as `coffer store check` and `coffer backup` open it), told where the token is', async () => {
    assert.deepEqual((await checkStore({ dataDir, rootKey: { pkcs11: { pin: token.pin, slot: newSlot } } })).problems, []);
  });
});
