/**
 * RSA key generation shares libuv's thread pool with the sync of every audit batch: a caller
 * asking for RSA_4096 key pairs as fast as it can must not hold everyone else's requests (before,
 * four of them took every thread, and an Encrypt waited seconds for its audit record's sync).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, EncryptCommand, GenerateDataKeyPairCommand } from '@aws-sdk/client-kms';
import { MAX_CONCURRENT_RSA_GENERATIONS, generateRsaKeyPair, rsaGenerationsRunning } from '../src/keys/rsa-generation.js';
import { startTestServer, type TestServer } from './support/server.js';

describe('RSA key generation and the thread pool', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.dispose());

  it('runs at most all but two of the pool\'s threads at once; the rest wait their turn, and all finish', async () => {
    let most = 0;
    const pairs = Array.from({ length: 6 }, () => generateRsaKeyPair(2048).finally(() => (most = Math.max(most, rsaGenerationsRunning()))));
    most = Math.max(most, rsaGenerationsRunning());
    assert.equal(most, MAX_CONCURRENT_RSA_GENERATIONS);
    for (const pair of await Promise.all(pairs)) assert.equal(pair.privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(rsaGenerationsRunning(), 0);
  });

  it('an Encrypt is answered while eight RSA_4096 key pairs are being made, in a fraction of the time one of them takes', async () => {
    const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const timed = async (send: () => Promise<unknown>) => {
      const start = performance.now();
      await send();
      return performance.now() - start;
    };
    const pair = () => t.kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'RSA_4096' }));
    // Measured here, on this machine as loaded now: one key pair alone.
    const onePair = await timed(pair);
    const pairs = Array.from({ length: 8 }, pair);
    // Once the generations have taken their threads.
    await new Promise((done) => setTimeout(done, 100));
    const encrypt = await timed(() => t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('not held') })));
    await Promise.all(pairs);
    // Before, the Encrypt's audit sync waited behind the generations holding every thread: seconds.
    assert.ok(encrypt < onePair / 2, `Encrypt took ${encrypt.toFixed(0)} ms; one RSA_4096 key pair alone ${onePair.toFixed(0)} ms`);
  });
});
