/**
 * Runs the built `coffer` binary as a subprocess against a real server started in this process
 * through packages/server's own test helpers (compiled output, loaded at run time so this
 * package does not build against the server's test sources).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import type { KMSClient } from '@aws-sdk/client-kms';

/** The built CLI: dist/test/support/cli.js -> dist/src/main.js. */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
// From packages/cli/dist/test/support/ to packages/server/dist/test/support/.
const SERVER_SUPPORT = new URL('../../../../server/dist/test/support/server.js', import.meta.url);

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The server package's TestServer (server/test/support/server.ts), as far as CLI tests use it. */
export interface TestServer {
  readonly server: { readonly endpoint: string; readonly credentialsFile: string; readonly config: { readonly region: string; readonly accountId: string } };
  readonly dataDir: string;
  readonly credentials: Credentials;
  readonly kms: KMSClient;
  /** Stops the server; the data directory stays for a restart. */
  stop(): Promise<void>;
  /** A new server on the same data directory. */
  restart(): Promise<TestServer>;
  dispose(): Promise<void>;
}

/** `options` go to the server's startServer: e.g. `logger: (level, message, fields) => ...` sees one 'request' line per request. */
export async function startTestServer(options: object = {}): Promise<TestServer> {
  const support = (await import(SERVER_SUPPORT.href)) as { startTestServer(options: object): Promise<TestServer> };
  return support.startTestServer(options);
}

const temporaryDirs: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-cli-'));
  temporaryDirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * The test run's environment without any COFFER_ or AWS_ setting, with HOME in a fresh directory
 * and AWS_CONFIG_FILE pointing nowhere: the machine's AWS configuration cannot take part.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COFFER_') && !k.startsWith('AWS_')));
  const home = tempDir();
  return { ...env, HOME: home, AWS_CONFIG_FILE: join(home, 'no-such-config'), ...extra };
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly bytes: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly input?: string | Buffer;
}

/** Runs any program to its end, with `input` on its standard input. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<Finished> {
  const child = spawn(command, [...args], { env: options.env ?? cleanEnv(), ...(options.cwd ? { cwd: options.cwd } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  // A program may exit before reading its input (`bash -n`): that is not the test's failure.
  child.stdin.on('error', () => {});
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const bytes = Buffer.concat(out);
      resolve({ code, stdout: bytes.toString('utf8'), bytes, stderr });
    });
  });
}

export const coffer = (args: readonly string[], options: RunOptions = {}) => run(process.execPath, [MAIN, ...args], options);

/** A runner of `coffer` against a test server, signed with its administrator's key from the environment. */
export function cofferAgainst(served: TestServer): (args: readonly string[], options?: RunOptions) => Promise<Finished> {
  const env = cleanEnv({ AWS_ACCESS_KEY_ID: served.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: served.credentials.secretAccessKey });
  return (args, options = {}) => coffer([...args, '--endpoint-url', served.server.endpoint], { env, ...options });
}

/**
 * A server for one test file, started before its tests and disposed (with the temporary
 * directories) after them. Its fields are read inside tests, once `before` has run.
 */
export function serverForTests(): { readonly served: TestServer; readonly coffer: ReturnType<typeof cofferAgainst> } {
  const suite = {} as { served: TestServer; coffer: ReturnType<typeof cofferAgainst> };
  before(async () => {
    suite.served = await startTestServer();
    suite.coffer = cofferAgainst(suite.served);
  });
  after(async () => {
    await suite.served.dispose();
    removeTempDirs();
  });
  return suite;
}

/** Runs `tasks` with at most `limit` at a time: subprocesses are slow to start, but not free. */
export async function bounded<T>(limit: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** What a command printed on standard output, as JSON; a failure shows its stderr. */
export function jsonOf(finished: Finished): Record<string, unknown> {
  if (finished.code !== 0) throw new Error(`exit ${finished.code}: ${finished.stderr}`);
  return JSON.parse(finished.stdout) as Record<string, unknown>;
}
