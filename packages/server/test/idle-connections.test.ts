/**
 * IdleConnections in process, with stand-ins for sockets: which connection makes room at the limit,
 * and, with TLS, that a raw connection in its handshake is idle from its arrival, gives its place
 * to its TLS socket when the handshake is done, and is forgotten when it closes. The real sockets
 * are in connection-limits.test.ts.
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { IdleConnections } from '../src/http/idle-connections.js';

const MAX = 3;

/** What IdleConnections reads of a socket: its addresses, `destroyed`, `destroy()` and 'close' (a turn later, as node's). */
class FakeSocket extends EventEmitter {
  destroyed = false;
  readonly localAddress = '127.0.0.1';
  constructor(readonly name: string, readonly remotePort: number, readonly remoteAddress: string | undefined) {
    super();
  }
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      setImmediate(() => this.emit('close'));
    }
    return this;
  }
}

let port = 40_000;
const socket = (name: string) => new FakeSocket(name, port++, '127.0.0.1');
/** The TLS socket over a raw one: another object reporting the same connection. */
const tlsOver = (raw: FakeSocket) => new FakeSocket(`${raw.name} (TLS)`, raw.remotePort, raw.remoteAddress);
const asSocket = (s: FakeSocket) => s as unknown as Socket;

function connections(tls: boolean) {
  const shed = { closedIdle: 0, refused: 0 };
  const idle = new IdleConnections(MAX, { closedIdle: () => shed.closedIdle++, refused: () => shed.refused++ }, tls);
  return { idle, shed, arrive: (s: FakeSocket) => idle.arrived(asSocket(s)), open: (s: FakeSocket) => idle.opened(asSocket(s)) };
}

const destroyed = (sockets: FakeSocket[]) => sockets.filter((s) => s.destroyed).map((s) => s.name);

describe('IdleConnections with TLS', () => {
  it('a raw connection in its handshake is idle from its arrival: the one that arrived first makes room', () => {
    const { arrive, shed } = connections(true);
    const raws = [socket('a'), socket('b'), socket('c')];
    for (const raw of raws) arrive(raw);
    const newcomer = socket('d');
    arrive(newcomer);
    assert.deepEqual(destroyed([...raws, newcomer]), ['a']);
    assert.deepEqual(shed, { closedIdle: 1, refused: 0 });
  });

  it('its TLS socket takes its place when the handshake is done, at the end of the idle set, and the raw one leaves it', () => {
    const { idle, arrive, open, shed } = connections(true);
    const [a, b, c] = [socket('a'), socket('b'), socket('c')];
    for (const raw of [a, b, c]) arrive(raw);
    const aTls = tlsOver(a);
    open(aTls);
    assert.equal(idle.handshakesForTests, 2);
    // Idle now: b, c (in their handshakes), then a's TLS socket.
    const [d, e, f] = [socket('d'), socket('e'), socket('f')];
    arrive(d);
    arrive(e);
    assert.deepEqual(destroyed([a, aTls, b, c, d, e]), ['b', 'c']);
    arrive(f);
    // a's raw socket was not in the set any more: its TLS socket is closed in its turn, not before.
    assert.deepEqual(destroyed([a, aTls, b, c, d, e, f]), ['a (TLS)', 'b', 'c']);
    assert.deepEqual(shed, { closedIdle: 3, refused: 0 });
  });

  it('a TLS socket busy with a request is not closed, nor is its raw socket', () => {
    const { idle, arrive, open, shed } = connections(true);
    const raws = [socket('a'), socket('b'), socket('c')];
    const tlsSockets = raws.map(tlsOver);
    for (const raw of raws) arrive(raw);
    for (const s of tlsSockets) {
      open(s);
      idle.busy(asSocket(s));
    }
    const newcomer = socket('d');
    arrive(newcomer);
    assert.deepEqual(destroyed([...raws, ...tlsSockets, newcomer]), ['d']);
    assert.deepEqual(shed, { closedIdle: 0, refused: 1 });
  });

  it('a raw connection closed or destroyed before its handshake ends leaves the idle set and the map', async () => {
    const { idle, arrive, shed } = connections(true);
    const [a, b, c] = [socket('a'), socket('b'), socket('c')];
    for (const raw of [a, b, c]) arrive(raw);
    assert.equal(idle.handshakesForTests, 3);
    // The handshake timeout, and a peer that left.
    a.destroy();
    b.emit('close');
    await once(a, 'close');
    assert.equal(idle.handshakesForTests, 1);
    // Two places are free: no one is closed for these; then c is the only one idle.
    const [d, e] = [socket('d'), socket('e')];
    arrive(d);
    arrive(e);
    assert.equal(c.destroyed, false);
    arrive(socket('f'));
    assert.equal(c.destroyed, true);
    assert.deepEqual(shed, { closedIdle: 1, refused: 0 });
    for (const s of [d, e]) s.destroy();
    await once(c, 'close');
    await once(e, 'close');
    assert.equal(idle.handshakesForTests, 1, 'only f, still in its handshake');
  });

  it('a TLS socket whose raw connection is not in the map (a lookup miss) is idle as any other', () => {
    const { idle, arrive, open, shed } = connections(true);
    // Its addresses could not be read at its arrival: counted, not idle, not in the map.
    const unknown = new FakeSocket('a', port++, undefined);
    arrive(unknown);
    assert.equal(idle.handshakesForTests, 0);
    const [b, c] = [socket('b'), socket('c')];
    arrive(b);
    arrive(c);
    // One that reports another connection than any raw one held.
    const stranger = socket('stranger (TLS)');
    open(stranger);
    assert.equal(idle.handshakesForTests, 2);
    const [d, e, f] = [socket('d'), socket('e'), socket('f')];
    arrive(d);
    arrive(e);
    arrive(f);
    assert.deepEqual(destroyed([unknown, b, c, stranger, d, e, f]), ['b', 'c', 'stranger (TLS)']);
    assert.deepEqual(shed, { closedIdle: 3, refused: 0 });
  });
});

describe('IdleConnections without TLS', () => {
  it('a connection is idle once opened, and nothing is kept by address', () => {
    const { idle, arrive, open, shed } = connections(false);
    const sockets = [socket('a'), socket('b'), socket('c')];
    for (const s of sockets) {
      arrive(s);
      open(s);
    }
    assert.equal(idle.handshakesForTests, 0);
    idle.busy(asSocket(sockets[0]!));
    const newcomer = socket('d');
    arrive(newcomer);
    open(newcomer);
    assert.deepEqual(destroyed([...sockets, newcomer]), ['b']);
    assert.deepEqual(shed, { closedIdle: 1, refused: 0 });
  });
});
