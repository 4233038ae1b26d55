import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { lstatSync, mkdirSync, rmSync, statSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { admin } from './support/principals.js';
import {
  errorOf, kmsClient, rawRequest, readCredentials, startTestServer, tempDataDir, type Credentials, type RawResponse, type TestServer, wrongSecret,
} from './support/server.js';

const MINUTE = 60_000;

interface SignOptions {
  readonly credentials?: Credentials;
  readonly region?: string;
  readonly service?: string;
  readonly signingDate?: Date;
  /** Add x-amz-content-sha256 to the signed headers (the signer's default). */
  readonly applyChecksum?: boolean;
  readonly headers?: Record<string, string>;
  /** Sent instead of the signed body. */
  readonly sentBody?: string;
  /** Changes the signed headers before they are sent. */
  readonly tamper?: (headers: Record<string, string>) => void;
}

/**
 * A ListKeys request signed by @smithy/signature-v4 with every input chosen by the test: the
 * date (the SDK client would correct a skewed clock on retry), the scope, the secret.
 */
async function send(t: TestServer, opts: SignOptions = {}): Promise<RawResponse> {
  const url = new URL(t.server.endpoint);
  const body = '{}';
  const signer = new SignatureV4({
    credentials: opts.credentials ?? t.credentials,
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'kms',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: opts.applyChecksum ?? false,
  });
  const signed = await signer.sign(new HttpRequest({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/',
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'TrentService.ListKeys',
      ...opts.headers,
    },
    body,
  }), { signingDate: opts.signingDate ?? new Date() });
  const headers = { ...signed.headers } as Record<string, string>;
  opts.tamper?.(headers);
  return post(t, headers, opts.sentBody ?? body);
}

async function post(t: TestServer, headers: Record<string, string>, body: string): Promise<RawResponse> {
  delete headers.host;
  const response = await fetch(t.server.endpoint, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown>, text };
}

const amzDate = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * A ListKeys request signed by hand with a `Date` header and no X-Amz-Date (the SDK signers always
 * add X-Amz-Date): SigV4's four steps, with the instant `signedAt` (by default, the one `date` names).
 * `unsigned` headers are sent without being signed (an unsigned X-Amz-Target replaces ListKeys).
 */
async function sendWithDateHeader(
  t: TestServer, date: string, signedAt = new Date(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')),
  unsigned: Record<string, string> = {}, body = '{}',
): Promise<RawResponse> {
  const url = new URL(t.server.endpoint);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1', date, host: url.host, ...('x-amz-target' in unsigned ? {} : { 'x-amz-target': 'TrentService.ListKeys' }),
  };
  const names = Object.keys(headers).sort();
  const canonicalRequest = ['POST', '/', '', ...names.map((name) => `${name}:${headers[name]}`), '', names.join(';'), sha256Hex(body)].join('\n');
  const timestamp = amzDate(signedAt);
  const scope = `${timestamp.slice(0, 8)}/us-east-1/kms/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', timestamp, scope, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer | string = `AWS4${t.credentials.secretAccessKey}`;
  for (const part of scope.split('/')) key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${t.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return post(t, { ...headers, ...unsigned }, body);
}

function assertRefused(response: RawResponse, type: string, message?: RegExp): void {
  assert.equal(response.status, 400, response.text);
  assert.equal(response.body.__type, type, response.text);
  assert.equal(response.headers.get('x-amzn-errortype'), type);
  if (message) assert.match(String(response.body.message), message);
}

describe('SigV4 authentication', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.dispose());

  it('accepts a correctly signed request', async () => {
    const response = await send(t);
    assert.equal(response.status, 200, response.text);
    assert.ok(Array.isArray(response.body.Keys));
  });

  it('accepts a request that signs x-amz-content-sha256', async () => {
    const response = await send(t, { applyChecksum: true });
    assert.equal(response.status, 200, response.text);
  });

  it('refuses an unsigned request with MissingAuthenticationTokenException', async () => {
    const response = await post(t, { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' }, '{}');
    assertRefused(response, 'MissingAuthenticationTokenException', /^Request is missing Authentication Token$/);
  });

  it('says that a presigned request (its signature in the query string) is not read, rather than that it has none', async () => {
    const url = new URL(t.server.endpoint);
    const signer = new SignatureV4({ credentials: t.credentials, region: 'us-east-1', service: 'kms', sha256: Hash.bind(null, 'sha256') });
    const presigned = await signer.presign(new HttpRequest({
      method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/',
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' }, body: '{}',
    }));
    const query = new URLSearchParams(presigned.query as Record<string, string>).toString();
    assert.match(query, /X-Amz-Signature=/);
    const response = await fetch(`${t.server.endpoint}/?${query}`, {
      method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' }, body: '{}',
    });
    const text = await response.text();
    assertRefused({ status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown>, text },
      'MissingAuthenticationTokenException', /^Request is missing Authentication Token: .*Authorization header only; query-string \(presigned\) signing is not supported\.$/);
  });

  it('refuses an unknown access key with UnrecognizedClientException', async () => {
    const response = await send(t, { credentials: { accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: t.credentials.secretAccessKey } });
    assertRefused(response, 'UnrecognizedClientException', /security token included in the request is invalid/);
  });

  it('refuses a wrong secret with InvalidSignatureException', async () => {
    const response = await send(t, { credentials: wrongSecret(t.credentials) });
    assertRefused(response, 'InvalidSignatureException', /signature we calculated does not match/);
  });

  it('refuses a body altered after signing with InvalidSignatureException', async () => {
    const response = await send(t, { sentBody: '{"Limit":1}' });
    assertRefused(response, 'InvalidSignatureException', /signature we calculated does not match/);
  });

  it('says which canonical request and string to sign it expected, as AWS does, and nothing of the secret', async () => {
    const response = await send(t, { sentBody: '{"Limit":1}' });
    const message = String(response.body.message);
    const parts = /\n\nThe Canonical String for this request should have been\n'([^']*)'\n\nThe String-to-Sign should have been\n'([^']*)'\n$/.exec(message);
    assert.ok(parts, message);
    const [, canonical, stringToSign] = parts;
    // The canonical request is over the body the server received; the string to sign hashes it.
    assert.ok(canonical!.startsWith('POST\n/\n\n'), canonical);
    assert.ok(canonical!.includes('x-amz-target:TrentService.ListKeys\n'), canonical);
    assert.ok(canonical!.endsWith(`\n${sha256Hex('{"Limit":1}')}`), canonical);
    const lines = stringToSign!.split('\n');
    assert.equal(lines[0], 'AWS4-HMAC-SHA256');
    assert.match(lines[2]!, /^\d{8}\/us-east-1\/kms\/aws4_request$/);
    assert.equal(lines[3], sha256Hex(canonical!));
    assert.equal(message.includes(t.credentials.secretAccessKey), false);
    // The audit record keeps the first paragraph: the canonical request's payload hash would let a
    // reader of the trail confirm a guessed plaintext.
    const records = (await admin(t, 'QueryAuditRecords', { Outcome: 'InvalidSignatureException', MaxItems: 5 })).Records as Array<{ errorMessage?: string }>;
    assert.ok(records.length > 0);
    for (const record of records) {
      assert.equal(record.errorMessage, 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
    }
  });

  it('refuses a request with two Host lines, which a proxy and the server could read differently', async () => {
    const url = new URL(t.server.endpoint);
    const date = amzDate(new Date());
    const raw = await new Promise<string>((done, fail) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(['POST / HTTP/1.1', `Host: ${url.host}`, 'Host: elsewhere.example', 'Content-Type: application/x-amz-json-1.1',
          'X-Amz-Target: TrentService.ListKeys', `X-Amz-Date: ${date}`, 'Content-Length: 2', 'Connection: close',
          `Authorization: AWS4-HMAC-SHA256 Credential=${t.credentials.accessKeyId}/${date.slice(0, 8)}/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
          '', '{}'].join('\r\n'));
      });
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => done(text)).on('error', fail);
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /"__type":"IncompleteSignatureException","message":"The request has more than one Host header\."/);
  });

  it('names the fault when the Authorization header comes twice, or lists its signed headers in upper case', async () => {
    const url = new URL(t.server.endpoint);
    const date = amzDate(new Date());
    const authorization = (signed: string) => `Authorization: AWS4-HMAC-SHA256 Credential=${t.credentials.accessKeyId}/${date.slice(0, 8)}/us-east-1/kms/aws4_request, SignedHeaders=${signed}, Signature=${'0'.repeat(64)}`;
    const answer = (lines: string[]) => new Promise<string>((done, fail) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(['POST / HTTP/1.1', `Host: ${url.host}`, 'Content-Type: application/x-amz-json-1.1', 'X-Amz-Target: TrentService.ListKeys',
          `X-Amz-Date: ${date}`, 'Content-Length: 2', 'Connection: close', ...lines, '', '{}'].join('\r\n'));
      });
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => done(text)).on('error', fail);
    });
    const signed = 'content-type;host;x-amz-date;x-amz-target';
    assert.match(await answer([authorization(signed), authorization(signed)]),
      /^HTTP\/1\.1 400 [^]*"__type":"IncompleteSignatureException","message":"The request has more than one Authorization header\."/);
    assert.match(await answer([authorization('Content-Type;Host;x-amz-date;x-amz-target')]),
      /^HTTP\/1\.1 400 [^]*"__type":"InvalidSignatureException","message":"SignedHeaders must name the signed headers in lower case: 'Content-Type;Host;x-amz-date;x-amz-target'\."/);
  });

  it('names the fault when X-Amz-Target comes twice (it read as the operation "CreateKey, TrentService.ListKeys")', async () => {
    const url = new URL(t.server.endpoint);
    const raw = await new Promise<string>((done, fail) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(['POST / HTTP/1.1', `Host: ${url.host}`, 'Content-Type: application/x-amz-json-1.1', 'X-Amz-Target: TrentService.CreateKey',
          'X-Amz-Target: TrentService.ListKeys', 'Content-Length: 2', 'Connection: close', '', '{}'].join('\r\n'));
      });
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => done(text)).on('error', fail);
    });
    assert.match(raw, /^HTTP\/1\.1 400 [^]*"__type":"UnknownOperationException","message":"The request has more than one X-Amz-Target header: send one, naming one operation\."/);
  });

  it('refuses a body altered after signing, even with a signed x-amz-content-sha256', async () => {
    const response = await send(t, { applyChecksum: true, sentBody: '{"Limit":1}' });
    assertRefused(response, 'InvalidSignatureException');
  });

  it('refuses an x-amz-content-sha256 that does not match the body', async () => {
    const response = await send(t, { headers: { 'x-amz-content-sha256': 'a'.repeat(64) } });
    assertRefused(response, 'InvalidSignatureException');
  });

  it('refuses a changed signed header with InvalidSignatureException', async () => {
    const response = await send(t, { tamper: (h) => { h['x-amz-target'] = 'TrentService.ListAliases'; } });
    assertRefused(response, 'InvalidSignatureException');
  });

  it('refuses a request signed 10 minutes ago: Signature expired', async () => {
    const response = await send(t, { signingDate: new Date(Date.now() - 10 * MINUTE) });
    assertRefused(response, 'InvalidSignatureException', /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z/);
  });

  it('refuses a request signed 10 minutes ahead: Signature not yet current', async () => {
    const response = await send(t, { signingDate: new Date(Date.now() + 10 * MINUTE) });
    assertRefused(response, 'InvalidSignatureException', /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z/);
  });

  it('accepts a clock 4 minutes behind or ahead', async () => {
    for (const offset of [-4 * MINUTE, 4 * MINUTE]) {
      const response = await send(t, { signingDate: new Date(Date.now() + offset) });
      assert.equal(response.status, 200, `${offset}: ${response.text}`);
    }
  });

  it('refuses a credential scoped to another region', async () => {
    const response = await send(t, { region: 'us-west-2' });
    assertRefused(response, 'InvalidSignatureException', /Credential should be scoped to a valid region/);
  });

  it('refuses the official client configured for another region', async () => {
    const other = kmsClient(t.server.endpoint, t.credentials, 'us-west-2');
    try {
      const error = await errorOf(() => other.send(new ListKeysCommand({})));
      assert.equal(error.name, 'InvalidSignatureException');
      assert.equal(error.$metadata?.httpStatusCode, 400);
    } finally {
      other.destroy();
    }
  });

  it('refuses a credential scoped to another service', async () => {
    const response = await send(t, { service: 's3' });
    assertRefused(response, 'InvalidSignatureException', /Credential should be scoped to correct service: 'kms'/);
  });

  it('refuses a credential scope whose date is not the X-Amz-Date', async () => {
    const response = await send(t, {
      tamper: (h) => { h.authorization = h.authorization!.replace(/Credential=([^/]+)\/\d{8}\//, 'Credential=$1/20200101/'); },
    });
    assertRefused(response, 'InvalidSignatureException', /Date in Credential scope does not match/);
  });

  for (const [what, value] of [
    ['no Credential', 'AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc'],
    ['no Signature', 'AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/20240101/us-east-1/kms/aws4_request, SignedHeaders=host'],
    ['a short credential scope', 'AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/us-east-1, SignedHeaders=host, Signature=abc'],
    ['another scheme', 'Bearer abc.def'],
    ['garbage', 'AWS4-HMAC-SHA256 garbage'],
  ] as const) {
    it(`refuses a malformed Authorization header (${what}) with IncompleteSignatureException`, async () => {
      const response = await send(t, { tamper: (h) => { h.authorization = value; } });
      assertRefused(response, 'IncompleteSignatureException');
    });
  }

  it('refuses an Authorization header sent twice, or with a parameter twice, even when each copy is valid', async () => {
    let headers: Record<string, string> = {};
    const once = await send(t, { tamper: (h) => { headers = { ...h }; } });
    assert.equal(once.status, 200, once.text);
    const url = new URL(t.server.endpoint);
    const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      // Raw header lines: node:http's header object takes one Authorization only.
      const lines = [...Object.entries({ ...headers, host: url.host }).flat(), 'authorization', headers.authorization!];
      const request = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: lines }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => (text += s));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      request.on('error', reject);
      request.end('{}');
    });
    assert.equal(response.status, 400, response.text);
    assert.match(response.text, /IncompleteSignatureException/);
    const twice = await send(t, { tamper: (h) => { h.authorization = `${h.authorization!}, Signature=${'0'.repeat(64)}`; } });
    assertRefused(twice, 'IncompleteSignatureException', /^Authorization header has the 'Signature' parameter more than once\.$/);
  });

  for (const value of ['20261130T999999Z', '20261330T000000Z', '20260230T000000Z']) {
    it(`refuses an X-Amz-Date that names no instant (${value}) as malformed, not as a clock problem`, async () => {
      const response = await send(t, { tamper: (h) => { h['x-amz-date'] = value; } });
      assertRefused(response, 'IncompleteSignatureException', /ISO 8601 basic format/);
    });
  }

  it('names the scheme of a foreign Authorization header, and never repeats a bare token (the message is audited)', async () => {
    const bearer = await send(t, { tamper: (h) => { h.authorization = 'Bearer eyJhbGciOiJIUzI1NiJ9.secret'; } });
    assertRefused(bearer, 'IncompleteSignatureException', /^Authorization header must use the AWS4-HMAC-SHA256 algorithm: Bearer$/);
    const tabbed = await send(t, { tamper: (h) => { h.authorization = 'Bearer\teyJhbGciOiJIUzI1NiJ9.secret'; } });
    assertRefused(tabbed, 'IncompleteSignatureException', /^Authorization header must use the AWS4-HMAC-SHA256 algorithm: Bearer$/);
    const token = 'ghp_0123456789abcdefSECRETSECRETSECRET0123';
    const bare = await send(t, { tamper: (h) => { h.authorization = token; } });
    assertRefused(bare, 'IncompleteSignatureException', /^Authorization header must use the AWS4-HMAC-SHA256 algorithm\.$/);
    assert.ok(!bare.text.includes(token.slice(0, 8)), bare.text);
  });

  it('reads the AWS4-HMAC-SHA256 scheme alone, or followed by a tab, as that scheme with its parameters missing', async () => {
    const alone = await send(t, { tamper: (h) => { h.authorization = 'AWS4-HMAC-SHA256'; } });
    assertRefused(alone, 'IncompleteSignatureException', /^Authorization header requires 'Credential' parameter\.$/);
    const tab = await send(t, { tamper: (h) => { h.authorization = h.authorization!.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256\t'); } });
    assert.equal(tab.status, 200, tab.text);
    const glued = await send(t, { tamper: (h) => { h.authorization = h.authorization!.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256X '); } });
    assertRefused(glued, 'IncompleteSignatureException', /^Authorization header must use the AWS4-HMAC-SHA256 algorithm: AWS4-HMAC-SHA256X$/);
  });

  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    it(`refuses a signed header named ${name} that was not sent, as missing (not a server error)`, async () => {
      const response = await send(t, { tamper: (h) => { h.authorization = h.authorization!.replace('SignedHeaders=', `SignedHeaders=${name};`); } });
      // A name in upper case can name no header of a canonical request: refused as such before any lookup.
      assertRefused(response, 'InvalidSignatureException', name === name.toLowerCase() ? new RegExp(`Signed header '${name}' is missing`) : /must name the signed headers in lower case/);
    });
  }

  it('accepts a signed header sent twice: its values are signed joined by a comma, as SigV4 canonicalizes them', async () => {
    const signedOnce = await send(t, { headers: { 'x-coffer-test': 'value2,value1' } });
    assert.equal(signedOnce.status, 200, signedOnce.text);
    // The same signature, with the header sent as two lines, as a proxy may split it.
    let headers: Record<string, string> = {};
    await send(t, { headers: { 'x-coffer-test': 'value2,value1' }, tamper: (h) => { headers = { ...h }; } });
    const url = new URL(t.server.endpoint);
    const lines: Record<string, string | string[]> = { ...headers, host: url.host, 'x-coffer-test': ['value2', 'value1'] };
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: lines }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode!));
      });
      request.on('error', reject);
      request.end('{}');
    });
    assert.equal(status, 200);
  });

  it('refuses a request whose X-Amz-Target is not signed: its signature could be replayed as any other operation', async () => {
    const now = amzDate(new Date());
    const listKeys = await sendWithDateHeader(t, now, undefined, { 'x-amz-target': 'TrentService.ListKeys' });
    assertRefused(listKeys, 'InvalidSignatureException', /^'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization\.$/);
    const kms = kmsClient(t.server.endpoint, t.credentials);
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const replayed = await sendWithDateHeader(t, now, undefined, { 'x-amz-target': 'TrentService.ScheduleKeyDeletion' }, JSON.stringify({ KeyId: keyId }));
    assertRefused(replayed, 'InvalidSignatureException', /'X-Amz-Target' must be a 'SignedHeader'/);
    const admin = await sendWithDateHeader(t, now, undefined, { 'x-amz-target': 'CofferAdmin.CreateAccessKey' });
    assertRefused(admin, 'InvalidSignatureException', /'X-Amz-Target' must be a 'SignedHeader'/);
    const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(described.KeyMetadata!.KeyState, 'Enabled', 'the key was not scheduled for deletion');
    kms.destroy();
  });

  it('refuses a signed request without X-Amz-Date or Date with IncompleteSignatureException', async () => {
    const response = await send(t, { tamper: (h) => { delete h['x-amz-date']; } });
    assertRefused(response, 'IncompleteSignatureException', /^Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header\.$/);
  });

  // AWS reads the Date header when there is no X-Amz-Date (General Reference, "Handling dates in
  // Signature Version 4"); botocore signs with it when a request carries one, in RFC 5322's form.
  for (const [form, write] of [
    ['an HTTP date', (d: Date) => d.toUTCString()],
    ["botocore's RFC 5322 date", (d: Date) => d.toUTCString().replace('GMT', '-0000')],
    ['an RFC 5322 date with an offset', (d: Date) => new Date(d.getTime() + 2 * 3_600_000).toUTCString().replace('GMT', '+0200')],
    ['the ISO 8601 basic format', (d: Date) => amzDate(d)],
  ] as const) {
    it(`accepts a request signed with a Date header in ${form} instead of X-Amz-Date`, async () => {
      const response = await sendWithDateHeader(t, write(new Date()));
      assert.equal(response.status, 200, response.text);
    });
  }

  it('reads an empty X-Amz-Date as none, and the Date header then gives the date', async () => {
    const response = await sendWithDateHeader(t, new Date().toUTCString(), undefined, { 'x-amz-date': '' });
    assert.equal(response.status, 200, response.text);
  });

  for (const value of ['Mon, 30 Feb 2026 10:00:00 GMT', 'yesterday', 'Sun, 29 Nov 2026 25:00:00 GMT']) {
    it(`refuses a Date header that is not a date (${value}) with IncompleteSignatureException`, async () => {
      const response = await sendWithDateHeader(t, value, new Date());
      assertRefused(response, 'IncompleteSignatureException', /^Date must be/);
    });
  }

  it('refuses a request signed with a Date header 10 minutes old: Signature expired', async () => {
    const response = await sendWithDateHeader(t, new Date(Date.now() - 10 * MINUTE).toUTCString());
    assertRefused(response, 'InvalidSignatureException', /^Signature expired/);
  });

  it('refuses an x-amz-security-token with UnrecognizedClientException', async () => {
    const response = await send(t, { headers: { 'x-amz-security-token': 'FwoGZXIvYXdzEBYaDEXAMPLE' } });
    assertRefused(response, 'UnrecognizedClientException', /security token included in the request is invalid/);
  });

  it('refuses the official client with a session token', async () => {
    const withToken = kmsClient(t.server.endpoint, { ...t.credentials, sessionToken: 'FwoGZXIvYXdzEBYaDEXAMPLE' } as Credentials);
    try {
      const error = await errorOf(() => withToken.send(new ListKeysCommand({})));
      assert.equal(error.name, 'UnrecognizedClientException');
    } finally {
      withToken.destroy();
    }
  });

  it('writes the credentials file in the AWS shared-credentials format, mode 0600', () => {
    const file = t.server.credentialsFile;
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^\[coffer\]\naws_access_key_id = AKIA[A-Z2-7]{16}\naws_secret_access_key = \S{40}\n$/);
    assert.equal(t.server.profile, 'coffer');
    assert.equal(readCredentials(file).accessKeyId, t.server.adminAccessKeyId);
  });

  it('lets the official SDK client work with the credentials from the file', async () => {
    const client = kmsClient(t.server.endpoint, readCredentials(t.server.credentialsFile));
    try {
      const key = await client.send(new CreateKeyCommand({}));
      const sealed = await client.send(new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId!, Plaintext: Buffer.from('auth') }));
      const opened = await client.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'auth');
    } finally {
      client.destroy();
    }
  });
});

describe("the administrator's credentials file after the root's access key is rotated", () => {
  it('reads a [coffer] header with a comment and key names in capitals as botocore does, leaves one [coffer], follows a dangling link, and refuses a directory', async () => {
    let t = await startTestServer();
    try {
      const live = readCredentials(t.server.credentialsFile);
      const file = t.server.credentialsFile;
      // Holding the live key so written: left as it is.
      const commented = `[coffer] ; the administrator\nAWS_ACCESS_KEY_ID = ${live.accessKeyId}\nAWS_SECRET_ACCESS_KEY = ${live.secretAccessKey}\n`;
      writeFileSync(file, commented);
      t = await t.restart();
      assert.equal(readFileSync(file, 'utf8'), commented);
      // A dead key in capitals, and a second [coffer] after another profile: one [coffer], the live key.
      writeFileSync(file, '[coffer]\nAWS_ACCESS_KEY_ID = AKIADEADDEADDEADDEAD\nAWS_SECRET_ACCESS_KEY = dead\n\n[ci]\nregion = eu-west-1\n\n[coffer]\naws_access_key_id = AKIAOLDOLDOLDOLD0000\n');
      t = await t.restart();
      assert.equal(readFileSync(file, 'utf8'), `[coffer]\naws_access_key_id = ${live.accessKeyId}\naws_secret_access_key = ${live.secretAccessKey}\n\n[ci]\nregion = eu-west-1\n`);
      // A link to a file not made yet is written where it points.
      const elsewhere = join(tempDataDir(), 'made-later');
      rmSync(file);
      symlinkSync(elsewhere, file);
      t = await t.restart();
      assert.ok(lstatSync(file).isSymbolicLink());
      assert.deepEqual(readCredentials(elsewhere), live);
      // A directory where the file goes: the start stops, and says why.
      await t.stop();
      rmSync(file);
      mkdirSync(file);
      await assert.rejects(startTestServer({ dataDir: t.dataDir }), /Cannot write the administrator's credentials to .*credentials \(EISDIR\)/);
      rmSync(file, { recursive: true });
      t = await startTestServer({ dataDir: t.dataDir });
      assert.deepEqual(readCredentials(file), live);
    } finally {
      await t.dispose();
    }
  });

  it('never writes another principal\'s key as the administrator\'s, whatever the store names', async () => {
    let t = await startTestServer();
    try {
      const root = t.server.adminAccessKeyId;
      await admin(t, 'CreateUser', { UserName: 'alice' });
      const alice = (await admin(t, 'CreateAccessKey', { UserName: 'alice' }) as { AccessKey: { AccessKeyId: string } }).AccessKey.AccessKeyId;
      await t.stop();
      const db = new Database(join(t.dataDir, 'coffer.db'));
      try {
        db.prepare("UPDATE meta SET value = ? WHERE name = 'admin-access-key-id'").run(Buffer.from(alice));
      } finally {
        db.close();
      }
      rmSync(join(t.dataDir, 'credentials'));
      t = await t.restart();
      assert.equal(t.server.adminAccessKeyId, root);
      assert.equal(readCredentials(t.server.credentialsFile).accessKeyId, root);
    } finally {
      await t.dispose();
    }
  });

  it('names the root\'s newest active key at the next start, and the file is written again from it', async () => {
    let t = await startTestServer();
    try {
      const old = t.server.adminAccessKeyId;
      const created = await admin(t, 'CreateAccessKey', {}) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } };
      const fresh = { accessKeyId: created.AccessKey.AccessKeyId, secretAccessKey: created.AccessKey.SecretAccessKey };
      // Rotated as admin-api.md shows: the old key deleted with the new one.
      const deleted = await rawRequest(t.server.endpoint, fresh, 'DeleteAccessKey', { AccessKeyId: old }, { headers: { 'x-amz-target': 'CofferAdmin.DeleteAccessKey' } });
      assert.equal(deleted.status, 200, deleted.text);
      t = await t.restart();
      assert.equal(t.server.adminAccessKeyId, fresh.accessKeyId);
      assert.deepEqual(readCredentials(t.server.credentialsFile), fresh);
      assert.equal(statSync(t.server.credentialsFile).mode & 0o777, 0o600);
      assert.ok((await t.kms.send(new ListKeysCommand({}))).Keys, 'the client from the file works');
      // The same at the start after that (nothing more to change), and when the file is lost.
      t = await t.restart();
      assert.deepEqual(readCredentials(t.server.credentialsFile), fresh);
      rmSync(t.server.credentialsFile);
      t = await t.restart();
      assert.deepEqual(readCredentials(t.server.credentialsFile), fresh);
      // A file the operator keeps other profiles in, written in another tool's spacing, holding the
      // live key, is left as it is; holding a dead key, only its [coffer] profile is replaced.
      const edited = `[ci]\naws_access_key_id=AKIAOTHEROTHEROTHER1\naws_secret_access_key=other\n\n[coffer]\naws_access_key_id=${fresh.accessKeyId}\naws_secret_access_key=${fresh.secretAccessKey}\n`;
      writeFileSync(t.server.credentialsFile, edited, { mode: 0o600 });
      t = await t.restart();
      assert.equal(readFileSync(t.server.credentialsFile, 'utf8'), edited);
      writeFileSync(t.server.credentialsFile, edited.replace(`aws_access_key_id=${fresh.accessKeyId}`, 'aws_access_key_id=AKIADEADDEADDEADDEAD'), { mode: 0o600 });
      t = await t.restart();
      const rewritten = readFileSync(t.server.credentialsFile, 'utf8');
      assert.ok(rewritten.startsWith('[ci]\naws_access_key_id=AKIAOTHEROTHEROTHER1\naws_secret_access_key=other\n\n[coffer]\n'), rewritten);
      assert.deepEqual(readCredentials(t.server.credentialsFile), fresh);
      assert.equal(statSync(t.server.credentialsFile).mode & 0o777, 0o600);
      // A link to a file kept elsewhere, in CRLF, with a region in the profile: written where it
      // points, in its line endings, the region kept, the dead key's session token not.
      const shared = join(tempDataDir(), 'shared-credentials');
      writeFileSync(shared, `[ci]\r\naws_access_key_id=AKIAOTHEROTHEROTHER1\r\n\r\n[coffer]\r\nregion = us-east-1\r\naws_access_key_id = AKIADEADDEADDEADDEAD\r\naws_secret_access_key = dead\r\naws_session_token = old\r\n`, { mode: 0o600 });
      rmSync(t.server.credentialsFile);
      symlinkSync(shared, t.server.credentialsFile);
      t = await t.restart();
      assert.ok(lstatSync(t.server.credentialsFile).isSymbolicLink(), 'the link is kept');
      assert.equal(readFileSync(shared, 'utf8'), `[ci]\r\naws_access_key_id=AKIAOTHEROTHEROTHER1\r\n\r\n[coffer]\r\naws_access_key_id = ${fresh.accessKeyId}\r\naws_secret_access_key = ${fresh.secretAccessKey}\r\nregion = us-east-1\r\n`);
    } finally {
      await t.dispose();
    }
  });
});
