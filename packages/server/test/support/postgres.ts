import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/**
 * A throwaway PostgreSQL cluster for one test file: initdb into a temporary directory, a server on
 * a free loopback port (fsync on, as in production), a database per `createDatabase`, and
 * everything stopped and removed by `destroy` (or, at the latest, when the process exits).
 *
 * It needs Debian's PostgreSQL binaries (/usr/lib/postgresql/<version>/bin) and fails, rather than
 * skips, without them: `.ci/run` installs them.
 */
export interface TestPostgres {
  readonly port: number;
  /** A new, empty database; returns its connection string. */
  createDatabase(name?: string): Promise<string>;
  /**
   * Stops the server, keeping its data: `fast` cuts connections and checkpoints; `immediate` is a
   * crash as far as the data is concerned (no checkpoint; the next start replays the WAL).
   */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts the stopped server again, on the same port. */
  startServer(): Promise<void>;
  /** Stops the server and removes the cluster. */
  destroy(): Promise<void>;
}

const USER = 'coffer';

/** The newest installed PostgreSQL's bin directory, or a failure that says how to install one. */
export function findPostgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed: the PostgreSQL store tests need initdb and pg_ctl under /usr/lib/postgresql/<version>/bin. ' +
      'Run `apt-get install postgresql` (Debian\'s package; .ci/run does this) and run the tests again.');
  }
  return join(root, versions[0]!, 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

/** Root may not run the PostgreSQL server: run its tools as the `postgres` OS user then. */
function osUser(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) {
    throw new Error('Running as root, the tests start PostgreSQL as the `postgres` OS user, which does not exist: run `apt-get install postgresql`.');
  }
  return { prefix: ['runuser', '-u', 'postgres', '--'], uid, gid };
}

/** The temporary directory, if the `postgres` user can reach it (a TMPDIR under /root cannot be), else /tmp. */
function clusterParent(user: { prefix: string[] }): string {
  const parent = tmpdir();
  if (user.prefix.length === 0) return parent;
  const [command, ...rest] = [...user.prefix, 'test', '-w', parent, '-a', '-x', parent];
  return spawnSync(command!, rest, { stdio: 'ignore' }).status === 0 ? parent : '/tmp';
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  const user = osUser();
  const dir = mkdtempSync(join(clusterParent(user), 'coffer-pg-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  mkdirSync(sockets);
  if (user.uid !== undefined) {
    chownSync(dir, user.uid, user.gid!);
    chownSync(sockets, user.uid, user.gid!);
  }
  const tool = async (name: string, args: string[]) => {
    const [command, ...rest] = [...user.prefix, join(bin, name), ...args];
    try {
      return await run(command!, rest, { cwd: dir, timeout: 60_000 });
    } catch (error) {
      const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000) : '';
      throw new Error(`${name} failed: ${(error as Error).message}\n${log}`);
    }
  };

  await tool('initdb', ['-D', data, '-U', USER, '-A', 'trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const options = [
    `-p ${port}`, `-k ${sockets}`, '-c listen_addresses=127.0.0.1', '-c fsync=on', '-c synchronous_commit=on',
    '-c max_connections=100', '-c shared_buffers=32MB',
  ].join(' ');
  let running = false;
  const startServer = async () => {
    await tool('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start']);
    running = true;
  };
  const stopServer = async (mode = 'fast') => {
    if (!running) return;
    running = false;
    await tool('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
  };
  // If the test process ends without destroy (a crash, a failed hook), do not leave a server behind.
  const onExit = () => {
    if (!running) return;
    const [command, ...rest] = [...user.prefix, join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'];
    spawnSync(command!, rest, { cwd: dir, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  await startServer();

  let databases = 0;
  return {
    port,
    async createDatabase(name = `coffer_test_${process.pid}_${++databases}`) {
      const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, database: 'postgres' });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      return `postgres://${USER}@127.0.0.1:${port}/${name}`;
    },
    stopServer: (mode = 'fast') => stopServer(mode),
    startServer,
    async destroy() {
      process.off('exit', onExit);
      await stopServer('immediate');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
