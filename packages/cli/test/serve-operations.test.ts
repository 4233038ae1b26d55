import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** `coffer serve`'s operations flags: --quotas, --tls-*, --allow-insecure-http, as an operator gives them. */
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-cli-ops-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  ({ ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COFFER_') && !k.startsWith('AWS_'))), ...extra });

interface Run {
  readonly banner: string;
  readonly endpoint: string;
  /** Sends the server a signal. */
  signal(name: NodeJS.Signals): void;
  /** Its stderr (the log) so far. */
  log(): string;
  /** SIGTERM, then the exit code and all output. */
  stop(): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `coffer serve`; resolves at its banner, or rejects with its output if it exits first. */
function serve(args: string[], env = cleanEnv()): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no banner: ${stdout} ${stderr}`)), 20_000);
    child.stdout.on('data', () => {
      const match = /listening on (https?:\/\/\S+)/.exec(stdout);
      if (!match || !/list-keys/.test(stdout)) return;
      clearTimeout(timer);
      done({
        banner: stdout, endpoint: match[1]!,
        signal: (name) => child.kill(name),
        log: () => stderr,
        stop: async () => {
          child.kill('SIGTERM');
          return { code: await exited, stdout, stderr };
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(Object.assign(new Error(`exited ${code}`), { code, stdout, stderr }));
    });
  });
}

const failure = async (args: string[], env?: NodeJS.ProcessEnv) => {
  try {
    const run = await serve(args, env);
    await run.stop();
  } catch (error) {
    return error as Error & { code: number; stderr: string };
  }
  throw new Error(`coffer serve ${args.join(' ')} started`);
};

const client = (endpoint: string, dataDir: string, ca?: string) => {
  const text = readFileSync(join(dataDir, 'credentials'), 'utf8');
  const credentials = { accessKeyId: /aws_access_key_id = (\S+)/.exec(text)![1]!, secretAccessKey: /aws_secret_access_key = (\S+)/.exec(text)![1]! };
  return new KMSClient({
    endpoint, region: 'us-east-1', credentials, maxAttempts: 1,
    ...(ca ? { requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca }) }) } : {}),
  });
};

describe('coffer serve: quotas, TLS and the loopback rule', () => {
  it('--quotas FILE sets the rates: a second CreateKey within the same 100 seconds is throttled', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'quotas.json'), JSON.stringify({ CreateKey: 0.01 }));
    const run = await serve(['--data-dir', join(dir, 'data'), '--quotas', join(dir, 'quotas.json')]);
    const kms = client(run.endpoint, join(dir, 'data'));
    try {
      await kms.send(new CreateKeyCommand({}));
      await assert.rejects(kms.send(new CreateKeyCommand({})), { name: 'ThrottlingException' });
    } finally {
      kms.destroy();
      assert.equal((await run.stop()).code, 0);
    }
  });

  it('a quotas file that names an unknown class, a bad rate, or cannot be read, stops the start', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ CreateKeys: 10 }));
    const unknown = await failure(['--data-dir', join(dir, 'data'), '--quotas', join(dir, 'bad.json')]);
    // The operator's input, as a file that is not JSON: exit 2 with a hint.
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: Invalid request quotas: 'CreateKeys' is not a quota class/m);
    assert.match(unknown.stderr, /^hint: fix the quotas file \(--quotas or COFFER_QUOTAS\)/m);
    writeFileSync(join(dir, 'negative.json'), JSON.stringify({ CreateKey: -1 }));
    const negative = await failure(['--data-dir', join(dir, 'data'), '--quotas', join(dir, 'negative.json')]);
    assert.equal(negative.code, 2, negative.stderr);
    const missing = await failure(['--data-dir', join(dir, 'data'), '--quotas', join(dir, 'none.json')]);
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /cannot read the quotas file/);
  });

  it('--tls-cert without --tls-key is a usage error', async () => {
    const error = await failure(['--data-dir', tempDir(), '--tls-cert', 'server.crt']);
    assert.equal(error.code, 2);
    assert.match(error.stderr, /--tls-cert and --tls-key go together/);
  });

  it('plain HTTP on 0.0.0.0 is refused with a hint, and allowed by COFFER_ALLOW_INSECURE_HTTP', async () => {
    const refused = await failure(['--data-dir', tempDir(), '--host', '0.0.0.0']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not a loopback address.*--tls-cert FILE --tls-key FILE.*--allow-insecure-http/s);
    const run = await serve(['--data-dir', tempDir(), '--host', '0.0.0.0'], cleanEnv({ COFFER_ALLOW_INSECURE_HTTP: '1' }));
    assert.match(run.endpoint, /^http:\/\/0\.0\.0\.0:\d+$/);
    assert.equal((await run.stop()).code, 0);
  });

  it('--tls-cert/--tls-key flags win over "tls-self-signed" in the config file; both in one place are a usage error', async () => {
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt')], { stdio: 'ignore' });
    writeFileSync(join(dir, 'coffer.json'), JSON.stringify({ 'data-dir': 'data', 'tls-self-signed': true }));
    const run = await serve(['--config', join(dir, 'coffer.json'), '--tls-cert', join(dir, 'server.crt'), '--tls-key', join(dir, 'server.key')]);
    const cert = readFileSync(join(dir, 'server.crt'), 'utf8');
    assert.ok(run.banner.includes(new X509Certificate(cert).fingerprint256), run.banner);
    const kms = client(run.endpoint, join(dir, 'data'), cert);
    try {
      await kms.send(new CreateKeyCommand({}));
    } finally {
      kms.destroy();
      assert.equal((await run.stop()).code, 0);
    }
    const both = await failure(['--data-dir', tempDir(), '--tls-self-signed', '--tls-cert', join(dir, 'server.crt'), '--tls-key', join(dir, 'server.key')]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--tls-self-signed cannot be combined with --tls-cert or --tls-key \(both set in the flags\)/);
  });

  it('SIGHUP reloads the TLS certificate and key for new connections, keeps the old pair when the new one is refused, and stops nothing', async () => {
    const dir = tempDir();
    const certFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    const makePair = (name: string) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' });
      return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
    };
    const first = makePair('first');
    const second = makePair('second');
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    // A refused pair stops the start before the data directory is made.
    const fresh = join(dir, 'fresh');
    const mismatched = await failure(['--data-dir', fresh, '--tls-cert', certFile, '--tls-key', join(dir, 'second.key')]);
    assert.equal(mismatched.code, 1);
    assert.equal(existsSync(fresh), false, 'no data directory left behind');

    const run = await serve(['--data-dir', join(dir, 'data'), '--tls-cert', certFile, '--tls-key', keyFile]);
    const port = Number(new URL(run.endpoint).port);
    /** The certificate a new connection is served, or the handshake's error. */
    const served = (options: ConnectionOptions = {}) => new Promise<string>((done) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
        done(socket.getPeerX509Certificate()!.fingerprint256);
        socket.end();
      });
      socket.on('error', (error) => done(`error: ${error.message}`));
    });
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    const logged = async (pattern: RegExp) => {
      for (let i = 0; i < 100 && !pattern.test(run.log()); i++) await new Promise((done) => setTimeout(done, 50));
      assert.match(run.log(), pattern);
    };
    try {
      assert.equal(await served(), fingerprint(first.cert));
      // TLS 1.2 only with forward secrecy: a client offering static RSA key exchange alone is refused.
      assert.match(await served({ maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-SHA' }), /^error: /);
      assert.equal(await served({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }), fingerprint(first.cert));

      writeFileSync(certFile, second.cert);
      writeFileSync(keyFile, second.key);
      run.signal('SIGHUP');
      await logged(/"SIGHUP: serving the TLS certificate /);
      assert.equal(await served(), fingerprint(second.cert));
      const kms = client(run.endpoint, join(dir, 'data'), second.cert);
      try {
        await kms.send(new CreateKeyCommand({}));
      } finally {
        kms.destroy();
      }

      writeFileSync(keyFile, first.key);
      run.signal('SIGHUP');
      await logged(/"SIGHUP: the TLS certificate was not reloaded, the one before is still served: The TLS key is not the private key of the certificate/);
      assert.equal(await served(), fingerprint(second.cert));
      assert.equal(run.log().includes('PRIVATE KEY'), false);
    } finally {
      assert.equal((await run.stop()).code, 0);
    }
  });

  it('SIGHUP leaves a --tls-self-signed pair as it is (renewed at a start only), and one during the stop is ignored: the request in flight is answered', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const run = await serve(['--data-dir', dir, '--tls-self-signed']);
    const port = Number(new URL(run.endpoint).port);
    const logged = async (pattern: RegExp) => {
      for (let i = 0; i < 100 && !pattern.test(run.log()); i++) await new Promise((done) => setTimeout(done, 50));
      assert.match(run.log(), pattern);
    };
    let socket: TLSSocket | undefined;
    try {
      run.signal('SIGHUP');
      await logged(/"SIGHUP: serving the generated \(--tls-self-signed\) pair, which is renewed at a start, not on reload/);
      // A request whose body is still arriving when the stop begins, and a SIGHUP during the stop.
      socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      let answer = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
      socket.on('error', () => {});
      await new Promise((done, fail) => {
        socket!.once('secureConnect', done);
        socket!.once('close', () => fail(new Error('the connection closed before its handshake')));
      });
      socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: 4\r\n\r\n{}');
      await new Promise((done) => setTimeout(done, 200));
      const stopped = run.stop();
      await logged(/SIGTERM: finishing in-flight requests/);
      run.signal('SIGHUP');
      await logged(/"SIGHUP while stopping: ignored"/);
      socket.write('  ');
      const { code } = await stopped;
      assert.equal(code, 0);
      socket.destroy();
      assert.match(answer, /^HTTP\/1\.1 4\d\d /, `the request in flight was answered: ${answer}`);
    } finally {
      // Whatever failed, nothing is left to hold the test run.
      socket?.destroy();
      run.signal('SIGKILL');
    }
  });

  it('coffer\'s own commands reach a --tls-self-signed server with the certificate the banner names (--ca-bundle or AWS_CA_BUNDLE), and say what to do without it', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    const run = await serve(['--data-dir', data, '--tls-self-signed', '--quotas', 'off']);
    const bundle = join(data, 'tls-self-signed.crt');
    const coffer = (args: string[], extra: Record<string, string> = {}) => {
      try {
        return { code: 0, stdout: execFileSync(process.execPath, [MAIN, ...args, '--endpoint-url', run.endpoint], {
          cwd: dir, env: cleanEnv({ COFFER_DATA_DIR: data, ...extra }), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
        }), stderr: '' };
      } catch (error) {
        const failed = error as { status: number; stdout: string; stderr: string };
        return { code: failed.status, stdout: failed.stdout, stderr: failed.stderr };
      }
    };
    try {
      const untrusted = coffer(['keys', 'list']);
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.stderr, /^error: UntrustedCertificate: cannot trust the certificate of https:\/\/127\.0\.0\.1:\d+ \(self[- ]signed certificate\)\nhint: pass --ca-bundle FILE \(or set AWS_CA_BUNDLE\)/);
      // The KMS operations (the AWS SDK's client) and the admin API (Coffer's own) alike.
      assert.equal(coffer(['keys', 'create', '--ca-bundle', bundle]).code, 0);
      assert.equal(coffer(['principals', 'list', '--ca-bundle', bundle]).code, 0);
      assert.equal(coffer(['principals', 'list']).code, 1);
      const listed = coffer(['keys', 'list', '--json'], { AWS_CA_BUNDLE: bundle });
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok((JSON.parse(listed.stdout) as { Keys: unknown[] }).Keys.length >= 1, 'the key made above');
      assert.equal(coffer(['principals', 'list'], { AWS_CA_BUNDLE: bundle }).code, 0);
      const missing = coffer(['keys', 'list', '--ca-bundle', join(dir, 'nope.crt')]);
      assert.equal(missing.code, 5);
      assert.match(missing.stderr, /cannot read the CA bundle .*nope\.crt: ENOENT/);
      // Listed once in a command's help, under Connection.
      assert.equal(coffer(['keys', 'list', '--help']).stdout.match(/--ca-bundle/g)?.length, 1);
    } finally {
      assert.equal((await run.stop()).code, 0);
    }
  });

  it('says a server certificate out of its dates, or for another name, is that, not a certificate that wants a --ca-bundle', async () => {
    const dir = tempDir();
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    // A CA of today, and a certificate it signed that ran out in 2020 (`openssl ca` takes explicit dates).
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2',
      '-subj', '/CN=test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    writeFileSync(join(dir, 'ca.cnf'), `[ca]\ndefault_ca = d\n[d]\ndir = ${dir}\ndatabase = $dir/index.txt\nserial = $dir/serial\nnew_certs_dir = $dir\n`
      + 'default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n[ext]\nsubjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
    ssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z',
      '-extensions', 'ext', '-notext', '-in', 'leaf.csr', '-out', 'leaf.crt');
    /** What `coffer keys list` said on stderr, trusting the test's CA. */
    const listKeysStderr = (endpoint: string): string => {
      try {
        execFileSync(process.execPath, [MAIN, 'keys', 'list', '--endpoint-url', endpoint, '--ca-bundle', join(dir, 'ca.crt')],
          { cwd: dir, env: cleanEnv({ COFFER_DATA_DIR: join(dir, 'data') }), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        return '';
      } catch (error) {
        return (error as { stderr: string }).stderr;
      }
    };
    const run = await serve(['--data-dir', join(dir, 'data'), '--tls-cert', join(dir, 'leaf.crt'), '--tls-key', join(dir, 'leaf.key'), '--quotas', 'off']);
    try {
      const stderr = listKeysStderr(run.endpoint);
      assert.match(stderr, /^error: UntrustedCertificate: cannot trust the certificate of https:\/\/127\.0\.0\.1:\d+ \(certificate has expired\)$/m);
      // Before: "pass --ca-bundle FILE (or set AWS_CA_BUNDLE)", to a command that had.
      assert.match(stderr, /^hint: the server's certificate is out of its validity dates: renew it on the server/m);
    } finally {
      assert.equal((await run.stop()).code, 0);
    }
    // In its dates, but for another address than the one asked.
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=127.0.0.2');
    writeFileSync(join(dir, 'ca.cnf'), readFileSync(join(dir, 'ca.cnf'), 'utf8').replace('IP:127.0.0.1', 'IP:127.0.0.2'));
    ssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-days', '2', '-extensions', 'ext', '-notext', '-in', 'other.csr', '-out', 'other.crt');
    const other = await serve(['--data-dir', join(dir, 'data'), '--tls-cert', join(dir, 'other.crt'), '--tls-key', join(dir, 'other.key'), '--quotas', 'off']);
    try {
      const stderr = listKeysStderr(other.endpoint);
      assert.match(stderr, /^error: UntrustedCertificate: cannot trust the certificate of https:\/\/127\.0\.0\.1:\d+ \(Hostname\/IP does not match/m);
      // Before: the --ca-bundle hint, to a command that had given the right one.
      assert.match(stderr, /^hint: the certificate is for another name: use an --endpoint-url with a name or address it was issued for$/m);
    } finally {
      assert.equal((await other.stop()).code, 0);
    }
  });

  it('a config file can turn TLS on and quotas off', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'coffer.json'), JSON.stringify({ 'data-dir': 'data', 'tls-self-signed': true, quotas: 'off' }));
    const run = await serve(['--config', join(dir, 'coffer.json')]);
    const cert = readFileSync(join(dir, 'data', 'tls-self-signed.crt'), 'utf8');
    assert.match(run.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(run.banner, /certificate SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    assert.ok(run.banner.includes(`export AWS_CA_BUNDLE=${join(dir, 'data', 'tls-self-signed.crt')}`), run.banner);
    const kms = client(run.endpoint, join(dir, 'data'), cert);
    try {
      for (let i = 0; i < 8; i++) await kms.send(new CreateKeyCommand({}));
    } finally {
      kms.destroy();
      const stopped = await run.stop();
      assert.equal(stopped.code, 0);
      assert.match(stopped.stderr, /"msg":"SIGTERM: finishing in-flight requests/);
    }
  });
});
