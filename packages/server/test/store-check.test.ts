import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, EncryptCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { BackupIntegrityError, checkStore, StartupError, writeBackup } from '../src/index.js';
import { BackingKeys } from '../src/keys/backing-keys.js';
import { specInfo } from '../src/keys/specs/index.js';
import { openRootKey } from '../src/root/open-root-key.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { admin } from './support/principals.js';
import { runCli, runCliAsync } from './support/server-process.js';
import { startTestServer } from './support/server.js';

/**
 * `checkStore` and `coffer store check` on a SQLite store a real server wrote, intact and then
 * damaged one way at a time behind the server's back. (The crash tests run it on PostgreSQL.)
 */
interface Written {
  readonly dataDir: string;
  readonly keyId: string;
  readonly aliasName: string;
  readonly grantId: string;
  readonly accessKeyId: string;
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A stopped server's data: a key rotated once (versions 1 and 2), an alias, a grant, a user with an access key. */
async function written(): Promise<Written> {
  const t = await startTestServer();
  dirs.push(t.dataDir);
  const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  const aliasName = 'alias/checked';
  await t.kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));
  const user = (await admin(t, 'CreateUser', { UserName: 'alice' })).User as { Arn: string };
  const accessKeyId = ((await admin(t, 'CreateAccessKey', { UserName: 'alice' })).AccessKey as { AccessKeyId: string }).AccessKeyId;
  const { GrantId } = await t.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: user.Arn, Operations: ['Encrypt'] }));
  await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('audited') }));
  await t.stop();
  return { dataDir: t.dataDir, keyId, aliasName, grantId: GrantId!, accessKeyId };
}

/** Changes the SQLite file directly, as damage (or an attacker) would. */
function damage(dataDir: string, fn: (db: Database.Database) => void): void {
  const db = new Database(join(dataDir, 'coffer.db'));
  try {
    fn(db);
  } finally {
    db.close();
  }
}

/** Where a table's or index's root page is in coffer.db, once the WAL is checkpointed into it (so the file holds every page). */
function rootPageOf(dataDir: string, name: string): { pageSize: number; rootPage: number } {
  let found = { pageSize: 0, rootPage: 0 };
  damage(dataDir, (db) => {
    db.pragma('wal_checkpoint(TRUNCATE)');
    found = {
      pageSize: db.pragma('page_size', { simple: true }) as number,
      rootPage: (db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(name) as { rootpage: number }).rootpage,
    };
  });
  return found;
}

const flipped = (bytes: Uint8Array): Buffer => {
  const copy = Buffer.from(bytes);
  copy[copy.length - 1]! ^= 0x01;
  return copy;
};

/** Precondition: the damage is found, named, and `coffer store check` exits 4. */
async function assertFound(dataDir: string, problem: RegExp): Promise<void> {
  const report = await checkStore({ dataDir });
  assert.ok(report.problems.some((p) => problem.test(p)), `expected a problem matching ${problem}, got ${JSON.stringify(report.problems)}`);
  const cli = runCli(['store', 'check', '--data-dir', dataDir]);
  assert.equal(cli.status, 4, cli.stdout + cli.stderr);
  assert.match(cli.stderr, problem);
}

describe('coffer store check', () => {
  it('an intact store passes, with everything counted, and the CLI exits 0', async () => {
    const { dataDir } = await written();
    const report = await checkStore({ dataDir });
    assert.deepEqual(report.problems, []);
    assert.equal(report.checked.keys, 1);
    assert.equal(report.checked.keyVersions, 2);
    assert.equal(report.checked.aliases, 1);
    assert.equal(report.checked.grants, 1);
    assert.equal(report.checked.principals, 1);
    assert.equal(report.checked.accessKeys, 2);
    assert.ok(report.checked.auditRecords >= 6, `audit records: ${report.checked.auditRecords}`);
    const cli = runCli(['store', 'check', '--data-dir', dataDir]);
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /the store is intact/);
  });

  it('passes beside a running server that rotates keys meanwhile: a key read between its rotations is read again', async () => {
    const t = await startTestServer();
    dirs.push(t.dataDir);
    try {
      const keyIds: string[] = [];
      for (let i = 0; i < 100; i++) keyIds.push((await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
      let rotating = true;
      const rotations = Array.from({ length: 4 }, async (_, lane) => {
        for (let i = lane; rotating && i < keyIds.length * 20; i += 4) {
          await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyIds[i % keyIds.length]! }));
        }
      });
      try {
        // The check in a process of its own, as an operator runs it: in this one it would hold the
        // event loop, and the server would rotate nothing meanwhile.
        for (let run = 0; run < 3; run++) {
          const cli = await runCliAsync(['store', 'check', '--data-dir', t.dataDir]);
          assert.equal(cli.status, 0, cli.stdout + cli.stderr);
        }
        assert.ok((await checkStore({ dataDir: t.dataDir })).checked.keyVersions > keyIds.length, 'keys were rotated meanwhile');
      } finally {
        rotating = false;
        await Promise.all(rotations);
      }
    } finally {
      await t.stop();
    }
  });

  it('finds a missing key version', async () => {
    const w = await written();
    damage(w.dataDir, (db) => db.prepare('DELETE FROM key_versions WHERE key_id = ? AND version = 1').run(w.keyId));
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId}: version 1 of 2 is missing`));
  });

  it('finds wrapped material that does not unwrap under the root key', async () => {
    const w = await written();
    damage(w.dataDir, (db) => {
      const row = db.prepare('SELECT wrapped FROM key_versions WHERE key_id = ? AND version = 2').get(w.keyId) as { wrapped: Buffer };
      db.prepare('UPDATE key_versions SET wrapped = ? WHERE key_id = ? AND version = 2').run(flipped(row.wrapped), w.keyId);
    });
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId} version 2: the wrapped material does not unwrap`));
  });

  it('finds a KeyMaterialId that is malformed, or that is another version\'s', async () => {
    const w = await written();
    damage(w.dataDir, (db) => db.prepare('UPDATE key_versions SET material_id = ? WHERE key_id = ? AND version = 1').run('Z'.repeat(64), w.keyId));
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId} version 1: its KeyMaterialId is not 64 lowercase hex characters`));
    damage(w.dataDir, (db) => db.prepare('UPDATE key_versions SET material_id = (SELECT material_id FROM key_versions WHERE key_id = ? AND version = 2) WHERE key_id = ? AND version = 1').run(w.keyId, w.keyId));
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId} version 1: its KeyMaterialId is also another version's`));
  });

  it('finds material that is not a key of its key\'s spec (16 bytes under a SYMMETRIC_DEFAULT key)', async () => {
    const w = await written();
    const store = new SqliteStore(join(w.dataDir, 'coffer.db'));
    const root = await openRootKey(w.dataDir, store);
    try {
      const stored = (await store.getKeyVersion(w.keyId, 1))!;
      // Wrapped as the server wraps a version, so only its length is wrong.
      const forged = await new BackingKeys(root, store, { maxEntries: 0, ttlMs: 0 }).create(w.keyId, 1, Date.now(), undefined, randomBytes(16));
      assert.equal(await store.rewrapKeyVersion(w.keyId, 1, stored.wrappedMaterial, forged.wrappedMaterial), true);
    } finally {
      await root.close();
      await store.close();
    }
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId} version 1: its material is not a SYMMETRIC_DEFAULT key`));
  });

  it('holds EC material an earlier release stored though an import now refuses it; refuses a scalar past the order', () => {
    // What `coffer store check` (and a restore's check) asks of a version's material: KeyFamily.holds.
    const { family } = specInfo('ECC_NIST_P256');
    const mine = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
    const theirs = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
    // Another key's public point beside the scalar: imported by e9b68de, refused by imports since.
    const mismatched = createPrivateKey({ key: { ...mine, x: theirs.x, y: theirs.y }, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
    const explicit = execFileSync('sh', ['-c', 'openssl ecparam -name prime256v1 -param_enc explicit -genkey | openssl pkcs8 -topk8 -nocrypt -outform DER']);
    for (const material of [mismatched, explicit]) {
      assert.equal(family.importable(material), undefined);
      assert.equal(family.holds!(material), true);
    }
    const good = createPrivateKey({ key: mine, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
    assert.equal(family.holds!(good), true);
    // The scalar replaced by n (node:crypto would abort on it): refused before node sees it.
    const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
    const d = Buffer.from(mine.d!, 'base64url');
    assert.equal(family.holds!(Buffer.from(good.toString('hex').replace(d.toString('hex'), n.toString('hex')), 'hex')), false);
  });

  it('finds an alias whose key does not exist', async () => {
    const w = await written();
    damage(w.dataDir, (db) => db.prepare('UPDATE aliases SET target_key_id = ? WHERE alias_name = ?').run('00000000-0000-4000-8000-000000000000', w.aliasName));
    await assertFound(w.dataDir, /alias alias\/checked: points at key 00000000-0000-4000-8000-000000000000, which does not exist/);
  });

  it('finds a key record removed from under its versions, alias and grant', async () => {
    const w = await written();
    damage(w.dataDir, (db) => db.prepare('DELETE FROM keys WHERE key_id = ?').run(w.keyId));
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId}: has stored versions but no key record`));
    const { problems } = await checkStore({ dataDir: w.dataDir });
    assert.ok(problems.some((p) => p.startsWith(`grant ${w.grantId}: names key ${w.keyId}`)), JSON.stringify(problems));
    assert.ok(problems.some((p) => p.startsWith(`alias ${w.aliasName}:`)), JSON.stringify(problems));
  });

  it('finds a key record no server could have written: a state or key spec that does not exist, a policy that is not JSON (and goes on past them)', async () => {
    const w = await written();
    const edit = (change: (record: Record<string, unknown>) => void) => damage(w.dataDir, (db) => {
      const record = JSON.parse((db.prepare('SELECT record FROM keys WHERE key_id = ?').get(w.keyId) as { record: string }).record) as Record<string, unknown>;
      change(record);
      db.prepare('UPDATE keys SET record = ? WHERE key_id = ?').run(JSON.stringify(record), w.keyId);
    });
    edit((record) => { record.state = 'Bogus'; record.keySpec = 'NOT_A_SPEC'; record.policy = '{not json'; });
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId}: its state "Bogus" is not a key state`));
    const { problems } = await checkStore({ dataDir: w.dataDir });
    assert.ok(problems.includes(`key ${w.keyId}: its key spec "NOT_A_SPEC" is not one this server has`), JSON.stringify(problems));
    assert.ok(problems.includes(`key ${w.keyId}: its key policy is not JSON`), JSON.stringify(problems));
  });

  it('reports rows no server writes, put into the store with SQL, instead of calling it intact', async () => {
    const w = await written();
    const record = (db: Database.Database, table: string, column: string, id: string) =>
      JSON.parse((db.prepare(`SELECT record FROM ${table} WHERE ${column} = ?`).get(id) as { record: string }).record) as Record<string, unknown>;
    damage(w.dataDir, (db) => {
      db.prepare('UPDATE keys SET record = ? WHERE key_id = ?').run(JSON.stringify({ ...record(db, 'keys', 'key_id', w.keyId), state: 'PendingDeletion' }), w.keyId);
      db.prepare('UPDATE grants SET record = ? WHERE grant_id = ?')
        .run(JSON.stringify({ ...record(db, 'grants', 'grant_id', w.grantId), granteePrincipal: 'garbage', operations: ['Frobnicate'] }), w.grantId);
      db.prepare('UPDATE access_keys SET status = ? WHERE access_key_id = ?').run('Weird', w.accessKeyId);
    });
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId}: it is PendingDeletion but has no deletion date`));
    const { problems } = await checkStore({ dataDir: w.dataDir });
    assert.ok(problems.includes(`grant ${w.grantId}: its granteePrincipal "garbage" is not a principal ARN or service principal`), JSON.stringify(problems));
    assert.ok(problems.some((p) => p.startsWith(`grant ${w.grantId}: its operations ["Frobnicate"]`)), JSON.stringify(problems));
    assert.ok(problems.includes(`access key ${w.accessKeyId}: its status "Weird" is not Active or Inactive`), JSON.stringify(problems));
  });

  it('names a key whose record is not JSON and goes on with the other checks; a backup refuses it, pointing here', async () => {
    // Before, the check stopped at JSON.parse's bare message (exit 1, no key named), and so did a backup.
    const w = await written();
    damage(w.dataDir, (db) => {
      db.prepare('UPDATE keys SET record = ? WHERE key_id = ?').run('{bad', w.keyId);
      db.prepare('UPDATE aliases SET target_key_id = ? WHERE alias_name = ?').run('00000000-0000-4000-8000-000000000000', w.aliasName);
    });
    await assertFound(w.dataDir, new RegExp(`key ${w.keyId}: its record is not JSON: no server can read it, nor a backup copy it$`, 'm'));
    const { problems } = await checkStore({ dataDir: w.dataDir });
    assert.ok(problems.some((p) => p.startsWith('alias alias/checked: points at key 00000000-0000-4000-8000-000000000000')), JSON.stringify(problems));
    assert.ok(!problems.some((p) => p.startsWith(`grant ${w.grantId}`)), 'the grant\'s key exists: its record is only unreadable');
    await assert.rejects(writeBackup({ dataDir: w.dataDir, out: join(w.dataDir, 'x.backup'), recipient: { passphrase: 'correct horse battery staple' }, scryptCostForTests: { N: 2 ** 14, r: 8, p: 1 } }),
      (error: Error) => error instanceof BackupIntegrityError && /^the store holds a record that is not JSON \(.*\): run `coffer store check`, which names it; no archive was written$/.test(error.message));
  });

  it('finds a grant whose key does not exist', async () => {
    const w = await written();
    damage(w.dataDir, (db) => db.prepare('UPDATE grants SET key_id = ? WHERE grant_id = ?').run('00000000-0000-4000-8000-000000000001', w.grantId));
    await assertFound(w.dataDir, new RegExp(`grant ${w.grantId}: names key 00000000-0000-4000-8000-000000000001, which does not exist`));
  });

  it('finds an access key whose principal does not exist', async () => {
    const w = await written();
    damage(w.dataDir, (db) => db.prepare('UPDATE access_keys SET principal_arn = ? WHERE access_key_id = ?').run('arn:aws:iam::111122223333:user/ghost', w.accessKeyId));
    await assertFound(w.dataDir, new RegExp(`access key ${w.accessKeyId}: belongs to arn:aws:iam::111122223333:user/ghost, which does not exist`));
  });

  it('finds an access key whose secret does not unwrap', async () => {
    const w = await written();
    damage(w.dataDir, (db) => {
      const row = db.prepare('SELECT wrapped_secret FROM access_keys WHERE access_key_id = ?').get(w.accessKeyId) as { wrapped_secret: Buffer };
      db.prepare('UPDATE access_keys SET wrapped_secret = ? WHERE access_key_id = ?').run(flipped(row.wrapped_secret), w.accessKeyId);
    });
    await assertFound(w.dataDir, new RegExp(`access key ${w.accessKeyId}: its secret does not unwrap`));
  });

  it('finds an audit record removed from the chain', async () => {
    const w = await written();
    damage(w.dataDir, (db) => db.prepare('DELETE FROM audit WHERE seq = 3').run());
    await assertFound(w.dataDir, /audit chain: breaks at record 3/);
  });

  it('finds a corrupt SQLite index with PRAGMA integrity_check', async () => {
    const w = await written();
    const { pageSize, rootPage } = rootPageOf(w.dataDir, 'sqlite_autoindex_aliases_1');
    // The index entry's copy of the alias name, changed on disk: the table and its index disagree.
    const file = join(w.dataDir, 'coffer.db');
    const bytes = readFileSync(file);
    const page = bytes.subarray((rootPage - 1) * pageSize, rootPage * pageSize);
    const at = page.indexOf(Buffer.from(w.aliasName));
    assert.ok(at >= 0, 'the alias name is not on its index page');
    page[at + w.aliasName.length - 1] = 'X'.charCodeAt(0);
    writeFileSync(file, bytes);
    await assertFound(w.dataDir, /SQLite integrity_check: .*sqlite_autoindex_aliases_1/);
  });

  it('finds a damaged page SQLite cannot read (the check cannot go past it), and a start on such a file says it is damaged', async () => {
    const w = await written();
    const { pageSize, rootPage } = rootPageOf(w.dataDir, 'key_versions');
    // The page's type byte, made one no b-tree page has: SQLite calls the file malformed wherever it reads the page.
    const file = join(w.dataDir, 'coffer.db');
    const bytes = readFileSync(file);
    bytes[(rootPage - 1) * pageSize] = bytes[(rootPage - 1) * pageSize]! ^ 0xff;
    writeFileSync(file, bytes);
    await assertFound(w.dataDir, /SQLite finds .*coffer\.db damaged \(database disk image is malformed\), so nothing past it could be checked: .*restore the store from a backup/);
    // Cut in half (a copy that stopped part-way): the start itself reads a page that is gone.
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / pageSize / 2) * pageSize));
    await assert.rejects(startTestServer({ dataDir: w.dataDir }), (error) => error instanceof StartupError
      && error.message === `The store ${file} is damaged (SQLite: database disk image is malformed): \`coffer store check\` names what it can; restore the store from a backup (docs/backup.md).`);
  });

  it('could not check: no root.key, or another root key, exits 1 and changes nothing', async () => {
    const w = await written();
    const before = readFileSync(join(w.dataDir, 'root.key'));
    writeFileSync(join(w.dataDir, 'root.key'), randomBytes(before.length), { mode: 0o600 });
    await assert.rejects(checkStore({ dataDir: w.dataDir }), (error) => error instanceof StartupError && /is not the root key/.test(error.message));
    const wrongKey = runCli(['store', 'check', '--data-dir', w.dataDir]);
    assert.equal(wrongKey.status, 1, wrongKey.stdout + wrongKey.stderr);
    unlinkSync(join(w.dataDir, 'root.key'));
    const noKey = runCli(['store', 'check', '--data-dir', w.dataDir]);
    assert.equal(noKey.status, 1, noKey.stdout + noKey.stderr);
    assert.match(noKey.stderr, /no root key file/);
    const noStore = runCli(['store', 'check', '--data-dir', join(w.dataDir, 'nothing-here')]);
    assert.equal(noStore.status, 1, noStore.stdout + noStore.stderr);
    assert.match(noStore.stderr, /holds no Coffer store/);
  });
});
