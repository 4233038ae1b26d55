/**
 * Clients that hold connections (idle, or sending a request slowly) against the server's bounds:
 * past the most connections it takes, one more is closed and logged, and the server still serves
 * the connections it has and new ones once others close; a request whose headers or body take too
 * long is answered 408 and its connection closed. The limits are shortened here; the defaults are
 * in http/connection-limits.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './support/server.js';

const MAX_CONNECTIONS = 8;

// Without the limits a held connection stays open for node:http's minutes: a time limit makes that a failure, not a hang.
describe('connection limits', { timeout: 30_000 }, () => {
  let t: TestServer;
  const lines: { message: string; fields?: Record<string, unknown> }[] = [];
  before(async () => {
    t = await startTestServer({
      logger: (_level, message, fields) => lines.push({ message, ...(fields ? { fields } : {}) }),
      connectionLimits: { maxConnections: MAX_CONNECTIONS, headersTimeoutMs: 600, requestTimeoutMs: 1_200, checkEveryMs: 100 },
    });
  });
  after(() => t.dispose());

  const url = () => new URL(t.server.endpoint);
  async function open(): Promise<Socket> {
    const socket = connect(Number(url().port), url().hostname);
    await once(socket, 'connect');
    return socket;
  }
  /** Everything the server sends until it closes the connection. */
  async function untilClosed(socket: Socket): Promise<string> {
    let text = '';
    socket.setEncoding('utf8').on('data', (s: string) => (text += s));
    socket.on('error', () => {});
    await once(socket, 'close');
    return text;
  }

  it('closes a connection past the most it takes, logs it, and serves again once connections close', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, open));
    try {
      const extra = await open();
      assert.equal(await untilClosed(extra), '', 'closed without an answer');
      assert.ok(lines.some((l) => l.message === 'connections refused' && l.fields?.maxConnections === MAX_CONNECTIONS));
    } finally {
      for (const socket of held) socket.destroy();
    }
    // The held ones are gone: a client connects and is served.
    for (let i = 0; i < 50; i++) {
      try {
        await t.kms.send(new ListKeysCommand({}));
        return;
      } catch {
        await new Promise((done) => setTimeout(done, 50));
      }
    }
    assert.fail('the server did not serve again after the held connections closed');
  });

  it('answers 408 and closes a connection whose headers do not arrive in time', async () => {
    const socket = await open();
    const started = Date.now();
    socket.write('POST / HTTP/1.1\r\nHost: x\r\n');
    assert.match(await untilClosed(socket), /^HTTP\/1\.1 408 /);
    // The headers timeout given (600 ms, checked every 100 ms), not node:http's default minute.
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
  });

  it('answers 408 and closes a connection whose body does not arrive in time', async () => {
    const socket = await open();
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{');
    const started = Date.now();
    const answer = await untilClosed(socket);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started >= 1_000, 'not before the request timeout');
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms, not at node:http's default 5 minutes`);
  });
});
