import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { rawRequest, tempDataDir } from './support/server.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

const admin = async (node: ServerProcess, operation: string, body: unknown = {}): Promise<Record<string, unknown>> => {
  const answer = await rawRequest(node.endpoint, node.credentials, operation, body, { headers: { 'x-amz-target': `CofferAdmin.${operation}` } });
  assert.equal(answer.status, 200, answer.text);
  return answer.body;
};

const encrypt = async (kms: KMSClient, text: string): Promise<Uint8Array> => {
  const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  return (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }))).CiphertextBlob!;
};

const decrypt = async (kms: KMSClient, blob: Uint8Array): Promise<string> =>
  Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString();

/**
 * A `coffer serve` process killed with SIGKILL in the middle of a root-key rotation: the new root
 * key was already current (values made after it are under it), the old values not yet re-wrapped.
 * The next start resumes the rotation from the keyring and finishes it; then the old root.key is
 * no longer needed.
 */
describe('a root-key rotation cut short by SIGKILL', () => {
  it('resumes at the next start, and every ciphertext decrypts without the old root key', async () => {
    const dataDir = tempDataDir();
    let node = await startServerProcess({ dataDir });
    try {
      const before = await Promise.all(['one', 'two', 'three', 'four'].map((text) => encrypt(node.kms, text)));
      const begun = await admin(node, 'RotateRootKey');
      // Wrapped by the new root key at once, while the old values still wait for the re-wrap.
      const during = await encrypt(node.kms, 'after the new key became current');
      assert.equal((await admin(node, 'GetRootKeyStatus')).RotationState, 'IN_PROGRESS');
      await node.kill();

      node = await startServerProcess({ dataDir });
      assert.equal(await decrypt(node.kms, during), 'after the new key became current');
      const deadline = Date.now() + 45_000;
      for (;;) {
        const status = await admin(node, 'GetRootKeyStatus');
        if (status.RotationState === 'NONE') {
          assert.deepEqual((status.RootKeys as { RootKeyId: string }[]).map((k) => k.RootKeyId), [begun.RootKeyId]);
          break;
        }
        assert.ok(Date.now() < deadline, `the resumed rotation finishes: ${JSON.stringify(status)}`);
        await new Promise((done) => setTimeout(done, 100));
      }
      await node.stop();
      rmSync(join(dataDir, 'root.key'));
      node = await startServerProcess({ dataDir });
      assert.deepEqual(await Promise.all(before.map((blob) => decrypt(node.kms, blob))), ['one', 'two', 'three', 'four']);
      assert.equal(await decrypt(node.kms, during), 'after the new key became current');
    } finally {
      await node.stop();
    }
  });
});
