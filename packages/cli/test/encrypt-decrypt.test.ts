import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as official from '@aws-crypto/client-node';
import { CreateKeyCommand, DisableKeyCommand, KMS } from '@aws-sdk/client-kms';
import { encrypt, KmsKeyring, RequiredEncryptionContextCryptographicMaterialsManager } from '@coffer/sdk';
import { cleanEnv, cofferAgainst, MAIN, removeTempDirs, run, startTestServer, tempDir, type TestServer } from './support/cli.js';

let served: TestServer;
let coffer: ReturnType<typeof cofferAgainst>;
let keyArn: string;
let otherKeyArn: string;
/** Operations the server answered, in order: the server's one 'request' log line per request. */
const operations: string[] = [];
before(async () => {
  served = await startTestServer({
    logger: (_level: string, message: string, fields?: Record<string, unknown>) => {
      if (message === 'request') operations.push(String(fields?.operation));
    },
  });
  coffer = cofferAgainst(served);
  keyArn = (await served.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  otherKeyArn = (await served.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  const alias = await coffer(['aliases', 'create', 'alias/files', keyArn]);
  assert.equal(alias.code, 0, alias.stderr);
});
after(async () => {
  await served.dispose();
  removeTempDirs();
});

/** GenerateDataKey calls the server answered while `work` ran. */
async function generateDataKeyCalls(work: () => Promise<unknown>): Promise<number> {
  const start = operations.length;
  await work();
  return operations.slice(start).filter((o) => o === 'GenerateDataKey').length;
}

function ok(finished: { code: number | null; stderr: string }): void {
  assert.equal(finished.code, 0, finished.stderr);
}

/** A directory of mixed sizes: empty, 1 byte, exactly one 4096-byte frame, several MiB, nested. */
function mixedTree(): { dir: string; files: Record<string, Buffer> } {
  const dir = tempDir();
  const files: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    'one-byte': Buffer.from([0x2a]),
    'sub/one-frame': randomBytes(4096),
    'sub/deeper/several-mib': randomBytes(5 * 1024 * 1024 + 17),
    'sub/text.txt': Buffer.from('line one\r\nline two\n'),
  };
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  return { dir, files };
}

describe('coffer encrypt and coffer decrypt', { concurrency: 3 }, () => {
  it('round-trips a file through an alias, with a context, default output names and one metadata line', async () => {
    const dir = tempDir();
    const plaintext = randomBytes(70_000);
    writeFileSync(join(dir, 'report.pdf'), plaintext);
    const metadata = join(dir, 'meta.jsonl');
    ok(await coffer(['encrypt', join(dir, 'report.pdf'), '--key', 'alias/files', '--context', 'tenant=acme', '--frame-length', '4096',
      '--metadata-output', metadata]));
    const encrypted = join(dir, 'report.pdf.encrypted');
    assert.equal(statSync(encrypted).mode & 0o777, 0o600);
    const line = JSON.parse(readFileSync(metadata, 'utf8').trim()) as Record<string, any>;
    assert.equal(line.input, join(dir, 'report.pdf'));
    assert.equal(line.output, encrypted);
    assert.equal(line.bytesIn, 70_000);
    assert.equal(line.header.suiteId, '0x0578');
    assert.equal(line.header.frameLength, 4096);
    assert.equal(line.header.encryptionContext.tenant, 'acme');
    assert.deepEqual(line.header.encryptedDataKeys, [{ providerId: 'aws-kms', providerInfo: keyArn }]);

    const out = tempDir();
    ok(await coffer(['decrypt', encrypted, '--key', 'alias/files', '--context', 'tenant=acme', '-o', join(out, 'report.pdf')]));
    assert.ok(readFileSync(join(out, 'report.pdf')).equals(plaintext));
    // Without -o, decrypt drops the suffix: here the original name exists, so it is refused (exit 5).
    const exists = await coffer(['decrypt', encrypted, '--key', keyArn]);
    assert.equal(exists.code, 5, exists.stderr);
    assert.match(exists.stderr, /^hint: pass --force/m);
    ok(await coffer(['decrypt', encrypted, '--key', keyArn, '--force']));
    assert.ok(readFileSync(join(dir, 'report.pdf')).equals(plaintext));
  });

  it('pipes standard input to standard output, for every suite it is given', async () => {
    const plaintext = Buffer.concat([Buffer.from([0, 0, 0xff]), randomBytes(10_000), Buffer.from('\r\n')]);
    for (const [suite, policy] of [['AES_256_GCM_HKDF_SHA512_COMMIT_KEY', undefined], ['0x0578', undefined],
      ['AES_128_GCM_IV12_TAG16_HKDF_SHA256', 'FORBID_ENCRYPT_ALLOW_DECRYPT']] as const) {
      const policyFlags = policy ? ['--commitment-policy', policy] : [];
      const encrypted = await coffer(['encrypt', '-', '--key', keyArn, '--suite', suite, ...policyFlags], { input: plaintext });
      ok(encrypted);
      const decrypted = await coffer(['decrypt', '-', '--key', keyArn, ...(policy ? ['--commitment-policy', 'REQUIRE_ENCRYPT_ALLOW_DECRYPT'] : [])],
        { input: encrypted.bytes });
      ok(decrypted);
      assert.ok(decrypted.bytes.equals(plaintext), `suite ${suite}`);
    }
    // A message without key commitment is refused by the default policy: exit 4, nothing written.
    const legacy = await coffer(['encrypt', '-', '--key', keyArn, '--suite', '0x0178', '--commitment-policy', 'FORBID_ENCRYPT_ALLOW_DECRYPT'], { input: plaintext });
    ok(legacy);
    const refused = await coffer(['decrypt', '-', '--key', keyArn], { input: legacy.bytes });
    assert.equal(refused.code, 4);
    assert.equal(refused.bytes.length, 0);
    assert.match(refused.stderr, /^hint: .*--commitment-policy REQUIRE_ENCRYPT_ALLOW_DECRYPT/m);
  });

  it('mirrors a directory tree of mixed sizes and back, byte-identical, one metadata line per file', async () => {
    const { dir, files } = mixedTree();
    const encryptedDir = join(tempDir(), 'encrypted');
    const metadata = join(tempDir(), 'meta.jsonl');
    ok(await coffer(['encrypt', '--recursive', dir, '-o', encryptedDir, '--key', 'alias/files', '--key', otherKeyArn,
      '--frame-length', '4096', '--suite', 'AES_256_GCM_HKDF_SHA512_COMMIT_KEY', '--metadata-output', metadata]));
    for (const name of Object.keys(files)) assert.ok(existsSync(join(encryptedDir, `${name}.encrypted`)), name);
    const lines = readFileSync(metadata, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(lines.length, Object.keys(files).length);
    assert.deepEqual(lines[0]!.header.encryptedDataKeys.map((k: { providerInfo: string }) => k.providerInfo), [keyArn, otherKeyArn]);

    // The second key alone decrypts: each message holds the data key under both.
    const back = join(tempDir(), 'back');
    ok(await coffer(['decrypt', '-r', encryptedDir, '-o', back, '--key', otherKeyArn]));
    for (const [name, bytes] of Object.entries(files)) assert.ok(readFileSync(join(back, name)).equals(bytes), name);
    assert.deepEqual(readdirSync(back).sort(), ['empty', 'one-byte', 'sub']);
    // Signed messages, too (held until their signature verifies).
    const signedDir = join(tempDir(), 'signed');
    ok(await coffer(['encrypt', '-r', dir, '-o', signedDir, '--key', keyArn, '--suffix', '.cfr']));
    const signedBack = join(tempDir(), 'signed-back');
    ok(await coffer(['decrypt', '-r', signedDir, '-o', signedBack, '--key', keyArn, '--suffix', '.cfr']));
    for (const [name, bytes] of Object.entries(files)) assert.ok(readFileSync(join(signedBack, name)).equals(bytes), name);
  });

  it('decrypts only when the message holds every --context pair given, and writes nothing otherwise', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a'), 'secret');
    ok(await coffer(['encrypt', join(dir, 'a'), '--key', keyArn, '--context', 'tenant=acme', '--context', 'purpose=backup']));
    const encrypted = join(dir, 'a.encrypted');
    const refusals: Array<[string[], RegExp]> = [
      [['tenant=other'], /^error: cannot decrypt: the message's encryption context has tenant=acme, not tenant=other$/m],
      [['tenant=acme', 'region=eu'], /^error: cannot decrypt: the message does not store region=eu, and no key decrypted it with that pair added/m],
    ];
    for (const [context, error] of refusals) {
      const out = join(dir, `out-${context.length}`);
      const refused = await coffer(['decrypt', encrypted, '--key', keyArn, '-o', out, ...context.flatMap((c) => ['--context', c])]);
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stderr, error);
      assert.match(refused.stderr, /^hint: /m);
      assert.equal(existsSync(out), false);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['a', 'a.encrypted']);
    const accepted = await coffer(['decrypt', encrypted, '--key', keyArn, '-o', '-', '--context', 'tenant=acme']);
    ok(accepted);
    assert.equal(accepted.stdout, 'secret');
    // The stored value is the message's own, unauthenticated when quoted: shown escaped, its escape
    // sequences and line breaks never reaching the terminal (a retitled window, a forged error line).
    ok(await coffer(['encrypt', join(dir, 'a'), '-o', join(dir, 'hostile'), '--key', keyArn, '--context', 'tenant=\x1b]0;PWNED\x07\x1b[31mred\r\nerror: fake\u202e']));
    const quoted = await coffer(['decrypt', join(dir, 'hostile'), '--key', keyArn, '-o', '-', '--context', 'tenant=acme']);
    assert.equal(quoted.code, 4, quoted.stderr);
    assert.match(quoted.stderr, /^error: cannot decrypt: the message's encryption context has tenant=\\x1b\]0;PWNED\\x07\\x1b\[31mred\\x0d\\x0aerror: fake\\u202e, not tenant=acme$/m);
    assert.doesNotMatch(quoted.stderr, /[\x00-\x09\x0b-\x1f\u202e]/);
    assert.equal(quoted.stderr.match(/^error: /gm)?.length, 1, quoted.stderr);
    // --metadata-output - writes the same context as JSON whose DEL, C1 and bidi characters are escaped (JSON.stringify leaves them raw).
    ok(await coffer(['encrypt', join(dir, 'a'), '-o', join(dir, 'bidi'), '--key', keyArn, '--context', 'user=\u202egnp.exe\x7f\u009b2J']));
    const metadata = await coffer(['decrypt', join(dir, 'bidi'), '--key', keyArn, '-o', join(dir, 'bidi-out'), '--metadata-output', '-']);
    ok(metadata);
    assert.doesNotMatch(metadata.stdout, /[\x7f-\x9f\u202e]/);
    assert.match(metadata.stdout, /"user":"\\u202egnp\.exe\\u007f\\u009b2J"/);
    assert.equal((JSON.parse(metadata.stdout) as { header: { encryptionContext: Record<string, string> } }).header.encryptionContext.user, '\u202egnp.exe\x7f\u009b2J');
    // A --recursive run's notes name files of the tree, whose names are anyone's: escaped too.
    const tree = join(tempDir(), 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'x\x1b]0;owned\x07\x1b[2J'), 'not a message');
    const noted = await coffer(['decrypt', '-r', tree, '-o', join(tempDir(), 'tree-out'), '--key', keyArn]);
    assert.match(noted.stderr, /^note: 1 file not ending in \.encrypted left as it is \(e\.g\. '.*x\\x1b\]0;owned\\x07\\x1b\[2J'\)/m);
    assert.doesNotMatch(noted.stderr, /[\x00-\x09\x0b-\x1f]/);
  });

  it('decrypts a message whose required encryption context is authenticated but not stored, given it back with --context', async () => {
    const kms = new KMS({ endpoint: served.server.endpoint, region: 'us-east-1', credentials: served.credentials, maxAttempts: 1 });
    try {
      const materials = new RequiredEncryptionContextCryptographicMaterialsManager({
        underlying: new KmsKeyring({ generatorKeyId: keyArn, client: kms }), requiredEncryptionContextKeys: ['tenant'],
      });
      const { ciphertext, messageHeader } = await encrypt(materials, Buffer.from('required'), { encryptionContext: { tenant: 'acme', app: 'cli' } });
      assert.deepEqual(messageHeader.requiredEncryptionContextKeys, ['tenant'], 'the pair is authenticated, not stored');
      assert.equal(ciphertext.includes('acme'), false);
      const back = await coffer(['decrypt', '-', '--key', keyArn, '--context', 'tenant=acme', '--context', 'app=cli'], { input: ciphertext });
      ok(back);
      assert.equal(back.stdout, 'required');
      for (const context of [[], ['tenant=other']]) {
        const refused = await coffer(['decrypt', '-', '--key', keyArn, ...context.flatMap((c) => ['--context', c])], { input: ciphertext });
        assert.equal(refused.code, 4, refused.stderr);
        assert.equal(refused.stdout, '');
        if (context.length === 0) assert.match(refused.stderr, /required encryption context also needs its pairs given back with --context$/m);
      }
    } finally {
      kms.destroy();
    }
  });

  it('with --discovery decrypts whatever key the message names, limited by --discovery-account', async () => {
    const encrypted = await coffer(['encrypt', '-', '--key', otherKeyArn], { input: 'found' });
    ok(encrypted);
    const found = await coffer(['decrypt', '-', '--discovery', '--discovery-account', '111122223333'], { input: encrypted.bytes });
    ok(found);
    assert.equal(found.stdout, 'found');
    const filtered = await coffer(['decrypt', '-', '--discovery', '--discovery-account', '999999999999'], { input: encrypted.bytes });
    assert.equal(filtered.code, 4);
    assert.equal(filtered.stdout, '');
    assert.match(filtered.stderr, /^hint: none of the keys the message names is in --discovery-account/m);
    assert.doesNotMatch(filtered.stderr, /or --discovery[;$]/m, 'not told to pass the flag it passed');
    // The wrong key named: no key of the message is tried.
    const wrongKey = await coffer(['decrypt', '-', '--key', keyArn], { input: encrypted.bytes });
    assert.equal(wrongKey.code, 4);
    assert.match(wrongKey.stderr, /^hint: pass --key with a key the message was encrypted under .*, or --discovery; a message written under a required encryption context also needs its pairs given back with --context$/m);
  });

  it('interoperates with the official AWS Encryption SDK both ways', async () => {
    const client = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const kms = new KMS({ endpoint: served.server.endpoint, region: 'us-east-1', credentials: served.credentials, maxAttempts: 1 });
    try {
      const keyring = new official.KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: () => kms });
      const plaintext = randomBytes(300_000);
      const ours = await coffer(['encrypt', '-', '--key', 'alias/files', '--context', 'app=coffer'], { input: plaintext });
      ok(ours);
      const theirs = await client.decrypt(keyring, ours.bytes);
      assert.ok(theirs.plaintext.equals(plaintext));
      assert.equal(theirs.messageHeader.encryptionContext.app, 'coffer');

      const { result } = await client.encrypt(keyring, plaintext, { encryptionContext: { app: 'official' } });
      const back = await coffer(['decrypt', '-', '--key', 'alias/files', '--context', 'app=official'], { input: result });
      ok(back);
      assert.ok(back.bytes.equals(plaintext));
    } finally {
      kms.destroy();
    }
  });

  it('answers a tampered or truncated message with exit code 4 and a hint, leaving no output file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), randomBytes(50_000));
    ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '--frame-length', '4096', '-o', join(dir, 'c')]));
    const message = readFileSync(join(dir, 'c'));
    const tampered = Buffer.from(message);
    tampered[30_000] = tampered[30_000]! ^ 0x01;
    writeFileSync(join(dir, 'tampered'), tampered);
    writeFileSync(join(dir, 'truncated'), message.subarray(0, message.length - 100));
    writeFileSync(join(dir, 'garbage'), 'not a message at all');
    for (const name of ['tampered', 'truncated', 'garbage']) {
      const finished = await coffer(['decrypt', join(dir, name), '--key', keyArn, '-o', join(dir, `${name}.out`)]);
      assert.equal(finished.code, 4, `${name}: ${finished.stderr}`);
      assert.match(finished.stderr, /^error: cannot decrypt: /m);
      assert.match(finished.stderr, /^hint: .*no output was written/m);
      assert.equal(existsSync(join(dir, `${name}.out`)), false);
    }
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.partial')), []);
    // Directories made for the output go again with it.
    const nested = await coffer(['decrypt', join(dir, 'tampered'), '--key', keyArn, '-o', join(dir, 'new', 'sub', 'out')]);
    assert.equal(nested.code, 4, nested.stderr);
    assert.equal(existsSync(join(dir, 'new')), false);
  });

  it('an output directory inside the input tree is not read, and says so when it holds files already', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'in', 'a.txt'), 'a');
    writeFileSync(join(dir, 'in', 'sub', 'b.txt'), 'b');
    const finished = await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'in', 'sub'), '--key', keyArn]);
    assert.equal(finished.code, 0, finished.stderr);
    assert.ok(finished.stderr.includes(`note: the output directory '${join(dir, 'in', 'sub')}' lies inside '${join(dir, 'in')}' and is not read`), finished.stderr);
    assert.deepEqual(readdirSync(join(dir, 'in', 'sub')).sort(), ['a.txt.encrypted', 'b.txt']);
  });

  it('in a tree, says what it leaves out that is neither a file nor a directory (a symbolic link, a FIFO)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'real'), 'kept');
    writeFileSync(join(dir, 'outside'), 'not in the tree');
    symlinkSync(join(dir, 'outside'), join(dir, 'in', 'link'));
    execFileSync('mkfifo', [join(dir, 'in', 'pipe')]);
    const finished = await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'out'), '--key', keyArn]);
    assert.equal(finished.code, 0, finished.stderr);
    assert.ok(finished.stderr.includes(`note: 2 entries neither a regular file nor a directory (a symbolic link, FIFO, socket or device) left out (e.g. '${join(dir, 'in', 'link')}')`), finished.stderr);
    assert.deepEqual(readdirSync(join(dir, 'out')), ['real.encrypted']);
    // --quiet silences the progress bar, not what was left out.
    const quiet = await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'out-quiet'), '--key', keyArn, '-q']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stderr, /^note: 2 entries neither a regular file nor a directory/m);
  });

  it('in a tree, stops before any work at a name that is not UTF-8, and names it', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'a.txt'), 'a');
    // A name of bytes that are not UTF-8, as another system may have written it.
    writeFileSync(Buffer.concat([Buffer.from(join(dir, 'in', 'n')), Buffer.from([0xff]), Buffer.from('ame')]), 'b');
    writeFileSync(join(dir, 'in', 'z\uFFFD.txt'), 'a real U+FFFD in a UTF-8 name is fine');
    const refused = await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'out'), '--key', keyArn]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.ok(refused.stderr.includes(`error: cannot read '${join(dir, 'in', 'n\uFFFDame')}': its name is not valid UTF-8`), refused.stderr);
    assert.equal(existsSync(join(dir, 'out')), false);
    rmSync(Buffer.concat([Buffer.from(join(dir, 'in', 'n')), Buffer.from([0xff]), Buffer.from('ame')]));
    // Beside a name that is a real U+FFFD, read the same way: before, the two were said to map to one output.
    const twin = Buffer.concat([Buffer.from(join(dir, 'in', 't')), Buffer.from([0xff])]);
    writeFileSync(twin, 'c');
    writeFileSync(join(dir, 'in', 't\uFFFD'), 'd');
    const twins = await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'out'), '--key', keyArn]);
    assert.equal(twins.code, 5, twins.stderr);
    assert.ok(twins.stderr.includes(`error: cannot read '${join(dir, 'in', 't\uFFFD')}': its name is not valid UTF-8`), twins.stderr);
    rmSync(twin);
    rmSync(join(dir, 'in', 't\uFFFD'));
    ok(await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'out'), '--key', keyArn]));
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['a.txt.encrypted', 'z\uFFFD.txt.encrypted']);
  });

  it('in a tree, refuses before any work to write through a symbolic link in the output directory, which would put plaintext outside it', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'in', 'a'), 'a');
    writeFileSync(join(dir, 'in', 'sub', 's'), 'secret');
    ok(await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'enc'), '--key', keyArn, '-q']));
    mkdirSync(join(dir, 'out'));
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'out', 'sub'));
    const refused = await coffer(['decrypt', '--recursive', join(dir, 'enc'), '-o', join(dir, 'out'), '--key', keyArn]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.ok(refused.stderr.includes(`error: cannot write '${join(dir, 'out', 'sub', 's')}': a symbolic link in '${join(dir, 'out', 'sub')}' leads outside '${join(dir, 'out')}'`), refused.stderr);
    // Before, exit 0 with the plaintext written as elsewhere/s.
    assert.deepEqual(readdirSync(join(dir, 'elsewhere')), []);
    assert.deepEqual(readdirSync(join(dir, 'out')), ['sub']);
    // A link to a directory inside the output directory keeps the output inside it.
    mkdirSync(join(dir, 'within', 'b'), { recursive: true });
    symlinkSync(join(dir, 'within', 'b'), join(dir, 'within', 'sub'));
    ok(await coffer(['decrypt', '--recursive', join(dir, 'enc'), '-o', join(dir, 'within'), '--key', keyArn, '-q']));
    assert.equal(readFileSync(join(dir, 'within', 'b', 's'), 'utf8'), 'secret');
    // The output directory itself may be a link: the operator named it.
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'named'));
    ok(await coffer(['decrypt', '--recursive', join(dir, 'enc'), '-o', join(dir, 'named'), '--key', keyArn, '-q']));
    assert.equal(readFileSync(join(dir, 'elsewhere', 'sub', 's'), 'utf8'), 'secret');
  });

  it('refuses before any work an output name over 255 bytes, also in an output directory not made yet', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'a'), 'a');
    writeFileSync(join(dir, 'in', 'n'.repeat(250)), 'long');
    const refused = await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'new-out'), '--key', keyArn]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /ENAMETOOLONG \(its name is 260 bytes, over 255\)\nhint: rename the input file, or choose a shorter --suffix\n/);
    // Before, a.encrypted was written, and the long file read and encrypted, before the write failed.
    assert.equal(existsSync(join(dir, 'new-out')), false);
    // Into a directory that exists, the same words; for a single file, its own hint.
    mkdirSync(join(dir, 'old-out'));
    const existing = await coffer(['encrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'old-out'), '--key', keyArn]);
    assert.equal(existing.code, 5, existing.stderr);
    assert.match(existing.stderr, /ENAMETOOLONG \(its name is 260 bytes, over 255\)\nhint: rename the input file, or choose a shorter --suffix\n/);
    const named = await coffer(['encrypt', join(dir, 'in', 'a'), '-o', join(dir, 'new-dir', 'o'.repeat(300)), '--key', keyArn]);
    assert.equal(named.code, 5, named.stderr);
    assert.match(named.stderr, /ENAMETOOLONG \(its name is 300 bytes, over 255\)\nhint: choose a shorter --output\n/);
  });

  it('in a tree, a file whose name without the suffix is empty, . or .. is left out with a note, never written as the output directory or its parent', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'p'), 'secret');
    for (const name of ['..encrypted', '...encrypted', '.encrypted', 'kept.encrypted']) {
      ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, 'in', name), '-q']));
    }
    // Neither the output directory nor its parent exists yet: '...encrypted' would have made the parent a file.
    const finished = await coffer(['decrypt', '--recursive', join(dir, 'in'), '-o', join(dir, 'parent', 'out'), '--key', keyArn]);
    assert.ok(statSync(join(dir, 'parent')).isDirectory(), `nothing is written as the output directory's parent: ${finished.stderr}`);
    ok(finished);
    assert.ok(finished.stderr.includes(`note: 3 files whose names without .encrypted would be empty, '.' or '..' left as they are (e.g. '${join(dir, 'in', '...encrypted')}'); rename them to decrypt them`), finished.stderr);
    assert.deepEqual(readdirSync(join(dir, 'parent', 'out')), ['kept']);
    assert.deepEqual(readdirSync(join(dir, 'parent')), ['out']);
    // --suffix . too: '...' would be '..'.
    mkdirSync(join(dir, 'dots'));
    ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, 'dots', '...'), '-q']));
    const dots = await coffer(['decrypt', '--recursive', join(dir, 'dots'), '-o', join(dir, 'parent', 'out2'), '--key', keyArn, '--suffix', '.']);
    ok(dots);
    assert.match(dots.stderr, /^note: 1 file whose name without \. would be empty, '\.' or '\.\.' left as it is/m);
    assert.deepEqual(readdirSync(join(dir, 'parent')), ['out']);
    // One such file named alone: said so, not that it "does not end in" the suffix.
    for (const name of ['.encrypted', '..encrypted']) {
      const alone = await coffer(['decrypt', join(dir, 'in', name), '--key', keyArn]);
      assert.equal(alone.code, 2, alone.stderr);
      assert.ok(alone.stderr.includes(`error: cannot name the output: '${join(dir, 'in', name)}' without .encrypted leaves no file name`), alone.stderr);
    }
  });

  it('in a tree, a file and a directory that map to one output are refused before any work, naming both', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), 'x');
    mkdirSync(join(dir, 'sealed', 'd'), { recursive: true });
    for (const name of ['a.encrypted', 'd/inner.encrypted', 'd.encrypted']) {
      ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, 'sealed', name), '-q']));
    }
    for (const force of [[], ['--force']]) {
      const refused = await coffer(['decrypt', '--recursive', join(dir, 'sealed'), '-o', join(dir, 'opened'), '--key', keyArn, ...force]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.ok(refused.stderr.includes(`error: '${join(dir, 'sealed', 'd.encrypted')}' and the directory '${join(dir, 'sealed', 'd')}' both map to '${join(dir, 'opened', 'd')}'`), refused.stderr);
      assert.match(refused.stderr, /^hint: rename one of them, or choose another --suffix; nothing was written$/m);
      assert.equal(existsSync(join(dir, 'opened')), false);
    }
    // And on encrypt: a file 'q' and a directory 'q.encrypted'.
    mkdirSync(join(dir, 'plain', 'q.encrypted'), { recursive: true });
    writeFileSync(join(dir, 'plain', 'q'), 'q');
    writeFileSync(join(dir, 'plain', 'q.encrypted', 'r'), 'r');
    const refused = await coffer(['encrypt', '--recursive', join(dir, 'plain'), '-o', join(dir, 'sealed2'), '--key', keyArn]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.ok(refused.stderr.includes(`error: '${join(dir, 'plain', 'q')}' and the directory '${join(dir, 'plain', 'q.encrypted')}' both map to '${join(dir, 'sealed2', 'q.encrypted')}'`), refused.stderr);
    assert.equal(existsSync(join(dir, 'sealed2')), false);
  });

  it('a failed write of an output file names the file, with a hint, and leaves nothing (EFBIG under ulimit -f, as ENOSPC would)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), randomBytes(100_000));
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
    // Node ignores SIGXFSZ, so a write past the shell's file-size limit fails with EFBIG instead of ending the process.
    const failed = await run('sh', ['-c', 'ulimit -f 8 && exec "$@"', 'sh', process.execPath, MAIN, 'encrypt', join(dir, 'p'), '--key', keyArn,
      '-o', join(dir, 'c'), '-q', '--endpoint-url', served.server.endpoint], { env });
    assert.equal(failed.code, 5, failed.stderr);
    assert.match(failed.stderr, new RegExp(`^error: cannot write '${join(dir, 'c')}': EFBIG\n`, 'm'));
    assert.match(failed.stderr, /^hint: it is larger than this process may write \(ulimit -f\) or than the file system allows; no output was written for it$/m);
    assert.deepEqual(readdirSync(dir), ['p']);
  });

  it('encrypts under a bare key id with only kms:GenerateDataKey allowed (no DescribeKey); decrypt resolves it, so there it takes the key ARN', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), 'x');
    ok(await coffer(['principals', 'create-user', 'data-only']));
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: '*' }] }));
    ok(await coffer(['principals', 'put-policy', 'user/data-only', 'data', '--document', join(dir, 'policy.json')]));
    const created = await coffer(['access-keys', 'create', 'user/data-only', '--json']);
    ok(created);
    const key = (JSON.parse(created.stdout) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }).AccessKey;
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey });
    const dataOnly = (args: readonly string[]) => run(process.execPath, [MAIN, ...args, '--endpoint-url', served.server.endpoint], { env });
    const keyId = keyArn.split('/').pop()!;
    ok(await dataOnly(['encrypt', join(dir, 'p'), '--key', keyId, '-o', join(dir, 'c'), '--metadata-output', join(dir, 'meta.jsonl')]));
    // The message records the key's ARN, as GenerateDataKey answered it.
    const meta = JSON.parse(readFileSync(join(dir, 'meta.jsonl'), 'utf8')) as { header: { encryptedDataKeys: { providerInfo: string }[] } };
    assert.deepEqual(meta.header.encryptedDataKeys.map((k) => k.providerInfo), [keyArn]);
    ok(await dataOnly(['decrypt', join(dir, 'c'), '--key', keyArn, '-o', join(dir, 'back')]));
    assert.equal(readFileSync(join(dir, 'back'), 'utf8'), 'x');
    const byId = await dataOnly(['decrypt', join(dir, 'c'), '--key', keyId, '-o', join(dir, 'back-by-id')]);
    assert.equal(byId.code, 3, byId.stderr);
    assert.match(byId.stderr, /^error: AccessDeniedException: .*kms:DescribeKey/m);
  });

  it('in a tree, a damaged file is named, with what stays of the files before it', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'plain'));
    for (const name of ['a', 'b', 'c']) writeFileSync(join(dir, 'plain', name), randomBytes(10_000));
    ok(await coffer(['encrypt', '--recursive', join(dir, 'plain'), '--key', keyArn, '-o', join(dir, 'sealed')]));
    const damaged = readFileSync(join(dir, 'sealed', 'b.encrypted'));
    damaged[damaged.length - 200]! ^= 1;
    writeFileSync(join(dir, 'sealed', 'b.encrypted'), damaged);
    writeFileSync(join(dir, 'sealed', 'notes.txt'), 'not a message');
    const finished = await coffer(['decrypt', '--recursive', join(dir, 'sealed'), '--key', keyArn, '-o', join(dir, 'opened')]);
    assert.equal(finished.code, 4, finished.stderr);
    assert.ok(finished.stderr.includes(`note: 1 file not ending in .encrypted left as it is (e.g. '${join(dir, 'sealed', 'notes.txt')}')`), finished.stderr);
    assert.ok(finished.stderr.includes(`stopped at '${join(dir, 'sealed', 'b.encrypted')}': 1 of 3 files were written before it; nothing for it or the files after it`), finished.stderr);
    assert.match(finished.stderr, /^hint: .*no output was written for it$/m);
    assert.deepEqual(readdirSync(join(dir, 'opened')), ['a']);
  });

  it('a metadata line that cannot be written (a full disk) says that its file\'s output was written in full', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'plain'));
    for (const name of ['a', 'b']) writeFileSync(join(dir, 'plain', name), randomBytes(1_000));
    // /dev/full opens, as a metadata file on a full disk does, and fails every write with ENOSPC.
    const tree = await coffer(['encrypt', '--recursive', join(dir, 'plain'), '--key', keyArn, '-o', join(dir, 'sealed'), '--metadata-output', '/dev/full']);
    assert.equal(tree.code, 5, tree.stderr);
    assert.ok(tree.stderr.includes(`stopped at '${join(dir, 'plain', 'a')}': 0 of 2 files were written before it; its output was written but not its metadata line; nothing for the files after it`), tree.stderr);
    assert.match(tree.stderr, /^error: cannot write the metadata to '\/dev\/full': ENOSPC \(the output to '.*a\.encrypted' was written in full\)$/m);
    assert.deepEqual(readdirSync(join(dir, 'sealed')), ['a.encrypted']);
    ok(await coffer(['decrypt', join(dir, 'sealed', 'a.encrypted'), '--key', keyArn, '-o', join(dir, 'a')]));
    assert.deepEqual(readFileSync(join(dir, 'a')), readFileSync(join(dir, 'plain', 'a')));

    // The same with the metadata going to a standard output that cannot be written.
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
    const toStdout = await run('sh', ['-c', 'exec "$@" > /dev/full', 'sh', process.execPath, MAIN, 'encrypt', '--recursive', join(dir, 'plain'), '--key', keyArn,
      '-o', join(dir, 'sealed-too'), '--metadata-output', '-', '-q', '--endpoint-url', served.server.endpoint], { env });
    assert.equal(toStdout.code, 5, toStdout.stderr);
    assert.ok(toStdout.stderr.includes(`stopped at '${join(dir, 'plain', 'a')}': 0 of 2 files were written before it; its output was written but not its metadata line`), toStdout.stderr);
    assert.match(toStdout.stderr, /^error: cannot write the metadata to standard output: ENOSPC \(the output to '.*a\.encrypted' was written in full\)$/m);
    assert.deepEqual(readdirSync(join(dir, 'sealed-too')), ['a.encrypted']);
  });

  it('--frame-length is at most what coffer decrypt holds by default; a file of larger frames is refused with a hint that fits a file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), randomBytes(20_000));
    const tooLarge = await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '--frame-length', String(64 * 2 ** 20 + 1), '-o', join(dir, 'c')]);
    assert.equal(tooLarge.code, 2, tooLarge.stderr);
    assert.match(tooLarge.stderr, /--frame-length must be a whole number from 1 to 67108864/);
    ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '--frame-length', '8192', '-o', join(dir, 'c')]));
    const refused = await coffer(['decrypt', join(dir, 'c'), '--key', keyArn, '--max-buffered-bytes', '4096', '-o', join(dir, 'out')]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^hint: each frame is held until its tag verifies, and this message's are larger than --max-buffered-bytes/m);
    assert.equal(existsSync(join(dir, 'out')), false);
  });

  it('refuses an --output ending in / for one input before any work (exit 2), naming a file to write instead', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), 'x');
    // Before: the input was encrypted in full, and then the write failed with a bare ENOENT (ENOTDIR with --force).
    for (const extra of [[], ['--force']]) {
      const refused = await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', `${join(dir, 'new')}/`, ...extra]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /^error: --output '.*\/new\/' names a directory, and the output of one input is a file$/m);
      assert.match(refused.stderr, /^hint: name the file, e\.g\. -o .*\/new\/p\.encrypted; a directory's tree takes --recursive$/m);
    }
    assert.equal(existsSync(join(dir, 'new')), false);
    ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, 'p.encrypted')]));
    const decrypt = await coffer(['decrypt', join(dir, 'p.encrypted'), '--key', keyArn, '-o', `${dir}/`]);
    assert.equal(decrypt.code, 2, decrypt.stderr);
    assert.match(decrypt.stderr, /^hint: name the file, e\.g\. -o .*\/p; /m);
    const fromStdin = await coffer(['encrypt', '-', '--key', keyArn, '-o', `${dir}/`]);
    assert.equal(fromStdin.code, 2, fromStdin.stderr);
    assert.match(fromStdin.stderr, /^hint: name the file, e\.g\. -o .*\/out; /m);
  });

  it('documents its exit codes: 2 usage, 3 access, 5 files, 1 other failures', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), 'x');
    const usage = await Promise.all([
      coffer(['encrypt', join(dir, 'p')]),
      coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '--suite', 'AES_512']),
      coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '--cache-max-messages', '3']),
      coffer(['encrypt', dir, '--key', keyArn]),
      coffer(['decrypt', join(dir, 'p')]),
      coffer(['decrypt', join(dir, 'p'), '--key', keyArn]),
      coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '--suite', '0x0178']),
      coffer(['encrypt', '-', '--key', keyArn, '--metadata-output', '-']),
      coffer(['decrypt', '-', '--key', keyArn, '--discovery']),
    ]);
    for (const finished of usage) {
      assert.equal(finished.code, 2, finished.stderr);
      assert.match(finished.stderr, /^error: /m);
      assert.match(finished.stderr, /^hint: /m);
    }
    assert.match(usage[0]!.stderr, /^error: coffer encrypt: missing --key$/m);
    assert.match(usage[3]!.stderr, /is a directory/);

    const missing = await coffer(['encrypt', join(dir, 'nope'), '--key', keyArn]);
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /^error: cannot read .*ENOENT/m);

    // A metadata file that cannot be written is found before any work: no output is written.
    const metadataDir = await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, 'with-meta'), '--metadata-output', dir]);
    assert.equal(metadataDir.code, 5, metadataDir.stderr);
    assert.match(metadataDir.stderr, /^error: cannot write the metadata to .*EISDIR/m);
    assert.equal(existsSync(join(dir, 'with-meta')), false);

    const env = cleanEnv({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'wrong' });
    const denied = await run(process.execPath, [MAIN, 'encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, 'denied'),
      '--endpoint-url', served.server.endpoint], { env });
    assert.equal(denied.code, 3, denied.stderr);
    assert.equal(existsSync(join(dir, 'denied')), false);

    const disabled = (await served.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await served.kms.send(new DisableKeyCommand({ KeyId: disabled }));
    const failed = await coffer(['encrypt', join(dir, 'p'), '--key', disabled, '-o', join(dir, 'disabled')]);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /^error: DisabledException: /m);
    assert.equal(existsSync(join(dir, 'disabled')), false);
  });

  it('never replaces what is not a regular file, and refuses an output directory that holds the input tree', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), 'x');
    symlinkSync(join(dir, 'target'), join(dir, 'dangling'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    for (const output of ['dangling', 'fifo']) {
      const refused = await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, output), '--force']);
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(refused.stderr, /exists and is not a regular file/);
      assert.ok(lstatSync(join(dir, output)).isSymbolicLink() || lstatSync(join(dir, output)).isFIFO(), `${output} is left as it was`);
    }
    mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'tree', 'sub', 'f'), 'y');
    // Named through symbolic links too: a link to the input tree is the input tree.
    symlinkSync(join(dir, 'tree'), join(dir, 'tree-link'));
    symlinkSync(dir, join(dir, 'tree', 'up'));
    for (const [input, output] of [['tree', 'tree'], ['tree/sub', 'tree'], ['tree/sub', '.'], ['tree', 'tree-link'], ['tree-link', 'tree'], ['tree/sub', 'tree/up/tree'], ['tree', 'tree-link/new-dir/..']] as const) {
      const refused = await coffer(['encrypt', '--recursive', join(dir, input), '--key', keyArn, '-o', join(dir, output)]);
      assert.equal(refused.code, 2, `${input} -> ${output}: ${refused.stderr}`);
      assert.match(refused.stderr, /is, or contains, the input directory/);
    }
    assert.deepEqual(readdirSync(join(dir, 'tree', 'sub')), ['f'], 'nothing was written beside the input');
  });

  it('encrypts what a FIFO gives, declaring no length for it; a --context key named __proto__ is a key like any other', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `printf 'through a pipe' > '${fifo}'`]);
    const written = new Promise((done) => writer.once('exit', done));
    const encrypted = await coffer(['encrypt', fifo, '--key', keyArn, '-o', join(dir, 'out.encrypted'), '--context', '__proto__=kept']);
    await written;
    ok(encrypted);
    const refused = await coffer(['decrypt', join(dir, 'out.encrypted'), '--key', keyArn, '-o', '-', '--context', '__proto__=other']);
    assert.equal(refused.code, 4, refused.stderr);
    const back = await coffer(['decrypt', join(dir, 'out.encrypted'), '--key', keyArn, '-o', '-', '--context', '__proto__=kept']);
    ok(back);
    assert.equal(back.stdout, 'through a pipe');
    const partitionOnly = await coffer(['decrypt', join(dir, 'out.encrypted'), '--discovery', '--discovery-partition', 'aws-cn', '-o', '-']);
    assert.equal(partitionOnly.code, 2, partitionOnly.stderr);
    const reserved = await coffer(['encrypt', '-', '--key', keyArn, '--context', 'aws-crypto-x=1'], { input: 'x' });
    assert.equal(reserved.code, 2, reserved.stderr);
  });

  it('says a file named with bytes that are not UTF-8 cannot be named to it, where it said the file was not there', () => {
    const dir = tempDir();
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
    // Through a shell: Node's own spawn takes its arguments as strings, so could not pass the byte 0xff.
    let status = 0;
    let stderr = '';
    try {
      execFileSync('bash', ['-c', `printf x > $'n\\xff' && exec "$0" "$1" encrypt $'n\\xff' --key "$2" --endpoint-url "$3"`,
        process.execPath, MAIN, keyArn, served.server.endpoint], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      ({ status, stderr } = error as { status: number; stderr: string });
    }
    assert.equal(status, 5, stderr);
    assert.match(stderr, /^error: cannot read 'n\uFFFD': no such file; if its name holds bytes that are not valid UTF-8, that name cannot be given to coffer$/m);
    assert.match(stderr, /^hint: rename it, or give it on standard input/m);
  });

  it('encrypts a /proc file, whose size says 0 while it has content', async () => {
    const dir = tempDir();
    const out = join(dir, 'version.encrypted');
    ok(await coffer(['encrypt', '/proc/version', '--key', keyArn, '-o', out]));
    const back = await coffer(['decrypt', out, '--key', keyArn, '-o', '-']);
    ok(back);
    assert.match(back.stdout, /^Linux version /);
  });

  it('names standard output when its reader goes away midway (EPIPE): exit 5, not an aborted operation', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big'), randomBytes(8 * 1024 * 1024));
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
    const child = spawn(process.execPath, [MAIN, 'encrypt', join(dir, 'big'), '--key', keyArn, '-o', '-', '--frame-length', '4096',
      '--endpoint-url', served.server.endpoint], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Like `| head -c 10`: read a little, then close the pipe.
    child.stdout.once('data', () => child.stdout.destroy());
    assert.equal(await exited, 5, stderr);
    assert.match(stderr, /^error: cannot write to standard output: EPIPE$/m);
  });

  it('a file that grows while it is encrypted is an input problem (exit 5), not a cryptographic one, and leaves no output', async () => {
    const dir = tempDir();
    const growing = join(dir, 'growing.log');
    writeFileSync(growing, randomBytes(64 * 1024));
    // Appends all the time: between the size taken at the start and the end of the read, the file grows.
    const writer = spawn('sh', ['-c', `while :; do printf 'one more line\\n' >> '${growing}'; done`], { stdio: 'ignore' });
    try {
      const finished = await coffer(['encrypt', growing, '--key', keyArn, '-o', join(dir, 'out.encrypted')]);
      assert.equal(finished.code, 5, finished.stderr);
      assert.match(finished.stderr, /^error: '.*growing\.log' changed size while it was read \(it had \d+ bytes\)$/m);
      assert.deepEqual(readdirSync(dir), ['growing.log']);
    } finally {
      writer.kill();
    }
  });

  it('--max-encrypted-data-keys: fewer than the --key given is bad usage (2); a message with more is a limit of the run (1), not damage', async () => {
    const tooMany = await coffer(['encrypt', '-', '--key', keyArn, '--key', otherKeyArn, '--max-encrypted-data-keys', '1'], { input: 'x' });
    assert.equal(tooMany.code, 2, tooMany.stderr);
    assert.match(tooMany.stderr, /^error: 2 --key given, more than --max-encrypted-data-keys 1$/m);
    const encrypted = await coffer(['encrypt', '-', '--key', keyArn, '--key', otherKeyArn, '--max-encrypted-data-keys', '2'], { input: 'x' });
    ok(encrypted);
    const refused = await coffer(['decrypt', '-', '--key', otherKeyArn, '--max-encrypted-data-keys', '1'], { input: encrypted.bytes });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^hint: the message holds more encrypted data keys than --max-encrypted-data-keys/m);
    assert.equal(refused.stdout, '');
  });

  it('refuses a --metadata-output that is also an output or an input, before any work (the JSON line would end up in it)', async () => {
    const dir = tempDir();
    const input = join(dir, 'a.txt');
    writeFileSync(input, 'hello');
    const out = join(dir, 'a.txt.encrypted');
    for (const flags of [['-o', out, '--metadata-output', out], ['-o', out, '--metadata-output', out, '--force'], ['-o', out, '--metadata-output', input]]) {
      const refused = await coffer(['encrypt', input, '--key', keyArn, ...flags]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /^error: --metadata-output '.*' is also the (output|input) /m);
      assert.deepEqual(readdirSync(dir), ['a.txt']);
      assert.equal(readFileSync(input, 'utf8'), 'hello');
    }
    ok(await coffer(['encrypt', input, '--key', keyArn, '-o', out]));
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'old');
    // The output under another name: a symbolic link to the file --force would replace.
    symlinkSync(plain, join(dir, 'meta-link'));
    for (const metadata of [plain, join(dir, 'meta-link'), out]) {
      const refused = await coffer(['decrypt', out, '--key', keyArn, '-o', plain, '--force', '--metadata-output', metadata]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.equal(readFileSync(plain, 'utf8'), 'old');
    }
    ok(await coffer(['decrypt', out, '--key', keyArn, '-o', plain, '--force', '--metadata-output', join(dir, 'meta.jsonl')]));
    assert.equal(readFileSync(plain, 'utf8'), 'hello');
    // Standard output under a file name: the JSON line would land in the middle of the plaintext.
    const toStdout = await coffer(['decrypt', out, '--key', keyArn, '-o', '-', '--metadata-output', '/dev/stdout']);
    assert.equal(toStdout.code, 2, toStdout.stderr);
    assert.equal(toStdout.stdout, '');
    // A link to an output not written yet, in a tree: it has no identity to compare, and the
    // lines appended through it ended the finished f2.encrypted (exit 0).
    const tree = join(tempDir(), 'tree');
    mkdirSync(tree);
    for (const name of ['f1', 'f2']) writeFileSync(join(tree, name), name);
    const outDir = join(tempDir(), 'out');
    mkdirSync(outDir);
    const dangling = join(tempDir(), 'meta-link');
    symlinkSync(join(outDir, 'f2.encrypted'), dangling);
    const linked = await coffer(['encrypt', '-r', tree, '-o', outDir, '--key', keyArn, '--force', '--metadata-output', dangling]);
    assert.equal(linked.code, 2, linked.stderr);
    assert.match(linked.stderr, /^error: --metadata-output '.*meta-link' is also the output '.*f2\.encrypted'/m);
    assert.deepEqual(readdirSync(outDir), []);
  });

  it('refuses standard output appended to its own input file, which would grow without end (as `cat f >> f` refuses)', async () => {
    const dir = tempDir();
    const file = join(dir, 'data.bin');
    const original = randomBytes(3 * 1024 * 1024);
    writeFileSync(file, original);
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
    const shell = (line: string) => run('sh', ['-c', `timeout 20 '${process.execPath}' '${MAIN}' ${line} --key ${keyArn} --endpoint-url ${served.server.endpoint}`], { env });
    for (const line of [`encrypt - -o - --frame-length 4096 < '${file}' >> '${file}'`, `encrypt '${file}' -o - >> '${file}'`, `decrypt - -o - < '${file}' >> '${file}'`]) {
      const refused = await shell(line);
      assert.equal(refused.code, 2, `${line}: ${refused.stderr}`);
      assert.match(refused.stderr, /^error: standard output is the input file/m);
      assert.ok(readFileSync(file).equals(original), line);
    }
  });

  it('a message larger than --max-buffered-bytes is a limit of the run (exit 1 with a hint), not damage (4)', async () => {
    const encrypted = await coffer(['encrypt', '-', '--key', keyArn], { input: 'x'.repeat(4096) });
    ok(encrypted);
    const refused = await coffer(['decrypt', '-', '--key', keyArn, '--max-buffered-bytes', '1000'], { input: encrypted.bytes });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^error: cannot decrypt: final frame is larger than --max-buffered-bytes$/m);
    assert.match(refused.stderr, /^hint: raise --max-buffered-bytes, or decrypt into a file with -o/m);
    assert.equal(refused.stdout, '');
    // Frames each within the bound, more than it in all: said in the command's terms, where it
    // named the SDK's maxBufferedBytes, unsignedStreaming and signedStreaming.
    const framed = await coffer(['encrypt', '-', '--key', keyArn, '--frame-length', '512'], { input: 'x'.repeat(4096) });
    ok(framed);
    const held = await coffer(['decrypt', '-', '--key', keyArn, '--max-buffered-bytes', '1000'], { input: framed.bytes });
    assert.equal(held.code, 1, held.stderr);
    assert.match(held.stderr, /^error: cannot decrypt: plaintext exceeds --max-buffered-bytes before the message could be verified$/m);
    assert.match(held.stderr, /^hint: raise --max-buffered-bytes, or decrypt into a file with -o/m);
  });

  it('a signed message (the default suite) streams into a file: larger than --max-buffered-bytes, and nothing left when its signature fails', async () => {
    const dir = tempDir();
    const plaintext = randomBytes(200_000);
    writeFileSync(join(dir, 'p'), plaintext);
    ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '--frame-length', '4096', '-o', join(dir, 'c')]));
    ok(await coffer(['decrypt', join(dir, 'c'), '--key', keyArn, '--max-buffered-bytes', '10000', '-o', join(dir, 'out')]));
    assert.ok(readFileSync(join(dir, 'out')).equals(plaintext));
    const damaged = readFileSync(join(dir, 'c'));
    damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 0x01;
    writeFileSync(join(dir, 'damaged'), damaged);
    const failed = await coffer(['decrypt', join(dir, 'damaged'), '--key', keyArn, '--max-buffered-bytes', '10000', '-o', join(dir, 'damaged.out')]);
    assert.equal(failed.code, 4, failed.stderr);
    assert.match(failed.stderr, /signature/);
    assert.equal(existsSync(join(dir, 'damaged.out')), false);
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.partial')), []);
  });

  it('decrypts a file named -.encrypted to a file named -, not to standard output', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p'), 'dash');
    ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, '-.encrypted'), '-q']));
    const finished = await run(process.execPath, [MAIN, 'decrypt', '--key', keyArn, '--endpoint-url', served.server.endpoint, '-q', '--', '-.encrypted'], {
      cwd: dir, env: cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey }),
    });
    assert.equal(finished.code, 0, finished.stderr);
    // Before, the plaintext went to standard output and no file was made.
    assert.equal(finished.stdout, '');
    assert.equal(readFileSync(join(dir, '-'), 'utf8'), 'dash');
  });

  it('writes an output whose name is as long as a file name may be (255 bytes)', async () => {
    const dir = tempDir();
    const name = `${'n'.repeat(245)}.encrypted`;
    writeFileSync(join(dir, 'p'), 'long');
    ok(await coffer(['encrypt', join(dir, 'p'), '--key', keyArn, '-o', join(dir, name)]));
    assert.ok(readdirSync(dir).includes(name));
  });

  it('shows a progress bar with bytes, rate and ETA on a terminal only, and not with --quiet', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big'), randomBytes(8 * 1024 * 1024));
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
    const onTerminal = async (extra: string[]) => {
      const command = [process.execPath, MAIN, 'encrypt', join(dir, 'big'), '--key', keyArn, '--force', '--endpoint-url', served.server.endpoint, ...extra]
        .map((w) => `'${w}'`).join(' ');
      // `script` gives the command a pseudo-terminal; what it shows comes back on script's stdout.
      return run('script', ['-q', '-e', '-c', command, '/dev/null'], { env });
    };
    const shown = await onTerminal([]);
    assert.equal(shown.code, 0, shown.stdout);
    assert.match(shown.stdout, /MiB\/8\.0 MiB \| [\d.]+ (B|KiB|MiB|GiB)\/s \| ETA/);
    const quiet = await onTerminal(['--quiet']);
    assert.equal(quiet.code, 0, quiet.stdout);
    assert.doesNotMatch(quiet.stdout, /ETA/);
    const piped = await coffer(['encrypt', join(dir, 'big'), '--key', keyArn, '--force']);
    ok(piped);
    assert.equal(piped.stderr, '');
  });
});

// Alone, not beside the tests above: their GenerateDataKey calls would be counted too.
describe('coffer encrypt with data-key caching', () => {
  it('calls GenerateDataKey once per file, or once per cache limit with --cache-max-age', async () => {
    const dir = tempDir();
    for (let i = 0; i < 6; i++) writeFileSync(join(dir, `f${i}`), randomBytes(100 + i));
    const encryptTree = (...flags: string[]) => async () => ok(await coffer(['encrypt', '-r', dir, '-o', join(tempDir(), 'o'), '--key', keyArn, ...flags]));
    assert.equal(await generateDataKeyCalls(encryptTree()), 6);
    assert.equal(await generateDataKeyCalls(encryptTree('--cache-max-age', '60')), 1);
    assert.equal(await generateDataKeyCalls(encryptTree('--cache-max-age', '60', '--cache-max-messages', '2')), 3);
    assert.equal(await generateDataKeyCalls(encryptTree('--cache-max-age', '60', '--cache-max-bytes', '250')), 3);
  });

});

describe('an interrupted coffer decrypt', () => {
  /** Starts a decrypt into `out` fed half a message, and waits until its .partial file exists. */
  async function halfwayDecrypt(out: string, message: Buffer) {
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
    const child = spawn(process.execPath, [MAIN, 'decrypt', '-', '--key', keyArn, '-o', out, '--endpoint-url', served.server.endpoint],
      { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.on('error', () => {});
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    child.stdin.write(message.subarray(0, message.length >> 1));
    const dir = join(out, '..');
    const partial = () => (existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.partial')) : []);
    // Up to 15 s: a loaded machine (two test files at once) has taken more than 5 for the CLI to start and reach KMS.
    for (let i = 0; i < 600 && partial().length === 0; i++) await sleep(25);
    // Killed before the assertion fails: a child left reading its stdin held the test file open for ever.
    if (partial().length !== 1) child.kill('SIGKILL');
    assert.equal(partial().length, 1, `no .partial file appeared: ${stderr}`);
    // Give it time to take in the half it has: the final name must still not be there.
    await sleep(300);
    assert.equal(existsSync(out), false);
    return { child, exited, partial, stderr: () => stderr };
  }

  let message: Buffer;
  before(async () => {
    const encrypted = await coffer(['encrypt', '-', '--key', keyArn, '--frame-length', '65536'], { input: randomBytes(6 * 1024 * 1024) });
    ok(encrypted);
    message = encrypted.bytes;
  });

  it('on a terminal that closes midway, removes the .partial file and ends by SIGHUP, without Node aborting at exit', async () => {
    const dir = tempDir();
    const out = join(dir, 'plain');
    const half = join(tempDir(), 'half');
    writeFileSync(half, message.subarray(0, message.length >> 1));
    const log = join(tempDir(), 'stderr');
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const decrypt = [process.execPath, MAIN, 'decrypt', '-', '--key', keyArn, '-o', out, '--endpoint-url', served.server.endpoint].map(quote).join(' ');
    // On a pseudo-terminal (util-linux `script`): its standard output is the terminal, its input
    // half a message that stalls. Closing the terminal (SIGKILL to `script`) hangs the shell up,
    // which passes the SIGHUP on to the pipeline as it ends.
    const terminal = spawn('script', ['-qfec', `(cat ${quote(half)}; sleep 60) | ${decrypt} 2>${quote(log)}`, '/dev/null'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    const partial = () => (existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.partial')) : []);
    for (let i = 0; i < 400 && partial().length === 0; i++) await sleep(25);
    assert.equal(partial().length, 1, `no .partial file appeared: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    await sleep(300);
    terminal.kill('SIGKILL');
    const stopped = () => /^SIGHUP: stopped; the output file being written was removed/m.test(readFileSync(log, 'utf8'));
    for (let i = 0; i < 150 && !stopped(); i++) await sleep(100);
    // Node's abort, had it come, follows that line at once.
    await sleep(1000);
    const lines = readFileSync(log, 'utf8');
    assert.ok(stopped(), lines);
    assert.doesNotMatch(lines, /Assertion failed|Native stack trace/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('SIGKILLed midway never leaves a file under the output name (a .partial file may stay)', async () => {
    const dir = tempDir();
    const out = join(dir, 'plain');
    const { child, exited, partial } = await halfwayDecrypt(out, message);
    child.kill('SIGKILL');
    const finished = await exited;
    assert.equal(finished.signal, 'SIGKILL');
    assert.equal(existsSync(out), false);
    assert.equal(partial().length, 1, 'a SIGKILLed process cannot clean up: its .partial file stays, never renamed');
  });

  // SIGHUP too: a closed terminal or dropped ssh session must not leave verified-so-far plaintext behind.
  // And SIGQUIT (Ctrl-\), whose default action is a core dump.
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129], ['SIGQUIT', 131]] as const) {
    it(`${signal} midway removes the .partial file, and the directories made for it, and exits ${code}`, async () => {
      const dir = tempDir();
      const out = join(dir, 'made', 'for', 'it', 'plain');
      const { child, exited, stderr } = await halfwayDecrypt(out, message);
      child.kill(signal);
      const finished = await exited;
      assert.equal(finished.code, code, stderr());
      assert.deepEqual(readdirSync(dir), [], 'no .partial file, and none of the directories made for it');
      assert.match(stderr(), new RegExp(`^${signal}: stopped; the output file being written was removed`, 'm'));
    });
  }
});
