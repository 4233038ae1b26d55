import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, EncryptCommand, ListAliasesCommand } from '@aws-sdk/client-kms';
import { checkStore, restoreBackup, verifyAuditTrail, writeBackup } from '../src/index.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { startTestServer, tempDataDir } from './support/server.js';

/**
 * A backup of a PostgreSQL store taken while its server answers a steady stream of Encrypt,
 * CreateKey and CreateAlias requests (packages/cli/test/backup.test.ts does the same on SQLite
 * with the commands): the snapshot is one consistent state, so the restore passes the store check
 * and the audit chain verification, and every ciphertext made before the backup decrypts.
 */

let cluster: TestPostgres;
before(async () => {
  cluster = await startTestPostgres();
});
after(() => cluster?.destroy());

describe('backup under load', () => {
  it('snapshots a PostgreSQL store that a server keeps writing to, and restores it intact into SQLite', async () => {
    const url = await cluster.createDatabase();
    const source = await startTestServer({ store: url });
    const made: { blob: Uint8Array; plaintext: string }[] = [];
    let stop = false;
    let answered = 0;
    let load: Promise<void> | undefined;
    try {
      const keyId = (await source.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      for (let i = 0; i < 20; i++) {
        const plaintext = `before the backup ${i}`;
        made.push({ blob: (await source.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(plaintext) }))).CiphertextBlob!, plaintext });
      }
      const worker = async (w: number) => {
        for (let i = 0; !stop; i++) {
          if (i % 3 === 0) {
            const id = (await source.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
            await source.kms.send(new CreateAliasCommand({ AliasName: `alias/load-${w}-${i}`, TargetKeyId: id }));
          } else {
            await source.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('load') }));
          }
          answered++;
        }
      };
      load = Promise.all([0, 1, 2, 3].map(worker)).then(() => {});
      while (answered < 30) await new Promise((done) => setTimeout(done, 10));
      const out = join(tempDataDir(), 'loaded.backup');
      const atStart = answered;
      const report = await writeBackup({ dataDir: source.dataDir, store: url, out, recipient: { passphrase: 'under load, still whole' }, scryptCostForTests: { N: 2 ** 14, r: 8, p: 1 } });
      assert.ok(answered > atStart, 'requests were answered while the snapshot was read');
      stop = true;
      await load;

      const dataDir = tempDataDir();
      const restored = await restoreBackup({ dataDir, in: out, identity: { passphrase: 'under load, still whole' } });
      assert.deepEqual(restored.counts, report.counts);
      assert.deepEqual((await checkStore({ dataDir })).problems, []);
      const chain = await verifyAuditTrail(dataDir);
      assert.deepEqual({ ...chain, lastHash: undefined }, { ok: true, records: report.counts.audit, lastHash: undefined });

      const served = await startTestServer({ dataDir });
      try {
        for (const c of made) {
          assert.equal(Buffer.from((await served.kms.send(new DecryptCommand({ CiphertextBlob: c.blob }))).Plaintext!).toString(), c.plaintext);
        }
        // Aliases made under load are there as far as the snapshot reached, each with its key (checkStore found no orphan).
        const aliases: string[] = [];
        for (let marker: string | undefined, page = 0; page === 0 || marker !== undefined; page++) {
          const listed = await served.kms.send(new ListAliasesCommand({ Limit: 100, ...(marker ? { Marker: marker } : {}) }));
          aliases.push(...listed.Aliases!.map((a) => a.AliasName!).filter((name) => name.startsWith('alias/load-')));
          marker = listed.Truncated ? listed.NextMarker : undefined;
        }
        assert.equal(aliases.length, (report.counts.alias ?? 0));
        assert.ok((report.counts.key ?? 0) - 1 >= aliases.length);
      } finally {
        await served.stop();
      }
    } finally {
      stop = true;
      await load?.catch(() => {});
      await source.dispose();
    }
  });
});
