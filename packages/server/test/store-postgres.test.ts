import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { chainRecord, verifyChain } from '../src/audit/chain.js';
import type { AuditEvent, AuditRecord } from '../src/audit/record.js';
import type { KeyRecord, KeyVersionRecord } from '../src/keys/key-record.js';
import { StartupError } from '../src/root/root-key.js';
import { defineStoreConformance, type OpenedStore } from '../src/store/conformance.js';
import { PostgresStore } from '../src/store/postgres.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/postgres-migrations.js';
import { StoreUnavailableError } from '../src/store/store.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';

let cluster: TestPostgres;
before(async () => {
  cluster = await startTestPostgres();
});
after(() => cluster?.destroy());

/** Empties every table of a migrated database (its schema and audit head row stay), so each case starts fresh. */
async function emptyDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'audit_head')");
    // DELETE, not TRUNCATE: the tables are tiny, and TRUNCATE makes (and syncs) new files each time.
    await client.query(['BEGIN', ...rows.map((r) => `DELETE FROM "${r.tablename}"`),
      `UPDATE audit_head SET seq = 0, hash = '${'0'.repeat(64)}'`, 'COMMIT'].join(';\n'));
  } finally {
    await client.end();
  }
}

let conformanceUrl: Promise<string> | undefined;
defineStoreConformance('PostgresStore on a throwaway cluster', async () => {
  // One database for the suite, emptied before each case: a CREATE DATABASE per case is slow.
  conformanceUrl ??= cluster.createDatabase('conformance').then(async (url) => {
    await (await PostgresStore.open({ connectionString: url })).close();
    return url;
  });
  const url = await conformanceUrl;
  await emptyDatabase(url);
  const store = await PostgresStore.open({ connectionString: url });
  return { store, openSecond: () => PostgresStore.open({ connectionString: url }), close: () => store.close(), openFresh: openFreshStore };
});

let freshUrl: Promise<string> | undefined;
/** The restore target of the snapshot cases: a second database, emptied likewise. */
async function openFreshStore(): Promise<OpenedStore> {
  freshUrl ??= cluster.createDatabase('conformance_fresh').then(async (url) => {
    await (await PostgresStore.open({ connectionString: url })).close();
    return url;
  });
  const url = await freshUrl;
  await emptyDatabase(url);
  const store = await PostgresStore.open({ connectionString: url });
  return {
    store, openSecond: () => PostgresStore.open({ connectionString: url }), close: () => store.close(),
    openFresh: () => Promise.reject(new TypeError('one fresh store at a time')),
  };
}

const T0 = Date.UTC(2024, 0, 1);
const KEY_ID = '00000000-0000-4000-8000-000000000001';
const key: KeyRecord = {
  keyId: KEY_ID, revision: 1, createdAt: T0, description: 'shared', keySpec: 'SYMMETRIC_DEFAULT',
  keyUsage: 'ENCRYPT_DECRYPT', origin: 'AWS_KMS', state: 'Enabled', tags: [], onDemandRotations: 0, currentVersion: 1,
};
const version = (n: number, seed: string): KeyVersionRecord => ({
  keyId: KEY_ID, version: n, materialId: `${seed}`.padEnd(64, '0'), wrappedMaterial: randomBytes(60), createdAt: T0 + n,
});
const event = (operation: string, i: number): AuditEvent => ({
  time: T0 + i, requestId: `request-${operation}-${i}`, operation, keyArns: [`arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`],
  requestParameters: { i }, outcome: 'success',
});

async function schemaVersions(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
  } finally {
    await client.end();
  }
}

describe('PostgresStore migrations', () => {
  it('applies each migration once, also when nodes start together', async () => {
    const url = await cluster.createDatabase();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open({ connectionString: url })));
    assert.deepEqual(await schemaVersions(url), MIGRATIONS.map((m) => m.version));
    await Promise.all(stores.map((s) => s.close()));
    const again = await PostgresStore.open({ connectionString: url });
    await again.close();
    assert.deepEqual(await schemaVersions(url), MIGRATIONS.map((m) => m.version));
    assert.equal(SCHEMA_VERSION, MIGRATIONS[MIGRATIONS.length - 1]!.version);
    // Step 2: a caller's grants on a key, and a grant by its Name, by index.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'grants' ORDER BY indexname");
      assert.deepEqual(rows.map((r) => r.indexname), ['grants_grantee', 'grants_key', 'grants_name', 'grants_pkey', 'grants_retiring']);
    } finally {
      await client.end();
    }
  });

  it('applies a later step to a database at an earlier version, keeping its data', async () => {
    const url = await cluster.createDatabase();
    const first = await PostgresStore.open({ connectionString: url });
    await first.putMetaIfAbsent('kept', new Uint8Array([1, 2, 3]));
    await first.close();
    const later = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, description: 'test step', sql: 'CREATE TABLE later_step (id INTEGER)' }];
    const upgraded = await PostgresStore.open({ connectionString: url, migrations: later });
    try {
      assert.deepEqual([...(await upgraded.getMeta('kept'))!], [1, 2, 3]);
    } finally {
      await upgraded.close();
    }
    assert.deepEqual(await schemaVersions(url), later.map((m) => m.version));
  });

  it('refuses to start on a database newer than the server, with a clear message, changing nothing', async () => {
    const url = await cluster.createDatabase();
    const newer = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, description: 'from the future', sql: 'CREATE TABLE future (id INTEGER)' }];
    await (await PostgresStore.open({ connectionString: url, migrations: newer })).close();
    await assert.rejects(PostgresStore.open({ connectionString: url }), (error: unknown) => {
      assert.ok(error instanceof StartupError, String(error));
      assert.match(error.message, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this server's ${SCHEMA_VERSION}`));
      return true;
    });
    assert.deepEqual(await schemaVersions(url), newer.map((m) => m.version));
  });

  it('refuses a database whose schema_migrations is another tool\'s, changing nothing', async () => {
    // Read as Coffer's, version 20240101 was "a newer Coffer server", and versions 1 and 2 skipped
    // Coffer's tables: the start then died on "relation meta does not exist".
    for (const versions of ['(20240101, false)', '(1, false), (2, false)']) {
      const url = await cluster.createDatabase();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, dirty BOOLEAN); INSERT INTO schema_migrations VALUES ${versions}`);
        await assert.rejects(PostgresStore.open({ connectionString: url }), (error: unknown) => {
          assert.ok(error instanceof StartupError, String(error));
          assert.equal(error.message, 'The PostgreSQL database has a table schema_migrations that is not Coffer\'s (another application\'s?): '
            + 'give Coffer a database of its own in --store. Nothing was changed.');
          return true;
        });
        const tables = await client.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
        assert.deepEqual(tables.rows.map((row) => row.name), ['schema_migrations']);
      } finally {
        await client.end();
      }
    }
  });

  it('says which store could not take Coffer\'s tables, and why, for another application\'s table of the same name', async () => {
    const url = await cluster.createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('CREATE TABLE keys (sku TEXT PRIMARY KEY, shelf INTEGER)');
      // Before: a bare `relation "keys" already exists`, naming neither the store nor what to do.
      await assert.rejects(PostgresStore.open({ connectionString: url }), (error: unknown) => {
        assert.ok(error instanceof StartupError, String(error));
        assert.match(error.message, /^Cannot make Coffer's tables in the PostgreSQL store at postgres:\/\/.*: relation "keys" already exists\. Give Coffer a database of its own, whose user may create tables in it\.$/);
        return true;
      });
      const columns = await client.query<{ name: string }>("SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'keys' ORDER BY column_name");
      assert.deepEqual(columns.rows.map((row) => row.name), ['shelf', 'sku'], 'the other table is as it was');
    } finally {
      await client.end();
    }
  });

  it('reports an unreachable database at start as a StartupError naming it without its password', async () => {
    await assert.rejects(PostgresStore.open({ connectionString: 'postgres://coffer:s3cret@127.0.0.1:1/nowhere' }), (error: unknown) => {
      assert.ok(error instanceof StartupError, String(error));
      assert.match(error.message, /Cannot connect to the PostgreSQL store at postgres:\/\/coffer:\*\*\*@127\.0\.0\.1:1\/nowhere/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });
});

describe('PostgresStore: two nodes on one database', () => {
  let url: string;
  let a: PostgresStore;
  let b: PostgresStore;
  const auditKey = randomBytes(32);
  before(async () => {
    url = await cluster.createDatabase();
    [a, b] = await Promise.all([PostgresStore.open({ connectionString: url }), PostgresStore.open({ connectionString: url })]);
    for (const node of [a, b]) node.attachAuditChain((e, seq, prevHash) => chainRecord(auditKey, e, seq, prevHash));
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('a write resolved on one node is read on the other at once', async () => {
    await a.createKey(key, version(1, 'a'));
    assert.deepEqual(await b.getKey(KEY_ID), key);
    assert.equal(await b.updateKey({ ...key, revision: 2, description: 'from b' }), true);
    assert.equal((await a.getKey(KEY_ID))?.description, 'from b');
  });

  it('concurrent createAlias of one name on both nodes: exactly one succeeds', async () => {
    for (let round = 0; round < 5; round++) {
      const name = `alias/race-${round}`;
      const attempts = Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).createAlias(
        { aliasName: name, targetKeyId: `target-${i}`, createdAt: T0, updatedAt: T0 }, event('CreateAlias', round * 10 + i)));
      const results = await Promise.all(attempts);
      assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results}`);
      assert.equal((await a.getAlias(name))?.targetKeyId, `target-${results.indexOf(true)}`);
    }
  });

  it('concurrent updateKey from one revision on both nodes: exactly one wins, with its version', async () => {
    const current = (await a.getKey(KEY_ID))!;
    const attempts = Array.from({ length: 10 }, (_, i) => ({
      node: i % 2 ? a : b,
      next: { ...current, revision: current.revision + 1, currentVersion: 2, description: `writer ${i}` },
      version: version(2, `w${i}`),
    }));
    const results = await Promise.all(attempts.map((t, i) => t.node.updateKey(t.next, t.version, event('RotateKeyOnDemand', 100 + i))));
    assert.equal(results.filter(Boolean).length, 1, `winners: ${results}`);
    const winner = attempts[results.indexOf(true)]!;
    assert.deepEqual(await b.getKey(KEY_ID), winner.next);
    assert.equal((await a.getKeyVersion(KEY_ID, 2))?.materialId, winner.version.materialId);
  });

  it('concurrent rotations on both nodes, each retried on a lost compare-and-set, add one version each', async () => {
    const rotate = async (node: PostgresStore, tag: string) => {
      for (;;) {
        const current = (await node.getKey(KEY_ID))!;
        const n = current.currentVersion + 1;
        const won = await node.updateKey({ ...current, revision: current.revision + 1, currentVersion: n }, version(n, tag))
          .catch(() => false);
        if (won) return;
      }
    };
    const before = (await a.getKey(KEY_ID))!.currentVersion;
    await Promise.all(Array.from({ length: 8 }, (_, i) => rotate(i % 2 ? a : b, `r${i}`)));
    const versions = await a.listKeyVersions(KEY_ID);
    assert.equal((await a.getKey(KEY_ID))!.currentVersion, before + 8);
    assert.deepEqual(versions.map((v) => v.version), Array.from({ length: before + 8 }, (_, i) => i + 1));
  });

  it('audit events appended concurrently on both nodes form one gapless chain that verifies', async () => {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 150; i++) {
      const node = i % 2 ? a : b;
      writes.push(node.appendAudit(event('Encrypt', 1000 + i)));
      if (i % 10 === 0) writes.push(node.putIdentityPolicy({ principalArn: 'arn:aws:iam::111122223333:user/u', policyName: `p${i}`, document: '{}', updatedAt: T0 }, event('PutUserPolicy', 1000 + i)));
    }
    await Promise.all(writes);
    const records: AuditRecord[] = [];
    for (let after = 0; ;) {
      const page = await b.readAudit({ afterSeq: after, limit: 100 });
      if (page.length === 0) break;
      records.push(...page);
      after = page[page.length - 1]!.seq;
    }
    const head = await a.getAuditHead();
    assert.deepEqual(verifyChain(auditKey, records, head), { ok: true, records: records.length, lastHash: records.at(-1)!.hash });
    assert.equal(records.filter((r) => r.operation === 'Encrypt').length, 150);
    assert.equal(new Set(records.map((r) => r.requestId)).size, records.length, 'no event is written twice');
    assert.equal((await b.lastKeyUse(`arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`, ['Encrypt']))?.operation, 'Encrypt');
  });

  it('runExclusive runs on one node at a time', async () => {
    let inside = 0;
    let most = 0;
    let release!: () => void;
    const held = new Promise<void>((done) => (release = done));
    const first = a.runExclusive('scheduled-work', async () => {
      inside++;
      most = Math.max(most, inside);
      await held;
      inside--;
    });
    // Wait until node A holds the lock.
    while (inside === 0) await new Promise((done) => setTimeout(done, 5));
    assert.equal(await b.runExclusive('scheduled-work', async () => assert.fail('node B ran while node A held the lock')), false);
    assert.equal(await a.runExclusive('scheduled-work', async () => assert.fail('a second run on node A')), false);
    // Another name is not held.
    assert.equal(await b.runExclusive('other-work', async () => {}), true);
    release();
    assert.equal(await first, true);
    assert.equal(await b.runExclusive('scheduled-work', async () => {}), true);
    assert.equal(most, 1);
  });

  it('serialize lets one node at a time hold a name: the other waits for it, then runs', async () => {
    let inside = 0;
    let most = 0;
    let runs = 0;
    const work = (store: PostgresStore) => store.serialize('principals', async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((done) => setTimeout(done, 30));
      inside--;
      runs++;
    });
    await Promise.all([work(a), work(b), work(a), work(b)]);
    assert.equal(runs, 4);
    assert.equal(most, 1);
  });
});

describe('PostgresStore whose audit trail is cut or hooked', () => {
  const auditKey = randomBytes(32);
  const tamper = async (url: string, sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  it('a node refuses to append once the head went back (the newest records deleted, the head reset to match); another node moved it on is fine', async () => {
    const url = await cluster.createDatabase();
    const [a, b] = await Promise.all([PostgresStore.open({ connectionString: url }), PostgresStore.open({ connectionString: url })]);
    try {
      for (const node of [a, b]) node.attachAuditChain((e, seq, prevHash) => chainRecord(auditKey, e, seq, prevHash));
      await a.appendAudit(event('Encrypt', 1));
      await b.appendAudit(event('Encrypt', 2));
      await a.appendAudit(event('Encrypt', 3));
      await tamper(url, "DELETE FROM audit WHERE seq >= 2; UPDATE audit_head SET seq = 1, hash = (SELECT (record::jsonb)->>'hash' FROM audit WHERE seq = 1)");
      await assert.rejects(a.appendAudit(event('Encrypt', 4)), /^Error: the audit trail's head went back from record 3 to 1 while the server ran: records were removed from its end/);
      assert.deepEqual((await a.readAudit({ limit: 10 })).map((r) => r.seq), [1], 'nothing was written over the cut');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses to start on a database whose tables have a trigger or a rule, naming it; another application\'s table may have its own', async () => {
    const url = await cluster.createDatabase();
    await (await PostgresStore.open({ connectionString: url })).close();
    await tamper(url, `CREATE TABLE app_orders (id int, updated_at timestamptz);
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;
      CREATE TRIGGER app_orders_touch BEFORE UPDATE ON app_orders FOR EACH ROW EXECUTE FUNCTION touch();
      CREATE RULE app_orders_keep AS ON DELETE TO app_orders DO INSTEAD NOTHING`);
    await (await PostgresStore.open({ connectionString: url })).close();
    await tamper(url, `CREATE FUNCTION hide() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM audit WHERE seq = NEW.seq; RETURN NULL; END $$;
      CREATE TRIGGER hide AFTER INSERT ON audit FOR EACH ROW EXECUTE FUNCTION hide()`);
    await assert.rejects(PostgresStore.open({ connectionString: url }),
      (e: unknown) => e instanceof StartupError && /holds the trigger "hide" on audit: Coffer makes none/.test(e.message));
    await tamper(url, 'DROP TRIGGER hide ON audit; CREATE RULE keep_head AS ON UPDATE TO audit_head DO INSTEAD NOTHING');
    await assert.rejects(PostgresStore.open({ connectionString: url }), /holds the rule "keep_head" on audit_head/);
    await tamper(url, 'DROP RULE keep_head ON audit_head');
    await (await PostgresStore.open({ connectionString: url })).close();
  });
});

describe('PostgresStore when a node is killed', () => {
  it('keeps every write acknowledged before SIGKILL, and the audit chain stays whole', async () => {
    const url = await cluster.createDatabase();
    const chainKey = randomBytes(32);
    // A node writing from four loops at once, reporting each write as its promise resolves.
    const script = `
      const [{ PostgresStore }, { chainRecord }] = await Promise.all([import(process.argv[1]), import(process.argv[2])]);
      const key = Buffer.from(process.argv[4], 'hex');
      const store = await PostgresStore.open({ connectionString: process.argv[3] });
      store.attachAuditChain((e, seq, prev) => chainRecord(key, e, seq, prev));
      const event = (n) => ({ time: n, requestId: 'r' + n, operation: 'CreateAlias', keyArns: [], requestParameters: {}, outcome: 'success' });
      let n = 0;
      await Promise.all([0, 1, 2, 3].map(async () => {
        for (;;) {
          const i = n++;
          if (i % 2) await store.appendAudit(event(i));
          else await store.createAlias({ aliasName: 'alias/n' + i, targetKeyId: 'k', createdAt: i, updatedAt: i }, event(i));
          process.stdout.write(i + '\\n');
        }
      }));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script,
      new URL('../src/store/postgres.js', import.meta.url).href, new URL('../src/audit/chain.js', import.meta.url).href,
      url, chainKey.toString('hex')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: number[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
    await new Promise<void>((enough) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        acknowledged.push(...lines.map(Number));
        if (acknowledged.length >= 200) {
          child.kill('SIGKILL');
          enough();
        }
      });
      void exited.then(() => enough());
    });
    assert.equal(await exited, 'SIGKILL', stderr);

    const store = await PostgresStore.open({ connectionString: url });
    try {
      const records = await store.readAudit({ limit: 100_000 });
      assert.deepEqual(verifyChain(chainKey, records, await store.getAuditHead()), { ok: true, records: records.length, lastHash: records.at(-1)!.hash });
      const recorded = new Set(records.map((r) => r.requestId));
      for (const i of acknowledged) {
        assert.ok(recorded.has(`r${i}`), `acknowledged write ${i} has no audit record`);
        if (i % 2 === 0) assert.ok(await store.getAlias(`alias/n${i}`), `acknowledged alias ${i} is missing`);
      }
      // A change and its audit record are one transaction: no alias without its record.
      for (const alias of (await store.listAliases({ limit: 100_000 })).items) {
        assert.ok(recorded.has(`r${alias.aliasName.slice('alias/n'.length)}`), `${alias.aliasName} has no audit record`);
      }
    } finally {
      await store.close();
    }
  });
});

describe('PostgresStore when the database goes away', () => {
  it('keeps every resolved write across a crash of PostgreSQL (immediate shutdown, WAL replay)', async () => {
    const url = await cluster.createDatabase();
    const store = await PostgresStore.open({ connectionString: url });
    const chainKey = randomBytes(32);
    store.attachAuditChain((e, seq, prevHash) => chainRecord(chainKey, e, seq, prevHash));
    const material = randomBytes(48);
    try {
      await store.createKey(key, { ...version(1, 'crash'), wrappedMaterial: material }, event('CreateKey', 1));
      assert.equal(await store.updateKey({ ...key, revision: 2, description: 'just before the crash' }, undefined, event('UpdateKeyDescription', 2)), true);
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendAudit(event('Encrypt', 10 + i))));
      await cluster.stopServer('immediate');
      await cluster.startServer();
      assert.equal((await store.getKey(KEY_ID))?.description, 'just before the crash');
      assert.ok(Buffer.from((await store.getKeyVersion(KEY_ID, 1))!.wrappedMaterial).equals(material));
      const records = await store.readAudit({ limit: 100 });
      assert.equal(records.length, 22);
      assert.deepEqual(verifyChain(chainKey, records, await store.getAuditHead()), { ok: true, records: 22, lastHash: records.at(-1)!.hash });
    } finally {
      await store.close();
    }
  });

  it('fails with a retryable StoreUnavailableError, acknowledges no write, and recovers when the database is back', async () => {
    const url = await cluster.createDatabase();
    const store = await PostgresStore.open({ connectionString: url });
    const chainKey = randomBytes(32);
    store.attachAuditChain((e, seq, prevHash) => chainRecord(chainKey, e, seq, prevHash));
    try {
      await store.createKey(key, version(1, 'a'), event('CreateKey', 1));
      await cluster.stopServer();
      try {
        const isUnavailable = (error: unknown) => {
          assert.ok(error instanceof StoreUnavailableError, `${error}`);
          return true;
        };
        await assert.rejects(store.getKey(KEY_ID), isUnavailable);
        await assert.rejects(store.updateKey({ ...key, revision: 2, description: 'lost' }, undefined, event('UpdateKeyDescription', 2)), isUnavailable);
        await assert.rejects(store.appendAudit(event('Encrypt', 3)), isUnavailable);
        await assert.rejects(store.createAlias({ aliasName: 'alias/lost', targetKeyId: KEY_ID, createdAt: T0, updatedAt: T0 }), isUnavailable);
      } finally {
        await cluster.startServer();
      }
      assert.deepEqual(await store.getKey(KEY_ID), key, 'the refused update did not happen');
      assert.equal(await store.getAlias('alias/lost'), undefined);
      assert.equal(await store.updateKey({ ...key, revision: 2, description: 'after' }, undefined, event('UpdateKeyDescription', 4)), true);
      await store.appendAudit(event('Encrypt', 5));
      const records = await store.readAudit({ limit: 100 });
      assert.deepEqual(records.map((r) => r.operation), ['CreateKey', 'UpdateKeyDescription', 'Encrypt']);
      assert.deepEqual(verifyChain(chainKey, records, await store.getAuditHead()), { ok: true, records: 3, lastHash: records.at(-1)!.hash });
    } finally {
      await store.close();
    }
  });
});

describe('PostgresStore behind a lock held outside Coffer', () => {
  // Another session's LOCK TABLE on the audit head makes every audited write wait out its
  // statement timeout. Writes taking turns (serialize: key, alias, grant creation) each waited for
  // all those ahead of them as well, so the tenth in line failed after ten timeouts.
  it('fails each waiting serialize() call within its statement timeout of waiting, not after every call ahead of it', { timeout: 60_000 }, async () => {
    const url = await cluster.createDatabase();
    const store = await PostgresStore.open({ connectionString: url, statementTimeoutMs: 1_000 });
    const chainKey = randomBytes(32);
    store.attachAuditChain((e, seq, prevHash) => chainRecord(chainKey, e, seq, prevHash));
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE audit_head IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const ids = Array.from({ length: 5 }, (_, i) => `00000000-0000-4000-8000-00000000010${i}`);
      const settled = await Promise.all(ids.map((keyId, i) => store.serialize('keys', () =>
        store.createKey({ ...key, keyId }, { ...version(1, `lock${i}`), keyId }, event('CreateKey', 100 + i))).then(
        () => ({ error: undefined, ms: Date.now() - started }),
        (error: unknown) => ({ error, ms: Date.now() - started }))));
      for (const { error } of settled) assert.ok(error instanceof StoreUnavailableError, String(error));
      // One timeout for the call that waited on the lock, one of waiting for the calls behind it; before, 1, 2, 3, 4 and 5 s.
      const slowest = Math.max(...settled.map((s) => s.ms));
      assert.ok(slowest < 4_000, `the last call failed after ${slowest} ms`);
      await locker.query('ROLLBACK');
      for (const keyId of ids) assert.equal(await store.getKey(keyId), undefined, 'a failed call wrote nothing');
      await store.serialize('keys', () => store.createKey(key, version(1, 'after'), event('CreateKey', 200)));
      assert.equal((await store.getKey(KEY_ID))?.keyId, KEY_ID);
    } finally {
      await locker.end().catch(() => {});
      await store.close();
    }
  });
});
