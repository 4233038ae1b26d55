import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import pg from 'pg';
import type { Logger } from '../src/log.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { errorOf, startTestServer, type TestServer } from './support/server.js';
import { sqliteConnections } from './support/sqlite-connections.js';

/**
 * A full disk reads the same on both stores (docs/errors.md, docs/store.md "A full disk"): a 500
 * KMSInternalException that says the store is out of space and nothing was changed, a `store full`
 * log line, the server still ready, and requests served again once there is space. Before, SQLite
 * answered an opaque KMSInternalException and PostgreSQL a 503 DependencyTimeoutException ("the key
 * store is unavailable"), which it is not: it answered at once and refused.
 */

/** A store's disk made full, and given space again. */
interface Disk {
  fill(): Promise<void>;
  free(): Promise<void>;
}

const OUT_OF_SPACE = /^The key store is out of space: the request was not carried out and nothing was changed; retry once space is freed\. Request id: ([0-9a-f-]{36})$/;

function answersFullDiskAlike(name: string, start: (logger: Logger) => Promise<{ t: TestServer; disk: Disk }>): void {
  describe(`a full disk under the ${name} store`, () => {
    const lines: { msg: string; fields: Record<string, unknown> }[] = [];
    let t: TestServer;
    let disk: Disk;
    before(async () => {
      ({ t, disk } = await start((_level, msg, fields) => { lines.push({ msg, fields: fields ?? {} }); }));
    });
    after(() => t?.stop());

    it('refuses changes and audited requests with KMSInternalException "out of space", stays ready, and serves again once there is space', async () => {
      const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await disk.fill();

      // Larger than a page: the store needs space it does not have.
      const refused = await errorOf(() => t.kms.send(new CreateKeyCommand({ Description: 'x'.repeat(8192) })));
      assert.equal(refused.name, 'KMSInternalException');
      assert.equal(refused.$metadata?.httpStatusCode, 500);
      const requestId = OUT_OF_SPACE.exec(refused.message)?.[1];
      assert.ok(requestId, refused.message);
      assert.ok(lines.some((line) => line.msg === 'store full' && line.fields.requestId === requestId), 'logged as store full');

      // An Encrypt's record is small and may fit in a page that has room: one of a few is refused.
      let encryptRefused: Error | undefined;
      for (let i = 0; i < 200 && !encryptRefused; i++) {
        encryptRefused = await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })).then(() => undefined, (error: Error) => error);
      }
      assert.equal(encryptRefused?.name, 'KMSInternalException');
      assert.match(encryptRefused.message, OUT_OF_SPACE);

      // Nothing is wrong with the store itself: it is ready, and reads are answered.
      const ready = await fetch(`${t.server.endpoint}/readyz`);
      assert.deepEqual([ready.status, await ready.text()], [200, 'ready\n']);

      await disk.free();
      const later = (await t.kms.send(new CreateKeyCommand({ Description: 'x'.repeat(8192) }))).KeyMetadata!.KeyId!;
      await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
      const keys = (await t.kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId).sort();
      assert.deepEqual(keys, [keyId, later].sort(), 'the refused CreateKey made no key');
    });
  });
}

answersFullDiskAlike('SQLite', async (logger) => {
  const t = await startTestServer({ logger });
  const path = join(t.dataDir, 'coffer.db');
  const db = sqliteConnections.find((c) => c.open && c.name === path);
  assert.ok(db, 'the server\'s connection');
  return {
    t,
    disk: {
      // Past max_page_count SQLite refuses with SQLITE_FULL, "database or disk is full", as on a file system without space.
      fill: async () => { db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`); },
      free: async () => { db.pragma('max_page_count = 1073741823'); },
    },
  };
});

let cluster: TestPostgres | undefined;
after(() => cluster?.destroy());
answersFullDiskAlike('PostgreSQL', async (logger) => {
  cluster = await startTestPostgres();
  const store = await cluster.createDatabase();
  const t = await startTestServer({ store, logger });
  // What PostgreSQL raises when a table or index cannot grow (SQLSTATE 53100), from the statements that write keys and audit records.
  const sql = async (text: string) => {
    const client = new pg.Client({ connectionString: store });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  return {
    t,
    disk: {
      fill: () => sql(`
        CREATE FUNCTION coffer_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          RAISE EXCEPTION 'could not extend file "base/16384/16397": No space left on device' USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
        END $$;
        CREATE TRIGGER disk_full_keys BEFORE INSERT OR UPDATE ON keys FOR EACH ROW EXECUTE FUNCTION coffer_test_disk_full();
        CREATE TRIGGER disk_full_audit BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION coffer_test_disk_full();`),
      free: () => sql('DROP FUNCTION coffer_test_disk_full() CASCADE'),
    },
  };
});
