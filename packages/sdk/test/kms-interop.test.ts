/**
 * Interoperability of the KMS keyring with the official SDK's KmsKeyringNode, both directions,
 * every suite, through a Coffer server (the official keyring gets a client whose endpoint is
 * Coffer through its `clientProvider`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, KMS } from '@aws-sdk/client-kms';
import * as official from '@aws-crypto/client-node';
import {
  ALGORITHM_SUITES, AwsKmsMrkDiscoveryKeyring, AwsKmsMrkKeyring, CommitmentPolicy, decrypt, encrypt, KmsKeyring,
} from '../src/index.js';
import { hex, policyFor } from './helpers/fixtures.js';
import { startCoffer, type CofferForTests } from './helpers/coffer-server.js';

const officialForbid = official.buildClient(official.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
const officialRequire = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);

// [frame length, plaintext length]: a short final frame, a final frame of exactly the frame
// length (an exact multiple), an empty message.
const SHAPES = [[1000, 2500], [512, 2048], [4096, 0]] as const;
const CONTEXT = { app: 'coffer', 'é': 'ü' };

describe('interop with @aws-crypto/client-node: KMS keyring through Coffer', () => {
  let coffer: CofferForTests;
  let generator: string;
  let additional: string;
  let theirs: official.KmsKeyringNode;
  let ours: KmsKeyring;
  let officialKms: KMS;
  before(async () => {
    coffer = await startCoffer();
    generator = await coffer.createKey();
    additional = await coffer.createKey();
    // The official keyring calls the aggregated client's methods (generateDataKey, ...).
    officialKms = new KMS({ endpoint: coffer.endpoint, region: coffer.region, credentials: coffer.credentials, maxAttempts: 1 });
    theirs = new official.KmsKeyringNode({ generatorKeyId: generator, keyIds: [additional], clientProvider: () => officialKms });
    ours = new KmsKeyring({ generatorKeyId: generator, keyIds: [additional], client: coffer.kms });
  });
  after(async () => {
    officialKms.destroy();
    await coffer.dispose();
  });

  for (const suite of ALGORITHM_SUITES) {
    test(`suite ${hex(suite.id)}: ours -> official and official -> ours, frame shapes ${SHAPES.map(([f, n]) => `${n}/${f}`).join(', ')}`, async () => {
      const client = suite.commitment ? officialRequire : officialForbid;
      for (const [frameLength, length] of SHAPES) {
        const plaintext = randomBytes(length);
        const { ciphertext } = await encrypt(ours, plaintext, { suiteId: suite.id, frameLength, encryptionContext: CONTEXT, commitmentPolicy: policyFor(suite) });
        const theirOut = await client.decrypt(theirs, ciphertext);
        assert.ok(theirOut.plaintext.equals(plaintext), `official decrypt of ours, ${length}/${frameLength}`);
        assert.equal(theirOut.messageHeader.encryptedDataKeys.length, 2);

        const { result } = await client.encrypt(theirs, plaintext, { suiteId: suite.id as number, frameLength, encryptionContext: CONTEXT });
        const ourOut = await decrypt(ours, result, { commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT, encryptionContext: CONTEXT });
        assert.ok(ourOut.plaintext.equals(plaintext), `our decrypt of official, ${length}/${frameLength}`);
        assert.deepEqual(ourOut.messageHeader.encryptedDataKeys.map((e) => [e.providerId, e.providerInfo.toString()]), [['aws-kms', generator], ['aws-kms', additional]]);
        assert.equal(ourOut.messageHeader.frameLength, frameLength);
      }
    });
  }

  test('MRK-aware keyrings with a multi-Region key of Coffer\'s: ours and the official ones, both directions', async () => {
    const mrk = (await coffer.kms.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.Arn!;
    assert.match(mrk, /:key\/mrk-[0-9a-f]{32}$/);
    const oursMrk = new AwsKmsMrkKeyring({ keyId: mrk, client: coffer.kms });
    const theirsMrk = new official.AwsKmsMrkAwareSymmetricKeyringNode({ keyId: mrk, client: officialKms });
    const plaintext = randomBytes(3000);
    const { ciphertext } = await encrypt(oursMrk, plaintext, { encryptionContext: CONTEXT });
    assert.ok((await officialRequire.decrypt(theirsMrk, ciphertext)).plaintext.equals(plaintext));
    const { result } = await officialRequire.encrypt(theirsMrk, plaintext, { encryptionContext: CONTEXT });
    const ourOut = await decrypt(oursMrk, result, { encryptionContext: CONTEXT });
    assert.ok(ourOut.plaintext.equals(plaintext));
    assert.deepEqual(ourOut.messageHeader.encryptedDataKeys.map((e) => [e.providerId, e.providerInfo.toString()]), [['aws-kms', mrk]]);
    // A discovery keyring of this Region opens it too, as it would a replica's message.
    const discovery = new AwsKmsMrkDiscoveryKeyring({ client: coffer.kms, region: coffer.region });
    assert.ok((await decrypt(discovery, result)).plaintext.equals(plaintext));
  });

  test('each side decrypts with only the additional key', async () => {
    const plaintext = randomBytes(100);
    const onlyOurs = new KmsKeyring({ keyIds: [additional], client: coffer.kms });
    const onlyTheirs = new official.KmsKeyringNode({ keyIds: [additional], clientProvider: () => officialKms });
    const { result } = await officialRequire.encrypt(theirs, plaintext);
    assert.ok((await decrypt(onlyOurs, result)).plaintext.equals(plaintext));
    const { ciphertext } = await encrypt(ours, plaintext);
    assert.ok((await officialRequire.decrypt(onlyTheirs, ciphertext)).plaintext.equals(plaintext));
  });
});
