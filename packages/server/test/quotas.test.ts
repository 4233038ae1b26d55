import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, EncryptCommand, GenerateRandomCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { quotaClassOf, defaultQuotaRates } from '../src/quotas/quota-classes.js';
import { THROTTLING_MESSAGE } from '../src/quotas/request-quotas.js';
import { adminRequest } from './support/principals.js';
import { errorOf, rawRequest, startTestServer, type TestServer } from './support/server.js';

/**
 * Request quotas, driven by a clock the test moves by hand: what passes and what is throttled is
 * decided by the token buckets alone, never by how fast this machine happens to be.
 */
describe('request quotas', () => {
  let t: TestServer;
  let clock = 1_000_000;
  let keyId: string;

  const createKey = async (): Promise<'ok' | string> => {
    try {
      await t.kms.send(new CreateKeyCommand({}));
      return 'ok';
    } catch (error) {
      return (error as Error).name;
    }
  };
  const encrypt = async (): Promise<'ok' | string> => {
    try {
      await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('q') }));
      return 'ok';
    } catch (error) {
      return (error as Error).name;
    }
  };

  before(async () => {
    t = await startTestServer({ quotas: { rates: { CreateKey: 3, symmetric: 5, ListKeys: 0 }, clockForTests: () => clock } });
    keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    clock += 10_000; // a full bucket again
  });
  after(() => t.dispose());

  it('a limit of N per second lets a burst of exactly N through, then throttles until time passes', async () => {
    const first = [];
    for (let i = 0; i < 6; i++) first.push(await createKey());
    assert.deepEqual(first, ['ok', 'ok', 'ok', 'ThrottlingException', 'ThrottlingException', 'ThrottlingException']);
    clock += 1_000;
    const second = [];
    for (let i = 0; i < 4; i++) second.push(await createKey());
    assert.deepEqual(second, ['ok', 'ok', 'ok', 'ThrottlingException']);
    // A third of a second is one request's worth at 3 per second.
    clock += 334;
    assert.deepEqual([await createKey(), await createKey()], ['ok', 'ThrottlingException']);
  });

  it('a steady rate under the limit is never throttled', async () => {
    clock += 10_000;
    const outcomes = new Set<string>();
    // 2.5 requests per second against a quota of 3, for 60 requests (24 seconds of the test's clock).
    for (let i = 0; i < 60; i++) {
      clock += 400;
      outcomes.add(await createKey());
    }
    assert.deepEqual([...outcomes], ['ok']);
  });

  it('answers ThrottlingException as AWS does: HTTP 400, its message, and a request id', async () => {
    clock += 10_000;
    for (let i = 0; i < 3; i++) assert.equal(await createKey(), 'ok');
    const res = await rawRequest(t.server.endpoint, t.credentials, 'CreateKey', {});
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { __type: 'ThrottlingException', message: THROTTLING_MESSAGE });
    assert.equal(res.headers.get('x-amzn-errortype'), 'ThrottlingException');
    assert.match(res.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('classes are separate: cryptographic operations share one bucket, control-plane operations have their own', async () => {
    clock += 10_000;
    for (let i = 0; i < 3; i++) assert.equal(await createKey(), 'ok');
    assert.equal(await createKey(), 'ThrottlingException');
    // Encrypt and GenerateRandom share the symmetric quota of 5, untouched by CreateKey's.
    const crypto = [await encrypt(), await encrypt(), await encrypt()];
    for (let i = 0; i < 2; i++) await t.kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
    crypto.push(await encrypt());
    assert.deepEqual(crypto, ['ok', 'ok', 'ok', 'ThrottlingException']);
    const random = await errorOf(() => t.kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 })));
    assert.equal(random.name, 'ThrottlingException');
    // A class set to 0 has no limit.
    for (let i = 0; i < 20; i++) await t.kms.send(new ListKeysCommand({}));
  });

  it('throttled requests are counted in /metrics and in GetRequestMetrics', async () => {
    const metrics = await (await fetch(`${t.server.endpoint}/metrics`)).text();
    const throttledCreateKey = Number(/^coffer_throttled_requests_total\{class="CreateKey"\} (\d+)$/m.exec(metrics)?.[1]);
    assert.equal(throttledCreateKey, 3 + 1 + 1 + 1 + 1);
    assert.match(metrics, /^coffer_throttled_requests_total\{class="symmetric"\} 2$/m);
    assert.match(metrics, /^coffer_requests_total\{operation="CreateKey",outcome="ThrottlingException"\} 7$/m);
    const history = await adminRequest(t, 'GetRequestMetrics', {});
    const buckets = history.body.Buckets as Array<{ Operations: Record<string, { Throttled: number; Errors: number }> }>;
    const throttled = buckets.reduce((n, b) => n + (b.Operations.CreateKey?.Throttled ?? 0), 0);
    assert.equal(throttled, 7);
  });

  it('unsigned requests are not charged to the account', async () => {
    clock += 10_000;
    for (let i = 0; i < 10; i++) {
      const res = await fetch(t.server.endpoint, { method: 'POST', body: '{}', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey' } });
      assert.equal(((await res.json()) as { __type: string }).__type, 'MissingAuthenticationTokenException');
    }
    assert.deepEqual([await createKey(), await createKey(), await createKey()], ['ok', 'ok', 'ok']);
  });
});

describe('request quotas: defaults and classes', () => {
  it("AWS's defaults apply when none are set: 5 CreateKey per second", async () => {
    const clock = 5_000;
    const t = await startTestServer({ quotas: { clockForTests: () => clock } });
    try {
      const outcomes = [];
      for (let i = 0; i < 6; i++) outcomes.push(await t.kms.send(new CreateKeyCommand({})).then(() => 'ok', (e: Error) => e.name));
      assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'ok', 'ok', 'ThrottlingException']);
    } finally {
      await t.dispose();
    }
  });

  it('quotas: false turns them off', async () => {
    const t = await startTestServer({ quotas: false });
    try {
      for (let i = 0; i < 12; i++) await t.kms.send(new CreateKeyCommand({}));
    } finally {
      await t.dispose();
    }
  });

  it('an unknown class or a bad rate stops the start', async () => {
    await assert.rejects(startTestServer({ quotas: { rates: { CreateKeys: 5 } } }), /'CreateKeys' is not a quota class/);
    await assert.rejects(startTestServer({ quotas: { rates: { symmetric: -1 } } }), /'symmetric' must be a number/);
    // A quotas file's 1e400 parses as Infinity, which is named as such (JSON would write null).
    await assert.rejects(startTestServer({ quotas: { rates: { CreateKey: Infinity } } }), /'CreateKey' must be a number of requests per second \(0 for no limit\), not Infinity/);
  });

  it('the class follows the algorithm for operations that take either kind of key', () => {
    assert.equal(quotaClassOf('Encrypt', {}), 'symmetric');
    assert.equal(quotaClassOf('Encrypt', { EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }), 'symmetric');
    assert.equal(quotaClassOf('Encrypt', { EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'rsa');
    assert.equal(quotaClassOf('Decrypt', { EncryptionAlgorithm: 'SM2PKE' }), 'ecc');
    assert.equal(quotaClassOf('Sign', { SigningAlgorithm: 'RSASSA_PSS_SHA_256' }), 'rsa');
    assert.equal(quotaClassOf('Verify', { SigningAlgorithm: 'ECDSA_SHA_256' }), 'ecc');
    assert.equal(quotaClassOf('DeriveSharedSecret', { KeyAgreementAlgorithm: 'ECDH' }), 'ecc');
    // Only the operation's own member counts: one it ignores cannot move a request to a cheaper class.
    assert.equal(quotaClassOf('Encrypt', { EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', SigningAlgorithm: 'SYMMETRIC_DEFAULT' }), 'rsa');
    assert.equal(quotaClassOf('Sign', { SigningAlgorithm: 'RSASSA_PSS_SHA_256', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }), 'rsa');
    assert.equal(quotaClassOf('ReEncrypt', { SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }), 'rsa');
    assert.equal(quotaClassOf('ReEncrypt', { DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'rsa');
    assert.equal(quotaClassOf('GenerateMac', {}), 'symmetric');
    assert.equal(quotaClassOf('GenerateRandom', {}), 'symmetric');
    assert.equal(quotaClassOf('DescribeKey', {}), 'DescribeKey');
    assert.equal(quotaClassOf('GetKeyLastUsage', {}), 'other');
    assert.equal(quotaClassOf('CofferAdmin.CreateUser', {}), 'admin');
    assert.equal(quotaClassOf('Sign', { SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'ml-dsa');
    assert.equal(defaultQuotaRates('us-east-1').symmetric, 50_000);
    assert.equal(defaultQuotaRates('eu-central-1').symmetric, 20_000);
    assert.equal(defaultQuotaRates('eu-north-1').symmetric, 10_000);
    assert.deepEqual([defaultQuotaRates('eu-north-1').rsa, defaultQuotaRates('eu-north-1').ecc, defaultQuotaRates('eu-north-1')['ml-dsa']], [1000, 1000, 1000]);
    assert.equal(defaultQuotaRates('eu-central-1').DescribeKey, 2_000);
  });
});
