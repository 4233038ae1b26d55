import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';

/** The built CLI, beside this file's build output: dist/test/serve.test.js -> dist/src/main.js. */
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;

const temporaryDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-cli-'));
  temporaryDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/** The environment of the test run without any COFFER_ or AWS_ setting that could leak in. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COFFER_') && !k.startsWith('AWS_')));
  return { ...env, ...extra };
}

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function collect(child: ChildProcess): { output: () => { stdout: string; stderr: string }; exited: Promise<Finished> } {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { output: () => ({ stdout, stderr }), exited };
}

/** Runs a command to its end. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv(), cwd?: string, timeout?: number): Promise<Finished> {
  const child = spawn(command, args, { env, ...(cwd ? { cwd } : {}), ...(timeout ? { timeout } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child).exited;
}

const coffer = (args: string[], env?: NodeJS.ProcessEnv) => run(process.execPath, [MAIN, ...args], env);

interface Served {
  readonly stdout: string;
  readonly endpoint: string;
  readonly port: number;
  readonly credentialsFile: string;
  /** Sends the signal and waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<Finished>;
}

/** Starts `coffer serve` and waits for its banner. */
async function serve(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Served> {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], { env, cwd: tempDir(), stdio: ['ignore', 'pipe', 'pipe'] });
  const { output, exited } = collect(child);
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in ${START_TIMEOUT_MS} ms: ${JSON.stringify(output())}`)), START_TIMEOUT_MS);
    const check = () => {
      if (/aws kms list-keys .*\n/.test(output().stdout)) {
        clearTimeout(timer);
        resolve(output().stdout);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((f) => {
      clearTimeout(timer);
      reject(new Error(`coffer serve exited (${f.code ?? f.signal}) before listening: ${f.stderr}`));
    });
  });
  const listening = /Coffer is listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(banner);
  // A file, or none for this account (a store made for another: credentialsFile is then '').
  const credentials = /^Credentials: +(\S+) \(profile \[coffer\]\)$/m.exec(banner) ?? /^Credentials: +none for account \d{12}: ()/m.exec(banner);
  if (!listening || !credentials) child.kill('SIGKILL');
  assert.ok(listening, `no 'listening on' line: ${banner}`);
  assert.ok(credentials, `no credentials line: ${banner}`);
  return {
    stdout: banner,
    endpoint: listening[1]!,
    port: Number(listening[2]),
    credentialsFile: credentials[1]!,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

function readCredentials(path: string): { accessKeyId: string; secretAccessKey: string } {
  const text = readFileSync(path, 'utf8');
  const accessKeyId = /^aws_access_key_id = (\S+)$/m.exec(text)?.[1];
  const secretAccessKey = /^aws_secret_access_key = (\S+)$/m.exec(text)?.[1];
  assert.ok(accessKeyId && secretAccessKey, `no credentials in ${path}`);
  return { accessKeyId, secretAccessKey };
}

/** An official SDK client for a served endpoint, signed with the credentials file's key. */
function client(served: Served, region: string): KMSClient {
  return new KMSClient({ endpoint: served.endpoint, region, credentials: readCredentials(served.credentialsFile), maxAttempts: 1 });
}

async function createKeyArn(served: Served, region: string): Promise<string> {
  const kms = client(served, region);
  try {
    return (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  } finally {
    kms.destroy();
  }
}

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('coffer serve', () => {
  it('prints the bound endpoint, the credentials path and an example, and serves there', async () => {
    const dataDir = tempDir();
    const served = await serve(['--port', '0', '--data-dir', dataDir]);
    try {
      assert.notEqual(served.port, 0);
      assert.equal(served.credentialsFile, join(dataDir, 'credentials'));
      assert.ok(existsSync(served.credentialsFile));
      assert.ok(served.stdout.includes(`aws kms list-keys --endpoint-url ${served.endpoint} --profile coffer`), served.stdout);
      assert.match(served.stdout, /region us-east-1, account 111122223333/);
      const kms = client(served, 'us-east-1');
      try {
        assert.deepEqual((await kms.send(new ListKeysCommand({}))).Keys, []);
      } finally {
        kms.destroy();
      }
    } finally {
      const finished = await served.stop('SIGTERM');
      assert.equal(finished.signal, null);
      assert.equal(finished.code, 0, finished.stderr);
    }
  });

  it('stops with exit code 0 on SIGTERM or SIGINT sent the moment the banner shows', async () => {
    // Repeated: a signal that beats the handler kills the process instead (exit by signal, no code).
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGINT', 'SIGTERM'] as const) {
      const served = await serve(['--port', '0', '--data-dir', tempDir()]);
      const finished = await served.stop(signal);
      assert.equal(finished.signal, null, `${signal} killed the process before its handler ran`);
      assert.equal(finished.code, 0, finished.stderr);
      // Every line the running server wrote to stderr is a JSON log line, the signal's included.
      const lines = finished.stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; signal?: string });
      assert.ok(lines.some((line) => line.msg === `${signal}: finishing in-flight requests and closing the store` && line.signal === signal), finished.stderr);
    }
  });

  it('writes the process\'s warnings (a library\'s process.emitWarning) to its log as JSON lines, not as Node\'s plain text', async () => {
    // Preloaded into the served process: once the banner is out, a warning as the AWS SDK raises one on Node 20.
    const preload = join(tempDir(), 'warn.cjs');
    writeFileSync(preload, `
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = (chunk, ...rest) => {
        if (String(chunk).includes('Coffer is listening')) setImmediate(() => process.emitWarning('support ends soon\\nsecond line', 'NodeVersionSupportWarning'));
        return write(chunk, ...rest);
      };
    `);
    const served = await serve(['--port', '0', '--data-dir', tempDir()], cleanEnv({ NODE_OPTIONS: `--require ${preload}` }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const finished = await served.stop();
    assert.equal(finished.code, 0, finished.stderr);
    const lines = finished.stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const warning = lines.find((line) => line.msg === 'process warning');
    assert.deepEqual({ level: warning?.level, warning: warning?.warning, message: warning?.message }, {
      level: 'warn', warning: 'NodeVersionSupportWarning', message: 'support ends soon\nsecond line',
    }, finished.stderr);
  });

  it('says which data directory or file is not this user\'s, for serve and the tools alike, with exit code 1', async () => {
    // Another user's directory and lock file: made by this user and used by nobody when the tests
    // run as root (root passes every permission check), made unreadable when they do not.
    const asRoot = process.getuid?.() === 0;
    const other = asRoot ? { uid: 65534, gid: 65534 } : {};
    const asOther = (args: string[]) => collect(spawn(process.execPath, [MAIN, ...args], { env: cleanEnv({ COFFER_BACKUP_PASSPHRASE: 'correct horse battery staple, twice over' }), cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...other })).exited;
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

    const closed = join(tempDir(), 'data');
    mkdirSync(closed, { mode: 0o700 });
    writeFileSync(join(closed, 'coffer.db'), '');
    if (!asRoot) chmodSync(closed, 0);
    try {
      const served = await asOther(['serve', '--port', '0', '--data-dir', closed]);
      assert.equal(served.code, 1, served.stderr);
      assert.match(served.stderr, new RegExp(`^error: The data directory ${escaped(closed)} cannot be served from \\(EACCES: permission denied, (?:stat|access) '${escaped(closed)}'\\): it is not this user's to use\\. Run Coffer as the user that owns it, or fix its permissions\\.$`, 'm'));
      // Before, the tools said the directory held no coffer.db.
      for (const tool of [['store', 'check'], ['audit', 'verify'], ['backup', '--out', join(tempDir(), 'b.tar')]]) {
        const finished = await asOther([...tool, '--data-dir', closed]);
        assert.equal(finished.code, 1, `${tool.join(' ')}: ${finished.stderr}`);
        assert.match(finished.stderr, new RegExp(`^error: The data directory ${escaped(closed)} cannot be read \\(EACCES: `, 'm'), tool.join(' '));
      }
    } finally {
      chmodSync(closed, 0o700);
    }

    // A directory open to all, holding a lock file that is not: SQLite's "unable to open database file" named nothing.
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const open = join(parent, 'data');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    writeFileSync(join(open, 'server.lock'), '', { mode: 0o600 });
    if (!asRoot) chmodSync(join(open, 'server.lock'), 0);
    const locked = await asOther(['serve', '--port', '0', '--data-dir', open]);
    assert.equal(locked.code, 1, locked.stderr);
    assert.match(locked.stderr, new RegExp(`^error: The data directory's lock file ${escaped(join(open, 'server.lock'))} could not be opened \\(EACCES: .*\\): it is not this user's to use\\.`, 'm'));

    // One that cannot be made at all.
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const unmade = await coffer(['serve', '--port', '0', '--data-dir', join(file, 'data')]);
    assert.equal(unmade.code, 1, unmade.stderr);
    assert.match(unmade.stderr, new RegExp(`^error: The data directory ${escaped(join(file, 'data'))} could not be made \\(ENOTDIR: not a directory, mkdir `, 'm'));
    // The same where the TLS key pair is made first.
    const selfSigned = await coffer(['serve', '--port', '0', '--tls-self-signed', '--data-dir', join(file, 'data')]);
    assert.equal(selfSigned.code, 1, selfSigned.stderr);
    assert.match(selfSigned.stderr, new RegExp(`^error: The data directory ${escaped(join(file, 'data'))} could not be made \\(ENOTDIR: `, 'm'));
    // A file given as the directory is not one, whoever owns it: not "not this user's".
    const asFile = await coffer(['serve', '--port', '0', '--data-dir', file]);
    assert.equal(asFile.code, 1, asFile.stderr);
    assert.match(asFile.stderr, new RegExp(`^error: The data directory ${escaped(file)} could not be made \\(EEXIST: `, 'm'));
    const checked = await coffer(['store', 'check', '--data-dir', file]);
    assert.equal(checked.code, 1, checked.stderr);
    assert.match(checked.stderr, /holds no Coffer store \(no coffer\.db\)/);
  });

  it('says when a data directory\'s own user may not write in it: serve names its mode, the tools that read say SQLite writes beside the store', async () => {
    // Its owner is the user running the commands: nobody (65534) when the tests run as root.
    const asRoot = process.getuid?.() === 0;
    const owner = asRoot ? { uid: 65534, gid: 65534 } : {};
    const asOwner = (args: string[]) => collect(spawn(process.execPath, [MAIN, ...args], { env: cleanEnv({ COFFER_BACKUP_PASSPHRASE: 'correct horse battery staple, twice over' }), cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...owner })).exited;
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const dataDir = join(parent, 'data');
    const made = await serve(['--port', '0', '--data-dir', dataDir]);
    assert.equal((await made.stop()).code, 0);
    const out = join(parent, 'out');
    mkdirSync(out);
    chmodSync(out, 0o777);
    if (asRoot) for (const name of ['', ...readdirSync(dataDir)]) chownSync(join(dataDir, name), 65534, 65534);
    // Read and enter, not write: a copy on a snapshot, or a mode set too tight.
    chmodSync(dataDir, 0o500);
    try {
      const served = await asOwner(['serve', '--port', '0', '--data-dir', dataDir]);
      assert.equal(served.code, 1, served.stderr);
      // Before: "it is not this user's to use. Run Coffer as the user that owns it", to its owner.
      assert.match(served.stderr, new RegExp(`^error: The data directory ${escaped(dataDir)} cannot be served from \\(EACCES: .*\\): its mode does not let its owner, this user, read, write and enter it\\. Fix it \\(chmod u\\+rwx ${escaped(dataDir)}\\), or give another --data-dir\\.$`, 'm'));
      for (const tool of [['store', 'check'], ['backup', '--out', join(out, 'b.tar')]]) {
        const finished = await asOwner([...tool, '--data-dir', dataDir]);
        assert.equal(finished.code, 1, `${tool.join(' ')}: ${finished.stderr}`);
        // Before: "is its disk full, failing or read-only?", of a disk that was none of these.
        assert.match(finished.stderr, new RegExp(`^error: The store ${escaped(dataDir)}/coffer\\.db could not be opened \\(attempt to write a readonly database\\): SQLite writes beside a store even to read it \\(its -wal and -shm files\\), and this user may not write in ${escaped(dataDir)}\\. `, 'm'), tool.join(' '));
      }
    } finally {
      chmodSync(dataDir, 0o700);
    }
  });

  it('says which store it could not open, and why, when the data directory\'s disk is full (a file-size limit), with exit code 1', async () => {
    const dataDir = join(tempDir(), 'data');
    // Node ignores SIGXFSZ: writes past the limit fail (EFBIG) as on a full disk.
    const finished = await run('bash', ['-c', `ulimit -f 16; exec "${process.execPath}" "${MAIN}" serve --port 0 --data-dir "${dataDir}"`]);
    assert.equal(finished.code, 1, finished.stderr);
    assert.match(finished.stderr, new RegExp(`^error: The store ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/coffer\\.db could not be opened \\(disk I/O error\\): is its disk full, failing or read-only\\? Free space or fix the disk, then start again\\.$`, 'm'));
  });

  it('serves when its standard output cannot be written (redirected to a full disk), and stops with exit code 0', async () => {
    // /dev/full fails every write with ENOSPC, as a file on a full disk does. Before, the banner's
    // failed write was an unhandled 'error' event: the server died the moment it had started.
    const dataDir = tempDir();
    const port = await freePort();
    const full = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', String(port), '--data-dir', dataDir], { env: cleanEnv(), stdio: ['ignore', full, 'pipe'] });
    closeSync(full);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? String(signal))));
    try {
      const credentials = join(dataDir, 'credentials');
      for (let waited = 0; !existsSync(credentials); waited += 50) {
        assert.ok(waited < START_TIMEOUT_MS && child.exitCode === null, `coffer serve did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const kms = new KMSClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: readCredentials(credentials), maxAttempts: 3 });
      try {
        // Three attempts: the credentials file is written a moment before the port listens.
        assert.deepEqual((await kms.send(new ListKeysCommand({}), { abortSignal: AbortSignal.timeout(10_000) })).Keys, []);
      } finally {
        kms.destroy();
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('takes its settings from COFFER_PORT, COFFER_DATA_DIR, COFFER_REGION and COFFER_ACCOUNT_ID', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const served = await serve([], cleanEnv({
      COFFER_PORT: String(port), COFFER_DATA_DIR: dataDir, COFFER_REGION: 'eu-west-2', COFFER_ACCOUNT_ID: '123456789012',
    }));
    try {
      assert.equal(served.port, port);
      assert.equal(served.credentialsFile, join(dataDir, 'credentials'));
      assert.match(served.stdout, /region eu-west-2, account 123456789012/);
      assert.match(await createKeyArn(served, 'eu-west-2'), /^arn:aws:kms:eu-west-2:123456789012:key\/[0-9a-f-]{36}$/);
    } finally {
      assert.equal((await served.stop()).code, 0);
    }
  });

  it('lets a flag win over its environment variable', async () => {
    const envDir = tempDir();
    const flagDir = tempDir();
    // COFFER_PORT is not even a number: the --port flag means it is never read.
    const served = await serve(['--port', '0', '--data-dir', flagDir, '--region', 'ap-southeast-2', '--account-id', '210987654321'], cleanEnv({
      COFFER_PORT: 'abc', COFFER_DATA_DIR: envDir, COFFER_REGION: 'eu-west-2', COFFER_ACCOUNT_ID: '123456789012',
    }));
    try {
      assert.equal(served.credentialsFile, join(flagDir, 'credentials'));
      assert.equal(existsSync(join(envDir, 'credentials')), false);
      assert.match(await createKeyArn(served, 'ap-southeast-2'), /^arn:aws:kms:ap-southeast-2:210987654321:key\//);
    } finally {
      assert.equal((await served.stop()).code, 0);
    }
  });

  it('takes settings from --config FILE, below the environment and the flags', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = join(dir, 'coffer.json');
    // data-dir is relative to the file; region is overridden by COFFER_REGION, account-id by the flag.
    writeFileSync(config, JSON.stringify({ port, 'data-dir': 'state', region: 'eu-west-1', 'account-id': '123456789012', partition: 'aws' }));
    const served = await serve(['--config', config, '--account-id', '210987654321'], cleanEnv({ COFFER_REGION: 'eu-west-2' }));
    try {
      assert.equal(served.port, port);
      assert.equal(served.credentialsFile, join(dir, 'state', 'credentials'));
      assert.match(await createKeyArn(served, 'eu-west-2'), /^arn:aws:kms:eu-west-2:210987654321:key\//);
    } finally {
      assert.equal((await served.stop()).code, 0);
    }
    // COFFER_CONFIG names the file too. The store in 'state' was made for the flag's account: the
    // banner says that no credentials serve the file's, rather than name a file it did not write.
    const fromEnv = await serve([], cleanEnv({ COFFER_CONFIG: config }));
    try {
      assert.equal(fromEnv.port, port);
      assert.match(fromEnv.stdout, /region eu-west-1, account 123456789012/);
      assert.match(fromEnv.stdout, /^Credentials: +none for account 123456789012: this store was made for arn:aws:iam::210987654321:root: start it with --account-id 210987654321 to use its credentials$/m);
      assert.doesNotMatch(fromEnv.stdout, /AWS_SHARED_CREDENTIALS_FILE/);
    } finally {
      assert.equal((await fromEnv.stop()).code, 0);
    }
  });

  it('refuses a config file with an unknown setting or bad JSON (exit 2), or none there (exit 5)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'unknown.json'), JSON.stringify({ prot: 4600 }));
    writeFileSync(join(dir, 'bad.json'), '{"port": ');
    const unknown = await coffer(['serve', '--config', join(dir, 'unknown.json')]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: .*unknown setting 'prot'/m);
    assert.match(unknown.stderr, /^hint: the settings are: host, port, /m);
    const bad = await coffer(['serve', '--config', join(dir, 'bad.json')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: .*bad\.json' is not valid JSON$/m);
    // Its place, never V8's quote of the text around the fault (here a password in the store URL).
    writeFileSync(join(dir, 'password.json'), '{"store": postgres://coffer:s3cret-pw@db/coffer}');
    const password = await coffer(['serve', '--config', join(dir, 'password.json')]);
    assert.equal(password.code, 2);
    assert.match(password.stderr, /^error: .*password\.json' is not valid JSON at line 1, column \d+$/m);
    assert.equal(password.stderr.includes('s3cret'), false, password.stderr);
    // A setting that is neither text, a number nor true/false: the hint says what it takes.
    for (const [key, takes] of [['workers', 'a number (or a string)'], ['port', 'a number (or a string)'], ['tls-self-signed', 'true or false'], ['region', 'a string']] as const) {
      writeFileSync(join(dir, 'null.json'), JSON.stringify({ [key]: null }));
      const nulled = await coffer(['serve', '--config', join(dir, 'null.json')]);
      assert.equal(nulled.code, 2, nulled.stderr);
      // Before, workers too was to be given "a string".
      assert.match(nulled.stderr, new RegExp(`^hint: give '${key}' ${takes.replace(/[()]/g, '\\$&')}$`, 'm'));
    }
    writeFileSync(join(dir, 'number-path.json'), JSON.stringify({ 'data-dir': 5 }));
    const numberPath = await coffer(['serve', '--config', join(dir, 'number-path.json')]);
    assert.equal(numberPath.code, 2);
    assert.match(numberPath.stderr, /^error: .*sets 'data-dir' to 5/m);
    const missing = await coffer(['serve', '--config', join(dir, 'none.json')]);
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /^error: cannot read the config file .*ENOENT/m);
    assert.match(missing.stderr, /^hint: /m);
  });

  it('refuses --port abc with exit code 2, an error and a hint', async () => {
    const finished = await coffer(['serve', '--port', 'abc', '--data-dir', tempDir()]);
    assert.equal(finished.code, 2);
    assert.match(finished.stderr, /^error: .*'abc'/m);
    assert.match(finished.stderr, /^hint: \S/m);
    assert.equal(finished.stdout, '');
  });

  it('refuses COFFER_PORT=abc with exit code 2', async () => {
    const finished = await coffer(['serve', '--data-dir', tempDir()], cleanEnv({ COFFER_PORT: 'abc' }));
    assert.equal(finished.code, 2);
    assert.match(finished.stderr, /^error: .*'abc'/m);
  });

  it('refuses a port that is not decimal digits (an empty one would pick a random port) and a boolean that is not one', async () => {
    for (const env of [{ COFFER_PORT: ' ' }, { COFFER_PORT: '0x12f5' }, { COFFER_TLS_SELF_SIGNED: 'on' }] as Record<string, string>[]) {
      const finished = await coffer(['serve', '--data-dir', tempDir()], cleanEnv(env));
      assert.equal(finished.code, 2, `${JSON.stringify(env)}: ${finished.stderr}`);
      assert.match(finished.stderr, /^hint: \S/m);
    }
  });

  it('lets the environment switch off a boolean the config file switches on', async () => {
    const dir = tempDir();
    const config = join(dir, 'coffer.json');
    writeFileSync(config, JSON.stringify({ 'allow-insecure-http': true, host: '0.0.0.0', port: 0, 'data-dir': './data' }));
    const refused = await coffer(['serve', '--config', config], cleanEnv({ COFFER_ALLOW_INSECURE_HTTP: '0' }));
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /insecure|plain HTTP|loopback/i);
  });

  it('refuses a value option given twice with exit code 2, instead of serving on the last one', async () => {
    // Not a port anyone can bind twice over: should the option be taken, the start fails rather than hangs.
    const taken = await serve(['--port', '0', '--data-dir', tempDir()]);
    const finished = await coffer(['serve', '--port', '0', '--port', String(taken.port), '--data-dir', tempDir()]);
    await taken.stop();
    assert.equal(finished.code, 2, finished.stderr);
    assert.match(finished.stderr, /^error: option '--port' is given more than once$/m);
    assert.match(finished.stderr, /^hint: give it once; run `coffer serve --help`/m);
    assert.equal(finished.stdout, '');
  });

  it('refuses a malformed --region, --account-id, --partition, --store or an empty --host with exit code 2, an error and a hint', async () => {
    for (const [flag, value] of [['--region', 'us east'], ['--account-id', 'abc'], ['--partition', 'AWS'], ['--store', 'mysql://x'], ['--host', '']]) {
      const finished = await coffer(['serve', '--port', '0', '--data-dir', tempDir(), flag!, value!]);
      assert.equal(finished.code, 2, `${flag} ${value}: ${finished.stderr}`);
      assert.match(finished.stderr, /^error: Invalid server configuration: /m);
      assert.match(finished.stderr, /^hint: \S/m);
      assert.equal(finished.stdout, '');
    }
  });

  it('refuses an empty data directory, given as a flag or in a config file, rather than serve from the working directory', async () => {
    const cwd = tempDir();
    // A server that starts after all is stopped (SIGTERM) rather than left serving: the test fails, not hangs.
    const flag = await run(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', ''], cleanEnv(), cwd, 20_000);
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /^error: Invalid server configuration: data directory must be a path, not empty\.$/m);
    const config = join(tempDir(), 'coffer.json');
    writeFileSync(config, '{"port": 0, "data-dir": " "}');
    const fromFile = await run(process.execPath, [MAIN, 'serve', '--config', config], cleanEnv(), cwd, 20_000);
    assert.equal(fromFile.code, 2, fromFile.stderr);
    assert.match(fromFile.stderr, /^error: the config file .* sets 'data-dir' to " "$/m);
    // Before, each made its store in the working directory (or the config file's).
    assert.deepEqual(readdirSync(cwd), []);
    assert.deepEqual(readdirSync(dirname(config)), ['coffer.json']);
  });

  it('exits 5 when the root-key passphrase file cannot be read, as for any other file it reads', async () => {
    const dataDir = join(tempDir(), 'data');
    const finished = await coffer(['serve', '--port', '0', '--data-dir', dataDir, '--root-key', 'passphrase', '--root-passphrase-file', join(tempDir(), 'no-such-file')]);
    assert.equal(finished.code, 5, finished.stderr);
    assert.match(finished.stderr, /^error: cannot read the root-key passphrase file '.*no-such-file': ENOENT$/m);
    assert.match(finished.stderr, /^hint: give a readable file/m);
  });

  it('refuses an unknown option with exit code 2', async () => {
    const finished = await coffer(['serve', '--bogus']);
    assert.equal(finished.code, 2);
    assert.match(finished.stderr, /^error: .*bogus/m);
    assert.match(finished.stderr, /^hint: /m);
  });

  it('exits 1 with an error and a hint when the port is taken', async () => {
    const first = await serve(['--port', '0', '--data-dir', tempDir()]);
    try {
      const second = await coffer(['serve', '--port', String(first.port), '--data-dir', tempDir()]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /^error: .*EADDRINUSE/m);
      assert.match(second.stderr, /^hint: /m);
    } finally {
      await first.stop();
    }
  });

  it('prints its help with exit code 0', async () => {
    const finished = await coffer(['serve', '--help']);
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stdout, /^Usage: coffer serve/);
    assert.match(finished.stdout, /COFFER_PORT/);
  });
});

describe('coffer', () => {
  it('refuses an unknown command with exit code 2, an error and a hint', async () => {
    const finished = await coffer(['unknown']);
    assert.equal(finished.code, 2);
    assert.match(finished.stderr, /^error: unknown command 'unknown'/m);
    assert.match(finished.stderr, /^hint: /m);
  });

  it('prints its help with exit code 0 for --help', async () => {
    const finished = await coffer(['--help']);
    assert.equal(finished.code, 0);
    assert.match(finished.stdout, /Usage: coffer <command>/);
  });
});

describe('the AWS CLI against coffer serve', () => {
  it('creates a key, encrypts and decrypts byte-exact', async () => {
    const home = tempDir();
    const served = await serve(['--port', '0', '--data-dir', join(home, 'data')]);
    // Only what the banner printed: the machine's own AWS configuration must not take part.
    const env = cleanEnv({
      AWS_SHARED_CREDENTIALS_FILE: served.credentialsFile,
      AWS_CONFIG_FILE: join(home, 'no-such-config'),
      HOME: home,
    });
    const aws = async (...args: string[]) => {
      const finished = await run('aws', ['kms', ...args, '--endpoint-url', served.endpoint, '--profile', 'coffer',
        '--region', 'us-east-1', '--output', 'json'], env, home);
      assert.equal(finished.code, 0, `aws kms ${args[0]}: ${finished.stderr}`);
      return JSON.parse(finished.stdout) as Record<string, unknown>;
    };
    try {
      const created = await aws('create-key', '--description', 'from the AWS CLI');
      const metadata = created.KeyMetadata as Record<string, unknown>;
      assert.match(String(metadata.Arn), /^arn:aws:kms:us-east-1:111122223333:key\//);
      assert.equal(metadata.Description, 'from the AWS CLI');

      // Every byte value, zeros and a trailing newline: what a text round trip would mangle.
      const plaintext = Buffer.concat([Buffer.from([0, 0]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(700), Buffer.from('\r\n')]);
      writeFileSync(join(home, 'plaintext.bin'), plaintext);
      const encrypted = await aws('encrypt', '--key-id', String(metadata.KeyId), '--plaintext', `fileb://${join(home, 'plaintext.bin')}`);
      assert.equal(encrypted.KeyId, metadata.Arn);
      writeFileSync(join(home, 'ciphertext.bin'), Buffer.from(String(encrypted.CiphertextBlob), 'base64'));

      const decrypted = await aws('decrypt', '--ciphertext-blob', `fileb://${join(home, 'ciphertext.bin')}`);
      assert.equal(decrypted.KeyId, metadata.Arn);
      assert.ok(Buffer.from(String(decrypted.Plaintext), 'base64').equals(plaintext), 'the AWS CLI round trip changed the bytes');
    } finally {
      assert.equal((await served.stop()).code, 0);
    }
  });
});
