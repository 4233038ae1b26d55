import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { adminRequest, createUser } from './support/principals.js';
import { errorOf, rawRequest, startTestServer, type TestServer } from './support/server.js';

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('observability: /metrics, probes, request ids, GetRequestMetrics', () => {
  let t: TestServer;
  let keyIds: string[];
  let metrics: string;
  let metricsResponse: Response;

  before(async () => {
    t = await startTestServer();
    // A known workload: 2 CreateKey, 1 DisableKey, 3 Encrypt, 1 good Decrypt, 2 bad Decrypt, 1 Encrypt under a disabled key.
    keyIds = [];
    for (let i = 0; i < 2; i++) keyIds.push((await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
    await t.kms.send(new DisableKeyCommand({ KeyId: keyIds[1] }));
    let blob: Uint8Array | undefined;
    for (let i = 0; i < 3; i++) blob = (await t.kms.send(new EncryptCommand({ KeyId: keyIds[0], Plaintext: Buffer.from(`secret ${i}`) }))).CiphertextBlob;
    await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }));
    for (let i = 0; i < 2; i++) {
      const tampered = Buffer.from(blob!);
      tampered[tampered.length - 1]! ^= 1 + i;
      assert.equal((await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: tampered })))).name, 'InvalidCiphertextException');
    }
    assert.equal((await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: keyIds[1], Plaintext: Buffer.from('x') })))).name, 'DisabledException');
    metricsResponse = await fetch(`${t.server.endpoint}/metrics`);
    metrics = await metricsResponse.text();
  });
  after(() => t.dispose());

  it('/metrics counts the requests of the workload by operation and outcome', () => {
    assert.equal(metricsResponse.status, 200);
    assert.match(metricsResponse.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(metrics, 'coffer_requests_total{operation="CreateKey",outcome="success"}'), 2);
    assert.equal(sample(metrics, 'coffer_requests_total{operation="DisableKey",outcome="success"}'), 1);
    assert.equal(sample(metrics, 'coffer_requests_total{operation="Encrypt",outcome="success"}'), 3);
    assert.equal(sample(metrics, 'coffer_requests_total{operation="Encrypt",outcome="DisabledException"}'), 1);
    assert.equal(sample(metrics, 'coffer_requests_total{operation="Decrypt",outcome="success"}'), 1);
    assert.equal(sample(metrics, 'coffer_requests_total{operation="Decrypt",outcome="InvalidCiphertextException"}'), 2);
    assert.equal(sample(metrics, 'coffer_request_duration_seconds_count{operation="Encrypt"}'), 4);
    assert.equal(sample(metrics, 'coffer_request_duration_seconds_bucket{operation="Decrypt",le="+Inf"}'), 3);
  });

  it('/metrics has key counts by state, cache hits and misses, store latency, and the process metrics', () => {
    assert.equal(sample(metrics, 'coffer_keys{state="Enabled"}'), 1);
    assert.equal(sample(metrics, 'coffer_keys{state="Disabled"}'), 1);
    // No key is pending deletion or import: the series are there, at 0, not absent.
    assert.equal(sample(metrics, 'coffer_keys{state="PendingDeletion"}'), 0);
    assert.equal(sample(metrics, 'coffer_keys{state="PendingImport"}'), 0);
    // Encrypt x3 and Decrypt x3 under one key: the first use unwraps, the later ones hit the cache.
    assert.ok(sample(metrics, 'coffer_cache_misses_total{cache="backing-keys"}')! >= 1, metrics);
    assert.ok(sample(metrics, 'coffer_cache_hits_total{cache="backing-keys"}')! >= 4, metrics);
    // Every signed request looked its access key up: 10 so far (the cache keeps a key 250 ms, so hits depend on timing).
    const accessKeyLookups = (sample(metrics, 'coffer_cache_hits_total{cache="access-keys"}') ?? 0) + (sample(metrics, 'coffer_cache_misses_total{cache="access-keys"}') ?? 0);
    assert.ok(accessKeyLookups >= 10, metrics);
    assert.ok(sample(metrics, 'coffer_store_operation_duration_seconds_count{method="createKey"}') === 2, metrics);
    assert.ok(sample(metrics, 'coffer_store_operation_duration_seconds_count{method="getKey"}')! >= 1, metrics);
    assert.ok(sample(metrics, 'coffer_store_operation_duration_seconds_sum{method="createKey"}')! > 0, metrics);
    assert.ok(sample(metrics, 'process_cpu_user_seconds_total')! > 0);
    assert.ok(sample(metrics, 'nodejs_heap_size_used_bytes')! > 0);
    assert.match(metrics, /# TYPE coffer_throttled_requests_total counter/);
  });

  it('/metrics shows no key id, principal or plaintext', () => {
    for (const keyId of keyIds) assert.equal(metrics.includes(keyId), false);
    assert.equal(metrics.includes(t.credentials.accessKeyId), false);
    assert.equal(metrics.includes('arn:aws'), false);
    assert.equal(metrics.includes('secret 0'), false);
  });

  it('a second scrape counts what happened since, and caches count on', async () => {
    await t.kms.send(new EncryptCommand({ KeyId: keyIds[0], Plaintext: Buffer.from('again') }));
    const later = await (await fetch(`${t.server.endpoint}/metrics`)).text();
    assert.equal(sample(later, 'coffer_requests_total{operation="Encrypt",outcome="success"}'), 4);
    assert.ok(sample(later, 'coffer_cache_hits_total{cache="backing-keys"}')! > sample(metrics, 'coffer_cache_hits_total{cache="backing-keys"}')!);
  });

  it('/healthz and /readyz answer 200 without a signature, with a request id', async () => {
    for (const [path, body] of [['/healthz', 'ok\n'], ['/readyz', 'ready\n']] as const) {
      const res = await fetch(`${t.server.endpoint}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), body);
      assert.match(res.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
    }
    assert.match(metricsResponse.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('a probe is a probe whatever headers come with it; STS is served at POST / only', async () => {
    for (const headers of [{ 'content-type': 'application/x-www-form-urlencoded' }, { 'x-amz-target': 'AWSSecurityTokenServiceV20110615.GetCallerIdentity' }] as Record<string, string>[]) {
      const res = await fetch(`${t.server.endpoint}/healthz`, { headers });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'ok\n');
    }
    const elsewhere = await fetch(`${t.server.endpoint}/somewhere`, {
      method: 'POST', headers: { 'x-amz-target': 'AWSSecurityTokenServiceV20110615.GetCallerIdentity', 'content-type': 'application/x-amz-json-1.0' }, body: '{}',
    });
    assert.equal(elsewhere.status, 400);
    assert.match(await elsewhere.text(), /Coffer answers STS at POST \//);
  });

  it('an STS request naming no action, or one that is not operation-shaped, is counted as unknown; another action as sts:other', async () => {
    const counts = async () => {
      const text = await (await fetch(`${t.server.endpoint}/metrics`)).text();
      const total = (operation: string) => text.split('\n')
        .filter((line) => line.startsWith(`coffer_requests_total{operation="${operation}"`))
        .reduce((n, line) => n + Number(line.split(' ').pop()), 0);
      return { unknown: total('unknown'), other: total('sts:other'), identity: total('sts:GetCallerIdentity') };
    };
    const before = await counts();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const body of ['Version=2011-06-15', 'Action=Get%22Caller&Version=2011-06-15', 'Action=AssumeRole&Version=2011-06-15']) {
      assert.ok((await fetch(t.server.endpoint, { method: 'POST', body, headers: form })).status < 500);
    }
    assert.deepEqual(await counts(), { unknown: before.unknown + 2, other: before.other + 1, identity: before.identity });
  });

  it('every response has an x-amzn-RequestId: KMS errors, unknown paths, bodies over the limit, STS, the console, malformed HTTP', async () => {
    const id = /^[0-9a-f-]{36}$/;
    const kmsError = await rawRequest(t.server.endpoint, t.credentials, 'DescribeKey', {});
    assert.equal(kmsError.status, 400);
    assert.match(kmsError.headers.get('x-amzn-requestid') ?? '', id);
    const unknown = await fetch(`${t.server.endpoint}/nothing-here`);
    assert.equal(unknown.status, 400);
    assert.match(unknown.headers.get('x-amzn-requestid') ?? '', id);
    const tooLarge = await fetch(t.server.endpoint, {
      method: 'POST', body: 'x'.repeat(300 * 1024),
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' },
    });
    assert.equal(tooLarge.status, 400);
    assert.match(tooLarge.headers.get('x-amzn-requestid') ?? '', id);
    const sts = await fetch(t.server.endpoint, { method: 'POST', body: 'Action=GetCallerIdentity&Version=2011-06-15', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(sts.status, 403);
    assert.match(sts.headers.get('x-amzn-requestid') ?? '', id);
    const consolePage = await fetch(`${t.server.endpoint}/console`);
    await consolePage.arrayBuffer();
    assert.match(consolePage.headers.get('x-amzn-requestid') ?? '', id);
    // A browser's CORS preflight: before, the one answer without an id.
    const preflight = await fetch(t.server.endpoint, { method: 'OPTIONS', headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('x-amzn-requestid') ?? '', id);
    const url = new URL(t.server.endpoint);
    const raw = await new Promise<string>((done, fail) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('end', () => done(text));
      socket.on('error', fail);
    });
    assert.match(raw, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(raw, /\r\nx-amzn-RequestId: [0-9a-f-]{36}\r\n/);
    // No Host header, and an Expect node:http does not know: answered with an id too.
    for (const request of ['POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}', 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}']) {
      const answer = await new Promise<string>((done, fail) => {
        const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString('latin1');
          if (text.includes('\r\n\r\n')) socket.end();
        });
        socket.on('close', () => done(text));
        socket.on('error', fail);
      });
      assert.match(answer, /^HTTP\/1\.1 4\d\d /, request);
      assert.match(answer, /\r\nx-amzn-RequestId: [0-9a-f-]{36}\r\n/i, request);
    }
  });

  it('GetRequestMetrics gives the last minutes in ten-second buckets, per operation', async () => {
    const res = await adminRequest(t, 'GetRequestMetrics', {});
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.IntervalSeconds, 10);
    const buckets = res.body.Buckets as Array<{ Start: number; Operations: Record<string, { Requests: number; Errors: number; Throttled: number }> }>;
    assert.ok(buckets.length >= 1);
    const starts = buckets.map((b) => b.Start);
    assert.deepEqual(starts, [...starts].sort((a, b) => a - b), 'oldest first');
    for (const start of starts) assert.equal(start % 10, 0);
    assert.ok(Math.abs(starts.at(-1)! - Date.now() / 1000) < 120);
    const total = (op: string, field: 'Requests' | 'Errors' | 'Throttled') => buckets.reduce((n, b) => n + (b.Operations[op]?.[field] ?? 0), 0);
    assert.equal(total('CreateKey', 'Requests'), 2);
    assert.equal(total('Decrypt', 'Requests'), 3);
    assert.equal(total('Decrypt', 'Errors'), 2);
    // The disabled key's Encrypt, and the body over the limit sent as an Encrypt by the request-id case above.
    assert.equal(total('Encrypt', 'Errors'), 2);
    assert.equal(total('Encrypt', 'Throttled'), 0);
  });

  it('GetRequestMetrics refuses Minutes outside 1..60, and callers without coffer:GetRequestMetrics', async () => {
    for (const Minutes of [0, 61]) {
      const res = await adminRequest(t, 'GetRequestMetrics', { Minutes });
      assert.equal(res.status, 400);
      assert.equal(res.body.__type, 'ValidationException', res.text);
    }
    const one = await adminRequest(t, 'GetRequestMetrics', { Minutes: 1 });
    assert.equal(one.status, 200);
    const user = await createUser(t, 'metrics-reader');
    const denied = await adminRequest(t, 'GetRequestMetrics', {}, user.credentials);
    assert.equal(denied.body.__type, 'AccessDeniedException', denied.text);
    await user.putPolicy('metrics', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'coffer:GetRequestMetrics', Resource: '*' }] });
    const allowed = await adminRequest(t, 'GetRequestMetrics', {}, user.credentials);
    assert.equal(allowed.status, 200, allowed.text);
  });
});

describe('RequestHistory: the ring of ten-second buckets behind GetRequestMetrics', () => {
  it('counts per bucket and operation, reports the asked minutes oldest first, and forgets what is older than an hour', async () => {
    const { RequestHistory } = await import('../src/observe/request-history.js');
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const history = new RequestHistory(() => now);
    history.record('Encrypt', 'success');
    history.record('Encrypt', 'error');
    now += 10_000;
    history.record('Encrypt', 'throttled');
    history.record('CofferAdmin.ListUsers', 'success');
    now += 4 * 60_000; // 4 minutes later, nothing since
    const start = Date.UTC(2026, 0, 1, 12, 0, 0) / 1000;
    assert.deepEqual(history.buckets(60), [
      { Start: start, Operations: { Encrypt: { Requests: 2, Errors: 1, Throttled: 0 } } },
      { Start: start + 10, Operations: { Encrypt: { Requests: 1, Errors: 1, Throttled: 1 }, 'CofferAdmin.ListUsers': { Requests: 1, Errors: 0, Throttled: 0 } } },
    ]);
    assert.deepEqual(history.buckets(1), [], 'nothing in the last minute');
    assert.equal(history.buckets(5).length, 2);
    // An hour on, the slot of the first bucket is reused and its old counts are gone; the second is the oldest of the hour.
    now = Date.UTC(2026, 0, 1, 13, 0, 3);
    history.record('Decrypt', 'success');
    assert.deepEqual(history.buckets(60).map((b) => b.Start), [start + 10, start + 3600]);
    assert.deepEqual(history.buckets(60)[1], { Start: start + 3600, Operations: { Decrypt: { Requests: 1, Errors: 0, Throttled: 0 } } });
    now += 10_000;
    assert.deepEqual(history.buckets(60).map((b) => b.Start), [start + 3600], 'a bucket older than the hour is never reported');
  });
});

describe('mergeHistoryBuckets: the request histories of several workers as one', () => {
  it('sums the counts of buckets with the same start, per operation, oldest first, without changing its parts', async () => {
    const { mergeHistoryBuckets } = await import('../src/observe/request-history.js');
    type HistoryBucket = import('../src/observe/request-history.js').HistoryBucket;
    const counts = (Requests: number, Errors = 0, Throttled = 0) => ({ Requests, Errors, Throttled });
    const first: HistoryBucket[] = [
      { Start: 100, Operations: { Encrypt: counts(2, 1) } },
      { Start: 120, Operations: { Decrypt: counts(1) } },
    ];
    const second: HistoryBucket[] = [
      { Start: 90, Operations: { Sign: counts(4, 2, 2) } },
      { Start: 100, Operations: { Encrypt: counts(3, 1, 1), Decrypt: counts(5) } },
    ];
    const copyOfFirst = structuredClone(first);
    assert.deepEqual(mergeHistoryBuckets([first, second, []]), [
      { Start: 90, Operations: { Sign: counts(4, 2, 2) } },
      { Start: 100, Operations: { Encrypt: counts(5, 2, 1), Decrypt: counts(5) } },
      { Start: 120, Operations: { Decrypt: counts(1) } },
    ]);
    assert.deepEqual(first, copyOfFirst, 'the parts are left as they were');
    assert.deepEqual(mergeHistoryBuckets([]), []);
  });
});
