import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './support/server.js';

describe('a fresh server', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.dispose());

  it('encrypts and decrypts with the official client', async () => {
    const key = await t.kms.send(new CreateKeyCommand({}));
    const keyId = key.KeyMetadata!.KeyId!;
    const sealed = await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hello') }));
    assert.equal(sealed.KeyId, key.KeyMetadata!.Arn);
    const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), 'hello');
  });
});
