import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DecryptCommand, EncryptCommand, KMSClient, ListAliasesCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { cleanEnv, coffer, MAIN, removeTempDirs, tempDir } from './support/cli.js';

after(() => removeTempDirs());

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const GENERATED_KEY_ID = '00000000-0000-4000-8000-000000000001';
const CI = { accessKeyId: 'AKIACITESTS0000001', secretAccessKey: 'ci-secret-for-tests-only' };

const SEED_YAML = `keys:
  - keyId: ${KEY_ID}
    description: payments (tests)
    material: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
    aliases: [alias/payments]
  - keyId: ${GENERATED_KEY_ID}
principals:
  - user: ci
    accessKeys: [{accessKeyId: ${CI.accessKeyId}, secretAccessKey: ${CI.secretAccessKey}}]
    policies:
      use-keys: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "kms:*", Resource: "*"}]}
`;

interface Served {
  readonly banner: string;
  readonly endpoint: string;
  stop(): Promise<number | null>;
}

/** Starts `coffer serve` with a seed and waits for its banner; rejects with stderr if it exits first. */
function serve(dataDir: string, seedFile: string): Promise<Served> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--seed', seedFile],
    { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const endpoint = /Coffer is listening on (\S+)/.exec(stdout)?.[1];
      if (endpoint && /aws kms list-keys .*\n/.test(stdout)) {
        resolve({ banner: stdout, endpoint, stop: () => (child.kill('SIGTERM'), exited) });
      }
    });
    void exited.then((code) => reject(new Error(`coffer serve exited ${code}: ${stderr}`)));
  });
}

// A copy: the SDK marks the credentials object it is given.
const ciClient = (endpoint: string) => new KMSClient({ endpoint, region: 'us-east-1', credentials: { ...CI }, maxAttempts: 1 });

function seedFile(text: string | Buffer, name = 'seed.yaml'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

describe('coffer serve --seed', () => {
  it('creates keys, aliases and a user with its access key and policy, and a second start changes nothing', async () => {
    const dataDir = tempDir();
    const seed = seedFile(SEED_YAML);
    const first = await serve(dataDir, seed);
    let ciphertext: Uint8Array;
    try {
      assert.match(first.banner, /^Seed: +.*created 6, unchanged 0$/m);
      const kms = ciClient(first.endpoint);
      try {
        const encrypted = await kms.send(new EncryptCommand({ KeyId: 'alias/payments', Plaintext: Buffer.from('seeded') }));
        assert.equal(encrypted.KeyId, `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`);
        ciphertext = encrypted.CiphertextBlob!;
        const keys = (await kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId).sort();
        assert.deepEqual(keys, [GENERATED_KEY_ID, KEY_ID]);
      } finally {
        kms.destroy();
      }
    } finally {
      assert.equal(await first.stop(), 0);
    }

    const second = await serve(dataDir, seed);
    try {
      assert.match(second.banner, /^Seed: +.*created 0, unchanged 6$/m);
      const kms = ciClient(second.endpoint);
      try {
        const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertext }));
        assert.equal(Buffer.from(decrypted.Plaintext!).toString(), 'seeded');
        assert.equal((await kms.send(new ListKeysCommand({}))).Keys!.length, 2);
        assert.deepEqual((await kms.send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName).filter((n) => !n!.startsWith('alias/aws/')),
          ['alias/payments']);
      } finally {
        kms.destroy();
      }
    } finally {
      assert.equal(await second.stop(), 0);
    }

    // The seed's changes are in the audit chain like any request's, and it verifies.
    const verified = await coffer(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /intact: \d+ records/);

    // Another data directory, another root key, the same seed: the given material decrypts the same ciphertext.
    const elsewhere = await serve(tempDir(), seedFile(JSON.stringify({
      keys: [{ keyId: KEY_ID, description: 'payments (tests)', material: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' }],
      principals: [{ user: 'ci', accessKeys: [CI], policies: { 'use-keys': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } } }],
    }), 'seed.json'));
    try {
      const kms = ciClient(elsewhere.endpoint);
      try {
        const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertext }));
        assert.equal(Buffer.from(decrypted.Plaintext!).toString(), 'seeded');
      } finally {
        kms.destroy();
      }
    } finally {
      assert.equal(await elsewhere.stop(), 0);
    }
  });

  it('refuses an entry that conflicts with the store, naming it (exit 1), and leaves the store as it was', async () => {
    const dataDir = tempDir();
    const first = await serve(dataDir, seedFile(SEED_YAML));
    assert.equal(await first.stop(), 0);
    const conflicts = [
      [SEED_YAML.replace('payments (tests)', 'renamed'), /^error: seed entry keys\[0\] \(1234abcd-12ab-34cd-56ef-1234567890ab\): .*description/m],
      [SEED_YAML.replace('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'HwECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='), /^error: seed entry keys\[0\] .*other key material/m],
      [SEED_YAML.replace(`secretAccessKey: ${CI.secretAccessKey}`, 'secretAccessKey: another-secret-entirely'), /^error: seed entry principals\[0\] \(user ci\) accessKeys\[0\] .*another secret/m],
      [SEED_YAML.replace('aliases: [alias/payments]', 'aliases: []').replace(`keyId: ${GENERATED_KEY_ID}`, `keyId: ${GENERATED_KEY_ID}\n    aliases: [alias/payments]`),
        /^error: seed entry keys\[1\] .* alias alias\/payments: the alias points at 1234abcd/m],
    ] as const;
    for (const [text, expected] of conflicts) {
      const finished = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed', seedFile(text)]);
      assert.equal(finished.code, 1, finished.stderr);
      assert.match(finished.stderr, expected);
      assert.match(finished.stderr, /^hint: /m);
    }
    const again = await serve(dataDir, seedFile(SEED_YAML));
    assert.match(again.banner, /created 0, unchanged 6/);
    assert.equal(await again.stop(), 0);
  });

  it('refuses a malformed seed before changing anything: bad fields exit 1, unparsable or unreadable files exit 2 and 5', async () => {
    const dataDir = tempDir();
    const shortMaterial = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed',
      seedFile(`keys:\n  - keyId: ${KEY_ID}\n    material: AAEC\n  - keyId: ${GENERATED_KEY_ID}\n`)]);
    assert.equal(shortMaterial.code, 1);
    assert.match(shortMaterial.stderr, /^error: seed entry keys\[0\] \(1234abcd-12ab-34cd-56ef-1234567890ab\): material must be 32 bytes/m);
    const unknownField = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed', seedFile(`keys:\n  - keyId: ${KEY_ID}\n    colour: red\n`)]);
    assert.equal(unknownField.code, 1);
    assert.match(unknownField.stderr, /unknown field 'colour'/);
    // Nothing of the first (checked before any write) was created: the same data dir takes a clean seed.
    const clean = await serve(dataDir, seedFile(SEED_YAML));
    assert.match(clean.banner, /created 6, unchanged 0/);
    assert.equal(await clean.stop(), 0);

    const unparsable = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed', seedFile('keys: [', 'bad.yaml')]);
    assert.equal(unparsable.code, 2);
    assert.match(unparsable.stderr, /^error: the seed file .* does not parse/m);
    // A JSON syntax error next to a secret: its place, never V8's quote of the text around it.
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    for (const [json, place] of [
      [`{"principals": [{"accessKeyId": "AKIAIOSFODNN7EXAMPLE",\n "secretAccessKey":${secret}}]}`, 'line 2, column 20'],
      [`{"principals": [{"secretAccessKey": "${secret}" "x": 1}]}`, 'line 1, column 80'],
    ]) {
      const badJson = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed', seedFile(json!, 'bad.json')]);
      assert.equal(badJson.code, 2);
      assert.ok(badJson.stderr.includes(`bad.json' is not valid JSON at ${place}\n`), badJson.stderr);
      assert.equal(badJson.stderr.includes(secret.slice(0, 6)), false, badJson.stderr);
    }
    // An unknown tag: refused with its place. It was a process warning, logged with the line it
    // quoted, secret and all, and the seed was applied with the tag ignored.
    const tagged = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed',
      seedFile(`principals:\n  - user: ci\n    accessKeys: [{accessKeyId: AKIACITESTS0000001, secretAccessKey: !secret ${secret}}]\n`, 'tagged.yaml')]);
    assert.equal(tagged.code, 2, tagged.stderr);
    assert.match(tagged.stderr, /^error: the seed file .*tagged\.yaml' does not parse: Unresolved tag: !secret at line 3, column \d+$/m);
    assert.equal(tagged.stderr.includes(secret.slice(0, 6)), false, tagged.stderr);
    // JSON.parse would keep the last of two members of one name: the first list was dropped unseen.
    const twice = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed', seedFile(`{"keys": [{"keyId": "${KEY_ID}"}], "keys": []}`, 'twice.json')]);
    assert.equal(twice.code, 2, twice.stderr);
    assert.match(twice.stderr, /^error: the seed file .*twice\.json' has a member twice in one object: Map keys must be unique at line 1, column \d+$/m);
    // A mapping used as a key (a stray colon after an entry): the yaml library warned, quoting it, as it made the key a string.
    const strayColon = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed',
      seedFile(`principals:\n  - user: ci\n    accessKeys:\n      - {secretAccessKey: ${secret}, accessKeyId: AKIACITESTS0000001}:\n`, 'colon.yaml')]);
    assert.notEqual(strayColon.code, 0, strayColon.stderr);
    assert.equal(strayColon.stderr.includes(secret.slice(0, 6)), false, strayColon.stderr);
    // Nested past any seed: the yaml library's check of it ran out of heap and ended the process.
    const deep = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed', seedFile(`{"keys": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'deep.json')]);
    assert.equal(deep.code, 2, deep.stderr);
    assert.match(deep.stderr, /^error: the seed file .*deep\.json' nests deeper than 64 levels$/m);
    const two = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed', seedFile('keys: []\n---\nkeys: []\n', 'two.yaml')]);
    assert.equal(two.code, 2, two.stderr);
    assert.match(two.stderr, /holds more than one YAML document/);
    // Not UTF-8: before, read with U+FFFD in place of the byte and applied so.
    const latin1 = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed',
      seedFile(Buffer.from(`keys:\n  - keyId: ${GENERATED_KEY_ID}\n    description: caf\xe9\n`, 'latin1'), 'latin1.yaml')]);
    assert.equal(latin1.code, 2, latin1.stderr);
    assert.match(latin1.stderr, /^error: the seed file .*latin1\.yaml' is not UTF-8 text$/m);
    // A byte-order mark, as some editors write, is read past: JSON.parse refused it before.
    const bom = await serve(tempDir(), seedFile(`\ufeff{"keys": [{"keyId": "${GENERATED_KEY_ID}"}]}`, 'bom.json'));
    assert.match(bom.banner, /created 1, unchanged 0/);
    assert.equal(await bom.stop(), 0);
    const missing = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--seed', join(dataDir, 'none.yaml')]);
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /^error: cannot read the seed file .*ENOENT/m);
  });
});
