import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs, { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand,
  EnableKeyCommand, EnableKeyRotationCommand, EncryptCommand, GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand,
  GetKeyRotationStatusCommand, ListAliasesCommand, ListKeyRotationsCommand, ListKeysCommand,
  ListResourceTagsCommand, RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { StartupError, startServer, type StartOptions } from '../src/index.js';
import { lockDataDirectory } from '../src/store/server-lock.js';
import { createUser } from './support/principals.js';
import { kmsClient, readCredentials, startTestServer, tempDataDir, type TestServer } from './support/server.js';

/** An SDK output without `$metadata`, whose request id differs on every call. */
function plain<T extends { $metadata?: unknown }>(output: T): Omit<T, '$metadata'> {
  const { $metadata: _, ...rest } = output;
  return rest;
}

interface Sealed {
  readonly blob: Uint8Array;
  readonly plaintext: Buffer;
  readonly context?: Record<string, string>;
}

/** Everything a client can read about the keys and aliases, to compare across a restart. */
async function snapshot(kms: KMSClient, keyIds: string[]) {
  const keys = [];
  for (const KeyId of keyIds) {
    keys.push({
      describe: plain(await kms.send(new DescribeKeyCommand({ KeyId }))),
      tags: plain(await kms.send(new ListResourceTagsCommand({ KeyId }))),
      rotation: plain(await kms.send(new GetKeyRotationStatusCommand({ KeyId }))),
      rotations: plain(await kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))),
    });
  }
  return {
    keys,
    list: plain(await kms.send(new ListKeysCommand({}))),
    aliases: plain(await kms.send(new ListAliasesCommand({}))),
  };
}

async function assertDecrypts(kms: KMSClient, sealed: Sealed[]): Promise<void> {
  for (const s of sealed) {
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: s.blob, ...(s.context ? { EncryptionContext: s.context } : {}) }));
    assert.ok(Buffer.from(opened.Plaintext!).equals(s.plaintext), 'plaintext differs after restart');
  }
}

const quiet = () => {};

describe('a restart', () => {
  let t: TestServer;
  let restarted: TestServer;
  let keyIds: string[];
  let sealed: Sealed[];
  let opaqueDataKeys: Uint8Array[];
  let before_: Awaited<ReturnType<typeof snapshot>>;

  before(async () => {
    t = await startTestServer();
    const kms = t.kms;
    const alpha = (await kms.send(new CreateKeyCommand({
      Description: 'alpha: rotated, tagged',
      Tags: [{ TagKey: 'team', TagValue: 'payments' }, { TagKey: 'env', TagValue: 'prod ✓' }],
    }))).KeyMetadata!.KeyId!;
    const beta = (await kms.send(new CreateKeyCommand({ Description: 'beta: disabled' }))).KeyMetadata!.KeyId!;
    const gamma = (await kms.send(new CreateKeyCommand({ Description: 'gamma: pending deletion' }))).KeyMetadata!.KeyId!;
    keyIds = [alpha, beta, gamma];

    await kms.send(new EnableKeyRotationCommand({ KeyId: alpha, RotationPeriodInDays: 120 }));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/alpha', TargetKeyId: alpha }));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/beta', TargetKeyId: beta }));

    const seal = async (KeyId: string, text: string, context?: Record<string, string>): Promise<Sealed> => {
      const plaintext = Buffer.from(text);
      const out = await kms.send(new EncryptCommand({ KeyId, Plaintext: plaintext, ...(context ? { EncryptionContext: context } : {}) }));
      return { blob: out.CiphertextBlob!, plaintext, ...(context ? { context } : {}) };
    };
    sealed = [
      await seal(alpha, 'before rotation', { purpose: 'restart' }),
      await seal('alias/alpha', 'before rotation, by alias'),
      await seal(beta, 'sealed under beta'),
    ];
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: alpha }));
    sealed.push(await seal(alpha, 'after rotation', { purpose: 'restart' }));
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: 'alias/alpha', KeySpec: 'AES_256' }));
    sealed.push({ blob: dataKey.CiphertextBlob!, plaintext: Buffer.from(dataKey.Plaintext!) });
    opaqueDataKeys = [(await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: alpha, NumberOfBytes: 24 }))).CiphertextBlob!];

    await kms.send(new DisableKeyCommand({ KeyId: beta }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: gamma, PendingWindowInDays: 7 }));
    before_ = await snapshot(kms, keyIds);
    restarted = await t.restart();
  });
  after(() => restarted.dispose());

  it('starts from keys in every state the restart must keep', () => {
    const [alpha, beta, gamma] = before_.keys;
    assert.equal(alpha!.describe.KeyMetadata!.Description, 'alpha: rotated, tagged');
    assert.equal(alpha!.rotation.KeyRotationEnabled, true);
    assert.equal(alpha!.rotations.Rotations!.length, 2);
    assert.equal(beta!.describe.KeyMetadata!.KeyState, 'Disabled');
    assert.equal(gamma!.describe.KeyMetadata!.KeyState, 'PendingDeletion');
    // Besides the aliases AWS predefines (alias/aws/...), listed as AWS lists them.
    assert.deepEqual(before_.aliases.Aliases!.map((a) => a.AliasName).filter((name) => !name!.startsWith('alias/aws/')), ['alias/alpha', 'alias/beta']);
  });

  it('keeps every key, alias, tag and rotation status as it was', async () => {
    assert.deepEqual(await snapshot(restarted.kms, keyIds), before_);
  });

  it('decrypts every ciphertext made before the restart, from before and after the rotation', async () => {
    // Beta is still disabled after the restart; enabled again, its ciphertext opens too.
    const disabled = await restarted.kms.send(new DecryptCommand({ CiphertextBlob: sealed[2]!.blob })).catch((e: Error) => e);
    assert.equal((disabled as Error).name, 'DisabledException');
    await restarted.kms.send(new EnableKeyCommand({ KeyId: keyIds[1]! }));
    await assertDecrypts(restarted.kms, sealed);
    for (const blob of opaqueDataKeys) {
      const opened = await restarted.kms.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(opened.Plaintext!.length, 24);
    }
  });

  it('reuses the credentials file and its access key', () => {
    assert.equal(restarted.server.adminAccessKeyId, t.server.adminAccessKeyId);
    assert.deepEqual(restarted.credentials, t.credentials);
    assert.equal(restarted.server.credentialsFile, t.server.credentialsFile);
  });

  it('keeps serving new requests with the rotated key', async () => {
    const out = await restarted.kms.send(new EncryptCommand({ KeyId: 'alias/alpha', Plaintext: Buffer.from('new') }));
    const opened = await restarted.kms.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), 'new');
  });
});

describe('the root key file', () => {
  let t: TestServer;
  let dataDir: string;
  let rootKeyPath: string;
  let original: Buffer;
  let sealed: Sealed;

  before(async () => {
    t = await startTestServer();
    dataDir = t.dataDir;
    rootKeyPath = join(dataDir, 'root.key');
    original = readFileSync(rootKeyPath);
    const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const plaintext = Buffer.from('guarded by the root key');
    sealed = { blob: (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }))).CiphertextBlob!, plaintext };
    await t.stop();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  /** Starting must fail with a StartupError whose message matches, changing nothing on disk. */
  async function assertRefusedStart(message: RegExp): Promise<void> {
    const filesBefore = readdirSync(dataDir).sort();
    const rootBefore = existsSync(rootKeyPath) ? readFileSync(rootKeyPath) : undefined;
    await assert.rejects(startServer({ dataDir, port: 0, logger: quiet }), (error: unknown) => {
      assert.ok(error instanceof StartupError, `not a StartupError: ${String(error)}`);
      assert.match(error.message, message);
      assert.ok(error.message.includes(rootKeyPath), `the message does not name ${rootKeyPath}: ${error.message}`);
      return true;
    });
    assert.deepEqual(readdirSync(dataDir).sort(), filesBefore);
    assert.deepEqual(existsSync(rootKeyPath) ? readFileSync(rootKeyPath) : undefined, rootBefore);
  }

  /** Puts the original root key back and proves the data was untouched. */
  async function restoreAndCheck(): Promise<void> {
    writeFileSync(rootKeyPath, original, { mode: 0o600 });
    const again = await startTestServer({ dataDir });
    try {
      await assertDecrypts(again.kms, [sealed]);
    } finally {
      await again.stop();
    }
  }

  it('is 32 bytes, mode 0600', () => {
    assert.equal(original.length, 32);
    assert.equal(statSync(rootKeyPath).mode & 0o777, 0o600);
  });

  it('refuses to start when it is missing, and creates no new one', async () => {
    rmSync(rootKeyPath);
    await assertRefusedStart(/missing/);
    assert.equal(existsSync(rootKeyPath), false);
    await restoreAndCheck();
  });

  it('refuses to start when it was replaced by another key', async () => {
    writeFileSync(rootKeyPath, randomBytes(32), { mode: 0o600 });
    await assertRefusedStart(/^The root key file .*root\.key is not the root key the store was written with\. /);
    await restoreAndCheck();
  });

  for (const size of [0, 31, 33, 64]) {
    it(`refuses to start when it holds ${size} bytes`, async () => {
      writeFileSync(rootKeyPath, size <= 32 ? original.subarray(0, size) : Buffer.concat([original, randomBytes(size - 32)]), { mode: 0o600 });
      await assertRefusedStart(new RegExp(`holds ${size} bytes, not 32`));
      await restoreAndCheck();
    });
  }

  it('refuses to start when it cannot be read (a directory in its place), with a StartupError naming it', async () => {
    rmSync(rootKeyPath);
    mkdirSync(rootKeyPath);
    try {
      const filesBefore = readdirSync(dataDir).sort();
      await assert.rejects(startServer({ dataDir, port: 0, logger: quiet }), (error: unknown) => {
        assert.ok(error instanceof StartupError, `not a StartupError: ${String(error)}`);
        assert.match(error.message, /cannot be read \(EISDIR\)/);
        assert.ok(error.message.includes(rootKeyPath), `the message does not name ${rootKeyPath}: ${error.message}`);
        return true;
      });
      assert.deepEqual(readdirSync(dataDir).sort(), filesBefore);
    } finally {
      rmdirSync(rootKeyPath);
    }
    await restoreAndCheck();
  });
});

describe('the credentials file', () => {
  it('is written again, with the same access key, when it was deleted', async () => {
    const t = await startTestServer({ dataDir: tempDataDir() });
    const file = t.server.credentialsFile;
    const first = readFileSync(file, 'utf8');
    await t.stop();
    rmSync(file);
    const again = await startTestServer({ dataDir: t.dataDir });
    try {
      assert.equal(readFileSync(file, 'utf8'), first);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(again.server.adminAccessKeyId, readCredentials(file).accessKeyId);
      const keys = await again.kms.send(new ListKeysCommand({}));
      assert.deepEqual(keys.Keys, []);
    } finally {
      await again.dispose();
    }
  });

  it('is not claimed when no key of the root serves it: the server says why, and what to start with', async () => {
    // Before, the banner named a credentials file it never wrote (no key of the new account's root exists).
    const t = await startTestServer({ dataDir: tempDataDir() });
    await t.stop();
    rmSync(t.server.credentialsFile);
    const cases: Array<[Partial<StartOptions>, string]> = [
      [{ accountId: '999988887777' }, 'this store was made for arn:aws:iam::111122223333:root: start it with --account-id 111122223333 to use its credentials'],
      [{ partition: 'aws-cn', region: 'cn-north-1' }, 'this store was made for arn:aws:iam::111122223333:root: start it with --partition aws to use its credentials'],
    ];
    for (const [options, reason] of cases) {
      const warnings: string[] = [];
      const other = await startServer({ port: 0, dataDir: t.dataDir, ...options, logger: (level, message) => { if (level === 'warn') warnings.push(message); } });
      try {
        assert.equal(other.noCredentials, reason);
        assert.equal(existsSync(t.server.credentialsFile), false);
        assert.ok(warnings.includes(`no credentials file serves this account's root: ${reason}`), JSON.stringify(warnings));
      } finally {
        await other.close();
      }
    }
    const again = await startTestServer({ dataDir: t.dataDir });
    try {
      assert.equal(again.server.noCredentials, undefined);
      assert.equal(again.server.adminAccessKeyId, readCredentials(t.server.credentialsFile).accessKeyId);
    } finally {
      await again.dispose();
    }
  });

  it('is not claimed when the administrator named is no root and the root has no key left', async () => {
    const t = await startTestServer({ dataDir: tempDataDir() });
    const alice = await createUser(t, 'alice');
    await t.stop();
    rmSync(t.server.credentialsFile);
    const db = new Database(join(t.dataDir, 'coffer.db'));
    try {
      db.prepare("UPDATE meta SET value = ? WHERE name = 'admin-access-key-id'").run(Buffer.from(alice.credentials.accessKeyId, 'utf8'));
      db.prepare("DELETE FROM access_keys WHERE principal_arn LIKE '%:root'").run();
    } finally {
      db.close();
    }
    const left = await startServer({ port: 0, dataDir: t.dataDir, logger: () => {} });
    try {
      assert.equal(left.noCredentials, 'the store holds no active access key of arn:aws:iam::111122223333:root');
      assert.equal(existsSync(t.server.credentialsFile), false);
    } finally {
      await left.close();
    }
  });

  it('is not claimed when the administrator\'s stored secret is damaged: the server starts, says which, and serves the rest; a damaged audit key stops the start, named', async () => {
    const t = await startTestServer({ dataDir: tempDataDir() });
    const alice = await createUser(t, 'alice', { all: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } });
    const adminKeyId = t.server.adminAccessKeyId;
    await t.stop();
    const flipOne = (bytes: Buffer) => Buffer.concat([bytes.subarray(0, -1), Buffer.from([bytes.at(-1)! ^ 0x01])]);
    const damage = (statement: string, select: string, ...args: string[]) => {
      const db = new Database(join(t.dataDir, 'coffer.db'));
      try {
        const value = (db.prepare(select).get(...args) as { value: Buffer }).value;
        db.prepare(statement).run(flipOne(value), ...args);
        return value;
      } finally {
        db.close();
      }
    };
    const secret = damage('UPDATE access_keys SET wrapped_secret = ? WHERE access_key_id = ?', 'SELECT wrapped_secret AS value FROM access_keys WHERE access_key_id = ?', adminKeyId);
    const warnings: string[] = [];
    const damaged = await startServer({ port: 0, dataDir: t.dataDir, quotas: false, logger: (level, message) => { if (level === 'warn') warnings.push(message); } });
    try {
      assert.match(String(damaged.noCredentials), new RegExp(`^the stored secret of the administrator's access key ${adminKeyId} does not open under the root key \\(.+\\): the store is damaged there; \`coffer store check\``));
      assert.ok(warnings.some((w) => w.includes(`administrator's access key ${adminKeyId}`)), JSON.stringify(warnings));
      const kms = kmsClient(damaged.endpoint, alice.credentials);
      try {
        assert.deepEqual((await kms.send(new ListKeysCommand({}))).Keys, []);
      } finally {
        kms.destroy();
      }
    } finally {
      await damaged.close();
    }
    // Put the secret back; the audit key now.
    const db = new Database(join(t.dataDir, 'coffer.db'));
    try {
      db.prepare('UPDATE access_keys SET wrapped_secret = ? WHERE access_key_id = ?').run(secret, adminKeyId);
    } finally {
      db.close();
    }
    damage("UPDATE meta SET value = ? WHERE name = 'audit-key'", "SELECT value FROM meta WHERE name = 'audit-key'");
    await assert.rejects(startServer({ port: 0, dataDir: t.dataDir, quotas: false, logger: quiet }), (error: unknown) => {
      assert.ok(error instanceof StartupError, `not a StartupError: ${String(error)}`);
      assert.match(error.message, /^The store's audit key does not open under the root key \(.+\): the store is damaged there\. `coffer store check` lists what else is/);
      return true;
    });
  });

  it('is written at the next start when a full disk stopped the first: nothing left behind refuses it', async () => {
    const dataDir = tempDataDir();
    const temporary = join(dataDir, `credentials.${process.pid}.tmp`);
    // As a full disk does: the file is created, its write fails. In a container the server has
    // the same pid at every start, as this process has here; before, the empty temporary file was
    // left and every later start was refused with EEXIST.
    const write = fs.writeFileSync;
    mock.method(fs, 'writeFileSync', (...args: Parameters<typeof fs.writeFileSync>) => {
      if (args[0] !== temporary) return write(...args);
      fs.closeSync(fs.openSync(temporary, 'wx', 0o600));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    });
    syncBuiltinESMExports();
    try {
      await assert.rejects(startServer({ dataDir, port: 0, logger: quiet, quotas: false }), (error: unknown) => {
        assert.ok(error instanceof StartupError, `not a StartupError: ${String(error)}`);
        assert.match(error.message, /Cannot write the administrator's credentials to .*credentials \(ENOSPC\)/);
        return true;
      });
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
    assert.ok(!existsSync(temporary), 'the temporary file is removed when its write fails');
    const again = await startTestServer({ dataDir });
    try {
      assert.equal(again.server.adminAccessKeyId, readCredentials(join(dataDir, 'credentials')).accessKeyId);
      assert.deepEqual((await again.kms.send(new ListKeysCommand({}))).Keys, []);
      assert.deepEqual(readdirSync(dataDir).filter((name) => name.startsWith('credentials')), ['credentials']);
    } finally {
      await again.dispose();
    }
  });
});

describe('one server per SQLite data directory', () => {
  let t: TestServer;
  before(async () => { t = await startTestServer(); });
  after(() => t.dispose());

  const refusal = (error: unknown) => {
    assert.ok(error instanceof StartupError, `not a StartupError: ${String(error)}`);
    assert.match(error.message, /Another Coffer server is serving the data directory/);
    assert.ok(error.message.includes(t.dataDir), `the message does not name ${t.dataDir}: ${error.message}`);
    return true;
  };

  it('refuses a second server in the same process, and the first goes on serving', async () => {
    await assert.rejects(startServer({ dataDir: t.dataDir, port: 0, logger: quiet }), refusal);
    const created = await t.kms.send(new CreateKeyCommand({}));
    assert.equal(created.KeyMetadata!.KeyState, 'Enabled');
  });

  it('refuses a second server in another process', async () => {
    const { spawnSync } = await import('node:child_process');
    const index = new URL('../src/index.js', import.meta.url).href;
    const script = `import(${JSON.stringify(index)}).then((m) => m.startServer({ dataDir: ${JSON.stringify(t.dataDir)}, port: 0, logger: () => {} }))
      .then(() => process.exit(0), (e) => { console.error(e.name + ': ' + e.message); process.exit(3); });`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.status, 3, child.stderr);
    assert.match(child.stderr, /^StartupError: Another Coffer server is serving the data directory/);
  });

  it('takes a directory whose lock another process holds only for a moment, as two starts at once do', async () => {
    // A process on its way to the lock holds SQLite's shared lock on server.lock for a moment: two
    // starts at one moment each met the other's and were both refused, neither serving.
    const dataDir = tempDataDir();
    mkdirSync(dataDir, { recursive: true });
    const holder = `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
      const db = new Database(${JSON.stringify(join(dataDir, 'server.lock'))});
      db.exec('BEGIN'); db.prepare('SELECT count(*) FROM sqlite_master').get();
      process.stdout.write('held\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, 50);`;
    const child = spawn(process.execPath, ['-e', holder], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((held) => child.stdout.once('data', held));
    const lock = lockDataDirectory(dataDir);
    lock.release();
    await once(child, 'exit');
  });

  it('is free again once the server has stopped', async () => {
    t = await t.restart();
    assert.equal((await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyState, 'Enabled');
  });
});
