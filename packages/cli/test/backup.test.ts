import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { cleanEnv, coffer, MAIN, removeTempDirs, tempDir, type Finished } from './support/cli.js';

/**
 * `coffer backup` and `coffer restore` as subprocesses: a backup taken while a server answers a
 * steady stream of Encrypt, CreateKey and CreateAlias requests restores into a store that passes
 * `coffer store check` and `coffer audit verify`, and a server on it decrypts every ciphertext
 * made before the backup. Refusals exit with the documented codes and say why.
 */

// From packages/cli/dist/test/ to packages/server/dist/test/support/: the server's own helpers,
// loaded at run time so this package does not build against the server's test sources.
const SERVER_SUPPORT = new URL('../../../server/dist/test/support/server.js', import.meta.url);

interface TestServer {
  readonly dataDir: string;
  readonly credentials: { readonly accessKeyId: string };
  readonly kms: KMSClient;
  stop(): Promise<void>;
}
type Start = (options?: { dataDir?: string }) => Promise<TestServer>;
const startTestServer: Start = async (options = {}) =>
  ((await import(SERVER_SUPPORT.href)) as { startTestServer: Start }).startTestServer(options);

after(removeTempDirs);

function ok(finished: Finished): Finished {
  assert.equal(finished.code, 0, `exit ${finished.code}: ${finished.stderr}`);
  return finished;
}

function passphraseFile(text = 'a long enough passphrase'): string {
  const path = join(tempDir(), 'passphrase');
  writeFileSync(path, `${text}\n`, { mode: 0o600 });
  return path;
}

describe('coffer backup and coffer restore', () => {
  it('backs up a store under load; the restore passes store check and audit verify, and decrypts everything made before', async () => {
    const source = await startTestServer({ dataDir: tempDir() });
    const before: { blob: Uint8Array; plaintext: string }[] = [];
    let stopLoad = false;
    let loadRequests = 0;
    let load: Promise<void> | undefined;
    try {
      const keyId = (await source.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      for (let i = 0; i < 20; i++) {
        const plaintext = `made before the backup #${i}`;
        before.push({ blob: (await source.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(plaintext) }))).CiphertextBlob!, plaintext });
      }
      // A steady stream of writes and reads, four at a time, for as long as the backup runs.
      const worker = async (w: number) => {
        for (let i = 0; !stopLoad; i++) {
          if (i % 3 === 0) {
            const made = (await source.kms.send(new CreateKeyCommand({ Description: `load ${w}.${i}` }))).KeyMetadata!.KeyId!;
            await source.kms.send(new CreateAliasCommand({ AliasName: `alias/load-${w}-${i}`, TargetKeyId: made }));
            loadRequests += 2;
          } else {
            await source.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`load ${w}.${i}`) }));
            loadRequests++;
          }
        }
      };
      load = Promise.all([0, 1, 2, 3].map(worker)).then(() => {});
      while (loadRequests < 20) await new Promise((done) => setTimeout(done, 10));
      const archive = join(tempDir(), 'under-load.backup');
      const atStart = loadRequests;
      const backup = ok(await coffer(['backup', '--data-dir', source.dataDir, '--out', archive, '--passphrase-file', passphraseFile(), '--json']));
      assert.ok(loadRequests > atStart, 'the server went on answering while the backup ran');
      const written = JSON.parse(backup.stdout) as { Counts: Record<string, number>; Protection: string; Bytes: number };
      assert.equal(written.Protection, 'passphrase');
      assert.ok(written.Counts.key! >= 2 && written.Counts.audit! >= 40, JSON.stringify(written.Counts));
      assert.equal(readFileSync(archive).length, written.Bytes);
      stopLoad = true;
      await load;

      const restored = join(tempDir(), 'restored');
      const restore = ok(await coffer(['restore', '--in', archive, '--data-dir', restored, '--passphrase-file', passphraseFile()]));
      assert.match(restore.stdout, new RegExp(`restored the backup of .* \\(from sqlite\\) into ${restored}/coffer.db: ${written.Counts.key} keys`));
      assert.match(ok(await coffer(['store', 'check', '--data-dir', restored])).stdout, /the store is intact/);
      ok(await coffer(['audit', 'verify', '--data-dir', restored]));

      const served = await startTestServer({ dataDir: restored });
      try {
        assert.equal(served.credentials.accessKeyId, source.credentials.accessKeyId);
        for (const c of before) {
          const opened = await served.kms.send(new DecryptCommand({ CiphertextBlob: c.blob }));
          assert.equal(Buffer.from(opened.Plaintext!).toString(), c.plaintext);
        }
      } finally {
        await served.stop();
      }
    } finally {
      stopLoad = true;
      await load?.catch(() => {});
      await source.stop();
    }
  });

  it('encrypts to a public key and restores with its private key; refuses the wrong one, a changed byte, a passphrase it lacks', async () => {
    const source = await startTestServer({ dataDir: tempDir() });
    await source.stop();
    const dir = tempDir();
    const pair = (name: string) => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      writeFileSync(join(dir, `${name}-public.pem`), publicKey);
      writeFileSync(join(dir, `${name}-private.pem`), privateKey, { mode: 0o600 });
      return { publicFile: join(dir, `${name}-public.pem`), privateFile: join(dir, `${name}-private.pem`) };
    };
    const right = pair('right');
    const wrong = pair('wrong');
    const archive = join(dir, 'public.backup');
    const privateGiven = await coffer(['backup', '--data-dir', source.dataDir, '--out', join(dir, 'never.backup'), '--recipient', right.privateFile]);
    assert.equal(privateGiven.code, 2, privateGiven.stderr);
    assert.match(privateGiven.stderr, /--recipient takes the public key/);
    ok(await coffer(['backup', '--data-dir', source.dataDir, '--out', archive, '--recipient', right.publicFile]));

    const target = join(tempDir(), 'target');
    const refusedWrongKey = await coffer(['restore', '--in', archive, '--data-dir', target, '--identity', wrong.privateFile]);
    assert.equal(refusedWrongKey.code, 4, refusedWrongKey.stderr);
    assert.match(refusedWrongKey.stderr, /^error: the archive was encrypted to the public key sha256:[0-9a-f]{64}, and the private key given belongs to sha256:[0-9a-f]{64}\nhint: give the passphrase \(or private key\)/);
    const noIdentity = await coffer(['restore', '--in', archive, '--data-dir', target, '--passphrase-file', passphraseFile()]);
    assert.equal(noIdentity.code, 2);
    assert.match(noIdentity.stderr, /is encrypted to a public key \(sha256:[0-9a-f]{64}\)\nhint: give its private key with --identity/);

    const tampered = join(dir, 'tampered.backup');
    const bytes = readFileSync(archive);
    bytes[bytes.length - 100]! ^= 0x80;
    writeFileSync(tampered, bytes);
    const refusedTampered = await coffer(['restore', '--in', tampered, '--data-dir', target, '--identity', right.privateFile]);
    assert.equal(refusedTampered.code, 4, refusedTampered.stderr);
    assert.match(refusedTampered.stderr, /the archive was altered or damaged .*nothing was restored\nhint: the archive cannot be trusted/);
    assert.equal(existsSync(target), false, 'nothing was written for any refusal');

    ok(await coffer(['restore', '--in', archive, '--data-dir', target, '--identity', right.privateFile]));
    const again = await coffer(['restore', '--in', archive, '--data-dir', target, '--identity', right.privateFile]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: The restore target .*coffer.db is not empty \(it holds access keys, .*\): a restore only fills an empty store/);
  });

  it('restore --in refuses a FIFO, a directory and a pipe as not regular files (exit 5), without opening them', async () => {
    // A FIFO without a writer hung for ever; a directory was 'EISDIR: illegal operation on a directory, read' (exit 1),
    // standard input through a pipe 'ESPIPE: invalid seek, read' (Node gives a child's standard input as a socket).
    const dir = tempDir();
    const fifo = join(dir, 'archive.fifo');
    execFileSync('mkfifo', [fifo]);
    const target = join(dir, 'target');
    for (const [path, kind] of [[fifo, 'a pipe \\(FIFO\\)'], [dir, 'a directory'], ['/dev/stdin', '(?:a pipe \\(FIFO\\)|a socket)']] as const) {
      const refused = await coffer(['restore', '--in', path, '--data-dir', target, '--passphrase-file', passphraseFile()], { input: 'not an archive' });
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(refused.stderr, new RegExp(`^error: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is ${kind}, not a regular file: an archive is read twice, so --in must name a file\nhint: `));
    }
    assert.equal(existsSync(target), false);
  });

  it('a backup stopped by a signal while it writes leaves no partial file (exit 143)', async () => {
    const source = await startTestServer({ dataDir: tempDir() });
    // Some MiB of rows, so that writing the archive takes a while.
    await Promise.all(Array.from({ length: 8 }, async (_, lane) => {
      for (let i = 0; i < 50; i++) await source.kms.send(new CreateKeyCommand({ Description: `key ${lane}/${i} ${'x'.repeat(8000)}` }));
    }));
    await source.stop();
    const dir = tempDir();
    let stopped = 0;
    // The partial file exists only while the archive is written: the signal is sent the moment it
    // appears. A backup that finishes first proves nothing, and is tried again.
    for (let attempt = 0; attempt < 5 && stopped === 0; attempt++) {
      const out = join(dir, `stopped-${attempt}.backup`);
      const child = spawn(process.execPath, [MAIN, 'backup', '--data-dir', source.dataDir, '--out', out], {
        env: cleanEnv({ COFFER_BACKUP_PASSPHRASE: 'a long enough passphrase' }), stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      // Once: a second signal, once the handler has run, would end the process by default.
      let signalled = false;
      const watcher = watch(dir, (_event, name) => {
        if (signalled || !name?.startsWith(`stopped-${attempt}.backup.partial-`)) return;
        signalled = true;
        child.kill('SIGTERM');
      });
      const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
      watcher.close();
      // Finished, or the signal came once it had (the default action then ends the process).
      if (code === 0 || code === null) continue;
      assert.equal(code, 143, stderr);
      assert.match(stderr, /SIGTERM: stopped; no archive was written/);
      stopped++;
    }
    assert.equal(stopped, 1, 'a backup was stopped while it wrote');
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('.partial')), [], 'no partial file is left');
  });

  it('says a store whose pages are damaged is damaged, where SQLite finds it only after the store opened', async () => {
    const source = await startTestServer({ dataDir: tempDir() });
    await source.kms.send(new CreateKeyCommand({ Description: 'on a page soon overwritten' }));
    await source.stop();
    // Every page but SQLite's first (the schema's root): the open succeeds, the first read of a table fails.
    const file = join(source.dataDir, 'coffer.db');
    const bytes = readFileSync(file);
    bytes.fill(0xa5, 4096);
    writeFileSync(file, bytes);
    const env = cleanEnv({ COFFER_BACKUP_PASSPHRASE: 'a long enough passphrase' });
    for (const command of [['backup', '--out', join(tempDir(), 'damaged.backup')], ['audit', 'verify'], ['serve', '--port', '0']]) {
      const refused = await coffer([...command, '--data-dir', source.dataDir], { env });
      assert.equal(refused.code, 1, `${command.join(' ')}: ${refused.stderr}`);
      // Before, SQLite's words alone: "error: database disk image is malformed".
      assert.match(refused.stderr, /^error: the store is damaged \(SQLite: database disk image is malformed\)\nhint: `coffer store check --data-dir DIR` names what it can; restore the store from a backup \(docs\/backup\.md\)\n$/m,
        command.join(' '));
    }
  });

  it('takes the passphrase from the environment; refuses a short one, a wrong one, none, and an --out that exists', async () => {
    const source = await startTestServer({ dataDir: tempDir() });
    await source.stop();
    const archive = join(tempDir(), 'env.backup');
    const env = (passphrase: string) => cleanEnv({ COFFER_BACKUP_PASSPHRASE: passphrase });
    const short = await coffer(['backup', '--data-dir', source.dataDir, '--out', archive], { env: env('short') });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /a backup passphrase needs at least 8 characters/);
    ok(await coffer(['backup', '--data-dir', source.dataDir, '--out', archive], { env: env('from the environment') }));
    const exists = await coffer(['backup', '--data-dir', source.dataDir, '--out', archive], { env: env('from the environment') });
    assert.equal(exists.code, 5);
    // An archive that cannot be written (here: no such directory; a full disk alike) is named, exit 5.
    const nowhere = join(tempDir(), 'no-such-dir', 'x.backup');
    const unwritable = await coffer(['backup', '--data-dir', source.dataDir, '--out', nowhere], { env: env('from the environment') });
    assert.equal(unwritable.code, 5, unwritable.stderr);
    assert.match(unwritable.stderr, /^error: cannot write the archive .*no-such-dir\/x\.backup: ENOENT\nhint: the directory --out names does not exist: create it, or choose another --out; nothing was left behind\n/);
    // A mistyped PostgreSQL URL is refused, as serve refuses it; the tools checked (or backed up)
    // the SQLite store beside it and said it was the one named.
    for (const command of [['store', 'check'], ['audit', 'verify'], ['backup', '--out', join(tempDir(), 'typo.backup')], ['restore', '--in', archive]]) {
      const typo = await coffer([...command, '--data-dir', source.dataDir, '--store', 'postgress://coffer@db/coffer'], { env: env('from the environment') });
      assert.equal(typo.code, 2, `${command.join(' ')}: ${typo.stderr}`);
      assert.match(typo.stderr, /^error: --store must be 'sqlite' or a postgres:\/\/ connection string$/m, command.join(' '));
    }
    // `-` is standard output elsewhere; here it would have been a file named `-`.
    for (const [flag, command] of [['--out', 'backup'], ['--in', 'restore']] as const) {
      const dash = await coffer([command, '--data-dir', source.dataDir, flag, '-'], { env: env('from the environment') });
      assert.equal(dash.code, 2, dash.stderr);
      assert.match(dash.stderr, new RegExp(`^error: ${flag} names a file; an archive does not go through standard (output|input)$`, 'm'));
    }
    const target = join(tempDir(), 'target');
    const wrong = await coffer(['restore', '--in', archive, '--data-dir', target], { env: env('not the passphrase') });
    assert.equal(wrong.code, 4);
    assert.match(wrong.stderr, /the passphrase does not open this archive/);
    // A passphrase file without a line end in its first 64 KiB (/dev/zero, say) is refused, not read on.
    const endless = join(tempDir(), 'endless');
    writeFileSync(endless, 'x'.repeat(64 * 1024 + 1));
    const tooLong = await coffer(['restore', '--in', archive, '--data-dir', target, '--passphrase-file', endless]);
    assert.equal(tooLong.code, 2, tooLong.stderr);
    assert.match(tooLong.stderr, /^error: the first line of the backup passphrase file '.+endless' is longer than 64 KiB\nhint: /);
    // Bytes that are not UTF-8 would decode to U+FFFD, every such file to the same passphrase: refused.
    const binary = join(tempDir(), 'binary');
    writeFileSync(binary, Buffer.from([0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x0a]));
    const notText = await coffer(['restore', '--in', archive, '--data-dir', target, '--passphrase-file', binary]);
    assert.equal(notText.code, 2, notText.stderr);
    assert.match(notText.stderr, /^error: the first line of the backup passphrase file '.+binary' is not UTF-8 text\nhint: /);
    const noPassphrase = await coffer(['restore', '--in', archive, '--data-dir', target]);
    assert.equal(noPassphrase.code, 2);
    assert.match(noPassphrase.stderr, /no passphrase for the archive\nhint: give --passphrase-file FILE or set COFFER_BACKUP_PASSPHRASE/);
    assert.equal(existsSync(target), false);
    // The temporary directory the archive is checked in cannot be made: the machine's fault, said as such, exit 1.
    const noScratch = await coffer(['restore', '--in', archive, '--data-dir', target], { env: { ...env('from the environment'), TMPDIR: join(tempDir(), 'gone') } });
    assert.equal(noScratch.code, 1, noScratch.stderr);
    assert.match(noScratch.stderr, /^error: The archive could not be checked: the scratch store in .*gone \(the system's temporary directory; TMPDIR moves it\) could not be written: ENOENT.*The archive itself may be intact; nothing was restored\.$/m);
    assert.equal(existsSync(target), false, 'nothing was made there');
  });
});
