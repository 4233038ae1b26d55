import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AuditEvent } from '../src/audit/record.js';
import type { KeyRecord, KeyVersionRecord } from '../src/keys/key-record.js';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/store/sqlite.js';
import { StoreFullError, StoreUnavailableError, StoreUnusableError } from '../src/store/store.js';
import { sqliteConnections } from './support/sqlite-connections.js';

/**
 * The SQLite store when its files are removed, moved or replaced while it is open, and when its
 * disk is full (docs/store.md, "When the store's files are removed, moved or replaced" and "A full
 * disk"). SQLite writes on through the descriptors it holds whatever becomes of the paths, so
 * before, every such write was answered as committed and was gone at the next start.
 */

const T0 = Date.UTC(2024, 0, 1);
const keyId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const key = (n: number, description = 'kept'): KeyRecord => ({
  keyId: keyId(n), revision: 1, createdAt: T0, description, keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT',
  origin: 'AWS_KMS', state: 'Enabled', tags: [], onDemandRotations: 0, currentVersion: 1,
});
const version = (n: number): KeyVersionRecord => ({ keyId: keyId(n), version: 1, materialId: 'ab'.repeat(32), wrappedMaterial: new Uint8Array([n]), createdAt: T0 });
const chain = (event: AuditEvent, seq: number, prevHash: string) => ({ ...event, seq, prevHash, hash: String(seq).padStart(64, '0') });
const event = (n: number, requestParameters: Record<string, unknown> = {}): AuditEvent =>
  ({ time: T0 + n, requestId: `req-${n}`, operation: 'Encrypt', keyArns: [], requestParameters, outcome: 'success' });

const root = mkdtempSync(join(tmpdir(), 'coffer-store-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

/** A store in a directory of its own, with one key and one audit record written. */
async function openStore(): Promise<{ dir: string; path: string; store: SqliteStore }> {
  const dir = join(root, `store-${++dirs}`);
  const path = join(dir, 'coffer.db');
  mkdirSync(dir);
  const store = new SqliteStore(path);
  store.attachAuditChain(chain);
  await store.createKey(key(1), version(1));
  await store.appendAudit(event(1));
  assert.equal(store.unusableReason, undefined);
  return { dir, path, store };
}

/**
 * `found` is the error of the write that found the store unusable: its outcome is unknown (it was
 * committed, into files no longer at their paths). Every kind of write after it fails with the same
 * reason, known not to have been made; reads still answer.
 */
async function refusesEveryWrite(store: SqliteStore, found: StoreUnusableError): Promise<void> {
  assert.equal(found.outcomeUnknown, true, 'the write that found it may have been made');
  const refused = (e: unknown) => e instanceof StoreUnusableError && e.message === found.message && !e.outcomeUnknown;
  await assert.rejects(store.createKey(key(3), version(3)), refused);
  await assert.rejects(store.updateKey({ ...key(1), revision: 2, description: 'changed' }), refused);
  await assert.rejects(store.appendAudit(event(3)), refused);
  await assert.rejects(store.putMetaIfAbsent('late', new Uint8Array([1])), refused);
  await assert.rejects(store.rewrapKeyVersion(keyId(1), 1, new Uint8Array([1]), new Uint8Array([2])), refused);
  assert.equal((await store.getKey(keyId(1)))?.description, 'kept', 'reads are answered');
}

describe('a SQLite store whose files are removed, moved or replaced while it is open', () => {
  for (const file of ['coffer.db', 'coffer.db-wal', 'coffer.db-shm']) {
    it(`refuses the change made after ${file} was removed, and every write after it`, async () => {
      const { dir, store } = await openStore();
      try {
        unlinkSync(join(dir, file));
        const refused = await store.createKey(key(2), version(2)).then(() => undefined, (error: unknown) => error);
        assert.ok(refused instanceof StoreUnusableError, `the change is refused, not answered as committed: ${String(refused)}`);
        assert.equal(refused.message, `the store's file ${file} is gone from its directory (removed, or moved with it): nothing more is written until the server restarts`);
        assert.equal(store.unusableReason, refused.message);
        await refusesEveryWrite(store, refused);
      } finally {
        await store.close();
      }
    });
  }

  it('refuses an audit append made after the data directory was removed: the check follows the WAL sync', async () => {
    const { dir, store } = await openStore();
    try {
      rmSync(dir, { recursive: true });
      // Before, the -wal file was looked at once a second: this append, made at once, was answered durable.
      const refused = await store.appendAudit(event(2)).then(() => undefined, (error: unknown) => error);
      assert.ok(refused instanceof StoreUnusableError, String(refused));
      assert.match(refused.message, /^the store's file coffer\.db(-wal|-shm)? is gone from its directory/);
      await refusesEveryWrite(store, refused);
    } finally {
      await store.close();
    }
  });

  it('refuses writes while its directory is moved, and still once it is moved back; a new open finds every write answered before', async () => {
    const { dir, path, store } = await openStore();
    let closed = false;
    try {
      renameSync(dir, `${dir}-moved`);
      const refused = await store.appendAudit(event(2)).then(() => undefined, (error: unknown) => error);
      assert.ok(refused instanceof StoreUnusableError, String(refused));
      renameSync(`${dir}-moved`, dir);
      // What the files hold of the writes made while they were away is not known to the store: it stays unusable.
      await refusesEveryWrite(store, refused);
      await store.close();
      closed = true;
      const reopened = new SqliteStore(path);
      try {
        assert.equal(reopened.unusableReason, undefined, 'a new open (the restart) takes writes again');
        assert.equal((await reopened.getKey(keyId(1)))?.description, 'kept');
        assert.equal((await reopened.readAudit({ limit: 10 }))[0]?.requestId, 'req-1');
        reopened.attachAuditChain(chain);
        await reopened.createKey(key(4), version(4));
      } finally {
        await reopened.close();
      }
    } finally {
      if (!closed) await store.close();
    }
  });

  it('refuses writes once a file at its path is another one (put back from a copy)', async () => {
    const { path, store } = await openStore();
    try {
      copyFileSync(path, `${path}.copy`);
      renameSync(`${path}.copy`, path);
      const refused = await store.createKey(key(2), version(2)).then(() => undefined, (error: unknown) => error);
      assert.ok(refused instanceof StoreUnusableError, String(refused));
      assert.equal(refused.message, 'the store\'s file coffer.db at its path is another file than the one the server opened (replaced, or restored from a copy): nothing more is written until the server restarts');
    } finally {
      await store.close();
    }
  });

  it('saves into the database, when it closes, what was committed before its -wal was removed', async () => {
    const { dir, path, store } = await openStore();
    unlinkSync(join(dir, 'coffer.db-wal'));
    await assert.rejects(store.createKey(key(2), version(2)), StoreUnusableError);
    // Key 1 and the first audit record were only in the -wal, now unlinked: closing checkpoints them
    // from the file SQLite holds into the database, which is in place.
    await store.close();
    const reopened = new SqliteStore(path);
    try {
      assert.equal((await reopened.getKey(keyId(1)))?.description, 'kept');
      assert.equal((await reopened.readAudit({ limit: 10 }))[0]?.requestId, 'req-1');
    } finally {
      await reopened.close();
    }
  });
});

describe('a SQLite store on a full disk', () => {
  it('refuses a change or an audit append with StoreFullError and writes nothing; it takes writes again once there is space', async () => {
    const { path, store } = await openStore();
    const db = sqliteConnections.find((c) => c.open && c.name === path);
    assert.ok(db, 'the store\'s connection');
    try {
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      // A record larger than a page needs pages the file does not have.
      const big = 'x'.repeat(20_000);
      await assert.rejects(store.createKey(key(2, big), version(2)), (error: unknown) =>
        error instanceof StoreFullError && error.message === 'the store\'s disk is full: database or disk is full');
      assert.equal(await store.getKey(keyId(2)), undefined, 'nothing was written');
      await assert.rejects(store.appendAudit(event(2, { big })), StoreFullError);
      assert.equal((await store.getAuditHead())?.seq, 1, 'no record was appended');
      assert.equal(store.unusableReason, undefined, 'a full disk does not make the store unusable');

      db.pragma('max_page_count = 1073741823');
      await store.createKey(key(2, big), version(2));
      assert.equal((await store.getKey(keyId(2)))?.description, big);
      await store.appendAudit(event(2, { big }));
      assert.equal((await store.getAuditHead())?.seq, 2);
    } finally {
      await store.close();
    }
  });
});

describe('a SQLite store whose file another process holds locked', () => {
  it('refuses a change with StoreUnavailableError (retryable: nothing was written) once the busy timeout passes, and takes it once the lock is gone', async () => {
    const { path, store } = await openStore();
    const other = new Database(path);
    try {
      other.exec('BEGIN EXCLUSIVE');
      const refused = await store.createKey(key(2), version(2)).then(() => undefined, (error: unknown) => error);
      assert.ok(refused instanceof StoreUnavailableError, String(refused));
      assert.match(refused.message, /^another process holds the store's file locked \(SQLITE_BUSY[A-Z_]*\): nothing was written$/);
      other.exec('ROLLBACK');
      assert.equal(store.unusableReason, undefined);
      await store.createKey(key(2), version(2));
      assert.equal((await store.getKey(keyId(2)))?.description, 'kept');
    } finally {
      other.close();
      await store.close();
    }
  });

  // better-sqlite3 waits for the lock on the event loop's thread: each queued write waited its own
  // 5 s in turn, so a lock held for a minute held every request (and /healthz) as long.
  it('waits for the lock once, then refuses the writes after it at once, audit batches included, for a while', async () => {
    const { path, store } = await openStore();
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      const first = await store.createKey(key(3), version(3)).then(() => undefined, (error: unknown) => error);
      assert.ok(first instanceof StoreUnavailableError, String(first));
      const waited = Date.now() - started;
      assert.ok(waited >= 900 && waited < 3_000, `the first write waited ${waited} ms for the lock`);
      const next = Date.now();
      for (let i = 4; i < 8; i++) {
        await assert.rejects(store.createKey(key(i), version(i)), StoreUnavailableError);
      }
      await assert.rejects(store.appendAudit(event(9)), StoreUnavailableError);
      assert.ok(Date.now() - next < 500, `the writes after it took ${Date.now() - next} ms`);
      other.exec('ROLLBACK');
      // The lock gone, a write goes through at once, in the window too.
      await store.createKey(key(3), version(3));
      await store.appendAudit(event(10));
      assert.equal((await store.getKey(keyId(3)))?.keyId, keyId(3));
      assert.equal(await store.getKey(keyId(4)), undefined);
    } finally {
      other.close();
      await store.close();
    }
  });
});

describe('a SQLite store whose audit trail is cut or hooked while it is open', () => {
  /** A second connection to the store's file: what someone who can write the file but not read root.key can do. */
  const tamper = (path: string, sql: string) => {
    const db = new Database(path);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  };

  it('refuses to append once the head went back (the newest records deleted and the head reset to match), and reuses no seq', async () => {
    const { path, store } = await openStore();
    try {
      await store.appendAudit(event(2));
      await store.appendAudit(event(3));
      tamper(path, "DELETE FROM audit WHERE seq >= 2; UPDATE audit_head SET seq = 1, hash = (SELECT json_extract(record, '$.hash') FROM audit WHERE seq = 1)");
      const refused = await store.appendAudit(event(4)).then(() => undefined, (error: unknown) => error);
      assert.ok(refused instanceof StoreUnusableError, String(refused));
      assert.match(refused.message, /^the audit trail's head went back from record 3 to 1 while the server ran: records were removed from its end/);
      assert.deepEqual((await store.readAudit({ limit: 10 })).map((r) => r.seq), [1], 'nothing was written over the cut');
      await assert.rejects(store.createKey(key(5), version(5)), StoreUnusableError);
    } finally {
      await store.close();
    }
  });

  it('refuses to append once a trigger was added to the file, and refuses to open a file holding one', async () => {
    const { path, store } = await openStore();
    const hide = "CREATE TRIGGER hide AFTER INSERT ON audit WHEN json_extract(NEW.record, '$.requestId') = 'req-2' BEGIN DELETE FROM audit WHERE seq = NEW.seq; END";
    try {
      tamper(path, hide);
      const refused = await store.appendAudit(event(2)).then(() => undefined, (error: unknown) => error);
      assert.ok(refused instanceof StoreUnusableError, String(refused));
      assert.equal(refused.message, 'the store holds the trigger "hide", added while the server ran: nothing more is written until it is removed and the server restarts');
    } finally {
      await store.close();
    }
    assert.throws(() => new SqliteStore(path), /^Error: the store holds the trigger "hide": Coffer makes none/);
    tamper(path, 'DROP TRIGGER hide');
    const reopened = new SqliteStore(path);
    reopened.attachAuditChain(chain);
    await reopened.appendAudit(event(2));
    await reopened.close();
  });
});
