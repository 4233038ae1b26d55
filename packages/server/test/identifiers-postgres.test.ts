/**
 * Identifiers that no key, alias or grant can have, over HTTP on PostgreSQL: they are answered as
 * on SQLite (not found, or not a grant token), never passed to the database. PostgreSQL refuses a
 * NUL character in text outright, which once surfaced as KMSInternalException (HTTP 500).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

const ACCOUNT = '111122223333';

function assertError(res: RawResponse, type: string, message?: string): void {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.__type, type, res.text);
  if (message !== undefined) assert.equal(res.body.message, message);
}

describe('identifiers with a NUL character on PostgreSQL', () => {
  let cluster: TestPostgres;
  let t: TestServer;
  let keyId: string;
  const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);

  before(async () => {
    cluster = await startTestPostgres();
    t = await startTestServer({ store: await cluster.createDatabase() });
    const created = await raw('CreateKey', {});
    keyId = String((created.body.KeyMetadata as { KeyId: string }).KeyId);
  });
  after(async () => {
    await t?.dispose();
    await cluster?.destroy();
  });

  it('an alias name or alias ARN as KeyId is NotFoundException', async () => {
    assertError(await raw('DescribeKey', { KeyId: 'alias/a\u0000b' }), 'NotFoundException', `Alias arn:aws:kms:us-east-1:${ACCOUNT}:alias/a\u0000b is not found.`);
    assertError(await raw('Encrypt', { KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/x\u0000`, Plaintext: 'eA==' }), 'NotFoundException');
  });

  it('a grant token whose grant id has one is InvalidGrantTokenException', async () => {
    const token = `cfgt1.${Buffer.from('a\u0000b').toString('base64url')}.c2VjcmV0`;
    assertError(await raw('RetireGrant', { GrantToken: token }), 'InvalidGrantTokenException');
  });

  it('ListGrants filtered by such a grant id is InvalidGrantIdException', async () => {
    assertError(await raw('ListGrants', { KeyId: keyId, GrantId: 'x\u0000' }), 'InvalidGrantIdException');
  });
});
