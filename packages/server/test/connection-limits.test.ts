/**
 * Clients that hold connections (idle, or sending a request slowly) against the server's bounds.
 * At the most connections it takes, a new one closes the connection idle the longest (nothing in
 * flight on it: nothing sent yet, with TLS its handshake not done yet, or its answers all given)
 * and is served; only when every connection is busy with a request is the new one closed, and
 * either is logged. A request whose headers or body take too long is answered 408 and its
 * connection closed. The limits are shortened here; the defaults are in http/connection-limits.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent } from 'node:https';
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ConnectionLimits } from '../src/http/connection-limits.js';
import { kmsClient, startTestServer, type TestServer } from './support/server.js';

const MAX_CONNECTIONS = 8;

type Line = { message: string; fields?: Record<string, unknown> };

/** `allowHalfOpen`: the client does not close its side when the server closes its own (a hostile one need not). */
async function open(endpoint: string, allowHalfOpen = false): Promise<Socket> {
  const url = new URL(endpoint);
  const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen });
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

/** A connection the test holds: what the server has sent on it, and whether it has closed. */
interface Held {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  isClosed(): boolean;
  /** Resolves once what the server sent matches `pattern`. */
  received(pattern: RegExp): Promise<string>;
}

function hold(socket: Socket): Held {
  let text = '';
  let closed = false;
  const waiting = new Set<() => void>();
  socket.setEncoding('latin1').on('data', (s: string) => {
    text += s;
    for (const check of waiting) check();
  });
  socket.on('error', () => {});
  const closing = new Promise<void>((done) => socket.once('close', () => {
    closed = true;
    for (const check of waiting) check();
    done();
  }));
  return {
    socket, closed: closing, isClosed: () => closed,
    received: (pattern) => new Promise((done, fail) => {
      const check = () => {
        if (pattern.test(text)) {
          waiting.delete(check);
          done(text);
        } else if (closed) {
          waiting.delete(check);
          fail(new Error(`closed before ${pattern}: ${JSON.stringify(text)}`));
        }
      };
      waiting.add(check);
      check();
    }),
  };
}

const HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
const ANSWERED = /HTTP\/1\.1 200 [^]*\r\n\r\nok\n$/;

/** A connection that sent a request and has its answer, kept alive: idle. */
async function answered(held: Held): Promise<Held> {
  held.socket.write(HEALTHZ);
  await held.received(ANSWERED);
  return held;
}

/**
 * A connection whose request the server has taken in and is not answered: its headers sent, its
 * body not. `100 Continue` comes when the request has reached the server's handler.
 */
async function busy(endpoint: string): Promise<Held> {
  const held = hold(await open(endpoint));
  held.socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\n'
    + 'Content-Length: 2\r\nExpect: 100-continue\r\n\r\n');
  await held.received(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  return held;
}

/** A little time for a connection the server closed to be seen closed, so that one not closed is seen open. */
const settle = () => new Promise((done) => setTimeout(done, 200));

/** Long enough that no connection the test holds is closed for its time while the test runs. */
const LONG: ConnectionLimits = { maxConnections: MAX_CONNECTIONS, headersTimeoutMs: 30_000, requestTimeoutMs: 30_000, answerTimeoutMs: 30_000, checkEveryMs: 1_000 };

// Without the limits a held connection stays open for node:http's minutes: a time limit makes that a failure, not a hang.
describe('a new connection when the server holds as many as it takes', { timeout: 30_000 }, () => {
  /** Each test on a server of its own: no connection of another test's is still counted. */
  async function serve(test: (t: TestServer, lines: Line[]) => Promise<void>): Promise<void> {
    const lines: Line[] = [];
    const t = await startTestServer({
      logger: (_level, message, fields) => lines.push({ message, ...(fields ? { fields } : {}) }),
      connectionLimits: LONG,
    });
    try {
      await test(t, lines);
    } finally {
      await t.dispose();
    }
  }
  const logged = (lines: Line[], message: string) => lines.some((l) => l.message === message && l.fields?.maxConnections === MAX_CONNECTIONS);

  it('closes the connection idle the longest to make room, serves the new one, and logs it', () => serve(async (t, lines) => {
    const { endpoint } = t.server;
    // Idle in this order: one that has its answer, then five that sent nothing, one more that has its
    // answer, and the first one opened, which has only just had an answer to its first request.
    const first = hold(await open(endpoint));
    const oldest = await answered(hold(await open(endpoint)));
    const silent: Held[] = [];
    for (let i = 0; i < 5; i++) silent.push(hold(await open(endpoint)));
    const recent = await answered(hold(await open(endpoint)));
    await answered(first);
    const all = [first, oldest, ...silent, recent];
    assert.equal(all.length, MAX_CONNECTIONS);
    const client = kmsClient(endpoint, t.credentials);
    try {
      assert.ok(Array.isArray((await client.send(new ListKeysCommand({}))).Keys));
      await oldest.closed;
      assert.ok(logged(lines, 'idle connections closed'), JSON.stringify(lines));
      // The next newcomer closes the next one idle the longest: the first that sent nothing.
      const next = hold(await open(endpoint));
      await silent[0]!.closed;
      await settle();
      assert.deepEqual(all.map((h) => h.isClosed()), [false, true, true, false, false, false, false, false]);
      assert.equal(next.isClosed(), false);
      // Those left open are served as before.
      await answered(first);
      await answered(silent[1]!);
      next.socket.destroy();
    } finally {
      client.destroy();
      for (const h of all) h.socket.destroy();
    }
  }));

  it('closes an idle connection, never a busy one, to make room', () => serve(async (t, lines) => {
    const { endpoint } = t.server;
    // The busy ones are the oldest connections: their age does not make them the ones closed.
    const busyOnes: Held[] = [];
    for (let i = 0; i < MAX_CONNECTIONS - 1; i++) busyOnes.push(await busy(endpoint));
    const idle = hold(await open(endpoint));
    const client = kmsClient(endpoint, t.credentials);
    try {
      await client.send(new ListKeysCommand({}));
      await idle.closed;
      // The client's own connection, idle since its answer, is the one idle now: the next newcomer closes it.
      const next = hold(await open(endpoint));
      await settle();
      assert.equal(next.isClosed(), false);
      assert.deepEqual(busyOnes.map((h) => h.isClosed()), busyOnes.map(() => false));
      assert.ok(logged(lines, 'idle connections closed'));
      assert.ok(!logged(lines, 'connections refused'), 'no newcomer was refused');
      // Each busy one gets the answer to its request once its body has come.
      for (const h of busyOnes) h.socket.write('{}');
      for (const h of busyOnes) await h.received(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 400 [^]*MissingAuthenticationToken/);
      next.socket.destroy();
    } finally {
      client.destroy();
      idle.socket.destroy();
      for (const h of busyOnes) h.socket.destroy();
    }
  }));

  it('refuses a new connection when every connection is busy, logs it, and serves again once connections close', () => serve(async (t, lines) => {
    const { endpoint } = t.server;
    const busyOnes: Held[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i++) busyOnes.push(await busy(endpoint));
      const extra = await open(endpoint);
      assert.equal(await untilClosed(extra), '', 'closed without an answer');
      assert.ok(logged(lines, 'connections refused'), JSON.stringify(lines));
      assert.ok(!logged(lines, 'idle connections closed'), 'no busy connection was closed');
      assert.deepEqual(busyOnes.map((h) => h.isClosed()), busyOnes.map(() => false));
    } finally {
      for (const h of busyOnes) h.socket.destroy();
    }
    // The held ones are gone: a client connects and is served.
    const client = kmsClient(endpoint, t.credentials);
    try {
      for (let i = 0; i < 50; i++) {
        try {
          await client.send(new ListKeysCommand({}));
          return;
        } catch {
          await new Promise((done) => setTimeout(done, 50));
        }
      }
      assert.fail('the server did not serve again after the held connections closed');
    } finally {
      client.destroy();
    }
  }));
});

describe('connection limits', { timeout: 30_000 }, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      connectionLimits: { maxConnections: MAX_CONNECTIONS, headersTimeoutMs: 600, requestTimeoutMs: 1_200, checkEveryMs: 100 },
    });
  });
  after(() => t.dispose());

  const open408 = (allowHalfOpen = false) => open(t.server.endpoint, allowHalfOpen);

  it('answers 408 and closes a connection whose headers do not arrive in time', async () => {
    const socket = await open408();
    const started = Date.now();
    socket.write('POST / HTTP/1.1\r\nHost: x\r\n');
    assert.match(await untilClosed(socket), /^HTTP\/1\.1 408 /);
    // The headers timeout given (600 ms, checked every 100 ms), not node:http's default minute.
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
  });

  it('closes a connection answered 408 even while its client goes on sending a header line now and then', { timeout: 10_000 }, async () => {
    const socket = await open408(true);
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
    const socket = await open408();
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{');
    const started = Date.now();
    const answer = await untilClosed(socket);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started >= 1_000, 'not before the request timeout');
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms, not at node:http's default 5 minutes`);
  });
});

describe('answers a client stops taking', { timeout: 30_000 }, () => {
  it('closes the connection of answers its client took none of for the answer timeout, and logs it', async () => {
    const lines: Line[] = [];
    const t = await startTestServer({
      logger: (_level, message, fields) => lines.push({ message, ...(fields ? { fields } : {}) }),
      connectionLimits: { maxConnections: MAX_CONNECTIONS, headersTimeoutMs: 30_000, requestTimeoutMs: 30_000, answerTimeoutMs: 1_000, checkEveryMs: 100 },
    });
    try {
      // The console's script, some 300 KB: 31 of them, pipelined, are more than the kernel's buffers hold.
      const page = await (await fetch(`${t.server.endpoint}/console/`)).text();
      const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page)?.[1];
      assert.ok(script, 'the console page names its script');
      const socket = await open(t.server.endpoint);
      socket.on('error', () => {});
      // A client that never reads: its receive window fills and the server's writes wait on it.
      socket.pause();
      socket.write(`GET ${script} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(31));
      const closedLine = () => lines.find((l) => l.message === 'stalled answers closed');
      for (let waited = 0; closedLine() === undefined && waited < 15_000; waited += 100) await new Promise((done) => setTimeout(done, 100));
      assert.deepEqual(closedLine()?.fields, { count: 1, answerTimeoutMs: 1_000, reason: 'the client took none of its answer for that long' });
      // Read now, the connection ends short of the 31 answers.
      let received = 0;
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.resume();
      await new Promise((done) => socket.once('close', done));
      assert.ok(received < 31 * 250_000, `${received} bytes`);
    } finally {
      await t.dispose();
    }
  });
});

// A connection awaited closed and not closed fails its own test at its time limit, not the others.
describe('connection limits over TLS', { timeout: 30_000 }, () => {
  /** A TLS server of its own, a way to open connections to it, and an SDK client that keeps its connection alive. */
  async function serveTls(test: (t: TestServer, tls: {
    openTls(over?: Socket): Promise<Held>; client: KMSClient; lines: Line[];
  }) => Promise<void>): Promise<void> {
    const lines: Line[] = [];
    const t = await startTestServer({
      tls: { selfSigned: true }, connectionLimits: LONG,
      logger: (_level, message, fields) => lines.push({ message, ...(fields ? { fields } : {}) }),
    });
    const url = new URL(t.server.endpoint);
    const ca = t.server.tlsCertificate!;
    /** `over`: a connection already open, its handshake only now started. */
    const openTls = async (over?: Socket): Promise<Held> => {
      const socket: TLSSocket = connectTls({
        ...(over ? { socket: over } : { port: Number(url.port), host: url.hostname }), ca, servername: 'localhost',
      });
      const held = hold(socket);
      await once(socket, 'secureConnect');
      return held;
    };
    const client = new KMSClient({
      endpoint: t.server.endpoint, region: 'us-east-1', credentials: t.credentials, maxAttempts: 1,
      // Kept alive, as the SDK's own agent keeps its connections: the next newcomer must find it idle, not gone.
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca, keepAlive: true }) }),
    });
    try {
      await test(t, { openTls, client, lines });
    } finally {
      client.destroy();
      await t.dispose();
    }
  }
  const logged = (lines: Line[], message: string) => lines.some((l) => l.message === message && l.fields?.maxConnections === MAX_CONNECTIONS);

  it('closes the connection idle the longest to make room: one in its handshake is idle from its arrival, its TLS socket from its handshake\'s end', { timeout: 10_000 }, () => serveTls(async (t, { openTls, client, lines }) => {
    const all: Held[] = [];
    let lateRaw: Socket | undefined;
    try {
      // Idle in this order: a TLS connection answered, one that never starts its handshake, the raw
      // connection of one that starts it last, then TLS connections answered.
      const oldest = await answered(await openTls());
      const handshaking = hold(await open(t.server.endpoint));
      lateRaw = await open(t.server.endpoint);
      const rest: Held[] = [];
      for (let i = 0; i < MAX_CONNECTIONS - 3; i++) rest.push(await answered(await openTls()));
      // Its handshake done, it is the one idle the shortest: its raw connection's place is gone.
      const late = await openTls(lateRaw);
      all.push(oldest, handshaking, late, ...rest);
      assert.equal(all.length, MAX_CONNECTIONS);
      assert.ok(Array.isArray((await client.send(new ListKeysCommand({}))).Keys));
      await oldest.closed;
      const newcomers = [await openTls()];
      await handshaking.closed;
      newcomers.push(await openTls());
      await rest[0]!.closed;
      await settle();
      assert.deepEqual(all.map((h) => h.isClosed()), [true, true, false, true, ...rest.slice(1).map(() => false)]);
      assert.deepEqual(newcomers.map((h) => h.isClosed()), [false, false]);
      assert.ok(logged(lines, 'idle connections closed'), JSON.stringify(lines));
      assert.ok(!logged(lines, 'connections refused'), 'no newcomer was refused');
      await answered(late);
      await answered(rest[1]!);
      all.push(...newcomers);
    } finally {
      lateRaw?.destroy();
      for (const h of all) h.socket.destroy();
    }
  }));

  it('closes the connection longest in its handshake to make room when every connection never starts one, and serves a TLS client', { timeout: 10_000 }, () => serveTls(async (t, { client, lines }) => {
    // A client that opens every connection and never sends a byte: without its handshake, no TLS
    // connection, no request, and no keep-alive to close; only the handshake timeout would end them.
    const handshaking: Held[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i++) handshaking.push(hold(await open(t.server.endpoint)));
      assert.ok(Array.isArray((await client.send(new ListKeysCommand({}))).Keys));
      await handshaking[0]!.closed;
      await settle();
      assert.deepEqual(handshaking.map((h) => h.isClosed()), [true, ...handshaking.slice(1).map(() => false)]);
      assert.ok(logged(lines, 'idle connections closed'), JSON.stringify(lines));
      assert.ok(!logged(lines, 'connections refused'), 'the TLS client was not refused');
      // Opened again as it is closed, it takes the place of the next one in its handshake; the client is still served.
      handshaking.push(hold(await open(t.server.endpoint)));
      await handshaking[1]!.closed;
      assert.ok(Array.isArray((await client.send(new ListKeysCommand({}))).Keys));
    } finally {
      for (const h of handshaking) h.socket.destroy();
    }
  }));

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
