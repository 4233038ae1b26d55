import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DisableKeyCommand } from '@aws-sdk/client-kms';
import { jsonLogger } from '../src/index.js';
import { rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

/**
 * Runs every cryptographic operation, successes and failures, against a server whose log lines
 * and process output are captured, then looks for every secret that went through it: plaintexts,
 * data keys, random bytes, ciphertexts and the admin's secret access key, in base64, hex and raw
 * text. None may appear in the log, and no error response may repeat a plaintext.
 */

/** Shorter secrets could match by chance; they are still sent, just not searched for. */
const MIN_SEARCHED_BYTES = 12;

interface Secret {
  readonly label: string;
  readonly bytes: Buffer;
}

/** The spellings a secret could leak in, whole or as a prefix (a truncated log field). */
function spellings(bytes: Buffer): string[] {
  const prefix = bytes.subarray(0, MIN_SEARCHED_BYTES);
  const forms = [
    bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), bytes.toString('hex').toUpperCase(),
    prefix.toString('base64'), prefix.toString('base64url'), prefix.toString('hex'), prefix.toString('hex').toUpperCase(),
  ];
  const text = bytes.toString('utf8');
  if (/^[\x20-\x7e]+$/.test(text)) forms.push(text, text.slice(0, MIN_SEARCHED_BYTES), JSON.stringify(text).slice(1, -1));
  return forms;
}

describe('secrets stay out of logs and error messages', () => {
  let t: TestServer;
  const logLines: string[] = [];
  const processOutput: string[] = [];
  const secrets: Secret[] = [];
  const plaintexts: Secret[] = [];
  const errorResponses: Array<{ label: string; res: RawResponse }> = [];
  /** What the unauthenticated GET endpoints showed after the workload. */
  const probeOutput: string[] = [];
  let requestCount = 0;

  const keep = (label: string, value: unknown, list = secrets): void => {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'base64');
    assert.ok(bytes.length > 0, `${label} is empty`);
    if (bytes.length >= MIN_SEARCHED_BYTES) list.push({ label, bytes });
  };
  const plaintext = (label: string, bytes: Buffer): string => {
    keep(label, bytes);
    keep(label, bytes, plaintexts);
    return bytes.toString('base64');
  };

  /** Sends one request; keeps error responses for the plaintext check, and any CiphertextBlob as a secret. */
  async function call(label: string, operation: string, body: unknown, opts: { rawBody?: string } = {}): Promise<RawResponse> {
    const res = await rawRequest(t.server.endpoint, t.credentials, operation, body, opts);
    requestCount++;
    if (res.status !== 200) errorResponses.push({ label, res });
    if (res.body.CiphertextBlob !== undefined) keep(`${label} ciphertext`, res.body.CiphertextBlob);
    return res;
  }
  const expect = async (label: string, operation: string, body: unknown, type: string, opts: { rawBody?: string } = {}) => {
    const res = await call(label, operation, body, opts);
    assert.equal(String(res.body.__type).split('#').pop(), type, `${label}: ${res.status} ${res.text}`);
    return res;
  };
  const succeed = async (label: string, operation: string, body: unknown) => {
    const res = await call(label, operation, body);
    assert.equal(res.status, 200, `${label}: ${res.text}`);
    return res.body;
  };

  async function workload(): Promise<void> {
    const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const otherKeyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const disabledKeyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await t.kms.send(new DisableKeyCommand({ KeyId: disabledKeyId }));
    const context = { purpose: 'no-secrets' };

    // Encrypt and Decrypt: text and binary plaintexts, with and without a context.
    const text = plaintext('text plaintext', Buffer.from(`SECRET-PLAINTEXT-${randomBytes(8).toString('hex')}`));
    const binary = plaintext('binary plaintext', randomBytes(64));
    const large = plaintext('4096-byte plaintext', randomBytes(4096));
    const sealedText = await succeed('encrypt text', 'Encrypt', { KeyId: keyId, Plaintext: text });
    const sealedBinary = await succeed('encrypt binary', 'Encrypt', { KeyId: keyId, Plaintext: binary, EncryptionContext: context });
    await succeed('encrypt large', 'Encrypt', { KeyId: keyId, Plaintext: large });
    const opened = await succeed('decrypt binary', 'Decrypt', { CiphertextBlob: sealedBinary.CiphertextBlob, EncryptionContext: context });
    assert.equal(opened.Plaintext, binary);
    await succeed('decrypt text', 'Decrypt', { CiphertextBlob: sealedText.CiphertextBlob, KeyId: keyId });

    // Encrypt failures that carry a plaintext.
    const tooLong = plaintext('4097-byte plaintext', Buffer.alloc(4097, `TOO-LONG-SECRET-${randomBytes(4).toString('hex')}`));
    await expect('encrypt 4097 bytes', 'Encrypt', { KeyId: keyId, Plaintext: tooLong }, 'ValidationException');
    const sensitive = plaintext('plaintext of failed requests', Buffer.from(`FAILED-REQUEST-SECRET-${randomBytes(8).toString('hex')}`));
    await expect('encrypt unknown key', 'Encrypt', { KeyId: 'alias/no-such-alias', Plaintext: sensitive }, 'NotFoundException');
    await expect('encrypt malformed key', 'Encrypt', { KeyId: 'not-a-key', Plaintext: sensitive }, 'NotFoundException');
    await expect('encrypt disabled key', 'Encrypt', { KeyId: disabledKeyId, Plaintext: sensitive }, 'DisabledException');
    await expect('encrypt bad algorithm', 'Encrypt', { KeyId: keyId, Plaintext: sensitive, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }, 'InvalidKeyUsageException');
    await expect('encrypt bad enum', 'Encrypt', { KeyId: keyId, Plaintext: sensitive, EncryptionAlgorithm: 'NOPE' }, 'ValidationException');
    await expect('encrypt 11 grant tokens', 'Encrypt', { KeyId: keyId, Plaintext: sensitive, GrantTokens: Array(11).fill('g') }, 'ValidationException');
    await expect('encrypt wrong type', 'Encrypt', { KeyId: keyId, Plaintext: sensitive, DryRun: 'yes' }, 'SerializationException');
    await expect('encrypt DryRun', 'Encrypt', { KeyId: keyId, Plaintext: sensitive, DryRun: true }, 'DryRunOperationException');
    await expect('encrypt DryRun disabled', 'Encrypt', { KeyId: disabledKeyId, Plaintext: sensitive, DryRun: true }, 'DisabledException');
    const notBase64 = `NOT-BASE64-SECRET-${randomBytes(8).toString('hex')}!`;
    keep('plaintext that is not base64', Buffer.from(notBase64), plaintexts);
    keep('plaintext that is not base64', Buffer.from(notBase64));
    await expect('encrypt plaintext not base64', 'Encrypt', { KeyId: keyId, Plaintext: notBase64 }, 'SerializationException');
    await expect('encrypt broken JSON', 'Encrypt', undefined, 'SerializationException', {
      rawBody: `{"KeyId":"${keyId}","Plaintext":"${sensitive}",`,
    });
    await expect('encrypt JSON array', 'Encrypt', undefined, 'SerializationException', {
      rawBody: `[{"KeyId":"${keyId}","Plaintext":"${sensitive}"}]`,
    });

    // Decrypt failures.
    await expect('decrypt wrong context', 'Decrypt', { CiphertextBlob: sealedBinary.CiphertextBlob, EncryptionContext: { purpose: 'other' } }, 'InvalidCiphertextException');
    await expect('decrypt missing context', 'Decrypt', { CiphertextBlob: sealedBinary.CiphertextBlob }, 'InvalidCiphertextException');
    const tampered = Buffer.from(String(sealedBinary.CiphertextBlob), 'base64');
    tampered[tampered.length - 1]! ^= 0x01;
    keep('tampered ciphertext', tampered);
    await expect('decrypt tampered', 'Decrypt', { CiphertextBlob: tampered.toString('base64'), EncryptionContext: context }, 'InvalidCiphertextException');
    const garbage = randomBytes(100);
    keep('garbage ciphertext', garbage);
    await expect('decrypt garbage', 'Decrypt', { CiphertextBlob: garbage.toString('base64') }, 'InvalidCiphertextException');
    await expect('decrypt other key', 'Decrypt', { CiphertextBlob: sealedText.CiphertextBlob, KeyId: otherKeyId }, 'IncorrectKeyException');
    await expect('decrypt DryRun', 'Decrypt', { CiphertextBlob: sealedText.CiphertextBlob, DryRun: true }, 'DryRunOperationException');
    await expect('decrypt DryRun bad ciphertext', 'Decrypt', { CiphertextBlob: garbage.toString('base64'), DryRun: true }, 'InvalidCiphertextException');

    // ReEncrypt.
    const moved = await succeed('reencrypt', 'ReEncrypt', {
      CiphertextBlob: sealedBinary.CiphertextBlob, SourceEncryptionContext: context, DestinationKeyId: otherKeyId, DestinationEncryptionContext: { to: 'other' },
    });
    assert.equal((await succeed('decrypt moved', 'Decrypt', { CiphertextBlob: moved.CiphertextBlob, EncryptionContext: { to: 'other' } })).Plaintext, binary);
    await expect('reencrypt wrong context', 'ReEncrypt', { CiphertextBlob: sealedBinary.CiphertextBlob, DestinationKeyId: otherKeyId }, 'InvalidCiphertextException');
    await expect('reencrypt wrong source key', 'ReEncrypt', { CiphertextBlob: sealedText.CiphertextBlob, SourceKeyId: otherKeyId, DestinationKeyId: keyId }, 'IncorrectKeyException');
    await expect('reencrypt disabled destination', 'ReEncrypt', { CiphertextBlob: sealedText.CiphertextBlob, DestinationKeyId: disabledKeyId }, 'DisabledException');
    await expect('reencrypt DryRun', 'ReEncrypt', { CiphertextBlob: sealedText.CiphertextBlob, DestinationKeyId: otherKeyId, DryRun: true }, 'DryRunOperationException');

    // Data keys: every plaintext data key is a secret, and so is what Decrypt makes of the blobs.
    for (const spec of [{ KeySpec: 'AES_256' }, { KeySpec: 'AES_128' }, { NumberOfBytes: 64 }, { NumberOfBytes: 1024 }]) {
      const made = await succeed(`data key ${JSON.stringify(spec)}`, 'GenerateDataKey', { KeyId: keyId, EncryptionContext: context, ...spec });
      keep(`data key ${JSON.stringify(spec)}`, made.Plaintext);
      const again = await succeed('decrypt data key', 'Decrypt', { CiphertextBlob: made.CiphertextBlob, EncryptionContext: context });
      assert.equal(again.Plaintext, made.Plaintext);
    }
    await succeed('tiny data key', 'GenerateDataKey', { KeyId: keyId, NumberOfBytes: 1 });
    const hidden = await succeed('data key without plaintext', 'GenerateDataKeyWithoutPlaintext', { KeyId: keyId, KeySpec: 'AES_256' });
    keep('data key without plaintext, decrypted', (await succeed('decrypt hidden data key', 'Decrypt', { CiphertextBlob: hidden.CiphertextBlob })).Plaintext);
    await expect('data key DryRun', 'GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256', DryRun: true }, 'DryRunOperationException');
    await expect('data key without plaintext DryRun', 'GenerateDataKeyWithoutPlaintext', { KeyId: keyId, KeySpec: 'AES_256', DryRun: true }, 'DryRunOperationException');
    await expect('data key 1025 bytes', 'GenerateDataKey', { KeyId: keyId, NumberOfBytes: 1025 }, 'ValidationException');
    await expect('data key both sizes', 'GenerateDataKey', { KeyId: keyId, NumberOfBytes: 32, KeySpec: 'AES_256' }, 'ValidationException');
    await expect('data key disabled', 'GenerateDataKeyWithoutPlaintext', { KeyId: disabledKeyId, KeySpec: 'AES_256' }, 'DisabledException');

    // GenerateRandom.
    for (const size of [16, 32, 1024]) keep(`random ${size}`, (await succeed(`random ${size}`, 'GenerateRandom', { NumberOfBytes: size })).Plaintext);
    await succeed('random 1', 'GenerateRandom', { NumberOfBytes: 1 });
    await expect('random 0', 'GenerateRandom', { NumberOfBytes: 0 }, 'ValidationException');
    await expect('random missing', 'GenerateRandom', {}, 'ValidationException');

    // A request signed with the wrong secret, carrying a plaintext.
    const forged = await rawRequest(t.server.endpoint, { accessKeyId: t.credentials.accessKeyId, secretAccessKey: 'wrong-secret-key' }, 'Encrypt', {
      KeyId: keyId, Plaintext: sensitive,
    });
    assert.ok(forged.status >= 400 && forged.status < 500, forged.text);
    errorResponses.push({ label: 'forged signature', res: forged });
  }

  before(async () => {
    const original = { stdout: process.stdout.write, stderr: process.stderr.write };
    const capture = (stream: 'stdout' | 'stderr') =>
      ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        processOutput.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return (original[stream] as (...args: unknown[]) => boolean).call(process[stream], chunk, ...rest);
      }) as typeof process.stdout.write;
    process.stdout.write = capture('stdout');
    process.stderr.write = capture('stderr');
    try {
      t = await startTestServer({ logger: jsonLogger((line) => logLines.push(line)) });
      keep('admin secret access key', Buffer.from(t.credentials.secretAccessKey));
      await workload();
      for (const path of ['/metrics', '/healthz', '/readyz']) probeOutput.push(await (await fetch(`${t.server.endpoint}${path}`)).text());
      await t.stop();
    } finally {
      process.stdout.write = original.stdout;
      process.stderr.write = original.stderr;
    }
  });
  after(() => t.dispose());

  it('logged one line per request, with no internal error', () => {
    const lines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.msg === 'request');
    // Every call above is one request; the forged one, three CreateKey and a DisableKey add 5.
    assert.equal(requests.length, requestCount + 5);
    assert.ok(requests.some((line) => line.error === 'InvalidCiphertextException'));
    assert.ok(requests.every((line) => typeof line.requestId === 'string' && typeof line.status === 'number'));
    assert.equal(logLines.some((line) => /"level":"error"/.test(line)), false, logLines.join(''));
  });

  it('wrote JSON lines with level, time and msg, each with the request id of the request that produced it', () => {
    assert.ok(logLines.length > 0);
    for (const line of logLines.map((text) => JSON.parse(text) as Record<string, unknown>)) {
      assert.ok(['info', 'warn', 'error'].includes(String(line.level)), JSON.stringify(line));
      assert.ok(!Number.isNaN(Date.parse(String(line.time))), JSON.stringify(line));
      assert.equal(typeof line.msg, 'string');
      assert.match(String(line.requestId), /^[0-9a-f-]{36}$/, JSON.stringify(line));
    }
  });

  it('collected the secrets it looks for', () => {
    const labels = new Set(secrets.map((s) => s.label));
    for (const label of ['admin secret access key', 'text plaintext', '4097-byte plaintext', 'data key {"KeySpec":"AES_256"}', 'random 32', 'encrypt text ciphertext']) {
      assert.ok(labels.has(label), `missing ${label}`);
    }
    assert.ok(secrets.length > 25, `${secrets.length} secrets`);
  });

  it('no secret appears in any log line or in the process output', () => {
    const haystacks = { log: logLines.join('\n'), 'process output': processOutput.join(''), 'metrics and probes': probeOutput.join('\n') };
    assert.match(haystacks['metrics and probes'], /coffer_requests_total\{operation="Encrypt",outcome="success"\} \d+/);
    assert.ok(haystacks.log.length > 0);
    for (const [where, haystack] of Object.entries(haystacks)) {
      for (const secret of secrets) {
        for (const form of spellings(secret.bytes)) {
          assert.equal(haystack.includes(form), false, `${secret.label} appears in the ${where} as ${form.slice(0, 24)}...`);
        }
      }
    }
  });

  it('no error response repeats a plaintext or the secret access key', () => {
    assert.ok(errorResponses.length > 25, `${errorResponses.length} errors`);
    const searched = [...plaintexts, ...secrets.filter((s) => s.label === 'admin secret access key')];
    for (const { label, res } of errorResponses) {
      for (const secret of searched) {
        for (const form of spellings(secret.bytes)) {
          assert.equal(res.text.includes(form), false, `${label}: the response repeats ${secret.label}`);
        }
      }
    }
  });
});
