import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { cleanEnv, coffer, cofferAgainst, jsonOf, MAIN, removeTempDirs, startTestServer, tempDir } from './support/cli.js';

after(removeTempDirs);

/** Starts `coffer serve` and resolves with its endpoint once it listens, or rejects with its stderr if it exits first. */
function serve(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((done) => child.on('close', done));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner: ${stderr}`)), 20_000);
    child.stdout.on('data', () => {
      const listening = /Coffer is listening on (http:\/\/\S+) /.exec(stdout);
      if (!listening) return;
      clearTimeout(timer);
      resolve({ endpoint: listening[1]!, stop: async () => { child.kill('SIGTERM'); await exited; } });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`coffer serve exited ${code}: ${stderr}`), { code, stderr }));
    });
  });
}

describe('coffer root', () => {
  it('rotates to a passphrase root key with the passphrase from a file: status shows it, the audit trail never holds it', async () => {
    const served = await startTestServer({ rootKeyWork: { refreshMs: 100, settleMs: 0, batchSize: 2 } });
    const run = cofferAgainst(served);
    try {
      const keyId = (await served.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const blob = (await served.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept') }))).CiphertextBlob!;
      const before = jsonOf(await run(['root', 'status', '--json']));
      assert.equal(before.CurrentRootKeyId, 'legacy');
      const passphraseFile = join(tempDir(), 'passphrase');
      const passphrase = 'typed at the operator console';
      writeFileSync(passphraseFile, `${passphrase}\n`, { mode: 0o600 });
      const rotated = await run(['root', 'rotate', '--to', 'passphrase', '--passphrase-file', passphraseFile]);
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.match(rotated.stdout, /root key [0-9a-f]{16} \(passphrase\) is now current/);
      let status = jsonOf(await run(['root', 'status', '--json']));
      for (let i = 0; status.RotationState !== 'NONE' && i < 200; i++) {
        await new Promise((done) => setTimeout(done, 50));
        status = jsonOf(await run(['root', 'status', '--json']));
      }
      assert.equal(status.RotationState, 'NONE');
      assert.deepEqual((status.RootKeys as { Provider: string }[]).map((k) => k.Provider), ['passphrase']);
      // --json gives dates in ISO 8601, as every other command's (epoch seconds before).
      assert.match(String((status.RootKeys as { CreationDate: unknown }[])[0]!.CreationDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const table = await run(['root', 'status']);
      assert.match(table.stdout, /passphrase +yes +kdf=scrypt N=32768 r=8 p=1/);
      assert.match(table.stdout, /no rotation in progress/);
      assert.equal(Buffer.from((await served.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'kept');
      const dataDir = (served as unknown as { dataDir: string }).dataDir;
      const db = new Database(join(dataDir, 'coffer.db'), { readonly: true });
      try {
        const records = db.prepare("SELECT record FROM audit WHERE operation = 'CofferAdmin.RotateRootKey'").all() as { record: string }[];
        assert.equal(records.length, 1);
        assert.match(records[0]!.record, /"Provider":"passphrase"/);
        assert.equal(records[0]!.record.includes(passphrase), false, 'the passphrase is not in the audit record');
      } finally {
        db.close();
      }
    } finally {
      await served.dispose();
    }
  });

  it('refuses an unknown provider as a usage error', async () => {
    const bad = await coffer(['root', 'rotate', '--to', 'floppy', '--endpoint-url', 'http://127.0.0.1:9']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--to must be one of file, passphrase, pkcs11, kms/);
  });
});

describe('coffer serve --root-key passphrase', () => {
  it('starts with the passphrase from a file, restarts with it from COFFER_ROOT_PASSPHRASE, refuses a wrong one; store check needs it too', async () => {
    const dataDir = tempDir();
    const passphraseFile = join(tempDir(), 'passphrase');
    writeFileSync(passphraseFile, 'served from a file\n', { mode: 0o600 });
    const env = cleanEnv();
    const first = await serve(['--data-dir', dataDir, '--root-key', 'passphrase', '--root-passphrase-file', passphraseFile], env);
    await first.stop();
    assert.deepEqual(readdirSync(dataDir).filter((f) => f.endsWith('.key')), [], 'no root key file');
    const second = await serve(['--data-dir', dataDir], cleanEnv({ COFFER_ROOT_PASSPHRASE: 'served from a file' }));
    await second.stop();
    await assert.rejects(serve(['--data-dir', dataDir], cleanEnv({ COFFER_ROOT_PASSPHRASE: 'not the passphrase' })), (error: Error & { code?: number; stderr?: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr ?? '', /error: The root-key passphrase is wrong/);
      return true;
    });
    const checked = await coffer(['store', 'check', '--data-dir', dataDir], { env: cleanEnv({ COFFER_ROOT_PASSPHRASE: 'served from a file' }) });
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /the store is intact/);
    const unchecked = await coffer(['store', 'check', '--data-dir', dataDir]);
    assert.equal(unchecked.code, 1);
    assert.match(unchecked.stderr, /no passphrase was given/);
    // The file the message offers works for the tools that open the store, as for coffer serve.
    const fromFile = await coffer(['store', 'check', '--data-dir', dataDir, '--root-passphrase-file', passphraseFile]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const verified = await coffer(['audit', 'verify', '--data-dir', dataDir, '--root-passphrase-file', passphraseFile]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /the audit chain is intact/);
  });
});

describe('coffer serve --root-key pkcs11', () => {
  it('refuses a token named both by slot and by label (they could be two tokens), before anything is made', async () => {
    const dataDir = tempDir();
    const refused = await coffer(['serve', '--data-dir', dataDir, '--root-key', 'pkcs11', '--pkcs11-slot', '0', '--pkcs11-token-label', 'coffer'], { env: cleanEnv() });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^error: --pkcs11-slot and --pkcs11-token-label both name the token$/m);
    assert.deepEqual(readdirSync(dataDir), []);
  });

  it('makes the root key on a SoftHSM2 token from the flags, restarts with only the PIN, refuses a wrong PIN', async () => {
    const hsm = tempDir();
    mkdirSync(join(hsm, 'tokens'));
    const conf = join(hsm, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${join(hsm, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'cli-token', '--so-pin', '87654321', '--pin', '13572468'], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' });
    const pinFile = join(hsm, 'pin');
    writeFileSync(pinFile, '13572468\n', { mode: 0o600 });
    const dataDir = tempDir();
    const first = await serve([
      '--data-dir', dataDir, '--root-key', 'pkcs11', '--pkcs11-library', '/usr/lib/softhsm/libsofthsm2.so',
      '--pkcs11-token-label', 'cli-token', '--pkcs11-key-label', 'coffer-root', '--pkcs11-pin-file', pinFile,
    ], cleanEnv({ SOFTHSM2_CONF: conf }));
    const credentials = readFileSync(join(dataDir, 'credentials'), 'utf8');
    const accessKeyId = /aws_access_key_id = (\S+)/.exec(credentials)![1]!;
    const secretAccessKey = /aws_secret_access_key = (\S+)/.exec(credentials)![1]!;
    const clientOf = (endpoint: string) => new KMSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    let kms = clientOf(first.endpoint);
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('on the token') }))).CiphertextBlob!;
    kms.destroy();
    await first.stop();
    assert.deepEqual(readdirSync(dataDir).filter((f) => f.endsWith('.key')), [], 'no root key file in the data directory');
    const second = await serve(['--data-dir', dataDir], cleanEnv({ SOFTHSM2_CONF: conf, COFFER_PKCS11_PIN: '13572468' }));
    kms = clientOf(second.endpoint);
    try {
      assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'on the token');
    } finally {
      kms.destroy();
      await second.stop();
    }
    await assert.rejects(serve(['--data-dir', dataDir], cleanEnv({ SOFTHSM2_CONF: conf, COFFER_PKCS11_PIN: '00000000' })), (error: Error & { code?: number; stderr?: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr ?? '', /error: The PKCS#11 PIN is wrong for the token labelled 'cli-token'/);
      return true;
    });
  });
});

