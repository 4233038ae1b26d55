/**
 * Groups the requests whose bodies arrived in one pass of the event loop's poll phase, and lets
 * them go on together in the check phase right after it.
 *
 * Why: node:http parses each connection's bytes in that connection's own I/O callback, and without
 * this each request would run its pipeline (SigV4, the operation, building its audit record) right
 * there, between the parsing of one request and the next. Grouped, the pipeline's steps run for
 * the whole group back to back: the requests' continuations are microtasks, which run in order,
 * so each step (verify, parse, look up the key, seal, record) is run for every request of the
 * group before the next step starts. On the reference machine that made an Encrypt of 1 KiB
 * under load ~25 % cheaper in CPU per request (docs/performance.md, "Requests in groups"); the
 * price is one setImmediate per group and no added wait: the check phase follows the poll phase
 * directly.
 */
let pending: Promise<void> | undefined;

function release(resolve: () => void): void {
  pending = undefined;
  resolve();
}

/** Resolves in the check phase of this turn of the event loop, together with every other request of the turn. */
export function joinRequestBatch(): Promise<void> {
  pending ??= new Promise<void>((resolve) => setImmediate(release, resolve));
  return pending;
}
