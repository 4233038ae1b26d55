/**
 * The stored chain's check as a server runs it (VerifyAuditChain): it shares the event loop with
 * every request, so it must give other work turns, and many requests for it at once must not each
 * cost a pass over the whole trail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chainRecord } from '../src/audit/chain.js';
import type { AuditEvent } from '../src/audit/record.js';
import { verifyStoredChain } from '../src/audit/verify-trail.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { StoreUnavailableError, type Store } from '../src/store/store.js';

const RECORDS = 600;

describe('verifyStoredChain', () => {
  const auditKey = randomBytes(32);
  let dir: string;
  let store: SqliteStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-verify-trail-'));
    store = new SqliteStore(join(dir, 'coffer.db'));
    store.attachAuditChain((event, seq, prevHash) => chainRecord(auditKey, event, seq, prevHash));
    const event = (n: number): AuditEvent => ({ time: 1_800_000_000_000 + n, requestId: `req-${n}`, operation: 'Encrypt', keyArns: [], requestParameters: {}, outcome: 'success' });
    await Promise.all(Array.from({ length: RECORDS }, (_, n) => store.appendAudit(event(n))));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The store, counting the pages read from it. */
  function counted(): { store: Store; reads: () => number } {
    let reads = 0;
    const proxy = new Proxy(store, {
      get(target, name) {
        const value = Reflect.get(target, name, target) as unknown;
        if (name === 'readAudit') return (...args: Parameters<Store['readAudit']>) => { reads++; return target.readAudit(...args); };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { store: proxy, reads: () => reads };
  }

  it('checks the whole trail, letting other work run between its pages', async () => {
    let finished = false;
    let ranDuringCheck = false;
    const verdict = verifyStoredChain(store, auditKey).finally(() => (finished = true));
    setImmediate(() => (ranDuringCheck = !finished));
    assert.deepEqual(await verdict, { ok: true, records: RECORDS, lastHash: (await store.getAuditHead())!.hash });
    assert.equal(ranDuringCheck, true, 'a callback queued after the check began ran before it ended');
  });

  it('answers requests that come while a check runs with that check\'s verdict: one pass over the trail', async () => {
    const one = counted();
    await verifyStoredChain(one.store, auditKey);
    const several = counted();
    const verdicts = await Promise.all(Array.from({ length: 8 }, () => verifyStoredChain(several.store, auditKey)));
    const lastHash = (await store.getAuditHead())!.hash;
    for (const verdict of verdicts) assert.deepEqual(verdict, { ok: true, records: RECORDS, lastHash });
    assert.equal(several.reads(), one.reads());
    // Once it ended, the next request makes a check of its own.
    await verifyStoredChain(several.store, auditKey);
    assert.equal(several.reads(), 2 * one.reads());
  });

  it('fails, with no verdict, when the store goes away during the check: a database restarting is no broken chain', async () => {
    let reads = 0;
    const going = new Proxy(store, {
      get(target, name) {
        const value = Reflect.get(target, name, target) as unknown;
        if (name === 'readAudit') {
          return (...args: Parameters<Store['readAudit']>) => (++reads >= 2
            ? Promise.reject(new StoreUnavailableError('The PostgreSQL store is unavailable: the database system is shutting down'))
            : target.readAudit(...args));
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    // Before: { ok: false, seq: 251, problem: 'record 251 cannot be read (...)' }, a tamper alarm.
    await assert.rejects(verifyStoredChain(going, auditKey), StoreUnavailableError);
  });
});
