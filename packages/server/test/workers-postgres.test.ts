import assert from 'node:assert/strict';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { connect, createServer, type AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import pg from 'pg';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { exchange, signedBytes } from './support/raw-http.js';
import { kmsClient, rawRequest, tempDataDir } from './support/server.js';
import { CLI_MAIN, runCli, startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * `coffer serve --workers N` (cli/src/commands/serve-workers.ts): N server processes on one
 * port, over one PostgreSQL database, started as an operator would.
 */

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Gone, or a zombie its parent has yet to reap (an orphan's new parent may be slow to). */
const isGone = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
};
const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

/** The worker pids the banner names. */
function workerPids(banner: string): number[] {
  const match = /Workers: +(\d+) processes on one port \(pids ([\d, ]+)\)/.exec(banner);
  assert.ok(match, `no Workers line in:\n${banner}`);
  return match[2]!.split(', ').map(Number);
}

/** The worker numbers of the request log lines for `operation` in `output`. */
function servedBy(output: string, operation: string): Set<number> {
  const workers = new Set<number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; operation?: string; worker?: number };
    if (entry.msg === 'request' && entry.operation === operation && entry.worker !== undefined) workers.add(entry.worker);
  }
  return workers;
}

/** `count` Encrypts, each from a client of its own (so a connection of its own), and their Decrypts. */
/** Waits until the server's output matches `pattern`, failing at `deadline`. */
async function waitFor(server: ServerProcess, pattern: RegExp, deadline: number): Promise<void> {
  while (!pattern.test(server.output())) {
    assert.ok(Date.now() < deadline, `no ${pattern} in time:\n${server.output()}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function roundTrips(server: ServerProcess, keyId: string, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const kms = kmsClient(server.endpoint, server.credentials);
    try {
      const plaintext = Buffer.from(`message ${i}`);
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
      const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob }));
      assert.deepEqual(Buffer.from(Plaintext!), plaintext);
    } finally {
      kms.destroy();
    }
  }));
}

/** GET /metrics on a connection of its own (so the cluster may deal it to any worker). */
function scrape(endpoint: string): Promise<string> {
  return new Promise((done, fail) => {
    get(`${endpoint}/metrics`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => {
        if (res.statusCode === 200) done(text);
        else fail(new Error(`GET /metrics answered ${res.statusCode}: ${text}`));
      });
    }).on('error', fail);
  });
}

/** The value of the one series of `name` whose labels include every pair of `labels`. */
function seriesValue(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([label, value]) => line.includes(`${label}="${value}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('coffer serve --workers', () => {
  it('refuses several workers on SQLite, and a count that is not a number', () => {
    const sqlite = runCli(['serve', '--workers', '2', '--data-dir', tempDataDir()]);
    assert.equal(sqlite.status, 2, sqlite.stderr);
    assert.match(sqlite.stderr, /--workers 2 needs a PostgreSQL store: SQLite is served by one process/);
    // A store that is neither is named as such, not as SQLite, and its text (a password, maybe) is not repeated.
    const other = runCli(['serve', '--workers', '2', '--store', 'mysql://app:hunter2@db/keys', '--data-dir', tempDataDir()]);
    assert.equal(other.status, 2, other.stderr);
    assert.match(other.stderr, /--store must be 'sqlite' or a postgres:\/\/ connection string/);
    assert.doesNotMatch(other.stderr, /SQLite is served|hunter2/);
    for (const count of ['0', 'many', '2.5', '65', '0x2', '1e1', ' 2']) {
      const bad = runCli(['serve', '--workers', count, '--store', 'postgres://coffer@127.0.0.1:1/none', '--data-dir', tempDataDir()]);
      assert.equal(bad.status, 2, bad.stderr);
      assert.match(bad.stderr, new RegExp(`--workers must be a number from 1 to 64, not '${count.replace('.', '\\.')}'`));
    }
  });

  describe('two workers on one PostgreSQL database', () => {
    let cluster: TestPostgres;
    let url: string;
    let server: ServerProcess;
    let keyId: string;

    before(async () => {
      cluster = await startTestPostgres();
      url = await cluster.createDatabase();
      server = await startServerProcess({ dataDir: tempDataDir(), store: url, args: ['--workers', '2'] });
      keyId = (await server.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    });
    after(async () => {
      await server?.stop();
      await cluster?.destroy();
    });

    it('stops the start, exiting 1, when the first worker cannot serve (the port is taken)', async () => {
      const taken = createServer();
      await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
      try {
        const port = (taken.address() as AddressInfo).port;
        const fresh = await cluster.createDatabase();
        const cli = runCli(['serve', '--workers', '2', '--store', fresh, '--host', '127.0.0.1', '--port', String(port), '--data-dir', tempDataDir(), '--quotas', 'off']);
        assert.equal(cli.status, 1, cli.stdout + cli.stderr);
        assert.match(cli.stderr, /EADDRINUSE/);
        assert.match(cli.stderr, /worker 1 stopped before it listened \(exit code 1\); stopping/);
        assert.doesNotMatch(cli.stdout, /listening on/);
      } finally {
        taken.close();
      }
    });

    it('prints one banner naming both workers, children of the command, and both serve requests', async () => {
      assert.equal(server.banner.match(/Coffer is listening on/g)?.length, 1, server.banner);
      const pids = workerPids(server.banner);
      assert.equal(new Set(pids).size, 2);
      for (const pid of pids) {
        assert.ok(isAlive(pid), `worker ${pid} is not running`);
        assert.equal(parentOf(pid), server.child.pid);
      }
      // Connections are dealt to the workers in turn, so 40 connections reach both.
      await roundTrips(server, keyId, 40);
      assert.deepEqual([...servedBy(server.output(), 'Encrypt')].sort(), [1, 2]);
    });

    it('answers /metrics for both workers: every scrape counts every request, whichever worker takes it', async () => {
      const encrypts = (text: string) => seriesValue(text, 'coffer_requests_total', { operation: 'Encrypt', outcome: 'success' }) ?? 0;
      const before = encrypts(await scrape(server.endpoint));
      await roundTrips(server, keyId, 20);
      // Connections are dealt to the workers in turn: these scrapes reach both.
      const scrapes = await Promise.all(Array.from({ length: 8 }, () => scrape(server.endpoint)));
      for (const text of scrapes) {
        assert.equal(encrypts(text), before + 20, 'a scrape did not count every worker\'s Encrypts');
        // Read from the one store by each worker: one count, not one per worker.
        assert.equal(seriesValue(text, 'coffer_keys', { state: 'Enabled' }), 1);
      }
      assert.ok(before >= 40, `the earlier test's Encrypts are counted too: ${before}`);
    });

    it('a scrape while the store cannot count the keys in time still has every worker\'s series, only coffer_keys left out', async () => {
      // Each worker waits 2 s for its count of keys; the primary waited as long for each worker, so
      // every worker missed the cut and the scrape had only their last counters: no gauge at all.
      const encrypts = (text: string) => seriesValue(text, 'coffer_requests_total', { operation: 'Encrypt', outcome: 'success' }) ?? 0;
      const before = encrypts(await scrape(server.endpoint));
      await roundTrips(server, keyId, 10);
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE keys IN ACCESS EXCLUSIVE MODE');
        const text = await scrape(server.endpoint);
        assert.equal(encrypts(text), before + 10, 'the workers\' counts of now, not of their last scrape');
        assert.match(text, /^coffer_root_key_usable(\{[^}]*\})? 1$/m, 'the gauges are there');
        assert.doesNotMatch(text, /^coffer_keys\{/m);
      } finally {
        await locker.query('ROLLBACK').catch(() => {});
        await locker.end();
      }
    });

    it('answers GetRequestMetrics (the console\'s dashboard) for both workers, whichever takes it', async () => {
      const encrypts = (text: string) => ['success', 'error'].reduce((sum, outcome) =>
        sum + (seriesValue(text, 'coffer_requests_total', { operation: 'Encrypt', outcome }) ?? 0), 0);
      const counted = encrypts(await scrape(server.endpoint));
      assert.ok(counted >= 60, `the earlier tests' Encrypts, on both workers: ${counted}`);
      // Eight at once, so on several connections: the cluster deals them to both workers.
      const answers = await Promise.all(Array.from({ length: 8 }, () => rawRequest(server.endpoint, server.credentials,
        'GetRequestMetrics', {}, { headers: { 'x-amz-target': 'CofferAdmin.GetRequestMetrics' } })));
      for (const answer of answers) {
        assert.equal(answer.status, 200, answer.text);
        const buckets = answer.body.Buckets as { Start: number; Operations: Record<string, { Requests: number }> }[];
        const starts = buckets.map((bucket) => bucket.Start);
        assert.deepEqual(starts, [...new Set(starts)].sort((a, b) => a - b), 'one bucket per ten seconds, oldest first');
        const requests = buckets.reduce((sum, bucket) => sum + (bucket.Operations.Encrypt?.Requests ?? 0), 0);
        assert.equal(requests, counted, 'an answer did not count every worker\'s Encrypts');
      }
    });

    it('replaces a worker that dies, and the others keep answering meanwhile; /metrics still counts what it answered', async () => {
      const [victim, survivor] = workerPids(server.banner) as [number, number];
      const encrypts = (text: string) => seriesValue(text, 'coffer_requests_total', { operation: 'Encrypt', outcome: 'success' }) ?? 0;
      const before = encrypts(await scrape(server.endpoint));
      assert.ok(servedBy(server.output(), 'Encrypt').has(1), 'the victim answered Encrypts');
      process.kill(victim, 'SIGKILL');
      const deadline = Date.now() + 30_000;
      const stopped = new RegExp(`worker 1 \\(pid ${victim}\\) stopped \\(signal SIGKILL\\); starting another`);
      // Once the primary knows, it deals new connections to the survivor only.
      while (!stopped.test(server.output())) {
        assert.ok(Date.now() < deadline, `the primary did not notice within 30 s:\n${server.output()}`);
        await new Promise((done) => setTimeout(done, 20));
      }
      await roundTrips(server, keyId, 10);
      while (!/a new worker is serving \((\d+), (\d+)\)/.test(server.output())) {
        assert.ok(Date.now() < deadline, `no replacement worker within 30 s:\n${server.output()}`);
        await new Promise((done) => setTimeout(done, 100));
      }
      const now = /a new worker is serving \((\d+), (\d+)\)/.exec(server.output())!.slice(1).map(Number);
      assert.ok(now.includes(survivor) && !now.includes(victim), `workers now: ${now.join(', ')}`);
      await roundTrips(server, keyId, 40);
      // The replacement is worker 3 (cluster numbers never repeat), and it serves too.
      assert.ok(servedBy(server.output(), 'Encrypt').has(3), 'the replacement worker served no request');
      // Before: the sum fell by the victim's share, which Prometheus reads as a counter reset.
      const scrapes = await Promise.all(Array.from({ length: 4 }, () => scrape(server.endpoint)));
      for (const text of scrapes) assert.equal(encrypts(text), before + 50, 'a scrape lost the stopped worker\'s Encrypts');
    });

    /**
     * `coffer serve --workers count` on a database of its own, stopped at the end. Moving its root.key
     * away makes a worker that starts then fail, as one does while the database is down; the workers
     * already serving hold the key and go on.
     */
    async function withWorkers(count: number, body: (server: ServerProcess, rootKey: { away(): void; back(): void }) => Promise<void>): Promise<void> {
      const dataDir = tempDataDir();
      const server = await startServerProcess({ dataDir, store: await cluster.createDatabase(), args: ['--workers', String(count)] });
      const [file, aside] = [join(dataDir, 'root.key'), join(dataDir, 'root.key.away')];
      try {
        await body(server, { away: () => renameSync(file, aside), back: () => renameSync(aside, file) });
      } finally {
        await server.stop();
      }
    }

    it('keeps serving when a replacement cannot start, and tries it again until it does', async () => {
      await withWorkers(2, async (other, rootKey) => {
        const otherKey = (await other.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        const [victim] = workerPids(other.banner) as [number, number];
        rootKey.away();
        process.kill(victim, 'SIGKILL');
        const deadline = Date.now() + 30_000;
        // Why, in the primary's JSON line: before, only a plain `error:` line of the worker's said it.
        await waitFor(other, /"msg":"worker 3 stopped before it listened \(exit code 1: [^"]*root\.key[^"]*\); trying again in 1 s"/, deadline);
        assert.doesNotMatch(other.output(), /^error: /m);
        // Before, the primary stopped the surviving worker too and exited 1, for good.
        await roundTrips(other, otherKey, 10);
        assert.equal(other.child.exitCode, null, other.output());
        // Each wait is twice the last.
        await waitFor(other, /stopped before it listened \(exit code 1: [^"]*\); trying again in 2 s/, deadline);
        rootKey.back();
        await waitFor(other, /a new worker is serving \(\d+, \d+\)/, deadline);
        await roundTrips(other, otherKey, 20);
      });
    });

    it('a replacement refused as it reads its settings (its config file gone) is tried again, the primary saying why', async () => {
      const dataDir = tempDataDir();
      const config = join(dataDir, '..', `config-${process.pid}-${Date.now()}.json`);
      writeFileSync(config, JSON.stringify({ region: 'us-east-1' }));
      const server = await startServerProcess({ dataDir, store: await cluster.createDatabase(), args: ['--workers', '2', '--config', config] });
      try {
        const keyId = (await server.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        const [victim] = workerPids(server.banner) as [number, number];
        renameSync(config, `${config}.away`);
        process.kill(victim, 'SIGKILL');
        const deadline = Date.now() + 30_000;
        // Before, the replacement printed a plain error line and then hung, its channel to the
        // primary open: the primary said nothing more and never tried again.
        await waitFor(server, /"msg":"worker 3 stopped before it listened \(exit code 5: cannot read the config file [^"]*ENOENT; [^"]*\); trying again in 1 s"/, deadline);
        assert.doesNotMatch(server.output(), /^error: /m);
        renameSync(`${config}.away`, config);
        await waitFor(server, /a new worker is serving \(\d+, \d+\)/, deadline);
        await roundTrips(server, keyId, 10);
      } finally {
        await server.stop();
        rmSync(config, { force: true });
      }
    });

    it('stops at once on SIGTERM while replacements wait to be tried again, however many wait', async () => {
      await withWorkers(3, async (other, rootKey) => {
        const [first, second] = workerPids(other.banner) as [number, number, number];
        rootKey.away();
        const deadline = Date.now() + 30_000;
        process.kill(first, 'SIGKILL');
        await waitFor(other, /trying again in 8 s/, deadline);
        // A second replacement, waiting its own first second: its wait took the first one's place,
        // and the 8 s wait, no longer cleared by the stop, held the primary to its end.
        process.kill(second, 'SIGKILL');
        await waitFor(other, /trying again in 1 s[^]*trying again in 8 s[^]*trying again in 1 s/, deadline);
        const began = Date.now();
        await other.stop();
        assert.ok(Date.now() - began < 4_000, `the stop took ${Date.now() - began} ms:\n${other.output()}`);
        assert.equal(await other.exited, '0', other.output());
      });
    });

    it('ends, exiting 1, once no worker serves and none can start, rather than live on listening nowhere', async () => {
      await withWorkers(2, async (other, rootKey) => {
        rootKey.away();
        for (const pid of workerPids(other.banner)) process.kill(pid, 'SIGKILL');
        const ended = await Promise.race([other.exited, new Promise((done) => setTimeout(() => done('running'), 30_000))]);
        assert.equal(ended, '1', other.output());
        assert.match(other.output(), /no worker is serving, and workers failed to start 5 times within 60 s \(the last: worker \d+ stopped before it listened \(exit code 1: The root key file [^"]* is missing[^"]*\)\); stopping/);
      });
    });

    it('a SIGTERM while the workers start stops them all at once, and starts no more', async () => {
      // A worker still starting takes no stop message: it was sent one, ignored it for the 30 s the
      // primary waits, and the next worker was started meanwhile and served on, its primary never exiting.
      const port = await new Promise<number>((done) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as AddressInfo;
          probe.close(() => done(free));
        });
      });
      const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--workers', '2', '--store', await cluster.createDatabase(), '--host', '127.0.0.1',
        '--port', String(port), '--data-dir', tempDataDir(), '--quotas', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let printed = '';
      child.stdout.on('data', (chunk: Buffer) => { printed += chunk.toString(); });
      child.stderr.on('data', (chunk: Buffer) => { printed += chunk.toString(); });
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      // Once the primary has forked its first worker (its signal handlers are on by then), and long
      // before that worker can have started.
      const childrenOf = (pid: number) => readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((entry) => {
        try {
          return parentOf(Number(entry)) === pid;
        } catch {
          return false;
        }
      });
      while (childrenOf(child.pid!).length === 0) {
        assert.equal(child.exitCode, null, printed);
        await new Promise((done) => setTimeout(done, 10));
      }
      child.kill('SIGTERM');
      const late = setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 10_000);
      const code = await exited;
      clearTimeout(late);
      // Killed after 10 s (a worker left waiting out the 30 s, another serving on): the code is null.
      assert.equal(code, 0, `the primary did not stop within 10 s:\n${printed}`);
      assert.match(printed, /SIGTERM while starting: stopping/);
      // Nothing serves on the port afterwards.
      await assert.rejects(new Promise((done, fail) => {
        const socket = connect(port, '127.0.0.1', () => { socket.destroy(); done(undefined); });
        socket.once('error', fail);
      }), /ECONNREFUSED/);
    });

    it('a Ctrl-C that reaches every process, as a terminal\'s does, lets in-flight requests finish', async () => {
      // The primary stops its workers by message: a SIGTERM from it, after the terminal's SIGINT
      // had reached them too, was a second signal, which ends a process at once.
      const stopping = await startServerProcess({ dataDir: tempDataDir(), store: await cluster.createDatabase(), args: ['--workers', '2'] });
      const key = (await stopping.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      // Seconds of work each (an RSA key pair), on connections the cluster deals to both workers.
      const request = await signedBytes({ server: stopping, credentials: stopping.credentials }, 'GenerateDataKeyPairWithoutPlaintext',
        JSON.stringify({ KeyId: key, KeyPairSpec: 'RSA_4096' }));
      const answers = Array.from({ length: 4 }, () => exchange(stopping.endpoint, request));
      await new Promise((done) => setTimeout(done, 150));
      for (const pid of [stopping.child.pid!, ...workerPids(stopping.banner)]) process.kill(pid, 'SIGINT');
      for (const answer of await Promise.all(answers)) assert.match(answer, /^HTTP\/1\.1 200 /, answer || 'the connection closed without an answer');
      assert.equal(await stopping.exited, '0', stopping.output());
    });

    it('a closed terminal (a hangup) stops every worker as SIGTERM does, and the primary then ends by SIGHUP', async () => {
      // SIGHUP reloads the TLS certificate; a hangup used to leave the primary and workers serving
      // as orphans, holding the port, their log lines going nowhere.
      const dataDir = tempDataDir();
      const files = tempDataDir();
      const pidFile = join(files, 'pid');
      const log = join(files, 'stderr');
      const args = [process.execPath, CLI_MAIN, 'serve', '--workers', '2', '--store', await cluster.createDatabase(), '--port', '0', '--data-dir', dataDir, '--quotas', 'off'];
      const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      // On a pseudo-terminal (util-linux `script`); the shell writes its pid, then becomes the primary.
      const terminal = spawn('script', ['-qfec', `echo $$ > '${pidFile}'; exec ${quoted} 2>'${log}'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let screen = '';
      await new Promise<void>((done, fail) => {
        // The terminal ends lines with \r\n, and `.` takes no \r.
        terminal.stdout.setEncoding('utf8').on('data', (text: string) => { screen += text; if (/Workers: [^\n]*\n/.test(screen)) done(); });
        terminal.on('close', () => fail(new Error(`the terminal closed before the banner: ${screen}${readFileSync(log, 'utf8')}`)));
        setTimeout(() => { terminal.kill('SIGTERM'); fail(new Error(`no banner within 30 s: ${screen}`)); }, 30_000).unref();
      });
      const pids = [Number(readFileSync(pidFile, 'utf8')), ...workerPids(screen)];
      terminal.kill('SIGKILL');
      const waitedUntil = Date.now() + 20_000;
      while (pids.some((pid) => !isGone(pid)) && Date.now() < waitedUntil) await new Promise((done) => setTimeout(done, 100));
      const outliving = pids.filter((pid) => !isGone(pid));
      for (const pid of outliving) process.kill(pid, 'SIGKILL');
      const lines = readFileSync(log, 'utf8');
      assert.deepEqual(outliving, [], `processes outlived their terminal by 20 s:\n${lines}`);
      assert.match(lines, /"msg":"SIGHUP \(the terminal closed\): stopping 2 workers/);
      assert.equal(lines.match(/"msg":"stop asked by the primary: finishing in-flight requests/g)?.length, 2, lines);
      // Node's normal exit would have aborted, failing to restore the closed terminal's modes.
      assert.doesNotMatch(lines, /Assertion failed|Native stack trace/);
    });

    it('stops every worker on SIGTERM, exiting 0, with one audit chain across them in the store', async () => {
      const pids = [...workerPids(server.banner), ...(/a new worker is serving \((\d+), (\d+)\)/.exec(server.output())?.slice(1).map(Number) ?? [])];
      await server.stop();
      assert.equal(await server.exited, '0', server.output());
      for (const pid of pids) assert.ok(!isAlive(pid), `worker ${pid} outlived the command`);
      const check = runCli(['store', 'check', '--data-dir', server.dataDir, '--store', url]);
      assert.equal(check.status, 0, check.stdout + check.stderr);
    });
  });
});
