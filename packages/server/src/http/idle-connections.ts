import type { Socket } from 'node:net';

/** What the server is told of each connection closed or refused here (connection-limits.ts logs it). */
export interface ConnectionsShed {
  closedIdle(): void;
  refused(): void;
}

/**
 * Room for a new connection when the server already holds as many as it takes, made as nginx makes
 * it: the connection idle the longest is closed. Idle means no request in flight on it: one that
 * has sent nothing yet or only part of a request's header lines, or whose requests are all answered
 * (keep-alive). One whose request has been received and is not answered yet, its body still
 * arriving or not, is busy and never closed for this; only when every connection held is busy is
 * the newcomer refused. Without this, one client holding every connection, each with a request
 * every 15 s (which restarts the headers and keep-alive timeouts), locked every other client out.
 *
 * Counted here rather than left to node:http's `maxConnections`: node drops a connection past its
 * limit before any listener sees it, so at the limit there is no moment to close an idle one for
 * the newcomer. Keeping one slot free instead would mean closing idle connections before anyone
 * needs the room (at every answer at the limit), and a newcomer that took the free slot while every
 * other connection was busy would still shut out the next one though it sat idle itself. Node's
 * limit is kept one above this one (connection-limits.ts), as a bound on descriptors should this
 * count ever be wrong: a connection past this limit is gone (an idle one, or itself) before
 * `arrived` returns, so node does not reach its own. A newcomer refused here has cost a socket and
 * a parser (with TLS, a TLS socket) where node's drop costs nothing; it is refused only when every
 * connection is busy, which the request and answer timeouts bound (stalled-answers.ts).
 *
 * With TLS two sockets are tracked: the raw one, which is what node counts (and a connection still
 * in its handshake holds a descriptor too), and the TLS one requests arrive on. A connection in its
 * handshake has no request in flight: it is idle from its arrival, as a plain connection that has
 * sent nothing yet is, and the raw socket stands for it in the idle set. Left to the handshake
 * timeout (20 s, server.ts) instead, connections that never start or never finish a handshake,
 * opened again as each is closed, would hold every place and lock every other client out. When its
 * handshake is done the TLS socket takes the raw one's place, at the end of the set (it has just
 * been active). Node gives no public link from a raw socket to its TLS socket, so the raw ones in
 * their handshake are found again by their connection's addresses and ports (unique among live
 * connections to one listening socket); each leaves that map at its handshake's end or its close,
 * whichever is first. Closing a TLS socket closes its raw one at once.
 *
 * O(1) per connection and per request: a connection leaves the idle set when a request arrives and
 * goes back in at its end when its last one is answered, so the set's order (a Set keeps insertion
 * order) is the order in which they became idle. Only a newcomer past the limit looks at its first
 * entry.
 */
export class IdleConnections {
  readonly #max: number;
  readonly #shed: ConnectionsShed;
  /**
   * Raw connections held, each until its 'close'. Node stops counting a connection when it is
   * destroyed, 'close' comes a turn of the event loop later: this count can run a little above
   * node's for that turn, never below, so a connection is at most closed (or refused) a turn early,
   * never left past the limit.
   */
  #held = 0;
  /** Connections with no request in flight, the one idle the longest first. */
  readonly #idle = new Set<Socket>();
  /** With TLS, the raw sockets still in their handshake, by `connectionKey`; undefined without TLS. */
  readonly #handshaking: Map<string, Socket> | undefined;

  /** `tls`: connections arrive raw and are opened as TLS sockets when their handshake is done. */
  constructor(maxConnections: number, shed: ConnectionsShed, tls: boolean) {
    this.#max = maxConnections;
    this.#shed = shed;
    this.#handshaking = tls ? new Map() : undefined;
  }

  /**
   * A connection accepted (node:http's 'connection': with TLS, the raw socket, before its
   * handshake). Past the limit, the connection idle the longest is closed to make room, or, when
   * every other connection is busy, this one. Without TLS the newcomer is made idle by `opened`,
   * which comes next; with TLS it is idle here, until its handshake is done.
   */
  arrived(raw: Socket): void {
    this.#held++;
    raw.once('close', () => this.#held--);
    if (this.#held > this.#max) {
      const oldest = this.#oldestIdle();
      if (oldest === undefined) {
        raw.destroy();
        this.#shed.refused();
        return;
      }
      oldest.destroy();
      this.#shed.closedIdle();
    }
    if (this.#handshaking !== undefined) this.#handshakeStarted(raw, this.#handshaking);
  }

  /**
   * The socket requests arrive on is ready for them (with TLS, its handshake done): idle until one
   * does. With TLS it takes its raw socket's place; a raw one not found (never put in the map) is
   * left as it is, counted until its close.
   */
  opened(socket: Socket): void {
    if (this.#handshaking !== undefined) {
      const key = connectionKey(socket);
      const raw = key === undefined ? undefined : this.#handshaking.get(key);
      if (raw !== undefined) {
        this.#handshaking.delete(key!);
        this.#idle.delete(raw);
      }
    }
    socket.once('close', () => this.#idle.delete(socket));
    this.idle(socket);
  }

  /** A request has arrived on the connection (its headers; the body may still be coming). */
  busy(socket: Socket): void {
    this.#idle.delete(socket);
  }

  /** The connection's last request in flight is answered: it is now the one idle the shortest. */
  idle(socket: Socket): void {
    // A response also closes when its connection does: a closed connection is not put back.
    if (socket.destroyed) return;
    this.#idle.delete(socket);
    this.#idle.add(socket);
  }

  /** Raw connections in their handshake held in the map, for tests: none may outlive its connection. */
  get handshakesForTests(): number {
    return this.#handshaking?.size ?? 0;
  }

  /**
   * A raw TLS connection in its handshake is idle from its arrival, until `opened` or its close. One
   * whose addresses cannot be read (its peer already gone) is not: it could not be found again, and
   * is left to the handshake timeout, as it closes anyway.
   */
  #handshakeStarted(raw: Socket, handshaking: Map<string, Socket>): void {
    const key = connectionKey(raw);
    if (key === undefined) return;
    handshaking.set(key, raw);
    this.#idle.add(raw);
    raw.once('close', () => {
      this.#idle.delete(raw);
      // Only its own entry: a later connection with the same addresses may have taken the key.
      if (handshaking.get(key) === raw) handshaking.delete(key);
    });
  }

  /** Takes the connection idle the longest out of the set; ones already closing are passed over. */
  #oldestIdle(): Socket | undefined {
    for (const socket of this.#idle) {
      this.#idle.delete(socket);
      if (!socket.destroyed) return socket;
    }
    return undefined;
  }
}

/**
 * What the raw socket and its TLS socket both report of their connection: its addresses and the
 * peer's port (the local port is the listening one). With the local address too, one client
 * reaching a server listening on every address through two of them, from one port, is two keys.
 */
function connectionKey(socket: Socket): string | undefined {
  const { localAddress, remoteAddress, remotePort } = socket;
  if (localAddress === undefined || remoteAddress === undefined || remotePort === undefined) return undefined;
  return `${localAddress}|${remoteAddress}|${remotePort}`;
}
