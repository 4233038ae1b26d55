import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs, { closeSync, copyFileSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import {
  CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand,
  GenerateMacCommand, GetKeyPolicyCommand, GetParametersForImportCommand, GetPublicKeyCommand, ImportKeyMaterialCommand, ListAliasesCommand, ListGrantsCommand,
  ListKeyRotationsCommand, PutKeyPolicyCommand, RotateKeyOnDemandCommand, SignCommand, VerifyCommand, VerifyMacCommand,
} from '@aws-sdk/client-kms';
import { AlgorithmSuiteId, decrypt, encrypt } from '@coffer/sdk';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  BackupContentError, BackupFormatError, BackupIntegrityError, BackupKeyError, checkStore, restoreBackup, RestoreTargetNotEmptyError,
  verifyAuditTrail, writeBackup, type BackupIdentity, type BackupRecipient,
} from '../src/index.js';
import { openRootKey, openTarget } from '../src/backup/data-dir.js';
import { keyringFor, protectionFor } from '../src/backup/protection.js';
import { encodePreamble } from '../src/backup/preamble.js';
import { openArchive, readArchive } from '../src/backup/read-archive.js';
import { ARCHIVE_SUITE, archiveContext } from '../src/backup/write-backup.js';
import { StartupError } from '../src/root/root-key.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { RESTORE_UNFINISHED_META, StoreFullError } from '../src/store/store.js';
import { createUser, policyOf } from './support/principals.js';
import { wrapForImport } from './support/recorded.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { startTestServer, tempDataDir, type TestServer } from './support/server.js';

/**
 * Backup and restore across backends (docs/backup.md): a store filled through the official AWS
 * client is backed up, restored into the other backend under a new root key, and served again;
 * every ciphertext, signature and MAC made before still verifies, and the restored store passes
 * the store check and the audit chain verification. Archives that are altered, cut short or
 * opened with the wrong secret are refused, and nothing is written.
 */

// A cheaper scrypt than an operator's archive gets: the cost is carried in the archive, so restore reads it.
const CHEAP_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const PASSPHRASE = 'correct horse battery staple';

let cluster: TestPostgres;
before(async () => {
  cluster = await startTestPostgres();
});
after(() => cluster?.destroy());

interface Made {
  readonly admin: string;
  readonly symmetric: string;
  readonly ciphertexts: readonly { blob: Uint8Array; plaintext: string; context: Record<string, string> }[];
  readonly rotations: unknown;
  readonly currentMaterialId: string | undefined;
  readonly signing: { keyId: string; message: Uint8Array; signature: Uint8Array; publicKey: Uint8Array };
  readonly hmac: { keyId: string; message: Uint8Array; mac: Uint8Array };
  /** A key of imported material, with new material imported and pending rotation. */
  readonly imported: { keyId: string; blob: Uint8Array; pendingMaterialId: string };
  readonly policy: string;
  readonly grantId: string;
  readonly user: { accessKeyId: string; secretAccessKey: string };
}

const POLICY = JSON.stringify(policyOf(
  { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' },
  { Sid: 'Restored', Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::111122223333:user/restorer' }, Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
));

/** A store with a row of every kind, made the way clients make them. */
async function populate(t: TestServer): Promise<Made> {
  const { kms } = t;
  const symmetric = (await kms.send(new CreateKeyCommand({ Description: 'rotated' }))).KeyMetadata!.KeyId!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/restored', TargetKeyId: symmetric }));
  const ciphertexts: { blob: Uint8Array; plaintext: string; context: Record<string, string> }[] = [];
  const encrypt = async (plaintext: string, context: Record<string, string>) => {
    const blob = (await kms.send(new EncryptCommand({ KeyId: 'alias/restored', Plaintext: Buffer.from(plaintext), EncryptionContext: context }))).CiphertextBlob!;
    ciphertexts.push({ blob, plaintext, context });
  };
  await encrypt('under version 1', { purpose: 'backup' });
  await kms.send(new RotateKeyOnDemandCommand({ KeyId: symmetric }));
  await encrypt('under version 2', {});

  const signingKey = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  const message = Buffer.from('signed before the backup');
  const signature = (await kms.send(new SignCommand({ KeyId: signingKey, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature!;
  const publicKey = (await kms.send(new GetPublicKeyCommand({ KeyId: signingKey }))).PublicKey!;

  const hmacKey = (await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
  const macMessage = Buffer.from('maced before the backup');
  const mac = (await kms.send(new GenerateMacCommand({ KeyId: hmacKey, Message: macMessage, MacAlgorithm: 'HMAC_SHA_256' }))).Mac!;

  const importedKey = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  const importMaterial = async (description: string, importType?: 'NEW_KEY_MATERIAL') => {
    const params = await kms.send(new GetParametersForImportCommand({ KeyId: importedKey, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const wrappingKey = createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' });
    return (await kms.send(new ImportKeyMaterialCommand({
      KeyId: importedKey, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapForImport(randomBytes(32), wrappingKey, 'RSAES_OAEP_SHA_256'),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', KeyMaterialDescription: description, ...(importType ? { ImportType: importType } : {}),
    }))).KeyMaterialId!;
  };
  await importMaterial('original');
  const importedBlob = (await kms.send(new EncryptCommand({ KeyId: importedKey, Plaintext: Buffer.from('under imported material') }))).CiphertextBlob!;
  const pendingMaterialId = await importMaterial('next', 'NEW_KEY_MATERIAL');

  const user = await createUser(t, 'restorer', { encrypt: policyOf({ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' }) });
  user.kms.destroy();
  await kms.send(new PutKeyPolicyCommand({ KeyId: symmetric, PolicyName: 'default', Policy: POLICY }));
  const grantId = (await kms.send(new CreateGrantCommand({ KeyId: symmetric, GranteePrincipal: user.arn, Operations: ['Decrypt'], Name: 'restored-grant' }))).GrantId!;
  return {
    admin: t.credentials.accessKeyId,
    symmetric, ciphertexts,
    rotations: (await kms.send(new ListKeyRotationsCommand({ KeyId: symmetric }))).Rotations,
    currentMaterialId: (await kms.send(new DescribeKeyCommand({ KeyId: symmetric }))).KeyMetadata!.CurrentKeyMaterialId,
    signing: { keyId: signingKey, message, signature, publicKey },
    hmac: { keyId: hmacKey, message: macMessage, mac },
    imported: { keyId: importedKey, blob: importedBlob, pendingMaterialId },
    policy: POLICY, grantId, user: user.credentials,
  };
}

/** Everything made before the backup works on the restored server, which is itself intact. */
async function assertRestored(t: TestServer, made: Made): Promise<void> {
  const { kms } = t;
  assert.equal(t.credentials.accessKeyId, made.admin, 'the administrator\'s key is the one backed up; its credentials file is written again');
  for (const c of made.ciphertexts) {
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: c.blob, EncryptionContext: c.context }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), c.plaintext);
  }
  assert.deepEqual((await kms.send(new ListKeyRotationsCommand({ KeyId: made.symmetric }))).Rotations, made.rotations, 'versions and KeyMaterialIds kept');
  assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: made.symmetric }))).KeyMetadata!.CurrentKeyMaterialId, made.currentMaterialId);
  assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: made.symmetric, PolicyName: 'default' }))).Policy, made.policy);
  assert.deepEqual((await kms.send(new ListAliasesCommand({ KeyId: made.symmetric }))).Aliases?.map((a) => a.AliasName), ['alias/restored']);
  assert.deepEqual((await kms.send(new ListGrantsCommand({ KeyId: made.symmetric }))).Grants?.map((g) => [g.GrantId, g.Name]), [[made.grantId, 'restored-grant']]);

  const s = made.signing;
  assert.deepEqual((await kms.send(new GetPublicKeyCommand({ KeyId: s.keyId }))).PublicKey, s.publicKey);
  assert.equal((await kms.send(new VerifyCommand({ KeyId: s.keyId, Message: s.message, MessageType: 'RAW', Signature: s.signature, SigningAlgorithm: 'ECDSA_SHA_256' }))).SignatureValid, true);
  const fresh = (await kms.send(new SignCommand({ KeyId: s.keyId, Message: s.message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature!;
  assert.equal((await kms.send(new VerifyCommand({ KeyId: s.keyId, Message: s.message, MessageType: 'RAW', Signature: fresh, SigningAlgorithm: 'ECDSA_SHA_256' }))).SignatureValid, true);

  const h = made.hmac;
  assert.equal((await kms.send(new VerifyMacCommand({ KeyId: h.keyId, Message: h.message, Mac: h.mac, MacAlgorithm: 'HMAC_SHA_256' }))).MacValid, true);
  assert.deepEqual((await kms.send(new GenerateMacCommand({ KeyId: h.keyId, Message: h.message, MacAlgorithm: 'HMAC_SHA_256' }))).Mac, h.mac, 'the same HMAC key');

  // Imported material came along, and so did the material pending rotation: rotating to it works.
  // Each material keeps its description, also through the rotation.
  const i = made.imported;
  const described = async () => (await kms.send(new ListKeyRotationsCommand({ KeyId: i.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!
    .map((r) => [r.KeyMaterialState, r.KeyMaterialDescription]);
  assert.deepEqual(await described(), [['CURRENT', 'original'], ['PENDING_ROTATION', 'next']]);
  assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: i.blob }))).Plaintext!).toString(), 'under imported material');
  await kms.send(new RotateKeyOnDemandCommand({ KeyId: i.keyId }));
  assert.deepEqual(await described(), [['NON_CURRENT', 'original'], ['CURRENT', 'next']]);
  assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: i.keyId }))).KeyMetadata!.CurrentKeyMaterialId, i.pendingMaterialId);
  const underPending = (await kms.send(new EncryptCommand({ KeyId: i.keyId, Plaintext: Buffer.from('under the pending material') }))).CiphertextBlob!;
  const reopened = await kms.send(new DecryptCommand({ CiphertextBlob: underPending }));
  assert.equal(reopened.KeyMaterialId, i.pendingMaterialId);
  assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: i.blob }))).Plaintext!).toString(), 'under imported material');

  // The user's access key, restored under the new root key, signs requests.
  const { kmsClient } = await import('./support/server.js');
  const asUser = kmsClient(t.server.endpoint, made.user, t.server.config.region);
  try {
    const blob = (await asUser.send(new EncryptCommand({ KeyId: made.symmetric, Plaintext: Buffer.from('by the restored user') }))).CiphertextBlob!;
    assert.equal(Buffer.from((await asUser.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'by the restored user');
  } finally {
    asUser.destroy();
  }
}

async function backupOf(t: TestServer, recipient: BackupRecipient, store?: string): Promise<string> {
  const out = join(tempDataDir(), 'coffer.backup');
  const report = await writeBackup({ dataDir: t.dataDir, ...(store ? { store } : {}), out, recipient, scryptCostForTests: CHEAP_SCRYPT });
  assert.equal(report.out, out);
  assert.ok(report.rows > 0 && report.counts.key === 4 && report.counts.keyVersion === 5, JSON.stringify(report.counts));
  assert.equal(report.counts.meta !== undefined && report.counts.meta >= 1, true);
  return out;
}

const rsaPair = () => generateKeyPairSync('rsa', {
  modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

async function tableCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]!.n);
  } finally {
    await client.end();
  }
}

describe('backup and restore', () => {
  it('backs up SQLite with a passphrase, restores into PostgreSQL, and everything made before works there', async () => {
    const source = await startTestServer();
    const made = await populate(source);
    const archive = await backupOf(source, { passphrase: PASSPHRASE });
    await source.dispose();
    assert.doesNotMatch(readFileSync(archive).toString('latin1'), /restored-grant|alias\/restored/, 'nothing in the clear');

    const url = await cluster.createDatabase();
    const dataDir = tempDataDir();
    const report = await restoreBackup({ dataDir, store: url, in: archive, identity: { passphrase: PASSPHRASE } });
    assert.equal(report.header.source, 'sqlite');
    assert.equal(report.counts.keyVersion, 5);
    const check = await checkStore({ dataDir, store: url });
    assert.deepEqual(check.problems, []);
    assert.ok(check.checked.auditRecords > 10, 'the audit chain came along and verifies');

    const restored = await startTestServer({ dataDir, store: url });
    try {
      await assertRestored(restored, made);
    } finally {
      await restored.stop();
    }
    assert.deepEqual((await checkStore({ dataDir, store: url })).problems, [], 'the chain goes on from the restored head');
  });

  it('backs up PostgreSQL to a public key, restores into SQLite with the private key, and everything made before works there', async () => {
    const url = await cluster.createDatabase();
    const source = await startTestServer({ store: url });
    const made = await populate(source);
    const { publicKey, privateKey } = rsaPair();
    const archive = await backupOf(source, { publicKeyPem: publicKey }, url);
    await source.dispose();

    const dataDir = tempDataDir();
    const report = await restoreBackup({ dataDir, in: archive, identity: { privateKeyPem: privateKey } });
    assert.equal(report.header.source, 'postgresql');
    assert.deepEqual((await checkStore({ dataDir })).problems, []);
    const chain = await verifyAuditTrail(dataDir);
    assert.equal(chain.ok, true);
    assert.notEqual(readFileSync(join(dataDir, 'root.key')).length, 0, 'the target has a root key of its own');

    const restored = await startTestServer({ dataDir });
    try {
      await assertRestored(restored, made);
    } finally {
      await restored.stop();
    }
    assert.equal((await verifyAuditTrail(dataDir)).ok, true);
  });

  describe('refusals: nothing is written', () => {
    let archive: string;
    let rsaArchive: string;
    let privateKey: string;
    let made: Made;
    before(async () => {
      const source = await startTestServer();
      made = await populate(source);
      archive = await backupOf(source, { passphrase: PASSPHRASE });
      const pair = rsaPair();
      privateKey = pair.privateKey;
      rsaArchive = await backupOf(source, { publicKeyPem: pair.publicKey });
      await source.dispose();
    });

    /** Restores into a fresh SQLite directory and a fresh database; both must be left untouched. */
    async function assertRefused(path: string, identity: BackupIdentity, error: new (...args: never[]) => Error, message: RegExp): Promise<void> {
      const dataDir = join(tempDataDir(), 'target');
      await assert.rejects(restoreBackup({ dataDir, in: path, identity }), (e: Error) => {
        assert.ok(e instanceof error, `${e.name}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      });
      assert.equal(existsSync(dataDir), false, 'the target directory was not even made');
      const url = await cluster.createDatabase();
      const before = await tableCount(url);
      await assert.rejects(restoreBackup({ dataDir, store: url, in: path, identity }), error);
      assert.equal(await tableCount(url), before, 'the database was not touched');
    }

    const copyWith = (from: string, change: (bytes: Buffer) => Buffer): string => {
      const path = join(tempDataDir(), 'changed.backup');
      writeFileSync(path, change(readFileSync(from)));
      return path;
    };

    it('refuses an archive with one byte flipped in its content', async () => {
      const flipped = copyWith(archive, (b) => {
        const c = Buffer.from(b);
        c[Math.floor(c.length * 0.6)]! ^= 0x01;
        return c;
      });
      await assertRefused(flipped, { passphrase: PASSPHRASE }, BackupIntegrityError, /altered or damaged/);
    });

    it('refuses an archive whose clear preamble was changed', async () => {
      const changed = copyWith(rsaArchive, (b) => Buffer.from(b.toString('latin1').replace('"padding":"oaep-sha256"}', '"padding":"oaep-sha256" }'), 'latin1'));
      await assertRefused(changed, { privateKeyPem: privateKey }, BackupIntegrityError, /preamble does not match/);
    });

    it('refuses a truncated archive, cut anywhere', async () => {
      const size = readFileSync(archive).length;
      for (const cut of [size - 1, size - 40, Math.floor(size / 2)]) {
        await assertRefused(copyWith(archive, (b) => b.subarray(0, cut)), { passphrase: PASSPHRASE }, BackupIntegrityError, /truncated|incomplete/);
      }
      // Cut inside the preamble (its first line, or before its second ends): truncated, not a
      // format of another version, nor a preamble with no line end in 4096 bytes.
      const preambleEnd = readFileSync(archive).indexOf(0x0a, 16);
      for (const cut of [5, 15, 16, preambleEnd]) {
        await assertRefused(copyWith(archive, (b) => b.subarray(0, cut)), { passphrase: PASSPHRASE }, BackupIntegrityError, new RegExp(`ends inside the archive's preamble \\(after ${cut} bytes\\): the archive is truncated`));
      }
    });

    it('refuses a wrong passphrase', async () => {
      await assertRefused(archive, { passphrase: 'not the passphrase' }, BackupKeyError, /the passphrase does not open this archive/);
    });

    it('refuses a private key that is not the recipient\'s, and a passphrase for a public-key archive', async () => {
      await assertRefused(rsaArchive, { privateKeyPem: rsaPair().privateKey }, BackupKeyError, /encrypted to the public key sha256:[0-9a-f]{64}, and the private key given belongs to sha256:/);
      await assertRefused(rsaArchive, { passphrase: PASSPHRASE }, BackupKeyError, /protected by a public key/);
    });

    it('refuses a file that is not a Coffer archive', async () => {
      await assertRefused(copyWith(archive, () => Buffer.from('PK\x03\x04 a zip file')), { passphrase: PASSPHRASE }, BackupFormatError, /not a Coffer backup archive/);
    });

    it('restores under another root-key provider than the source\'s (a passphrase root key)', async () => {
      const dataDir = tempDataDir();
      const rootKey = { provider: 'passphrase' as const, passphrase: 'the new root passphrase' };
      await restoreBackup({ dataDir, in: archive, identity: { passphrase: PASSPHRASE }, rootKey });
      assert.equal(existsSync(join(dataDir, 'root.key')), false, 'no key file: the root key is derived from its passphrase');
      const restored = await startTestServer({ dataDir, rootKey });
      try {
        await assertRestored(restored, made);
      } finally {
        await restored.stop();
      }
    });

    it('a write of the archive that fails (a full disk) names the archive\'s partial file and leaves nothing', async () => {
      const source = await startTestServer();
      await source.stop();
      const dir = tempDataDir();
      const out = join(dir, 'full.backup');
      // fs.write's errors carry no path, as on a real full disk: the command could not say which file.
      const partialFds = new Set<number>();
      const open = fs.open;
      mock.method(fs, 'open', (path: fs.PathLike, ...rest: unknown[]) => {
        const done = rest.pop() as (error: Error | null, fd: number) => void;
        (open as (...args: unknown[]) => void)(path, ...rest, (error: Error | null, fd: number) => {
          if (!error && String(path).includes('.partial-')) partialFds.add(fd);
          done(error, fd);
        });
      });
      const full = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      for (const name of ['write', 'writev'] as const) {
        const original = fs[name] as (...args: unknown[]) => void;
        mock.method(fs, name, (fd: number, ...rest: unknown[]) => {
          if (!partialFds.has(fd)) return original(fd, ...rest);
          const done = rest.pop() as (error: Error) => void;
          process.nextTick(done, full());
        });
      }
      try {
        await assert.rejects(writeBackup({ dataDir: source.dataDir, out, recipient: { passphrase: PASSPHRASE }, scryptCostForTests: CHEAP_SCRYPT }), (error: NodeJS.ErrnoException) => {
          assert.equal(error.code, 'ENOSPC');
          assert.ok(error.path?.startsWith(`${out}.partial-`), String(error.path));
          return true;
        });
      } finally {
        mock.restoreAll();
      }
      assert.ok(partialFds.size > 0, 'the archive was opened');
      assert.deepEqual(readdirSync(dir), []);
    });

    it('a restore whose target disk fills says so with the store, leaves it marked unfinished, and goes through when run again', async () => {
      const dataDir = tempDataDir();
      // The third import is the target's real one (after the scratch check and the empty check).
      let imports = 0;
      const importSnapshot = SqliteStore.prototype.importSnapshot;
      mock.method(SqliteStore.prototype, 'importSnapshot', function (this: SqliteStore, ...args: Parameters<SqliteStore['importSnapshot']>) {
        imports += 1;
        if (imports === 3) return Promise.reject(new StoreFullError('the store\'s disk is full: database or disk is full'));
        return importSnapshot.apply(this, args);
      });
      try {
        await assert.rejects(restoreBackup({ dataDir, in: archive, identity: { passphrase: PASSPHRASE } }), (error: Error) => {
          assert.ok(error instanceof StartupError, String(error));
          assert.match(error.message, /^The restore into .*coffer\.db stopped: the store's disk is full: database or disk is full\. Nothing was restored; the store stays marked as a restore that did not finish, so no server starts on it\. Free space on its disk .*run this coffer restore again\.$/);
          return true;
        });
      } finally {
        mock.restoreAll();
      }
      assert.equal(imports, 3);
      await assert.rejects(startTestServer({ dataDir }), /A restore into this store did not finish/);
      await restoreBackup({ dataDir, in: archive, identity: { passphrase: PASSPHRASE } });
      assert.deepEqual((await checkStore({ dataDir })).problems, []);
    });

    it('refuses an archive that opens and verifies but whose rows are no store a server could have had', async () => {
      // Rows as a damaged store holds them (a key removed from under its alias, grant and versions;
      // the audit head removed), backed up as they are: the archive itself is sound.
      const source = await startTestServer();
      const keyId = (await source.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await source.kms.send(new CreateAliasCommand({ AliasName: 'alias/dangling', TargetKeyId: keyId }));
      await source.stop();
      const damage = (sql: string, ...args: string[]) => {
        const db = new Database(join(source.dataDir, 'coffer.db'));
        try {
          db.prepare(sql).run(...args);
        } finally {
          db.close();
        }
      };
      damage('DELETE FROM keys WHERE key_id = ?', keyId);
      const out = join(tempDataDir(), 'unsound.backup');
      await writeBackup({ dataDir: source.dataDir, out, recipient: { passphrase: PASSPHRASE }, scryptCostForTests: CHEAP_SCRYPT });
      await assertRefused(out, { passphrase: PASSPHRASE }, BackupContentError, /not a store a server could have had .*alias alias\/dangling: points at key/);
      damage('DELETE FROM audit_head');
      const headless = join(tempDataDir(), 'headless.backup');
      await writeBackup({ dataDir: source.dataDir, out: headless, recipient: { passphrase: PASSPHRASE }, scryptCostForTests: CHEAP_SCRYPT });
      await assertRefused(headless, { passphrase: PASSPHRASE }, BackupContentError, /past the chain's head \(there is none\)/);
    });

    type Line = Record<string, any>;

    /**
     * The archive's content, changed and encrypted again with the passphrase, as anyone who holds
     * it can: the archive opens and verifies, and only its rows can tell.
     */
    async function reencrypted(change: (lines: Line[]) => void, suiteId: number = ARCHIVE_SUITE, edit: (text: string) => string = (t) => t): Promise<string> {
      const opened = await openArchive(archive);
      const { plaintext } = await decrypt(await keyringFor(opened.preamble, { passphrase: PASSPHRASE }), readFileSync(archive).subarray(opened.offset));
      const lines = plaintext.toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
      change(lines);
      const { preamble, keyring } = await protectionFor({ passphrase: PASSPHRASE }, CHEAP_SCRYPT);
      const preambleBytes = encodePreamble(preamble);
      const content = Buffer.from(edit(lines.map((l) => `${JSON.stringify(l)}\n`).join('')), 'utf8');
      const { ciphertext } = await encrypt(keyring, content, { suiteId: suiteId as never, encryptionContext: archiveContext(preambleBytes) });
      const path = join(tempDataDir(), 'forged.backup');
      writeFileSync(path, Buffer.concat([preambleBytes, ciphertext]));
      return path;
    }

    const rowOf = (lines: Line[], kind: string, test: (row: Line) => boolean = () => true): Line => {
      const line = lines.find((l) => l.kind === kind && test(l));
      assert.ok(line, `the archive has a ${kind} row`);
      return line;
    };
    const keyRow = (lines: Line[], keyId: string): Line => rowOf(lines, 'key', (l) => l.key.keyId === keyId).key;

    it('refuses rows no server writes, re-encrypted with the passphrase, naming the row, and writes nothing', async () => {
      // Each was restored, and then called intact by coffer store check: a server served them as they said.
      const forgeries: Array<[string, (lines: Line[]) => void, RegExp]> = [
        ['a key PendingDeletion with no deletion date', (lines) => { keyRow(lines, made.hmac.keyId).state = 'PendingDeletion'; },
          new RegExp(`key ${made.hmac.keyId}: it is PendingDeletion but has no deletion date`)],
        ['an Enabled key with a deletion date', (lines) => { keyRow(lines, made.symmetric).deletionDate = Date.now(); },
          new RegExp(`key ${made.symmetric}: it is Enabled but has a deletion date`)],
        ['an AWS_KMS key PendingImport', (lines) => { keyRow(lines, made.signing.keyId).state = 'PendingImport'; },
          new RegExp(`key ${made.signing.keyId}: it is PendingImport but its origin is AWS_KMS, not EXTERNAL`)],
        ['a key created "yesterday"', (lines) => { keyRow(lines, made.signing.keyId).createdAt = 'yesterday'; },
          new RegExp(`key ${made.signing.keyId}: its createdAt "yesterday" is not a time`)],
        ['a negative revision', (lines) => { keyRow(lines, made.symmetric).revision = -3; },
          new RegExp(`key ${made.symmetric}: its revision -3 is not a whole number of at least 1`)],
        ['a key policy that does not compile', (lines) => { keyRow(lines, made.symmetric).policy = '{"Version":"2012-10-17","Statement":"nope"}'; },
          new RegExp(`key ${made.symmetric}: its key policy does not compile`)],
        ['a grant to "garbage" of "Frobnicate"', (lines) => { Object.assign(rowOf(lines, 'grant').grant, { granteePrincipal: 'garbage', operations: ['Frobnicate'] }); },
          new RegExp(`grant ${made.grantId}: its granteePrincipal "garbage" is not a principal ARN or service principal; grant ${made.grantId}: its operations \\["Frobnicate"\\]`)],
        ['an identity policy that is not JSON', (lines) => { rowOf(lines, 'identityPolicy').policy.document = '{{{'; },
          /identity policy encrypt of arn:aws:iam::111122223333:user\/restorer: its document is not JSON/],
        ['an access key of status "Weird"', (lines) => { rowOf(lines, 'accessKey', (l) => l.accessKey.accessKeyId === made.user.accessKeyId).accessKey.status = 'Weird'; },
          new RegExp(`access key ${made.user.accessKeyId}: its status "Weird" is not Active or Inactive`)],
        ['an access key with an empty secret', (lines) => { rowOf(lines, 'accessKey', (l) => l.accessKey.accessKeyId === made.user.accessKeyId).accessKey.secret = ''; },
          new RegExp(`access key ${made.user.accessKeyId}: it has no secret`)],
        ['an alias not under alias/', (lines) => { rowOf(lines, 'alias').alias.aliasName = 'notalias'; },
          /alias notalias: its name is not alias\//],
        ['an alias/aws/ alias of a customer managed key', (lines) => { rowOf(lines, 'alias').alias.aliasName = 'alias/aws/ebs'; },
          new RegExp(`alias alias/aws/ebs: it begins with alias/aws/, which names only AWS managed keys, but key ${made.symmetric} is not one`)],
      ];
      for (const [what, forge, named] of forgeries) {
        await test(what, () => assertRefused(forge, BackupContentError, named));
      }
      // A secret that is not base64 is refused as it is decoded, the row named.
      await assertRefused((lines) => { rowOf(lines, 'accessKey', (l) => l.accessKey.accessKeyId === made.user.accessKeyId).accessKey.secret = 'not base64!'; },
        BackupFormatError, new RegExp(`\\(access key ${made.user.accessKeyId}\\): the secret is not base64`));

      async function test(what: string, run: () => Promise<void>): Promise<void> {
        try {
          await run();
        } catch (error) {
          throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
        }
      }
      async function assertRefused(forge: (lines: Line[]) => void, error: new (...args: never[]) => Error, named: RegExp): Promise<void> {
        const path = await reencrypted(forge);
        const dataDir = join(tempDataDir(), 'target');
        await assert.rejects(restoreBackup({ dataDir, in: path, identity: { passphrase: PASSPHRASE } }), (e: Error) => {
          assert.ok(e instanceof error, `${e.name}: ${e.message}`);
          assert.match(e.message, named);
          assert.match(e.message, /Nothing was restored|nothing was restored|^line \d+ of the archive/);
          return true;
        });
        assert.equal(existsSync(dataDir), false, 'the target directory was not even made');
      }
    });

    it('refuses a row nested 200,000 deep, naming it, where the import overflowed the stack', async () => {
      // Written as text: JSON.stringify of such a value overflows the stack here too.
      const path = await reencrypted((lines) => { keyRow(lines, made.symmetric).tags = 'DEEP'; }, ARCHIVE_SUITE,
        (text) => text.replace('"tags":"DEEP"', `"tags":${'['.repeat(200_000)}${']'.repeat(200_000)}`));
      const dataDir = join(tempDataDir(), 'target');
      await assert.rejects(restoreBackup({ dataDir, in: path, identity: { passphrase: PASSPHRASE } }), (e: Error) => {
        assert.ok(e instanceof BackupContentError, `${e.name}: ${e.message}`);
        assert.match(e.message, new RegExp(`line \\d+, key ${made.symmetric}: it nests deeper than 32 levels`));
        assert.doesNotMatch(e.message, /call stack/);
        return true;
      });
      assert.equal(existsSync(dataDir), false);
    });

    it('a library caller given a FIFO or a directory is refused, not left waiting for a writer', async () => {
      const dir = tempDataDir();
      const fifo = join(dir, 'archive.fifo');
      execFileSync('mkfifo', [fifo]);
      for (const path of [fifo, dir]) {
        const outcome = await Promise.race([
          restoreBackup({ dataDir: join(dir, 'target'), in: path, identity: { passphrase: 'x' } }).then(() => 'restored', (error: unknown) => error),
          new Promise((done) => setTimeout(() => done('waiting'), 5000)),
        ]);
        // Without the check the open waits for a writer: give it one, so that the run ends and reports.
        if (outcome === 'waiting') closeSync(openSync(fifo, 'w'));
        assert.ok(outcome instanceof BackupFormatError && outcome.message === `${path} is not a regular file: an archive is read twice, so it must be a file (copy one that arrives through a pipe into a file first)`,
          String(outcome));
        assert.equal(existsSync(join(dir, 'target')), false);
      }
    });

    it('refuses an archive encrypted with the SDK\'s default signed suite as not written by coffer backup, not as altered', async () => {
      const path = await reencrypted(() => {}, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384);
      const dataDir = join(tempDataDir(), 'target');
      await assert.rejects(restoreBackup({ dataDir, in: path, identity: { passphrase: PASSPHRASE } }), (e: Error) => {
        assert.ok(e instanceof BackupFormatError, `${e.name}: ${e.message}`);
        assert.match(e.message, /encrypted with algorithm suite 0x0578 \(AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384\), not 0x0478 \(AES_256_GCM_HKDF_SHA512_COMMIT_KEY\)/);
        assert.doesNotMatch(e.message, /altered/);
        return true;
      });
      // The same content in the archives' own suite restores: only the suite was refused.
      await restoreBackup({ dataDir, in: await reencrypted(() => {}), identity: { passphrase: PASSPHRASE } });
    });

    it('refuses an archive file that is not the one it checked when it reads it again (replaced under the same name)', async () => {
      const opened = await openArchive(archive);
      const keyring = await keyringFor(opened.preamble, { passphrase: PASSPHRASE });
      let digest = '';
      for await (const row of readArchive(opened, keyring, (summary) => (digest = summary.digest))) void row;
      assert.match(digest, /^[0-9a-f]{64}$/);
      // The same bytes read again pass; other bytes (another night's archive) are refused at the end,
      // before the import's transaction can commit.
      for await (const row of readArchive(opened, keyring, undefined, digest)) void row;
      await assert.rejects(async () => {
        for await (const row of readArchive(opened, keyring, undefined, 'a'.repeat(64))) void row;
      }, (e: Error) => e instanceof BackupIntegrityError && /the file changed while it was being restored/.test(e.message));
    });

    it('a restore that did not finish leaves a mark in the store no server starts on (any node\'s), and run again with other root-key options it says so', async () => {
      // What a restore killed during its import leaves: an empty store with the root key that run
      // made, and the mark (the import itself rolled back). On PostgreSQL, as a second node sees it.
      const url = await cluster.createDatabase();
      const dataDir = join(tempDataDir(), 'target');
      const target = await openTarget({ dataDir, store: url });
      const root = await openRootKey(target.dataDir, target.store, { provider: 'file' });
      await root.close();
      await target.store.putMetaIfAbsent(RESTORE_UNFINISHED_META, Buffer.from('coffer restore of an archive, killed'));
      await target.store.close();
      const otherNode = tempDataDir();
      copyFileSync(join(dataDir, 'root.key'), join(otherNode, 'root.key'));
      for (const node of [dataDir, otherNode]) {
        await assert.rejects(startTestServer({ dataDir: node, store: url }), (e: Error) => e instanceof StartupError && /A restore into this store did not finish \(coffer restore of an archive, killed\)/.test(e.message));
        assert.match((await checkStore({ dataDir: node, store: url })).problems.join('\n'), /a restore into this store did not finish/);
      }
      const passphrase = { provider: 'passphrase' as const, passphrase: 'asked for this time' };
      await assert.rejects(restoreBackup({ dataDir, store: url, in: archive, identity: { passphrase: PASSPHRASE }, rootKey: passphrase }), (e: Error) => {
        assert.ok(e instanceof RestoreTargetNotEmptyError, e.message);
        assert.match(e.message, /already has a file root key, made by an earlier restore into it that did not finish, not the passphrase root key asked for/);
        return true;
      });
      // Run again as the first run was: restored, the marker gone, and a server starts on it.
      await restoreBackup({ dataDir, store: url, in: archive, identity: { passphrase: PASSPHRASE }, rootKey: { provider: 'file' } });
      assert.deepEqual((await checkStore({ dataDir: otherNode, store: url })).problems, []);
      const restored = await startTestServer({ dataDir: otherNode, store: url });
      try {
        await assertRestored(restored, made);
      } finally {
        await restored.stop();
      }
    });

    it('a partial file an earlier backup of the same pid left (a container restarted) neither stops the next backup nor is removed by it', async () => {
      const source = await startTestServer();
      try {
        const out = join(tempDataDir(), 'nightly.backup');
        const leftover = `${out}.partial-${process.pid}`;
        writeFileSync(leftover, 'what a killed backup left');
        await writeBackup({ dataDir: source.dataDir, out, recipient: { passphrase: PASSPHRASE }, scryptCostForTests: CHEAP_SCRYPT });
        assert.ok(existsSync(out));
        assert.equal(readFileSync(leftover, 'utf8'), 'what a killed backup left');
      } finally {
        await source.dispose();
      }
    });

    it('refuses a target store that is not empty, and leaves it as it was', async () => {
      const target = await startTestServer();
      await target.stop();
      const before = await checkStore({ dataDir: target.dataDir });
      await assert.rejects(restoreBackup({ dataDir: target.dataDir, in: archive, identity: { passphrase: PASSPHRASE } }), (e: Error) => {
        assert.ok(e instanceof RestoreTargetNotEmptyError, e.message);
        assert.match(e.message, /is not empty \(it holds access keys, meta admin-access-key-id, meta audit-key\)/);
        return true;
      });
      assert.deepEqual(await checkStore({ dataDir: target.dataDir }), before);
    });

    it('backup, audit verify and store check refuse a PostgreSQL database no Coffer server has used, and make no table in it', async () => {
      // A mistyped --store (an application's database): audit verify called it intact, and all three made Coffer's tables there.
      const url = await cluster.createDatabase();
      const dataDir = join(tempDataDir(), 'never-made');
      const refusal = (e: Error) => {
        assert.ok(e instanceof StartupError, `${e.name}: ${e.message}`);
        assert.match(e.message, /^The PostgreSQL database at postgres:\/\/.* has never been used by a Coffer server \(it has no Coffer tables\): is it the --store the server uses\? Nothing was created in it\.$/);
        return true;
      };
      const refusedEverywhere = async (database: string) => {
        await assert.rejects(writeBackup({ dataDir, store: database, out: join(tempDataDir(), 'x.backup'), recipient: { passphrase: PASSPHRASE }, scryptCostForTests: CHEAP_SCRYPT }), refusal);
        await assert.rejects(verifyAuditTrail(dataDir, database), refusal);
        await assert.rejects(checkStore({ dataDir, store: database }), refusal);
      };
      await refusedEverywhere(url);
      assert.equal(await tableCount(url), 0);
      // Another tool's schema_migrations (Rails, Flyway-likes name theirs so) is no sign of Coffer.
      const other = await cluster.createDatabase();
      const client = new pg.Client({ connectionString: other });
      await client.connect();
      try {
        await client.query('CREATE TABLE schema_migrations (version VARCHAR PRIMARY KEY)');
      } finally {
        await client.end();
      }
      await refusedEverywhere(other);
      assert.equal(await tableCount(other), 1);
      assert.equal(existsSync(dataDir), false);
    });

    it('refuses a PostgreSQL target that is not empty, and leaves no data directory of its own behind', async () => {
      const url = await cluster.createDatabase();
      const occupied = await startTestServer({ store: url });
      await occupied.dispose();
      const dataDir = join(tempDataDir(), 'new');
      await assert.rejects(restoreBackup({ dataDir, store: url, in: archive, identity: { passphrase: PASSPHRASE } }), RestoreTargetNotEmptyError);
      assert.equal(existsSync(dataDir), false, 'the data directory the restore made is gone');
    });
  });
});
