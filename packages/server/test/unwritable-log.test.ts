import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { CLI_MAIN } from './support/server-process.js';
import { kmsClient, readCredentials, tempDataDir } from './support/server.js';

/**
 * The server's log is JSON lines on stderr, which operators redirect to a file: on a full disk that
 * file cannot be written. /dev/full fails every write with ENOSPC, as such a file does, for any
 * user. Before, the first log line killed the server with an unhandled 'error' event, and pino's
 * exit hook then retried the write forever: a process that neither served nor exited.
 */
describe('a server whose log cannot be written (stderr on a full disk)', () => {
  const dataDir = tempDataDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('goes on answering requests, and stops at SIGTERM with exit code 0', async () => {
    const full = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--quotas', 'off'], { stdio: ['ignore', 'pipe', full] });
    closeSync(full);
    const exited = new Promise<string>((done) => child.once('exit', (code, signal) => done(signal ?? String(code))));
    try {
      let banner = '';
      const endpoint = await new Promise<string>((done, fail) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          banner += chunk.toString('utf8');
          const match = /listening on (http:\/\/\S+)/.exec(banner);
          if (match) done(match[1]!);
        });
        void exited.then((how) => fail(new Error(`coffer serve exited (${how}) before it listened:\n${banner}`)));
      });
      const kms = kmsClient(endpoint, readCredentials(join(dataDir, 'credentials')));
      // A hung server would hold a request forever: each gets 5 seconds.
      const within = () => ({ abortSignal: AbortSignal.timeout(5000) });
      const keyId = (await kms.send(new CreateKeyCommand({}), within())).KeyMetadata!.KeyId!;
      for (let i = 0; i < 20; i++) {
        const sealed = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`line ${i}`) }), within());
        const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }), within());
        assert.equal(Buffer.from(opened.Plaintext!).toString(), `line ${i}`);
      }
      assert.equal((await kms.send(new ListKeysCommand({}), within())).Keys!.length, 1);
      kms.destroy();
      child.kill('SIGTERM');
      const how = await Promise.race([exited, new Promise<string>((done) => setTimeout(() => done('still running 10 s after SIGTERM'), 10_000))]);
      assert.equal(how, '0');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});
