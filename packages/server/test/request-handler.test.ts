import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AccessKeys } from '../src/auth/access-keys.js';
import type { Service } from '../src/context.js';
import { createRequestHandler } from '../src/http/app.js';
import type { LogLevel } from '../src/log.js';

describe('the request handler: nothing a request does escapes it', () => {
  const lines: { level: LogLevel; message: string; fields?: Record<string, unknown> }[] = [];
  const settled: Promise<unknown>[] = [];
  let server: Server;
  let endpoint: string;

  before(async () => {
    // A probe that fails as a page read fails when the process is out of file descriptors.
    const handler = createRequestHandler({
      service: {} as Service,
      accessKeys: {} as AccessKeys,
      log: (level, message, fields) => lines.push({ level, message, ...(fields ? { fields } : {}) }),
      probes: async () => {
        throw Object.assign(new Error('EMFILE: too many open files, scandir /srv/console'), { code: 'EMFILE' });
      },
    });
    server = createServer((req, res) => {
      // What node:http does with the promise: nothing. Kept here to see how it settled.
      settled.push(handler(req, res).then(() => 'resolved', () => 'rejected'));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  it('answers a request whose handler threw with an opaque 500 KMSInternalException, logs the error, and does not reject', async () => {
    const response = await fetch(`${endpoint}/healthz`);
    const body = await response.json() as Record<string, unknown>;
    assert.equal(response.status, 500);
    assert.equal(body.__type, 'KMSInternalException');
    const requestId = response.headers.get('x-amzn-requestid') ?? '';
    assert.match(requestId, /^[0-9a-f-]{36}$/);
    assert.equal(body.message, `An internal error occurred. Request id: ${requestId}`);
    assert.deepEqual(await Promise.all(settled), ['resolved']);
    const logged = lines.find((line) => line.level === 'error');
    assert.equal(logged?.fields?.requestId, requestId);
    assert.match(String(logged?.fields?.error), /EMFILE/);
  });
});
