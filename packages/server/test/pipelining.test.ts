import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { MAX_IN_FLIGHT_PER_CONNECTION } from '../src/http/pipelining.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { startTestServer, type TestServer } from './support/server.js';
import { exchange } from './support/raw-http.js';

/**
 * Requests stay in flight while the test holds the audit appends that answer them: what a slow
 * store would do, made certain. (Each test file runs in a process of its own.)
 */
let held: (() => void)[] | undefined;
const realAppendAudit = SqliteStore.prototype.appendAudit;
SqliteStore.prototype.appendAudit = function (this: SqliteStore, ...args: Parameters<SqliteStore['appendAudit']>) {
  if (!held) return realAppendAudit.apply(this, args);
  const waiting = held;
  return new Promise<void>((resume) => waiting.push(resume)).then(() => realAppendAudit.apply(this, args));
};

describe('requests pipelined on one connection', () => {
  let t: TestServer;
  const lines: Record<string, unknown>[] = [];
  before(async () => {
    t = await startTestServer({ logger: (level, msg, fields) => lines.push({ level, msg, ...fields }) });
  });
  after(() => t.dispose());

  it(`answers the first ${MAX_IN_FLIGHT_PER_CONNECTION} in flight, refuses the next with ThrottlingException at once, and closes the connection after them`, async () => {
    const request = 'POST / HTTP/1.1\r\nhost: coffer\r\nx-amz-target: TrentService.ListKeys\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}';
    const sent = MAX_IN_FLIGHT_PER_CONNECTION + 8;
    held = [];
    const pending = exchange(t.server.endpoint, request.repeat(sent));
    // Every request has been taken in once each is either held in flight or refused.
    const refusals = () => lines.filter((line) => line.error === 'ThrottlingException').length;
    while (held.length + refusals() < sent) await new Promise((resume) => setImmediate(resume));
    const waiting = held;
    held = undefined;
    for (const resume of waiting) resume();
    const text = await pending;
    const answers = [...text.matchAll(/HTTP\/1\.1 (\d{3}) [^\r]*\r\n(?:[^\r]+\r\n)*?x-amzn-ErrorType: (\w+)\r\n/g)].map((m) => m[2]);
    const firstRefusal = answers.indexOf('ThrottlingException');
    assert.equal(firstRefusal, MAX_IN_FLIGHT_PER_CONNECTION, text);
    assert.deepEqual(new Set(answers.slice(0, firstRefusal)), new Set(['MissingAuthenticationTokenException']));
    // Answered from the first refusal on: refusals only, and the connection closed after the first.
    assert.deepEqual(answers.slice(firstRefusal), ['ThrottlingException']);
    assert.match(text.slice(text.indexOf('ThrottlingException') - 400), /\r\nConnection: close\r\n/i);
    const refusalId = /x-amzn-RequestId: ([0-9a-f-]{36})\r\nx-amzn-ErrorType: ThrottlingException/.exec(text)?.[1];
    assert.ok(lines.some((line) => line.requestId === refusalId && line.error === 'ThrottlingException' && line.status === 400));
  });

  it('serves the next connection as before', async () => {
    const keys = await t.kms.send(new ListKeysCommand({}));
    assert.ok(Array.isArray(keys.Keys));
  });
});
