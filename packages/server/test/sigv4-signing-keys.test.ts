import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { SigningSecret, type AccessKey, type AccessKeys } from '../src/auth/access-keys.js';
import { verifySigV4, type SignedRequest } from '../src/auth/sigv4.js';

/**
 * verifySigV4 keeps each caller's derived signing key (per day, region and service) instead of
 * deriving it on every request. The cache must never let a signature made with one secret pass
 * for another: it is keyed by the secret object an access-key lookup returned, not by the id.
 */
const ACCESS_KEY_ID = 'AKIAEXAMPLE234567ABC';

async function signed(secretAccessKey: string, body: string): Promise<SignedRequest> {
  const signer = new SignatureV4({ credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey }, region: 'us-east-1', service: 'kms', sha256: Hash.bind(null, 'sha256') });
  const request = await signer.sign(new HttpRequest({
    method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4000, path: '/',
    headers: { host: '127.0.0.1:4000', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
    body,
  }));
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', url: '/', headers, body: Buffer.from(body) };
}

const keysFor = (key: AccessKey) => ({ findActive: async () => key }) as unknown as AccessKeys;
const expected = () => ({ region: 'us-east-1', service: 'kms', now: Date.now() });
const keyWith = (secret: string): AccessKey => ({ accessKeyId: ACCESS_KEY_ID, principalArn: 'arn:aws:iam::111122223333:user/alice', secret: new SigningSecret(secret), createdAt: 0 });

describe('SigV4 signing keys kept between requests', () => {
  it('accepts many requests signed with the secret, derived once', async () => {
    const secret = randomBytes(30).toString('base64');
    const key = keyWith(secret);
    for (let i = 0; i < 3; i++) assert.equal(await verifySigV4(await signed(secret, `{"Limit":${i + 1}}`), expected(), keysFor(key)), key);
  });

  it('refuses, after a warm cache, a request signed with the old secret of an id re-created with another', async () => {
    const oldSecret = randomBytes(30).toString('base64');
    const old = keyWith(oldSecret);
    await verifySigV4(await signed(oldSecret, '{}'), expected(), keysFor(old));
    const recreated = keyWith(randomBytes(30).toString('base64'));
    await assert.rejects(verifySigV4(await signed(oldSecret, '{}'), expected(), keysFor(recreated)), { name: 'InvalidSignatureException' });
  });

  it('refuses a body changed after signing, with the signing key cached', async () => {
    const secret = randomBytes(30).toString('base64');
    const key = keyWith(secret);
    const request = await signed(secret, '{"Limit":5}');
    await verifySigV4(request, expected(), keysFor(key));
    await assert.rejects(verifySigV4({ ...request, body: Buffer.from('{"Limit":6}') }, expected(), keysFor(key)), { name: 'InvalidSignatureException' });
  });
});
