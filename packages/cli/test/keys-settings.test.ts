import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { CreateKeyCommand, GetKeyRotationStatusCommand, GetParametersForImportCommand, ImportKeyMaterialCommand } from '@aws-sdk/client-kms';
import { jsonOf, serverForTests, tempDir, type Finished } from './support/cli.js';

const suite = serverForTests();

const ok = (finished: Finished) => {
  assert.equal(finished.code, 0, finished.stderr);
  assert.equal(finished.stderr, '');
  return finished.stdout;
};

const policyFor = (sid: string) => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${suite.served.server.config.accountId}:root` }, Action: 'kms:*', Resource: '*' }],
});

async function newKey(): Promise<{ KeyId: string; Arn: string }> {
  const { KeyMetadata } = await suite.served.kms.send(new CreateKeyCommand({}));
  return { KeyId: KeyMetadata!.KeyId!, Arn: KeyMetadata!.Arn! };
}

// Every test makes its own keys, so the suites run side by side: each command is a Node.js start.
describe('coffer keys: rotation, tags, policy', { concurrency: 4 }, () => {
  describe('coffer keys rotation', { concurrency: true }, () => {
    it('rotates on demand and lists the rotation', async () => {
      const key = await newKey();
      const rotated = jsonOf(await suite.coffer(['keys', 'rotate', key.KeyId, '--json']));
      assert.equal(rotated.KeyId, key.Arn);
      const rotations = jsonOf(await suite.coffer(['keys', 'rotations', key.KeyId, '--json']));
      const list = rotations.Rotations as Record<string, unknown>[];
      assert.equal(list.length, 1);
      assert.equal(list[0]!.RotationType, 'ON_DEMAND');
      assert.match(ok(await suite.coffer(['keys', 'rotations', key.KeyId])), /^RotationDate +RotationType\n\S+ +ON_DEMAND$/m);
    });

    it('says how an imported key gets new material to rotate to, where it pointed at the key\'s state', async () => {
      const { KeyMetadata } = await suite.served.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
      const keyId = KeyMetadata!.KeyId!;
      const parameters = await suite.served.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      const wrappingKey = createPublicKey({ key: Buffer.from(parameters.PublicKey!), format: 'der', type: 'spki' });
      const material = publicEncrypt({ key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
      await suite.served.kms.send(new ImportKeyMaterialCommand({
        KeyId: keyId, ImportToken: parameters.ImportToken, EncryptedKeyMaterial: material, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }));
      const finished = await suite.coffer(['keys', 'rotate', keyId]);
      assert.equal(finished.code, 1, finished.stderr);
      assert.match(finished.stderr, /^error: KMSInvalidStateException: No available key material pending rotation/m);
      assert.match(finished.stderr, /^hint: import the new material first: ImportKeyMaterial with ImportType NEW_KEY_MATERIAL/m);
    });

    it('turns automatic rotation on with a period, shows the status, and turns it off', async () => {
      const key = await newKey();
      ok(await suite.coffer(['aliases', 'create', 'alias/rotating', key.KeyId]));
      assert.match(ok(await suite.coffer(['keys', 'rotation', 'enable', 'alias/rotating', '--period-days', '180'])), /every 180 days/);
      const status = jsonOf(await suite.coffer(['keys', 'rotation', 'status', 'alias/rotating', '--json']));
      assert.equal(status.KeyRotationEnabled, true);
      assert.equal(status.RotationPeriodInDays, 180);
      assert.match(ok(await suite.coffer(['keys', 'rotation', 'status', key.KeyId])), /^KeyRotationEnabled +true$/m);
      ok(await suite.coffer(['keys', 'rotation', 'disable', 'alias/rotating']));
      assert.equal((await suite.served.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).KeyRotationEnabled, false);
    });

    it('refuses --period-days outside 90..2560 with exit code 2', async () => {
      const finished = await suite.coffer(['keys', 'rotation', 'enable', 'alias/x', '--period-days', '30']);
      assert.equal(finished.code, 2);
      assert.match(finished.stderr, /^error: --period-days must be a whole number from 90 to 2560/m);
    });
  });

  describe('coffer keys tag, untag, tags', { concurrency: true }, () => {
    it('sets, replaces and removes tags, and lists them as a table and as JSON', async () => {
      const key = await newKey();
      ok(await suite.coffer(['keys', 'tag', key.KeyId, 'team=a', 'env=dev', 'url=https://x?y=z']));
      ok(await suite.coffer(['keys', 'tag', key.KeyId, 'env=prod']));
      ok(await suite.coffer(['keys', 'untag', key.KeyId, 'team']));
      const tags = jsonOf(await suite.coffer(['keys', 'tags', key.KeyId, '--json']));
      assert.deepEqual(tags.Tags, [{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'url', TagValue: 'https://x?y=z' }]);
      assert.match(ok(await suite.coffer(['keys', 'tags', key.KeyId])), /^TagKey +TagValue\nenv +prod\nurl +https:\/\/x\?y=z\n$/);
      // The confirmations echo the tag keys given with control characters escaped, as every other
      // output is: a terminal is not sent an escape sequence.
      const tagged = ok(await suite.coffer(['keys', 'tag', key.KeyId, 'x\x1b]0;title\x07=1']));
      const untagged = ok(await suite.coffer(['keys', 'untag', key.KeyId, 'x\x1b]0;title\x07']));
      for (const out of [tagged, untagged]) assert.doesNotMatch(out, /[\x1b\x07]/, JSON.stringify(out));
    });

    it('notes that untag K=V names a tag key K=V, not the tag K that `keys tag K=V` set', async () => {
      const key = await newKey();
      ok(await suite.coffer(['keys', 'tag', key.KeyId, 'env=prod']));
      const untagged = await suite.coffer(['keys', 'untag', key.KeyId, 'env=prod']);
      assert.equal(untagged.code, 0, untagged.stderr);
      // Before, only "removed from KEY: env=prod", and the tag env stayed unseen.
      assert.match(untagged.stderr, new RegExp(`^note: 'env=prod' was taken as a tag key of that name; a tag is removed by its key alone: coffer keys untag ${key.KeyId} env$`, 'm'));
      assert.deepEqual(jsonOf(await suite.coffer(['keys', 'tags', key.KeyId, '--json'])).Tags, [{ TagKey: 'env', TagValue: 'prod' }]);
    });

    it('refuses a tag without = and a tag command without tags, exit code 2', async () => {
      const noEquals = await suite.coffer(['keys', 'tag', 'alias/x', 'team']);
      assert.equal(noEquals.code, 2);
      // Said as this command takes tags: arguments, not the --tag of `keys create`.
      assert.match(noEquals.stderr, /^error: tag 'team' is not KEY=VALUE\nhint: write it as team=payments$/m);
      const createFlag = await suite.coffer(['keys', 'create', '--tag', 'team']);
      assert.equal(createFlag.code, 2);
      assert.match(createFlag.stderr, /^error: --tag 'team' is not KEY=VALUE\nhint: write it as --tag team=payments$/m);
      const none = await suite.coffer(['keys', 'tag', 'alias/x']);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /^error: coffer keys tag: missing K=V\.\.\.$/m);
    });
  });

  describe('coffer keys policy', { concurrency: true }, () => {
    it('puts a policy from a file and from standard input, and gets it as text and JSON', async () => {
      const key = await newKey();
      const file = join(tempDir(), 'policy.json');
      writeFileSync(file, policyFor('FileStatement'));
      ok(await suite.coffer(['keys', 'policy', 'put', key.KeyId, '--policy', file]));
      // The AWS CLI's way of naming the same file.
      ok(await suite.coffer(['keys', 'policy', 'put', key.KeyId, '--policy', `file://${file}`]));
      const got = jsonOf(await suite.coffer(['keys', 'policy', 'get', key.KeyId, '--json']));
      assert.equal(got.PolicyName, 'default');
      assert.match(String(got.Policy), /FileStatement/);

      ok(await suite.coffer(['keys', 'policy', 'put', key.Arn, '--policy', '-'], { input: policyFor('StdinStatement') }));
      const text = ok(await suite.coffer(['keys', 'policy', 'get', key.KeyId]));
      assert.equal((JSON.parse(text) as { Statement: { Sid: string }[] }).Statement[0]!.Sid, 'StdinStatement');
      assert.match(text, /^ {2}"Statement": \[$/m, 'indented for people');

      // A policy that indenting would take past the 32768-byte limit is printed compact, so that
      // what `get` printed can be put back.
      const statements = Array.from({ length: 60 }, (_, i) => ({ Sid: `S${i}`, Effect: 'Allow', Principal: { AWS: `arn:aws:iam::111122223333:root` }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'], Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': Array.from({ length: 8 }, (_, j) => `tenant-${i}-${j}-${'x'.repeat(20)}`) } } }));
      const large = JSON.stringify({ Version: '2012-10-17', Statement: [...statements, JSON.parse(policyFor('Admin')).Statement[0]] });
      assert.ok(large.length < 32_768 && JSON.stringify(JSON.parse(large), null, 2).length > 32_768, String(large.length));
      ok(await suite.coffer(['keys', 'policy', 'put', key.KeyId, '--policy', '-'], { input: large }));
      const printed = ok(await suite.coffer(['keys', 'policy', 'get', key.KeyId]));
      assert.ok(Buffer.byteLength(printed) <= 32_768, 'what get printed, line end included, fits the limit');
      writeFileSync(file, printed);
      ok(await suite.coffer(['keys', 'policy', 'put', key.KeyId, '--policy', file]));
    });

    it('passes the server a malformed policy and shows its error, exit code 1', async () => {
      const key = await newKey();
      const finished = await suite.coffer(['keys', 'policy', 'put', key.KeyId, '--policy', '-'], { input: '{"not": "a policy"' });
      assert.equal(finished.code, 1);
      assert.match(finished.stderr, /^error: MalformedPolicyDocumentException: /m);
    });

    it('refuses a policy that would lock the caller out unless --bypass-lockout-check', async () => {
      const key = await newKey();
      const lockout = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:Encrypt', Resource: '*' }],
      });
      const refused = await suite.coffer(['keys', 'policy', 'put', key.KeyId, '--policy', '-'], { input: lockout });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^error: MalformedPolicyDocumentException: /m);
      ok(await suite.coffer(['keys', 'policy', 'put', key.KeyId, '--policy', '-', '--bypass-lockout-check'], { input: lockout }));
    });

    it('needs --policy, exit code 2; an unreadable policy file is exit code 5', async () => {
      const missing = await suite.coffer(['keys', 'policy', 'put', 'alias/x']);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^error: coffer keys policy put: missing --policy FILE$/m);
      const unreadable = await suite.coffer(['keys', 'policy', 'put', 'alias/x', '--policy', join(tempDir(), 'no-such.json')]);
      assert.equal(unreadable.code, 5);
      assert.match(unreadable.stderr, /^error: cannot read the key policy from '.*no-such\.json': ENOENT$/m);
      assert.match(unreadable.stderr, /^hint: /m);
      const onCreate = await suite.coffer(['keys', 'create', '--policy', join(tempDir(), 'no-such.json')]);
      assert.equal(onCreate.code, 5);
    });
  });
});
