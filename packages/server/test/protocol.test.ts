import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { originForm } from '../src/http/app.js';
import { MAX_BODY_BYTES } from '../src/http/read-body.js';
import { rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';
import { exchange, signedBytes } from './support/raw-http.js';

const JSON_11 = 'application/x-amz-json-1.1';

/** Every response Coffer sends, success or error, carries these. */
function assertCommonHeaders(response: { headers: Headers }): void {
  assert.match(response.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(response.headers.get('content-type'), JSON_11);
}

/** An AWS JSON 1.1 error: 400 (unless told), `{"__type","message"}`, x-amzn-ErrorType, no stack. */
function assertAwsError(response: RawResponse, type: string, status = 400): void {
  assert.equal(response.status, status, response.text);
  assertCommonHeaders(response);
  assert.equal(response.headers.get('x-amzn-errortype'), type);
  assert.equal(response.body.__type, type, response.text);
  assert.equal(typeof response.body.message, 'string');
  assert.deepEqual(Object.keys(response.body).sort(), ['__type', 'message']);
  assertNoStack(response.text);
}

function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at |\bat [\w.<>]+ \(|\.[jt]s:\d+|node:internal|file:\/\//);
}

/** Reads a fetch Response into the same shape rawRequest returns. */
async function raw(response: Response): Promise<RawResponse> {
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // left empty: the assertion on `__type` fails with the text
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** One request over node:http, so the body can be streamed without a Content-Length. */
function postChunked(endpoint: string, headers: Record<string, string>, chunks: Buffer[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(endpoint, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        const responseHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') responseHeaders.set(k, v);
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // left empty
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body, text });
      });
      res.on('error', reject);
    });
    // The server may close the connection while the body is still being sent; the answer counts.
    req.on('error', reject);
    const write = (i: number): void => {
      if (i === chunks.length) {
        req.end();
        return;
      }
      if (req.destroyed) return;
      req.write(chunks[i], () => setImmediate(() => write(i + 1)));
    };
    write(0);
  });
}

describe('the wire protocol', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.dispose());

  const signed = (operation: string, body: unknown, opts: Parameters<typeof rawRequest>[4] = {}) =>
    rawRequest(t.server.endpoint, t.credentials, operation, body, opts);

  it('answers a success with a request id, the JSON 1.1 content type and epoch-second timestamps', async () => {
    const before = Date.now() / 1000;
    const response = await signed('CreateKey', { Description: 'protocol' });
    assert.equal(response.status, 200, response.text);
    assertCommonHeaders(response);
    assert.equal(response.headers.get('x-amzn-errortype'), null);
    const metadata = response.body.KeyMetadata as Record<string, unknown>;
    assert.equal(typeof metadata.CreationDate, 'number');
    // A number in the raw JSON, not an ISO string: the text itself has no quotes around it.
    assert.match(response.text, /"CreationDate":\d+(\.\d+)?[,}]/);
    const created = metadata.CreationDate as number;
    assert.ok(created >= Math.floor(before) - 1 && created <= Date.now() / 1000 + 1, `CreationDate ${created} is not now in seconds`);
  });

  it('gives each response its own request id', async () => {
    const a = await signed('ListKeys', {});
    const b = await signed('ListKeys', {});
    assert.equal(a.status, 200);
    assert.notEqual(a.headers.get('x-amzn-requestid'), b.headers.get('x-amzn-requestid'));
  });

  it('refuses an unknown operation with UnknownOperationException', async () => {
    assertAwsError(await signed('MakeCoffee', {}), 'UnknownOperationException');
  });

  it('refuses an X-Amz-Target of another service', async () => {
    const response = await raw(await fetch(t.server.endpoint, {
      method: 'POST',
      headers: { 'content-type': JSON_11, 'x-amz-target': 'DynamoDB_20120810.ListTables' },
      body: '{}',
    }));
    assertAwsError(response, 'UnknownOperationException');
  });

  it('refuses a request without X-Amz-Target', async () => {
    const response = await raw(await fetch(t.server.endpoint, {
      method: 'POST', headers: { 'content-type': JSON_11 }, body: '{}',
    }));
    assertAwsError(response, 'UnknownOperationException');
  });

  it('answers pipelined requests in order before the 400 to a malformed one that follows them', async () => {
    // CreateKey takes a store write: its answer is not ready when the garbage is parsed.
    const create = await signedBytes(t, 'CreateKey', '{"Description":"pipelined"}');
    const list = await signedBytes(t, 'ListAliases', '{}');
    const text = await exchange(t.server.endpoint, `${create}${list}GARBAGE\r\n\r\n`);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200', '400'], text);
    assert.match(text, /"Description":"pipelined"/);
    assert.match(text.slice(text.lastIndexOf('HTTP/1.1 400')), /\r\nx-amzn-RequestId: [0-9a-f-]{36}\r\n/);
  });

  it('answers CONNECT (a tunnel request) as a method it does not serve, with a request id, and makes no tunnel', async () => {
    const url = new URL(t.server.endpoint);
    const text = await exchange(t.server.endpoint, `CONNECT example.com:443 HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/, text);
    assert.match(text, /\r\nx-amzn-RequestId: [0-9a-f-]{36}\r\n/);
    assert.match(text, /\r\nx-amzn-ErrorType: UnknownOperationException\r\n/);
    assert.match(text, /"message":"Coffer answers the AWS KMS protocol at POST \/, not CONNECT\."/);
  });

  it('answers a malformed chunked body at once, not after the request timeout', async () => {
    const request = (await signedBytes(t, 'ListKeys', '{}')).replace(/content-length: 2\r\n/, 'transfer-encoding: chunked\r\n').replace(/\{\}$/, 'zz\r\n{}\r\n0\r\n\r\n');
    const text = await exchange(t.server.endpoint, request);
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it('answers pipelined requests in order before the 400 to a malformed chunked body that follows them', async () => {
    // The malformed request's headers were read, its body not: the 400 was sent at once, and the
    // answers of the CreateKeys before it, which ran, were lost.
    const create = await signedBytes(t, 'CreateKey', '{"Description":"before a bad chunk"}');
    const text = await exchange(t.server.endpoint, `${create}${create}POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200', '400'], text);
    assert.equal(text.match(/"Description":"before a bad chunk"/g)?.length, 2, text);
  });

  it('answers a request whose target is in absolute form, as a client sends it through a forward proxy', async () => {
    const request = (await signedBytes(t, 'ListKeys', '{}'))
      .replace('POST / HTTP/1.1\r\n', `POST ${t.server.endpoint}/ HTTP/1.1\r\nconnection: close\r\n`);
    const text = await exchange(t.server.endpoint, request);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/, text);
    assert.match(text, /"Keys":\[/);
  });

  it('reads the path and query of an absolute-form target as sent', () => {
    assert.equal(originForm('http://127.0.0.1:4600/'), '/');
    assert.equal(originForm('https://kms.example:443'), '/');
    assert.equal(originForm('http://h?a=1'), '/?a=1');
    assert.equal(originForm('HTTP://h/a/../b?c=%20'), '/a/../b?c=%20');
    assert.equal(originForm('*'), '*');
  });

  it('answers GET / with an AWS error, not a page', async () => {
    const response = await raw(await fetch(t.server.endpoint));
    assertAwsError(response, 'UnknownOperationException');
  });

  it('answers POST to another path with an AWS error', async () => {
    const response = await raw(await fetch(`${t.server.endpoint}/keys`, {
      method: 'POST',
      headers: { 'content-type': JSON_11, 'x-amz-target': 'TrentService.ListKeys' },
      body: '{}',
    }));
    assertAwsError(response, 'UnknownOperationException');
  });

  it('does not repeat the query string of a request to another path (it may carry a token; the message is audited)', async () => {
    const response = await raw(await fetch(`${t.server.endpoint}/oauth?access_token=SECRET-TOKEN-123`, {
      method: 'POST',
      headers: { 'content-type': JSON_11, 'x-amz-target': 'TrentService.ListKeys' },
      body: '{}',
    }));
    assertAwsError(response, 'UnknownOperationException');
    assert.match(String(response.body.message), /not POST \/oauth\.$/);
    assert.ok(!response.text.includes('SECRET-TOKEN'), response.text);
  });

  it('refuses malformed JSON with SerializationException', async () => {
    assertAwsError(await signed('ListKeys', undefined, { rawBody: '{"Limit": 5' }), 'SerializationException');
  });

  for (const body of ['[]', '"ListKeys"', '42', 'null', 'true']) {
    it(`refuses the JSON ${body}, which is not an object, with SerializationException`, async () => {
      assertAwsError(await signed('ListKeys', undefined, { rawBody: body }), 'SerializationException');
    });
  }

  it('refuses a member of the wrong JSON type with SerializationException', async () => {
    assertAwsError(await signed('ListKeys', { Limit: 'five' }), 'SerializationException');
  });

  it('refuses bytes that are not UTF-8 with SerializationException, and creates nothing', async () => {
    const before = await signed('ListKeys', {});
    // A Description of the bytes FF FE: decoded, they would be stored as two U+FFFD.
    const body = Buffer.concat([Buffer.from('{"Description":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const response = await signed('CreateKey', undefined, { rawBody: body });
    assertAwsError(response, 'SerializationException');
    assert.equal(response.body.message, 'The request body is not valid UTF-8.');
    const after = await signed('ListKeys', {});
    assert.deepEqual(after.body.Keys, before.body.Keys);
  });

  it('refuses an encryption context value that is not UTF-8, which would read as U+FFFD like any other', async () => {
    const key = await signed('CreateKey', {});
    const keyId = String((key.body.KeyMetadata as Record<string, unknown>).KeyId);
    const body = Buffer.concat([Buffer.from(`{"KeyId":"${keyId}","Plaintext":"AAAA","EncryptionContext":{"a":"`), Buffer.from([0xc3]), Buffer.from('"}}')]);
    assertAwsError(await signed('Encrypt', undefined, { rawBody: body }), 'SerializationException');
  });

  it('reads a body that begins with a UTF-8 byte order mark, as RFC 8259 lets a parser', async () => {
    const response = await signed('ListKeys', undefined, { rawBody: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"Limit":1}')]) });
    assert.equal(response.status, 200, response.text);
    assert.equal((response.body.Keys as unknown[]).length, 1);
  });

  it('says that a body sent with Content-Encoding gzip is read uncompressed', async () => {
    const response = await signed('ListKeys', undefined, { rawBody: gzipSync('{}'), headers: { 'content-encoding': 'gzip' } });
    assertAwsError(response, 'SerializationException');
    assert.match(String(response.body.message), /Content-Encoding 'gzip'.*uncompressed/);
  });

  it('accepts an empty body as an empty request', async () => {
    const response = await signed('ListKeys', undefined, { rawBody: '' });
    assert.equal(response.status, 200, response.text);
    assert.ok(Array.isArray(response.body.Keys));
  });

  // AWS answers a JSON-protocol request of another content type as an unknown operation (Kinesis
  // with application/octet-stream: smithy4s issue #167); Coffer does so in JSON.
  for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
    it(`refuses Content-Type ${type} with a 400 AWS error`, async () => {
      const response = await signed('ListKeys', {}, { headers: { 'content-type': type } });
      assertAwsError(response, 'UnknownOperationException');
    });
  }

  it('accepts the JSON 1.1 content type with a charset parameter', async () => {
    const response = await signed('ListKeys', {}, { headers: { 'content-type': `${JSON_11}; charset=utf-8` } });
    assert.equal(response.status, 200, response.text);
  });

  it('refuses a body over the limit, declared by Content-Length, and keeps serving', async () => {
    const big = JSON.stringify({ Description: 'x'.repeat(MAX_BODY_BYTES) });
    const response = await raw(await fetch(t.server.endpoint, {
      method: 'POST',
      headers: { 'content-type': JSON_11, 'x-amz-target': 'TrentService.CreateKey' },
      body: big,
    }));
    assert.equal(response.status, 400, response.text);
    assertCommonHeaders(response);
    assert.equal(response.body.__type, 'ValidationException');
    assert.match(String(response.body.message), new RegExp(String(MAX_BODY_BYTES)));
    assertNoStack(response.text);
    const next = await signed('ListKeys', {});
    assert.equal(next.status, 200, next.text);
  });

  it('answers Expect: 100-continue with 100 Continue, then the answer', async () => {
    const request = (await signedBytes(t, 'ListKeys', '{}')).replace('POST / HTTP/1.1\r\n', 'POST / HTTP/1.1\r\nexpect: 100-continue\r\nconnection: close\r\n');
    const text = await exchange(t.server.endpoint, request);
    assert.deepEqual([...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), ['100', '200'], text);
  });

  it('refuses a body declared over the limit with Expect: 100-continue before inviting it', async () => {
    const head = (await signedBytes(t, 'CreateKey', '')).replace('content-length: 0', `content-length: ${MAX_BODY_BYTES + 1}`)
      .replace('POST / HTTP/1.1\r\n', 'POST / HTTP/1.1\r\nexpect: 100-continue\r\n');
    // Only the head is sent: the client waits for the 100 that must not come.
    const text = await exchange(t.server.endpoint, head);
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/, text);
    assert.doesNotMatch(text, /100 Continue/);
    assert.match(text, /"__type":"ValidationException"/);
    assert.match(text, /\r\nConnection: close\r\n/i);
  });

  it('refuses a streamed body that grows over the limit, and keeps serving', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const chunks = [Buffer.from('{"Description":"'), ...Array.from({ length: 6 }, () => chunk), Buffer.from('"}')];
    const response = await postChunked(t.server.endpoint, {
      'content-type': JSON_11, 'x-amz-target': 'TrentService.CreateKey', 'transfer-encoding': 'chunked',
    }, chunks);
    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.__type, 'ValidationException');
    assertCommonHeaders(response);
    const next = await signed('ListKeys', {});
    assert.equal(next.status, 200, next.text);
  });

  it('runs nothing a client pipelined behind a body refused part-way: the connection closes after the refusal', async () => {
    const victim = await signed('CreateKey', {});
    const keyId = String((victim.body.KeyMetadata as { KeyId: string }).KeyId);
    const url = new URL(t.server.endpoint);
    const data = 'x'.repeat(MAX_BODY_BYTES + 1);
    const tooLarge = `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: ${JSON_11}\r\nX-Amz-Target: TrentService.CreateKey\r\n`
      + `Transfer-Encoding: chunked\r\n\r\n${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`;
    const schedule = await signedBytes(t, 'ScheduleKeyDeletion', JSON.stringify({ KeyId: keyId, PendingWindowInDays: 7 }));
    const text = await exchange(t.server.endpoint, `${tooLarge}${schedule}`);
    assert.deepEqual([...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), ['400'], text);
    assert.match(text, /"__type":"ValidationException"/);
    // The client had no answer for it, so it must not have been done (RFC 9112, 9.6).
    const described = await signed('DescribeKey', { KeyId: keyId });
    assert.equal((described.body.KeyMetadata as { KeyState: string }).KeyState, 'Enabled');
  });

  it('closes the connection after refusing an STS body part-way, and runs nothing pipelined behind it', { timeout: 20_000 }, async () => {
    const victim = await signed('CreateKey', {});
    const keyId = String((victim.body.KeyMetadata as { KeyId: string }).KeyId);
    const url = new URL(t.server.endpoint);
    const data = `Action=GetCallerIdentity&Version=2011-06-15&x=${'x'.repeat(MAX_BODY_BYTES)}`;
    const tooLarge = `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\n`
      + `Transfer-Encoding: chunked\r\n\r\n${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`;
    const schedule = await signedBytes(t, 'ScheduleKeyDeletion', JSON.stringify({ KeyId: keyId, PendingWindowInDays: 7 }));
    // The STS path audited the refusal before it looked at the body: by then the rest had been read
    // and dropped, so it kept the connection, and the request behind it was never answered.
    const text = await exchange(t.server.endpoint, `${tooLarge}${schedule}`);
    assert.deepEqual([...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), ['400'], text);
    assert.match(text, /\r\nConnection: close\r\n/i);
    const described = await signed('DescribeKey', { KeyId: keyId });
    assert.equal((described.body.KeyMetadata as { KeyState: string }).KeyState, 'Enabled');
  });

  it('accepts a body just under the limit up to validation', async () => {
    // Past the size check the request is judged on its content: here an over-long Description.
    const body = JSON.stringify({ Description: 'x'.repeat(MAX_BODY_BYTES - 100) });
    assert.ok(Buffer.byteLength(body) <= MAX_BODY_BYTES);
    const response = await signed('CreateKey', undefined, { rawBody: body });
    assertAwsError(response, 'ValidationException');
    assert.match(String(response.body.message), /description/);
  });

  it('renders errors of operations with x-amzn-ErrorType and no stack', async () => {
    const response = await signed('DescribeKey', { KeyId: '00000000-0000-0000-0000-000000000000' });
    assertAwsError(response, 'NotFoundException');
  });

  it('renders a validation error as {"__type","message"}', async () => {
    const response = await signed('Encrypt', {});
    assertAwsError(response, 'ValidationException');
    assert.match(String(response.body.message), /validation error/);
  });
});

describe('answers to requests too malformed to read', () => {
  let t: TestServer;
  const lines: Record<string, unknown>[] = [];
  before(async () => {
    t = await startTestServer({ logger: (level, msg, fields) => lines.push({ level, msg, ...fields }) });
  });
  after(() => t.dispose());

  const idOf = (text: string) => /\r\nx-amzn-RequestId: ([0-9a-f-]{36})\r\n/.exec(text)?.[1];

  for (const [what, bytes, status, name] of [
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400, 'BadRequest'],
    ['headers over 16 KiB', `POST / HTTP/1.1\r\nhost: x\r\nx-long: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'RequestHeaderFieldsTooLarge'],
    ['an Expect header other than 100-continue', 'POST / HTTP/1.1\r\nhost: x\r\nexpect: 200-ok\r\ncontent-length: 0\r\n\r\n', 417, 'ExpectationFailed'],
  ] as const) {
    it(`logs the request id it answers ${what} with, and counts the answer`, async () => {
      const counted = async () => {
        const metrics = await (await fetch(`${t.server.endpoint}/metrics`)).text();
        const line = metrics.split('\n').find((l) => l.startsWith(`coffer_requests_total{operation="unknown",outcome="${name}"} `));
        return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      const before = await counted();
      const text = await exchange(t.server.endpoint, bytes);
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), text);
      const requestId = idOf(text);
      assert.ok(requestId, text);
      assert.deepEqual(lines.filter((line) => line.requestId === requestId).map(({ level, msg, status: s, error }) => ({ level, msg, status: s, error })),
        [{ level: 'info', msg: 'request', status, error: name }]);
      assert.equal(await counted(), before + 1, 'coffer_requests_total counts it');
    });
  }
});

