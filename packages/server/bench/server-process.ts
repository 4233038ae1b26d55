import { performance } from 'node:perf_hooks';
import { startServer } from '../src/index.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { startBareServer } from './bare-server.js';
import { startOpenServer, type ServerHandle } from './open-server.js';

/**
 * One benchmark server in its own process, so its CPU time is its own: `node server-process.js
 * <mode> <data-dir> [store]`, started with an IPC channel by the bench. Modes:
 *   access-and-audit  the real server (startServer): SigV4, key policy and identity policy
 *                     evaluation, one chained audit record per request, a log line per request;
 *                     SQLite, or the PostgreSQL database `store` names
 *   open              the same pipeline with access control allowing everything and no audit
 *   bare              the ceiling: node:http answering a fixed small JSON body (bare-server.ts)
 * It prints its port and pid, then answers `usage` messages with its own CPU accounting and
 * stops on `stop` (exiting normally, so a --cpu-prof profile is written).
 */
export type ServerMode = 'access-and-audit' | 'open' | 'bare';

export type ToServer = { readonly type: 'usage' } | { readonly type: 'stop' };

export type FromServer =
  | { readonly type: 'ready'; readonly endpoint: string; readonly credentialsFile: string; readonly pid: number }
  | {
      readonly type: 'usage';
      readonly cpu: NodeJS.CpuUsage;
      readonly elu: ReturnType<typeof performance.eventLoopUtilization>;
      readonly rss: number;
      readonly auditSeq: number;
    };

async function main(): Promise<void> {
  const [mode, dataDir, storeUrl] = process.argv.slice(2);
  if ((mode !== 'access-and-audit' && mode !== 'open' && mode !== 'bare') || !dataDir || !process.send) {
    throw new Error('usage: server-process.js access-and-audit|open|bare <data-dir> [postgres-url], started with an IPC channel');
  }
  const store = storeUrl ?? 'sqlite';
  const server: ServerHandle = mode === 'bare'
    ? await startBareServer()
    : mode === 'open'
      ? await startOpenServer(dataDir)
      // As `coffer serve` runs, with its request log line (to stderr, which the bench sends to a
      // file); without request quotas, which would throttle the bench's one caller by design.
      : await startServer({ port: 0, dataDir, store, quotas: false });
  // A second connection, for the audit head only: how many records a run wrote (one per request, or none).
  const audit: Store | undefined = mode === 'bare' ? undefined : await openStore({ store, dataDir });

  const send = (message: FromServer) => process.send!(message);
  process.on('message', (message: ToServer) => {
    if (message.type === 'usage') {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      const rss = process.memoryUsage.rss();
      void (audit ? audit.getAuditHead() : Promise.resolve(undefined)).then((head) => send({ type: 'usage', cpu, elu, rss, auditSeq: head?.seq ?? 0 }));
    } else if (message.type === 'stop') {
      void server.close().then(async () => {
        await audit?.close();
        process.exit(0);
      });
    }
  });
  const port = new URL(server.endpoint).port;
  process.stdout.write(`coffer bench server mode=${mode} port=${port} pid=${process.pid}\n`);
  send({ type: 'ready', endpoint: server.endpoint, credentialsFile: server.credentialsFile, pid: process.pid });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
