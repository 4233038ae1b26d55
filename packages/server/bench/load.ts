import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SignedRequest } from './signed-request.js';

const LOAD_PROCESS = fileURLToPath(new URL('./load-process.js', import.meta.url));

export interface LoadResult {
  readonly requests: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyP999Ms: number;
  readonly latencyMaxMs: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

/** One run, as sent to the load process. */
export interface LoadOrder {
  readonly endpoint: string;
  readonly request: Pick<SignedRequest, 'headers' | 'body'>;
  readonly connections: number;
  readonly seconds: number;
}

/**
 * Sends the same signed request over `connections` keep-alive connections for `seconds`, one
 * request in flight per connection: autocannon in a child process of its own (load-process.ts),
 * so that the load generator never shares an event loop with the bench or the server. Runs made
 * at the same time (several nodes loaded at once) each get their own process.
 */
export async function runLoad(endpoint: string, request: Pick<SignedRequest, 'headers' | 'body'>, connections: number, seconds: number): Promise<LoadResult> {
  const child = fork(LOAD_PROCESS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    return await new Promise<LoadResult>((done, fail) => {
      child.once('exit', (code) => fail(new Error(`the load process exited with ${code}`)));
      child.once('message', (answer: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
        if (answer.ok) done(answer.result);
        else fail(new Error(`load generator: ${answer.error}`));
      });
      child.send({ endpoint, request, connections, seconds } satisfies LoadOrder);
    });
  } finally {
    if (child.connected) child.disconnect();
  }
}
