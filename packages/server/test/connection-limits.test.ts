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
  /** `allowHalfOpen`: the client does not close its side when the server closes its own (a hostile one need not). */
  async function open(allowHalfOpen = false): Promise<Socket> {
    const socket = connect({ port: Number(url().port), host: url().hostname, allowHalfOpen });
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
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => open()));
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

  it('closes a connection answered 408 even while its client goes on sending a header line now and then', { timeout: 10_000 }, async () => {
    const socket = await open(true);
    socket.write('POST / HTTP/1.1\r\nHost: x\r\n');
    let text = '';
    socket.setEncoding('utf8').on('data', (s: string) => (text += s));
    socket.on('error', () => {});
    // A line every 300 ms: more than enough to keep a half-closed connection open for ever.
    const trickle = setInterval(() => { if (socket.writable) socket.write('X-A: b\r\n', () => {}); }, 300);
    try {
      const started = Date.now();
      // Not events.once: the trickle's write after the close fails (EPIPE), which would reject it.
      await new Promise((closed) => socket.once('close', closed));
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.ok(Date.now() - started < 6_000, `closed after ${Date.now() - started} ms`);
    } finally {
      clearInterval(trickle);
    }
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

describe('connection limits over TLS', { timeout: 30_000 }, () => {
  it('closes a connection that never finishes its TLS handshake within the headers\' time, not Node\'s 120 s', async () => {
    const t = await startTestServer({
      tls: { selfSigned: true }, connectionLimits: { maxConnections: MAX_CONNECTIONS, headersTimeoutMs: 600, requestTimeoutMs: 1_200, checkEveryMs: 100 },
    });
    try {
      const url = new URL(t.server.endpoint);
      for (const start of [Buffer.alloc(0), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])]) {
        // Nothing at all, and half a ClientHello.
        const socket = connect({ port: Number(url.port), host: url.hostname });
        socket.on('error', () => {});
        await once(socket, 'connect');
        socket.write(start);
        await once(socket, 'close');
      }
    } finally {
      await t.dispose();
    }
  });
});
