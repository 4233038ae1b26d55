import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { silentLogger, startServer } from '../src/index.js';
import { startOpenServer, type ServerHandle } from './open-server.js';

/**
 * One benchmark server in its own process, so its CPU time is its own: `node server-process.js
 * <mode> <data-dir>`, started with an IPC channel by the bench. Modes:
 *   access-and-audit  the real server (startServer): key policy and identity policy evaluation,
 *                     one chained audit record per request
 *   open              the same pipeline with access control allowing everything and no audit
 * It prints its port and pid, then answers `usage` messages with its own CPU accounting and
 * stops on `stop` (exiting normally, so a --cpu-prof profile is written).
 */
export type ServerMode = 'access-and-audit' | 'open';

export type ToServer = { readonly type: 'usage' } | { readonly type: 'stop' };

export type FromServer =
  | { readonly type: 'ready'; readonly endpoint: string; readonly credentialsFile: string; readonly pid: number }
  | { readonly type: 'usage'; readonly cpu: NodeJS.CpuUsage; readonly elu: ReturnType<typeof performance.eventLoopUtilization>; readonly auditSeq: number };

async function main(): Promise<void> {
  const [mode, dataDir] = process.argv.slice(2);
  if ((mode !== 'access-and-audit' && mode !== 'open') || !dataDir || !process.send) {
    throw new Error('usage: server-process.js access-and-audit|open <data-dir>, started with an IPC channel');
  }
  const server: ServerHandle = mode === 'open'
    ? await startOpenServer(dataDir)
    : await startServer({ port: 0, dataDir, logger: silentLogger });
  // Read-only, for the audit head: how many records a run wrote (one per request, or none at all).
  const audit = new Database(join(dataDir, 'coffer.db'), { readonly: true });
  const head = audit.prepare<[], { seq: number }>('SELECT seq FROM audit_head WHERE id = 1');

  const send = (message: FromServer) => process.send!(message);
  process.on('message', (message: ToServer) => {
    if (message.type === 'usage') {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      send({ type: 'usage', cpu, elu, auditSeq: head.get()?.seq ?? 0 });
    } else if (message.type === 'stop') {
      void server.close().then(() => {
        audit.close();
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
