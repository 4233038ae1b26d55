import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import { cleanEnv, cofferAgainst, jsonOf, MAIN, removeTempDirs, run, startTestServer, type TestServer } from './support/cli.js';

let served: TestServer;
let coffer: ReturnType<typeof cofferAgainst>;
let keyArn: string;
before(async () => {
  served = await startTestServer();
  coffer = cofferAgainst(served);
  keyArn = (await served.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
});
after(async () => {
  await served.dispose();
  removeTempDirs();
});

const base64 = (value: unknown) => Buffer.from(String(value), 'base64');

describe('coffer random and coffer data-key', { concurrency: 4 }, () => {
  describe('coffer random', { concurrency: true }, () => {
    it('writes raw bytes by default when standard output is not a terminal', async () => {
      const finished = await coffer(['random', '1024']);
      assert.equal(finished.code, 0, finished.stderr);
      assert.equal(finished.bytes.length, 1024);
      assert.ok(new Set(finished.bytes).size > 100, 'the bytes look random');
    });

    it('prints base64 by default when standard output is a terminal', async () => {
      // `script` runs the command on a pseudo-terminal; the terminal turns \n into \r\n.
      const command = [process.execPath, MAIN, 'random', '12', '--endpoint-url', served.server.endpoint].map((w) => `'${w}'`).join(' ');
      const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
      const finished = await run('script', ['-q', '-e', '-c', command, '/dev/null'], { env });
      assert.equal(finished.code, 0, finished.stdout);
      assert.match(finished.stdout, /^[A-Za-z0-9+/]{16}\r?\n$/);
    });

    it('prints base64, hex or JSON when asked, raw with --raw', async () => {
      const [b64, hex, json, raw] = await Promise.all([
        coffer(['random', '32', '--base64']), coffer(['random', '16', '--hex']), coffer(['random', '8', '--json']), coffer(['random', '5', '--raw']),
      ]);
      assert.match(b64.stdout, /^[A-Za-z0-9+/]{43}=\n$/);
      assert.equal(base64(b64.stdout.trim()).length, 32);
      assert.match(hex.stdout, /^[0-9a-f]{32}\n$/);
      assert.equal(base64(jsonOf(json).Plaintext).length, 8);
      assert.equal(raw.bytes.length, 5);
    });

    it('refuses N outside 1..1024, a missing N and two formats, exit code 2', async () => {
      const results = await Promise.all([
        coffer(['random', '0']), coffer(['random', '1025']), coffer(['random', 'ten']), coffer(['random']), coffer(['random', '4', '--hex', '--raw']),
      ]);
      for (const finished of results) {
        assert.equal(finished.code, 2, finished.stderr);
        assert.match(finished.stderr, /^error: /m);
        assert.match(finished.stderr, /^hint: /m);
        assert.equal(finished.stdout, '');
      }
      assert.match(results[0]!.stderr, /N must be a whole number from 1 to 1024, not '0'/);
      assert.match(results[3]!.stderr, /^error: coffer random: missing N$/m);
    });
  });

  describe('coffer data-key', { concurrency: true }, () => {
    it('makes an AES_256 data key by default whose ciphertext decrypts to its plaintext', async () => {
      const answer = jsonOf(await coffer(['data-key', keyArn, '--json']));
      assert.equal(answer.KeyId, keyArn);
      const plaintext = base64(answer.Plaintext);
      assert.equal(plaintext.length, 32);
      const decrypted = await served.kms.send(new DecryptCommand({ CiphertextBlob: base64(answer.CiphertextBlob) }));
      assert.ok(Buffer.from(decrypted.Plaintext!).equals(plaintext));
    });

    it('takes --key-spec AES_128, --bytes N and an encryption context that Decrypt then needs', async () => {
      const aes128 = jsonOf(await coffer(['data-key', keyArn, '--key-spec', 'AES_128', '--json']));
      assert.equal(base64(aes128.Plaintext).length, 16);
      const sized = jsonOf(await coffer(['data-key', keyArn, '--bytes', '64', '--context', 'tenant=acme', '--context', 'purpose=backup', '--json']));
      assert.equal(base64(sized.Plaintext).length, 64);
      const decrypted = await served.kms.send(new DecryptCommand({
        CiphertextBlob: base64(sized.CiphertextBlob), EncryptionContext: { tenant: 'acme', purpose: 'backup' },
      }));
      assert.ok(Buffer.from(decrypted.Plaintext!).equals(base64(sized.Plaintext)));
      await assert.rejects(served.kms.send(new DecryptCommand({ CiphertextBlob: base64(sized.CiphertextBlob) })), { name: 'InvalidCiphertextException' });
    });

    it('leaves the plaintext out with --without-plaintext, and prints fields for people', async () => {
      const answer = jsonOf(await coffer(['data-key', keyArn, '--without-plaintext', '--json']));
      assert.equal(answer.Plaintext, undefined);
      assert.ok(base64(answer.CiphertextBlob).length > 32);
      const table = await coffer(['data-key', keyArn]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^CiphertextBlob +[A-Za-z0-9+/=]+$/m);
      assert.match(table.stdout, /^Plaintext +[A-Za-z0-9+/]{43}=$/m);
      assert.match(table.stdout, /^KeyId +arn:aws:kms:/m);
    });

    it('refuses --key-spec with --bytes and an unknown --key-spec, exit code 2', async () => {
      const both = await coffer(['data-key', keyArn, '--key-spec', 'AES_256', '--bytes', '32']);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /^error: --key-spec and --bytes cannot be combined$/m);
      const unknown = await coffer(['data-key', keyArn, '--key-spec', 'AES_512']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^hint: use one of: AES_128, AES_256$/m);
      const context = await coffer(['data-key', keyArn, '--context', 'tenant']);
      assert.equal(context.code, 2);
      assert.match(context.stderr, /^error: --context 'tenant' is not KEY=VALUE$/m);
    });

    it('answers a disabled key with DisabledException, exit code 1 and a hint', async () => {
      const key = (await served.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      assert.equal((await coffer(['keys', 'disable', key])).code, 0);
      const finished = await coffer(['data-key', key]);
      assert.equal(finished.code, 1);
      assert.match(finished.stderr, /^error: DisabledException: /m);
      assert.match(finished.stderr, /^hint: `coffer keys enable KEY`/m);
    });
  });
});
