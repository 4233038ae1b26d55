import type { ServerResponse } from 'node:http';

/**
 * Closes the connections of answers their clients stopped taking. An answer the server has ended
 * but the socket has not finished sending waits on the client: one that never reads (its receive
 * window full) keeps the answer, and so its connection, busy for ever. No node:http timer covers
 * that state (the request timeout ends once the request is read, the keep-alive timer starts only
 * once the answer is sent), and a busy connection is never closed to make room at the connection
 * limit (idle-connections.ts): clients that pipelined large answers and never read them held every
 * connection, and every other client was refused. An answer whose connection has sent nothing more
 * for `timeoutMs` has its connection closed. A slow reader that takes some of it in that time keeps it.
 *
 * Looked at every `checkEveryMs` over the answers in flight (the server's own set), not timed per
 * answer: nearly every answer is sent as soon as it is ended. Returns what stops the looking.
 */
export function closeStalledAnswers(inFlight: ReadonlySet<ServerResponse>, timeoutMs: number, checkEveryMs: number, closed: () => void): () => void {
  /** Per answer waiting on its client: the bytes its connection had sent when last seen moving, and when. */
  const progress = new WeakMap<ServerResponse, { bytesWritten: number; since: number }>();
  const timer = setInterval(() => {
    const now = performance.now();
    for (const res of inFlight) {
      const socket = res.socket;
      if (!res.writableEnded || res.writableFinished || !socket || socket.destroyed) continue;
      const seen = progress.get(res);
      if (seen === undefined || seen.bytesWritten !== socket.bytesWritten) {
        progress.set(res, { bytesWritten: socket.bytesWritten, since: now });
      } else if (now - seen.since >= timeoutMs) {
        socket.destroy();
        closed();
      }
    }
  }, checkEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
