import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startServer, StartupError } from '../src/index.js';
import { selfSignedPair } from '../src/tls/self-signed.js';
import { startServerProcess } from './support/server-process.js';
import { errorOf, startTestServer, tempDataDir, type Credentials, type TestServer } from './support/server.js';

/** The official client, trusting exactly the CA it is given (or only the system's when none is). */
function tlsClient(endpoint: string, credentials: Credentials, ca?: string): KMSClient {
  return new KMSClient({
    endpoint, region: 'us-east-1', credentials, maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent(ca === undefined ? {} : { ca }) }),
  });
}

/** A key policy that refuses Encrypt over plain HTTP: AWS's usual aws:SecureTransport guard. */
const policyRequiringTls = (account: string) => JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
    { Sid: 'Deny without TLS', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Encrypt', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
  ],
});

describe('TLS', () => {
  let t: TestServer;
  let kms: KMSClient;

  before(async () => {
    t = await startTestServer({ tls: { selfSigned: true } });
    kms = tlsClient(t.server.endpoint, t.credentials, t.server.tlsCertificate);
  });
  after(async () => {
    kms.destroy();
    await t.dispose();
  });

  it('serves https with a self-signed certificate for the loopback names, its fingerprint given', () => {
    assert.match(t.server.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    const cert = new X509Certificate(t.server.tlsCertificate!);
    assert.equal(t.server.tlsFingerprint, cert.fingerprint256);
    assert.equal(cert.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(cert.checkHost('localhost'));
    assert.ok(cert.checkIP('127.0.0.1'));
    assert.equal(cert.checkHost('example.com'), undefined);
    assert.equal(statSync(join(t.dataDir, 'tls-self-signed.key')).mode & 0o777, 0o600);
  });

  it('the official client given the certificate as its CA encrypts and decrypts', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const sealed = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('over tls') }));
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), 'over tls');
  });

  it('a client without the CA refuses the certificate', async () => {
    const untrusting = tlsClient(t.server.endpoint, t.credentials);
    try {
      const error = await errorOf(() => untrusting.send(new CreateKeyCommand({})));
      assert.match(`${(error as NodeJS.ErrnoException).code} ${error.message}`, /SELF_SIGNED|self-signed|self signed/i);
    } finally {
      untrusting.destroy();
    }
  });

  it('aws:SecureTransport is true over TLS and false over plain HTTP', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: policyRequiringTls(t.server.config.accountId) }));
    await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('allowed') }));
    // The same data directory served over plain HTTP on loopback.
    await t.stop();
    const plain = await startTestServer({ dataDir: t.dataDir });
    try {
      assert.match(plain.server.endpoint, /^http:\/\//);
      const denied = await errorOf(() => plain.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('refused') })));
      assert.equal(denied.name, 'AccessDeniedException');
    } finally {
      await plain.stop();
    }
    // And the self-signed pair is reused on the next start: same fingerprint.
    const fingerprint = t.server.tlsFingerprint;
    t = await startTestServer({ dataDir: t.dataDir, tls: { selfSigned: true } });
    kms.destroy();
    kms = tlsClient(t.server.endpoint, t.credentials, t.server.tlsCertificate);
    assert.equal(t.server.tlsFingerprint, fingerprint);
    await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('allowed again') }));
  });
});

describe('TLS with given files, and plain HTTP off loopback', () => {
  it('--tls-cert/--tls-key files are served; a key that is not the certificate\'s stops the start', async () => {
    const dir = tempDataDir();
    const other = tempDataDir();
    try {
      const pair = await selfSignedPair(other);
      writeFileSync(join(dir, 'server.crt'), pair.cert);
      writeFileSync(join(dir, 'server.key'), pair.key, { mode: 0o600 });
      const t = await startTestServer({ dataDir: join(dir, 'data'), tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') } });
      const kms = tlsClient(t.server.endpoint, t.credentials, pair.cert);
      try {
        assert.equal(t.server.tlsFingerprint, new X509Certificate(pair.cert).fingerprint256);
        await kms.send(new CreateKeyCommand({}));
      } finally {
        kms.destroy();
        await t.dispose();
      }
      rmSync(other, { recursive: true });
      mkdirSync(other);
      const mismatched = await selfSignedPair(other);
      writeFileSync(join(dir, 'other.key'), mismatched.key, { mode: 0o600 });
      await assert.rejects(
        startServer({ port: 0, dataDir: join(dir, 'data2'), logger: () => {}, tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'other.key') } }),
        (error: unknown) => error instanceof StartupError && /not the private key of the certificate/.test(error.message));
      // Refused before the store: nothing was made in the data directory.
      assert.deepEqual(existsSync(join(dir, 'data2')) ? readdirSync(join(dir, 'data2')) : [], []);
      // A key of another type than the certificate's, and a chain whose first certificate is not
      // the key's: OpenSSL loads both, and then fails every handshake.
      const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
      writeFileSync(join(dir, 'rsa.key'), rsaKey, { mode: 0o600 });
      writeFileSync(join(dir, 'reversed.crt'), `${mismatched.cert.trim()}\n${pair.cert.trim()}\n`);
      await assert.rejects(
        startServer({ port: 0, dataDir: join(dir, 'data2'), logger: () => {}, tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'rsa.key') } }),
        (error: unknown) => error instanceof StartupError && /not the private key of the certificate/.test(error.message));
      await assert.rejects(
        startServer({ port: 0, dataDir: join(dir, 'data2'), logger: () => {}, tls: { certFile: join(dir, 'reversed.crt'), keyFile: join(dir, 'server.key') } }),
        (error: unknown) => error instanceof StartupError && /not the private key of the certificate .*put the chain after it/.test(error.message));
      // An expired certificate serves, with a warning: clients that check certificates will refuse it.
      const old = tempDataDir();
      const expired = await selfSignedPair(old, Date.now() - 500 * 86_400_000);
      writeFileSync(join(dir, 'expired.crt'), expired.cert);
      writeFileSync(join(dir, 'expired.key'), expired.key, { mode: 0o600 });
      const lines: string[] = [];
      const served = await startServer({ port: 0, dataDir: join(dir, 'data4'), quotas: false, logger: (level, message) => lines.push(`${level} ${message}`), tls: { certFile: join(dir, 'expired.crt'), keyFile: join(dir, 'expired.key') } });
      await served.close();
      rmSync(old, { recursive: true, force: true });
      assert.ok(lines.some((line) => /^warn the TLS certificate is expired \(valid .* to .*\): clients that check certificates will refuse it$/.test(line)), lines.join('\n'));
      assert.deepEqual(existsSync(join(dir, 'data2')) ? readdirSync(join(dir, 'data2')) : [], []);
      await assert.rejects(
        startServer({ port: 0, dataDir: join(dir, 'data3'), logger: () => {}, tls: { certFile: join(dir, 'missing.crt'), keyFile: join(dir, 'server.key') } }),
        (error: unknown) => error instanceof StartupError && /ENOENT/.test(error.message));
      // Key files OpenSSL would take, or refuse in words that mislead: each stops the start, naming its fault.
      const encrypted = createPrivateKey(pair.key).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pass phrase' });
      writeFileSync(join(dir, 'empty.key'), '', { mode: 0o600 });
      writeFileSync(join(dir, 'encrypted.key'), encrypted, { mode: 0o600 });
      mkdirSync(join(dir, 'key-dir'));
      const refusals: [string, RegExp][] = [
        ['empty.key', /^The TLS key file does not hold a PEM private key\.$/],
        ['encrypted.key', /^The TLS key file holds an encrypted private key; the server takes an unencrypted one/],
        ['key-dir', /^Cannot read the TLS key file '.*key-dir': it is a directory\.$/],
      ];
      for (const [keyFile, message] of refusals) {
        const outcome = await startServer({ port: 0, dataDir: join(dir, 'data5'), logger: () => {}, quotas: false, tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, keyFile) } })
          .catch((error: unknown) => error as Error);
        // Closed if it started after all, so that the failure is reported rather than the run held open.
        if (!(outcome instanceof Error)) await outcome.close();
        assert.ok(outcome instanceof StartupError && message.test(outcome.message), `${keyFile}: ${String(outcome)}`);
        assert.deepEqual(existsSync(join(dir, 'data5')) ? readdirSync(join(dir, 'data5')) : [], [], keyFile);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('a damaged self-signed pair in the data directory is made again, not a bare OpenSSL error', async () => {
    const dir = tempDataDir();
    try {
      const first = await selfSignedPair(dir);
      writeFileSync(join(dir, 'tls-self-signed.crt'), 'garbage');
      const again = await selfSignedPair(dir);
      assert.notEqual(again.cert, first.cert);
      const certificate = new X509Certificate(again.cert);
      assert.equal(Math.round((Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / 86_400_000), 397);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plain HTTP on an address that is not loopback is refused unless explicitly allowed', async () => {
    const dataDir = tempDataDir();
    try {
      await assert.rejects(startServer({ host: '0.0.0.0', port: 0, dataDir, logger: () => {} }),
        (error: unknown) => error instanceof StartupError && /not a loopback address/.test(error.message) && /--allow-insecure-http/.test(error.message));
      const allowed = await startServer({ host: '0.0.0.0', port: 0, dataDir, logger: () => {}, allowInsecureHttp: true, quotas: false });
      await allowed.close();
      const { isLoopbackHost } = await import('../src/tls/transport.js');
      for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
        assert.equal(isLoopbackHost(host), true, host);
      }
      for (const host of ['0.0.0.0', '::', '10.0.0.1', '::2', 'example.com', '127.example.com']) {
        assert.equal(isLoopbackHost(host), false, host);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('coffer serve --tls-self-signed prints the https endpoint and the fingerprint of the certificate it serves', async () => {
    const dataDir = tempDataDir();
    const server = await startServerProcess({ dataDir, args: ['--tls-self-signed'] });
    try {
      assert.match(server.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
      const cert = readFileSync(join(dataDir, 'tls-self-signed.crt'), 'utf8');
      assert.ok(server.banner.includes(`certificate SHA-256 fingerprint ${new X509Certificate(cert).fingerprint256}`), server.banner);
      const kms = tlsClient(server.endpoint, server.credentials, cert);
      try {
        await kms.send(new CreateKeyCommand({}));
      } finally {
        kms.destroy();
      }
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
