import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KMSClient } from '@aws-sdk/client-kms';
import { kmsClient, readCredentials, type Credentials } from './server.js';

/** The built CLI, `coffer`: tests that need real server processes run `coffer serve` from it. */
export const CLI_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../cli/dist/src/main.js');

/**
 * A Coffer server in a process of its own, started as an operator would (`coffer serve`), so
 * that it can be killed with SIGKILL and so that two of them are two nodes, not two objects.
 */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly endpoint: string;
  /** What the process printed up to the line that says where it listens. */
  readonly banner: string;
  readonly dataDir: string;
  readonly credentials: Credentials;
  /** A client of the official AWS SDK, no retries. */
  readonly kms: KMSClient;
  /** Everything the process printed so far (stdout and stderr, as they came). */
  output(): string;
  /** Resolves when the process has exited, with its code or signal. */
  readonly exited: Promise<string>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop), then wait for the exit. */
  stop(): Promise<void>;
}

export async function startServerProcess(options: { dataDir: string; store?: string; port?: number; args?: readonly string[] }): Promise<ServerProcess> {
  const args = [CLI_MAIN, 'serve', '--host', '127.0.0.1', '--port', String(options.port ?? 0), '--data-dir', options.dataDir];
  if (options.store !== undefined) args.push('--store', options.store);
  // Quotas off unless the test's own args set them (a later --quotas wins).
  args.push('--quotas', 'off', ...(options.args ?? []));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<string>((done) => child.once('exit', (code, signal) => done(signal ?? String(code))));
  let output = '';
  const endpoint = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`coffer serve did not start in 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (https?:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        done(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((how) => {
      clearTimeout(timer);
      fail(new Error(`coffer serve exited (${how}) before it listened:\n${output}`));
    });
  });
  // Keep the pipes drained (the server logs a line per request), and what came kept for output().
  let printed = output;
  const keep = (chunk: Buffer) => { printed += chunk.toString('utf8'); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const credentials = readCredentials(join(options.dataDir, 'credentials'));
  const kms = kmsClient(endpoint, credentials);
  const end = async (signal: NodeJS.Signals) => {
    kms.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  // A test that fails half-way must not leave servers behind.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  void exited.then(() => process.off('exit', onExit));
  return {
    child, endpoint, banner: output, dataDir: options.dataDir, credentials, kms, exited,
    output: () => printed, kill: () => end('SIGKILL'), stop: () => end('SIGTERM'),
  };
}

/** Runs the built CLI to completion without holding this process's event loop meanwhile. */
export function runCliAsync(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI_MAIN, ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      done({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** Runs the built CLI to completion: its exit code and output. */
export function runCli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI_MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
