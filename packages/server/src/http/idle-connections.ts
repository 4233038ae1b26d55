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
 * connection is busy, which the request timeout bounds.
 *
 * With TLS two sockets are tracked: the raw one, which is what node counts (and a connection still
 * in its handshake holds a descriptor too), and the TLS one requests arrive on, which alone can be
 * idle. A connection in its handshake is not an idle keep-alive connection: it is left to the
 * handshake timeout (20 s, server.ts). Closing a TLS socket closes its raw one at once.
 *
 * O(1) per request: a connection leaves the idle set when a request arrives and goes back in at its
 * end when its last one is answered, so the set's order (a Set keeps insertion order) is the order
 * in which they became idle. Only a newcomer past the limit looks at its first entry.
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

  constructor(maxConnections: number, shed: ConnectionsShed) {
    this.#max = maxConnections;
    this.#shed = shed;
  }

  /**
   * A connection accepted (node:http's 'connection': with TLS, the raw socket, before its
   * handshake). Past the limit, the connection idle the longest is closed to make room, or, when
   * every other connection is busy, this one. The newcomer is not idle yet here: `opened` comes after.
   */
  arrived(raw: Socket): void {
    this.#held++;
    raw.once('close', () => this.#held--);
    if (this.#held <= this.#max) return;
    const oldest = this.#oldestIdle();
    if (oldest !== undefined) {
      oldest.destroy();
      this.#shed.closedIdle();
    } else {
      raw.destroy();
      this.#shed.refused();
    }
  }

  /** The socket requests arrive on is ready for them (with TLS, its handshake done): idle until one does. */
  opened(socket: Socket): void {
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

  /** Takes the connection idle the longest out of the set; ones already closing are passed over. */
  #oldestIdle(): Socket | undefined {
    for (const socket of this.#idle) {
      this.#idle.delete(socket);
      if (!socket.destroyed) return socket;
    }
    return undefined;
  }
}
