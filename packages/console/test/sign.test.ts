import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { clearCredentialCache, getSigningKey } from '@smithy/signature-v4';
import { createSigner } from '../src/api/sign.js';

/**
 * The console's signer outside a browser. A SigV4 signing key, derived from the secret for one
 * day, region and service, signs any request of theirs as well as the secret does; the library
 * caches the keys it derives in its module, where they outlived the session that made them.
 */
const CREDENTIALS = { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'secret-secret-secret-secret-secret-00001' };
const REGION = 'us-east-1';
const ORIGIN = new URL('http://127.0.0.1:42001');
const HEADERS = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'CofferAdmin.CreateAccessKey' };

/** How many HMACs the library runs to give the day's `service` key: 1 when it is cached (the lookup's own), 5 when it derives it anew. */
async function hmacsForKey(service: string): Promise<number> {
  let count = 0;
  class CountingSha256 extends Sha256 {
    constructor(secret?: ConstructorParameters<typeof Sha256>[0]) {
      super(secret);
      count++;
    }
  }
  const shortDate = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  await getSigningKey(CountingSha256, CREDENTIALS, shortDate, REGION, service);
  return count;
}

describe('request signer', () => {
  it('signs for the service asked, without the Host header the browser sets itself', async () => {
    const signer = createSigner(CREDENTIALS, REGION, ORIGIN);
    try {
      const kms = await signer.sign('kms', HEADERS, '{}');
      assert.match(kms.authorization!, new RegExp(`^AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/kms/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$`));
      assert.equal(kms.host, undefined);
      const sts = await signer.sign('sts', HEADERS, '{}');
      assert.match(sts.authorization!, /\/sts\/aws4_request,/);
    } finally {
      signer.dispose();
    }
  });

  it('leaves no signing key derived from the secret once disposed, and signs nothing more', async () => {
    clearCredentialCache();
    const signer = createSigner(CREDENTIALS, REGION, ORIGIN);
    await signer.sign('kms', HEADERS, '{}');
    assert.equal(await hmacsForKey('kms'), 1, 'while signed in, the day\'s key is cached');
    signer.dispose();
    assert.equal(await hmacsForKey('kms'), 5, 'after dispose, it must be derived again from the secret');
    clearCredentialCache();
    await assert.rejects(signer.sign('kms', HEADERS, '{}'), TypeError);
    assert.equal(await hmacsForKey('kms'), 5, 'a refused sign() derives nothing');
    clearCredentialCache();
  });

  it('leaves no signing key behind when disposed while a request is being signed', async () => {
    clearCredentialCache();
    const signer = createSigner(CREDENTIALS, REGION, ORIGIN);
    const signing = signer.sign('kms', HEADERS, '{}');
    signer.dispose();
    await assert.rejects(signing, TypeError);
    assert.equal(await hmacsForKey('kms'), 5);
    clearCredentialCache();
  });
});
