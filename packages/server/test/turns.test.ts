import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../src/audit/record.js';
import { appendFailureRecord } from '../src/http/store-faults.js';
import { StoreUnavailableError, StoreUnusableError, type Store } from '../src/store/store.js';
import { Turns } from '../src/store/turns.js';

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

describe('Turns', () => {
  it('runs calls of one name in order, and a call that waits longer than its limit fails without ever running', async () => {
    const turns = new Turns(300);
    const ran: string[] = [];
    let release!: () => void;
    const holder = turns.run('keys', () => new Promise<void>((done) => { ran.push('holder'); release = done; }));
    const started = Date.now();
    const tooLate = turns.run('keys', async () => { ran.push('too late'); });
    await sleep(200);
    const next = turns.run('keys', async () => { ran.push('next'); return 'next'; });
    const other = await turns.run('aliases', async () => 'another name does not wait');
    assert.equal(other, 'another name does not wait');
    await assert.rejects(tooLate, (error: Error) => error instanceof StoreUnavailableError && /Waited 0\.3 s for the earlier keys writes/.test(error.message));
    assert.ok(Date.now() - started < 450, 'it gave up at its limit, with the holder still running');
    await sleep(100);
    release();
    await holder;
    // The call behind the one that gave up kept its place, and runs once the holder is done.
    assert.equal(await next, 'next');
    assert.deepEqual(ran, ['holder', 'next']);
  });
});

describe('appendFailureRecord', () => {
  const event = { time: 0, requestId: 'r', operation: 'Encrypt', outcome: 'failure' } as unknown as AuditEvent;
  /** A store whose appends never settle: a database that does not answer. */
  const silent = { appendAudit: () => new Promise<void>(() => {}) } as unknown as Store;

  it('answers a request the store did not answer without waiting for its failure record, which is still offered to the store', async () => {
    let offered = 0;
    const store = { appendAudit: () => { offered++; return new Promise<void>(() => {}); } } as unknown as Store;
    await appendFailureRecord(store, event, new StoreUnavailableError('statement timeout'), () => {});
    assert.equal(offered, 1);
  });

  it('waits for the failure record of any other refusal, and reports an append that fails', async () => {
    const pending = appendFailureRecord(silent, event, new Error('AccessDenied'), () => {});
    assert.equal(await Promise.race([pending.then(() => 'answered'), sleep(100).then(() => 'waiting')]), 'waiting');
    const failures: unknown[] = [];
    const refusing = { appendAudit: () => Promise.reject(new Error('disk')) } as unknown as Store;
    await appendFailureRecord(refusing, event, new Error('AccessDenied'), (error) => failures.push(error));
    assert.equal((failures[0] as Error).message, 'disk');
  });

  it('does not offer the record to an unusable store', async () => {
    let offered = 0;
    const store = { appendAudit: () => { offered++; return Promise.resolve(); } } as unknown as Store;
    await appendFailureRecord(store, event, new StoreUnusableError('files gone'), () => {});
    assert.equal(offered, 0);
  });
});
