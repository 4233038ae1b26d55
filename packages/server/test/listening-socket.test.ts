import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * node:http emits 'error' on a listening server when an accept fails (EMFILE, ECONNABORTED). No
 * client can make that happen on demand, so this file's process (each test file runs in its own)
 * catches the server startServer makes and emits the error node:http would.
 */
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
const realCreateServer = http.createServer;
const made: Server[] = [];
http.createServer = ((...args: unknown[]) => {
  const server = (realCreateServer as (...a: unknown[]) => Server)(...args);
  made.push(server);
  return server;
}) as typeof http.createServer;
syncBuiltinESMExports();

describe('the listening socket', () => {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ logger: (level, message, fields) => lines.push({ level, message, fields: fields ?? {} }) });
  });
  after(async () => {
    http.createServer = realCreateServer;
    syncBuiltinESMExports();
    await t.dispose();
  });

  it('logs a failed accept and goes on serving, instead of ending the process', async () => {
    assert.equal(made.length, 1, 'startServer made one HTTP server');
    made[0]!.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }));
    const logged = lines.find((line) => line.message === 'the listening socket failed');
    assert.ok(logged, 'no log line for the failed accept');
    assert.equal(logged.level, 'error');
    assert.equal(logged.fields.code, 'EMFILE');
    await t.kms.send(new ListKeysCommand({}));
  });
});
