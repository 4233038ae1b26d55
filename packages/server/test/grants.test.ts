/**
 * Grants over HTTP: what a grant allows and does not, its constraints, grant tokens, revoking and
 * retiring (and who may retire), Name idempotency, listing with paging, and the grant condition
 * keys on CreateGrant.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CreateGrantCommand, EncryptCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import { createUser, policyOf, type TestUser } from './support/principals.js';
import { MAX_GRANTS_PER_KEY } from '../src/operations/create-grant.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Page } from '../src/store/store.js';
import { errorOf, rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

const ACCOUNT = '111122223333';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

function assertError(res: RawResponse, type: string, message?: string | RegExp): void {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.__type, type, res.text);
  if (typeof message === 'string') assert.equal(res.body.message, message);
  else if (message) assert.match(String(res.body.message), message);
}

function assertOk(res: RawResponse): Record<string, unknown> {
  assert.equal(res.status, 200, res.text);
  return res.body;
}

interface Grant { GrantId: string; GrantToken: string }
interface Entry {
  KeyId: string; GrantId: string; Name?: string; CreationDate: number; GranteePrincipal?: string; RetiringPrincipal?: string;
  GranteeServicePrincipal?: string; RetiringServicePrincipal?: string; IssuingAccount: string; Operations: string[]; Constraints?: object;
}

describe('grants over HTTP', () => {
  let t: TestServer;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);
  const newKey = async (body: object = {}) => String((assertOk(await raw('CreateKey', body)).KeyMetadata as { KeyId: string }).KeyId);
  const grant = async (body: object): Promise<Grant> => assertOk(await raw('CreateGrant', body)) as unknown as Grant;
  const encryptAs = (user: TestUser, keyId: string, context?: Record<string, string>, grantTokens?: string[]) =>
    user.raw('Encrypt', { KeyId: keyId, Plaintext: b64('g'), ...(context ? { EncryptionContext: context } : {}), ...(grantTokens ? { GrantTokens: grantTokens } : {}) });

  before(async () => {
    t = await startTestServer({ accountId: ACCOUNT });
    bob = await createUser(t, 'bob');
    carol = await createUser(t, 'carol');
    dave = await createUser(t, 'dave', { retire: policyOf({ Effect: 'Allow', Action: 'kms:RetireGrant', Resource: '*' }) });
  });
  after(async () => {
    for (const user of [bob, carol, dave]) user?.kms.destroy();
    await t.dispose();
  });

  it('a grant an earlier release made (no retiring principal\'s creation time) is retired by its retiring principal, and its Name answers with it', async () => {
    const keyId = await newKey();
    const request = { KeyId: keyId, GranteePrincipal: bob.arn, RetiringPrincipal: carol.arn, Operations: ['Encrypt'], Name: 'from-an-earlier-release' };
    const made = await grant(request);
    // As the earlier release wrote it: the grantee's creation time, not the retiring principal's.
    const db = new Database(join(t.dataDir, 'coffer.db'));
    try {
      db.prepare("UPDATE grants SET record = json_remove(record, '$.retiringCreatedAt') WHERE grant_id = ?").run(made.GrantId);
    } finally {
      db.close();
    }
    assert.equal((await grant(request)).GrantId, made.GrantId, 'the same Name and parameters: the same grant');
    assertOk(await encryptAs(bob, keyId));
    assertOk(await carol.raw('RetireGrant', { KeyId: keyId, GrantId: made.GrantId }));
  });

  it(`refuses a grant past ${MAX_GRANTS_PER_KEY} on one key (LimitExceededException), still answering a named grant's repeat`, async () => {
    const keyId = await newKey();
    const named = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Name: 'kept' });
    // The rest of the quota, written straight into the store's file (a second connection, as a
    // second node's): 50,000 CreateGrant calls would take minutes. Only their number matters here.
    const db = new Database(join(t.dataDir, 'coffer.db'));
    const insert = db.prepare('INSERT INTO grants (grant_id, key_id, name, grantee, retiring, record) VALUES (?, ?, NULL, ?, NULL, ?)');
    const fillers: string[] = [];
    db.transaction(() => {
      for (let i = 1; i < MAX_GRANTS_PER_KEY; i++) {
        const grantId = randomBytes(32).toString('hex');
        fillers.push(grantId);
        insert.run(grantId, keyId, bob.arn, '{}');
      }
    })();
    try {
      assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'] }), 'LimitExceededException', /50000 grants/);
      assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'], DryRun: true }), 'LimitExceededException');
      // The same Name and parameters make no grant: the existing one is answered.
      assert.equal((await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Name: 'kept' })).GrantId, named.GrantId);
      db.prepare('DELETE FROM grants WHERE grant_id = ?').run(fillers[0]);
      assert.match((await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'] })).GrantId, /^[0-9a-f]{64}$/);
      // Room for 20 more, and 40 requests at once: each counting below the quota must not let
      // them pass it together.
      const freed = fillers.slice(1, 21);
      db.prepare(`DELETE FROM grants WHERE grant_id IN (${freed.map(() => '?').join(', ')})`).run(...freed);
      const burst = await Promise.allSettled(Array.from({ length: 40 }, () => t.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'] }))));
      assert.equal(burst.filter((r) => r.status === 'fulfilled').length, 20);
      for (const refused of burst.filter((r) => r.status === 'rejected')) assert.equal((refused.reason as Error).name, 'LimitExceededException');
      assert.equal((db.prepare('SELECT count(*) AS n FROM grants WHERE key_id = ?').get(keyId) as { n: number }).n, MAX_GRANTS_PER_KEY);
    } finally {
      db.prepare('DELETE FROM grants WHERE key_id = ?').run(keyId);
      db.close();
    }
  });

  it('a grant allows its operations only: Encrypt yes, Decrypt no', async () => {
    const keyId = await newKey();
    assertError(await encryptAs(bob, keyId), 'AccessDeniedException');
    const created = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] });
    assert.match(created.GrantId, /^[0-9a-f]{64}$/);
    const sealed = assertOk(await encryptAs(bob, keyId));
    assertError(await bob.raw('Decrypt', { CiphertextBlob: sealed.CiphertextBlob }), 'AccessDeniedException');
    assertError(await bob.raw('DescribeKey', { KeyId: keyId }), 'AccessDeniedException');
    // The grantee is bob alone.
    assertError(await encryptAs(carol, keyId), 'AccessDeniedException');
    // Through the official SDK too.
    const out = await bob.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode('sdk') }));
    assert.ok(out.CiphertextBlob);
  });

  it('EncryptionContextEquals needs exactly the pairs; EncryptionContextSubset needs them among others', async () => {
    const equalsKey = await newKey();
    await grant({ KeyId: equalsKey, GranteePrincipal: bob.arn, Operations: ['Encrypt', 'Decrypt', 'DescribeKey'], Constraints: { EncryptionContextEquals: { a: '1' } } });
    const sealed = assertOk(await encryptAs(bob, equalsKey, { a: '1' }));
    assertError(await encryptAs(bob, equalsKey, { a: '1', b: '2' }), 'AccessDeniedException');
    assertError(await encryptAs(bob, equalsKey, { a: '2' }), 'AccessDeniedException');
    assertError(await encryptAs(bob, equalsKey), 'AccessDeniedException');
    assertOk(await bob.raw('Decrypt', { CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { a: '1' } }));
    // DescribeKey takes no encryption context: the constraint does not apply to it.
    assertOk(await bob.raw('DescribeKey', { KeyId: equalsKey }));

    const subsetKey = await newKey();
    await grant({ KeyId: subsetKey, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { a: '1' } } });
    assertOk(await encryptAs(bob, subsetKey, { a: '1' }));
    assertOk(await encryptAs(bob, subsetKey, { a: '1', b: '2' }));
    assertError(await encryptAs(bob, subsetKey, { b: '2' }), 'AccessDeniedException');
    assertError(await encryptAs(bob, subsetKey), 'AccessDeniedException');
    // In a grant constraint the key is not case sensitive (API reference, GrantConstraints); the value must still match.
    assertOk(await encryptAs(bob, subsetKey, { A: '1' }));
    assertError(await encryptAs(bob, subsetKey, { a: '1x' }), 'AccessDeniedException');
    assertOk(await encryptAs(bob, equalsKey, { A: '1' }));
    // Pairs whose keys differ only in case: Equals still admits no pair it does not hold.
    const caseKey = await newKey();
    await grant({ KeyId: caseKey, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextEquals: { a: '1', A: '1' } } });
    assertError(await encryptAs(bob, caseKey, { a: '1', z: '9' }), 'AccessDeniedException');
    assertOk(await encryptAs(bob, caseKey, { a: '1', A: '1' }));
    assertError(await encryptAs(bob, equalsKey, { a: '1', A: '2' }), 'AccessDeniedException');
    // The members' order decides nothing: a value under one spelling cannot hide another under the
    // next, and a constraint with both spellings admits its own pairs in either order.
    assertError(await encryptAs(bob, subsetKey, { a: '1', A: '2' }), 'AccessDeniedException');
    assertError(await encryptAs(bob, subsetKey, { A: '2', a: '1' }), 'AccessDeniedException');
    assertOk(await encryptAs(bob, subsetKey, { A: '1', a: '1', b: '2' }));
    const bothKey = await newKey();
    await grant({ KeyId: bothKey, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextEquals: { a: '1', A: '2' } } });
    assertOk(await encryptAs(bob, bothKey, { a: '1', A: '2' }));
    assertOk(await encryptAs(bob, bothKey, { A: '2', a: '1' }));
    assertError(await encryptAs(bob, bothKey, { a: '1' }), 'AccessDeniedException');
    assertError(await encryptAs(bob, bothKey, { a: '2', A: '1', b: '3' }), 'AccessDeniedException');
  });

  it('refuses a constraint with both EncryptionContextEquals and EncryptionContextSubset (AWS: "either ... but not both"); an empty map counts as absent', async () => {
    const keyId = await newKey();
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { a: '1' }, EncryptionContextEquals: { b: '2' } } }),
      'ValidationException', /^A grant constraint may have EncryptionContextEquals or EncryptionContextSubset, not both\.$/);
    const listed = assertOk(await raw('ListGrants', { KeyId: keyId })) as { Grants: unknown[] };
    assert.equal(listed.Grants.length, 0);
    const made = assertOk(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { a: '1' }, EncryptionContextEquals: {} } })) as { GrantId: string };
    const grants = (assertOk(await raw('ListGrants', { KeyId: keyId, GrantId: made.GrantId })) as { Grants: { Constraints?: unknown }[] }).Grants;
    assert.deepEqual(grants[0]?.Constraints, { EncryptionContextSubset: { a: '1' } });
    assertOk(await encryptAs(bob, keyId, { a: '1', b: '2' }));
  });

  it('refuses constraints with operations that take no encryption context, naming an operation the key cannot perform as such', async () => {
    const keyId = await newKey();
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt', 'Sign'], Constraints: { EncryptionContextSubset: { a: '1' } } }),
      'ValidationException', /^Grant operations Sign are not supported by a key of KeyUsage ENCRYPT_DECRYPT and KeySpec SYMMETRIC_DEFAULT\.$/);
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['GenerateMac'], Constraints: { EncryptionContextEquals: { a: '1' } } }),
      'ValidationException', /^Grant operations GenerateMac are not supported by a key/);
    const signing = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    assertError(await raw('CreateGrant', { KeyId: signing, GranteePrincipal: bob.arn, Operations: ['Sign'], Constraints: { EncryptionContextEquals: { a: '1' } } }),
      'ValidationException', /KeySpec ECC_NIST_P256/);
  });

  it('refuses a constraint holding an unpaired surrogate, as Encrypt refuses such an encryption context', async () => {
    const keyId = await newKey();
    for (const pairs of [{ a: '\ud800' }, { ['\udc00b']: 'x' }]) {
      for (const name of ['EncryptionContextSubset', 'EncryptionContextEquals']) {
        assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { [name]: pairs } }),
          'ValidationException', /^Encryption context keys and values in a grant constraint must be valid Unicode; one contains an unpaired surrogate\.$/);
      }
    }
    assertError(await raw('Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x').toString('base64'), EncryptionContext: { a: '\ud800' } }), 'ValidationException', /unpaired surrogate/);
    assertOk(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { a: '\ud83d\udd11' } } }));
  });

  it('a grant on an ML-KEM key allows its grantee Encapsulate and Decapsulate (AWS\'s GrantOperation lists both), and nothing it does not name', async () => {
    const keyId = await newKey({ KeySpec: 'ML_KEM_768', KeyUsage: 'ENCAPSULATE_DECAPSULATE' });
    const encapsulate = () => bob.raw('Encapsulate', { KeyId: keyId, EncapsulationAlgorithm: 'ML_KEM' });
    assertError(await encapsulate(), 'AccessDeniedException');
    await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encapsulate', 'Decapsulate'] });
    const made = assertOk(await encapsulate()) as { SharedSecret: string; SharedSecretCiphertextBlob: string };
    const opened = assertOk(await bob.raw('Decapsulate', { KeyId: keyId, EncapsulationAlgorithm: 'ML_KEM', SharedSecretCiphertextBlob: made.SharedSecretCiphertextBlob }));
    assert.equal(opened.SharedSecret, made.SharedSecret);
    assertError(await bob.raw('GetPublicKey', { KeyId: keyId }), 'AccessDeniedException');
  });

  it('allows only operations the key can perform, by its usage and spec, and not CreateGrant alone', async () => {
    const symmetric = await newKey();
    const rsa = await newKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    const signing = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const agreement = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' });
    const kem = await newKey({ KeySpec: 'ML_KEM_768', KeyUsage: 'ENCAPSULATE_DECAPSULATE' });
    const create = (KeyId: string, Operations: string[], extra: object = {}) => raw('CreateGrant', { KeyId, GranteePrincipal: bob.arn, Operations, ...extra });
    for (const [keyId, allowed, refused] of [
      [symmetric, ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext'], ['Sign', 'GetPublicKey', 'GenerateMac', 'Decapsulate']],
      [rsa, ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey'], ['GenerateDataKey', 'GenerateDataKeyPair', 'Sign']],
      [signing, ['Sign', 'Verify', 'GetPublicKey'], ['Encrypt', 'Decrypt', 'DeriveSharedSecret']],
      [hmac, ['GenerateMac', 'VerifyMac'], ['Encrypt', 'GetPublicKey', 'Sign']],
      [agreement, ['DeriveSharedSecret', 'GetPublicKey'], ['Sign', 'Encrypt', 'Encapsulate']],
      [kem, ['Encapsulate', 'Decapsulate', 'GetPublicKey'], ['Encrypt', 'DeriveSharedSecret', 'Sign']],
    ] as const) {
      assertOk(await create(keyId, [...allowed, 'DescribeKey', 'CreateGrant', 'RetireGrant']));
      for (const operation of refused) {
        assertError(await create(keyId, ['DescribeKey', operation]), 'ValidationException', new RegExp(`^Grant operations ${operation} are not supported by a key of KeyUsage `));
      }
    }
    assertError(await create(symmetric, ['CreateGrant']), 'ValidationException', /^Grants must not contain only the CreateGrant operation\.$/);
    // A caller who may not create grants on the key learns nothing of its usage or spec.
    for (const [keyId, operations, extra] of [[signing, ['Encrypt'], {}], [rsa, ['Decrypt'], { Constraints: { EncryptionContextEquals: { a: '1' } } }]] as const) {
      assertError(await carol.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: operations, ...extra }), 'AccessDeniedException',
        new RegExp(`^User: ${carol.arn} is not authorized to perform: kms:CreateGrant on resource: `));
    }
    // An encryption-context constraint only where operations take an encryption context.
    assertError(await create(rsa, ['Decrypt'], { Constraints: { EncryptionContextEquals: { a: '1' } } }), 'ValidationException', /KeySpec RSA_2048/);
    assertOk(await create(symmetric, ['Decrypt'], { Constraints: { EncryptionContextEquals: { a: '1' } } }));
  });

  it('a grant token makes the grant usable in the request that carries it, for its grantee only', async () => {
    const keyId = await newKey();
    const created = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] });
    assertOk(await encryptAs(bob, keyId, undefined, [created.GrantToken]));
    assertError(await encryptAs(carol, keyId, undefined, [created.GrantToken]), 'AccessDeniedException');
    assertError(await encryptAs(bob, keyId, undefined, ['not-a-grant-token']), 'InvalidGrantTokenException');
    // A token of Coffer's form whose grant id is not one (here with a NUL, which PostgreSQL cannot
    // even be asked for) is not a grant token either.
    const notAnId = `cfgt1.${Buffer.from('a\u0000b').toString('base64url')}.${created.GrantToken.split('.')[2]}`;
    assertError(await encryptAs(bob, keyId, undefined, [notAnId]), 'InvalidGrantTokenException');
    assertError(await raw('RetireGrant', { GrantToken: notAnId }), 'InvalidGrantTokenException');
    // A token naming an existing grant, its secret altered: not a token of that grant, and said so,
    // where the policies alone allow the request too, and not as a grant that does not exist.
    const [prefix, id, secret] = created.GrantToken.split('.') as [string, string, string];
    const forged = `${prefix}.${id}.${secret[0] === 'A' ? 'B' : 'A'}${secret.slice(1)}`;
    assertError(await encryptAs(bob, keyId, undefined, [forged]), 'InvalidGrantTokenException', /^The grant token is not valid\.$/);
    assertError(await raw('Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x').toString('base64'), GrantTokens: [forged] }), 'InvalidGrantTokenException');
    assertError(await raw('RetireGrant', { GrantToken: forged }), 'InvalidGrantTokenException', /^The grant token is not valid\.$/);
    assertOk(await encryptAs(bob, keyId, undefined, [created.GrantToken]));
    // Once the grant is gone, its tokens name nothing: taken as a retired grant's, as before.
    assertOk(await raw('RetireGrant', { GrantToken: created.GrantToken }));
    assertError(await encryptAs(bob, keyId, undefined, [created.GrantToken]), 'AccessDeniedException');
  });

  it('grant tokens over 8192 characters are refused on the list as a whole, and never shown', async () => {
    const keyId = await newKey();
    const created = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] });
    assertError(await encryptAs(bob, keyId, undefined, [created.GrantToken, 't'.repeat(8193)]), 'ValidationException',
      "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: "
      + 'Member must satisfy constraint: [Member must have length less than or equal to 8192, Member must have length greater than or equal to 1]');
  });

  it('a revoked grant stops working at once, token or not', async () => {
    const keyId = await newKey();
    const created = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] });
    assertOk(await encryptAs(bob, keyId));
    assertOk(await raw('RevokeGrant', { KeyId: keyId, GrantId: created.GrantId }));
    assertError(await encryptAs(bob, keyId), 'AccessDeniedException');
    assertError(await encryptAs(bob, keyId, undefined, [created.GrantToken]), 'AccessDeniedException');
    assertError(await raw('RevokeGrant', { KeyId: keyId, GrantId: created.GrantId }), 'NotFoundException');
    assertError(await raw('RevokeGrant', { KeyId: keyId, GrantId: 'not-a-grant-id' }), 'InvalidGrantIdException');
  });

  it('RevokeGrant needs kms:RevokeGrant from a policy', async () => {
    const keyId = await newKey();
    const created = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, RetiringPrincipal: bob.arn, Operations: ['Encrypt', 'RetireGrant'] });
    assertError(await bob.raw('RevokeGrant', { KeyId: keyId, GrantId: created.GrantId }), 'AccessDeniedException', /kms:RevokeGrant/);
    assertOk(await encryptAs(bob, keyId));
  });

  it('a retired grant stops working at once', async () => {
    const keyId = await newKey();
    const created = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] });
    assertOk(await encryptAs(bob, keyId));
    assertOk(await raw('RetireGrant', { GrantToken: created.GrantToken }));
    assertError(await encryptAs(bob, keyId), 'AccessDeniedException');
    assertError(await raw('RetireGrant', { GrantToken: created.GrantToken }), 'NotFoundException');
  });

  describe('who may retire a grant', () => {
    let keyId: string;
    before(async () => {
      keyId = await newKey();
    });

    it('not a principal the grant does not name, nor a grantee without RetireGrant', async () => {
      const created = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] });
      assertError(await carol.raw('RetireGrant', { GrantToken: created.GrantToken }), 'AccessDeniedException',
        `User: ${carol.arn} is not authorized to perform: kms:RetireGrant on resource: arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId} because no identity-based policy allows the kms:RetireGrant action`);
      assertError(await bob.raw('RetireGrant', { KeyId: keyId, GrantId: created.GrantId }), 'AccessDeniedException');
      assertOk(await encryptAs(bob, keyId));
    });

    it('the grantee when the grant includes RetireGrant', async () => {
      const created = await grant({ KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt', 'RetireGrant'] });
      assertOk(await carol.raw('RetireGrant', { KeyId: keyId, GrantId: created.GrantId }));
    });

    it('the retiring principal, by token or by key and grant id', async () => {
      const first = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, RetiringPrincipal: carol.arn, Operations: ['Decrypt'] });
      const second = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, RetiringPrincipal: carol.arn, Operations: ['Decrypt'] });
      assertOk(await carol.raw('RetireGrant', { GrantToken: first.GrantToken }));
      assertOk(await carol.raw('RetireGrant', { KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`, GrantId: second.GrantId }));
    });

    it('the account (its root), and principals it delegated kms:RetireGrant to', async () => {
      const first = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'] });
      const second = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'] });
      assertOk(await raw('RetireGrant', { KeyId: keyId, GrantId: first.GrantId }));
      assertOk(await dave.raw('RetireGrant', { GrantToken: second.GrantToken }));
    });

    it('not a retiring principal or grantee whose identity policies deny kms:RetireGrant', async () => {
      const erin = await createUser(t, 'erin', { deny: policyOf({ Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*' }) });
      try {
        const retiring = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, RetiringPrincipal: erin.arn, Operations: ['Decrypt'] });
        assertError(await erin.raw('RetireGrant', { GrantToken: retiring.GrantToken }), 'AccessDeniedException',
          `User: ${erin.arn} is not authorized to perform: kms:RetireGrant on resource: arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId} with an explicit deny in an identity-based policy`);
        const granted = await grant({ KeyId: keyId, GranteePrincipal: erin.arn, Operations: ['Decrypt', 'RetireGrant'] });
        assertError(await erin.raw('RetireGrant', { KeyId: keyId, GrantId: granted.GrantId }), 'AccessDeniedException', /with an explicit deny in an identity-based policy$/);
        // Both grants are still there, and the account can retire them.
        assertOk(await raw('RetireGrant', { GrantToken: retiring.GrantToken }));
        assertOk(await raw('RetireGrant', { GrantToken: granted.GrantToken }));
      } finally {
        erin.kms.destroy();
      }
    });

    it('needs a token, or both key and grant id', async () => {
      const created = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'] });
      assertError(await raw('RetireGrant', { GrantId: created.GrantId }), 'ValidationException');
      assertError(await raw('RetireGrant', {}), 'ValidationException');
      assertError(await raw('RetireGrant', { GrantToken: 'made-up' }), 'InvalidGrantTokenException');
    });
  });

  it('Name makes CreateGrant idempotent: the same name and parameters give the same grant', async () => {
    const keyId = await newKey();
    const body = { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt', 'Decrypt'], Name: 'idem:grant/1', Constraints: { EncryptionContextSubset: { a: '1' } } };
    const first = await grant(body);
    const again = await grant({ ...body, Operations: ['Decrypt', 'Encrypt'] });
    assert.equal(again.GrantId, first.GrantId);
    // A new token each time, and every one of them works.
    assert.notEqual(again.GrantToken, first.GrantToken);
    for (const token of [first.GrantToken, again.GrantToken]) assertOk(await encryptAs(bob, keyId, { a: '1' }, [token]));
    // A token of the reissued form that this server did not make is no token of the grant.
    const forged = `${again.GrantToken.slice(0, again.GrantToken.lastIndexOf('.') + 1)}${Buffer.alloc(48, 7).toString('base64url')}`;
    assertError(await raw('RetireGrant', { GrantToken: forged }), 'InvalidGrantTokenException');
    const changed = await grant({ ...body, Operations: ['Encrypt'] });
    assert.notEqual(changed.GrantId, first.GrantId);
    const list = assertOk(await raw('ListGrants', { KeyId: keyId })).Grants as Entry[];
    assert.equal(list.length, 2);
    assert.ok(list.every((g) => g.Name === 'idem:grant/1'));
    // A reissued token retires the grant, and then none of its tokens works.
    assertOk(await raw('RetireGrant', { GrantToken: again.GrantToken }));
    assertError(await raw('RetireGrant', { GrantToken: first.GrantToken }), 'NotFoundException');
    assert.deepEqual((assertOk(await raw('ListGrants', { KeyId: keyId })).Grants as Entry[]).map((g) => g.GrantId), [changed.GrantId]);
    assertError(await raw('CreateGrant', { ...body, Name: 'bad name!' }), 'ValidationException', /pattern/);
    assertError(await raw('CreateGrant', { ...body, Name: 'n'.repeat(257) }), 'ValidationException', /256/);
  });

  it('CreateGrant takes every principal form the API reference names: accounts, IAM users, IAM roles, federated users and assumed role users', async () => {
    const keyId = await newKey();
    for (const principal of [`arn:aws:iam::${ACCOUNT}:root`, bob.arn, `arn:aws:iam::444455556666:role/Ops`,
      `arn:aws:sts::${ACCOUNT}:federated-user/Bob`, `arn:aws:sts::${ACCOUNT}:assumed-role/Ops/session-1`]) {
      assertOk(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: principal, RetiringPrincipal: principal, Operations: ['Encrypt'] }));
    }
    assertOk(await raw('ListRetirableGrants', { RetiringPrincipal: `arn:aws:sts::${ACCOUNT}:federated-user/Bob` }));
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: `arn:aws:sts::${ACCOUNT}:federated-user/`, Operations: ['Encrypt'] }), 'InvalidArnException');
  });

  it('CreateGrant validates its members and refuses aliases, unknown principals and keys that are not enabled', async () => {
    const keyId = await newKey();
    assertOk(await raw('CreateAlias', { AliasName: 'alias/grant-target', TargetKeyId: keyId }));
    assertError(await raw('CreateGrant', { KeyId: 'alias/grant-target', GranteePrincipal: bob.arn, Operations: ['Encrypt'] }), 'NotFoundException');
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: [] }), 'ValidationException', /length greater than or equal to 1/);
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Fly'] }), 'ValidationException', /^1 validation error detected: Value '\[Fly\]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: \[Member must satisfy enum value set: \[Decrypt, Encrypt, /);
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn }), 'ValidationException', /operations/);
    assertError(await raw('CreateGrant', { KeyId: keyId, Operations: ['Encrypt'] }), 'ValidationException', 'You must specify either GranteePrincipal or GranteeServicePrincipal.');
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/nobody`, Operations: ['Encrypt'] }), 'InvalidArnException');
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: 'nonsense', Operations: ['Encrypt'] }), 'InvalidArnException');
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'], DryRun: true }), 'DryRunOperationException');
    assert.equal((assertOk(await raw('ListGrants', { KeyId: keyId })).Grants as Entry[]).length, 0);
    // AWS's key-state table: DisabledException for a disabled key, KMSInvalidStateException pending import or deletion.
    assertOk(await raw('DisableKey', { KeyId: keyId }));
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] }), 'DisabledException', /is disabled\.$/);
    assertOk(await raw('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 }));
    assertError(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] }), 'KMSInvalidStateException');
    const external = String((assertOk(await raw('CreateKey', { Origin: 'EXTERNAL' })).KeyMetadata as Record<string, unknown>).KeyId);
    assertError(await raw('CreateGrant', { KeyId: external, GranteePrincipal: bob.arn, Operations: ['Encrypt'] }), 'KMSInvalidStateException', /is pending import\.$/);
  });

  it('a SourceArn constraint is kept and listed, and allows no request here (none is made on behalf of an AWS resource)', async () => {
    const keyId = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const symmetric = await newKey();
    const constrained = await grant({
      KeyId: symmetric, GranteePrincipal: bob.arn, Operations: ['Encrypt', 'RetireGrant'], Constraints: { SourceArn: 'arn:aws:s3:::reports' },
    });
    assertError(await encryptAs(bob, symmetric), 'AccessDeniedException');
    assertError(await encryptAs(bob, symmetric, undefined, [constrained.GrantToken]), 'AccessDeniedException');
    const listed = assertOk(await raw('ListGrants', { KeyId: symmetric })).Grants as Entry[];
    assert.deepEqual(listed.map((g) => g.Constraints), [{ SourceArn: 'arn:aws:s3:::reports' }]);
    // The same request again is the same grant (idempotent by Name only), another SourceArn another grant.
    const named = { KeyId: symmetric, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Name: 'by-source' };
    const first = await grant({ ...named, Constraints: { SourceArn: 'arn:aws:s3:::a' } });
    assert.equal((await grant({ ...named, Constraints: { SourceArn: 'arn:aws:s3:::a' } })).GrantId, first.GrantId);
    assert.notEqual((await grant({ ...named, Constraints: { SourceArn: 'arn:aws:s3:::b' } })).GrantId, first.GrantId);
    // AWS does not apply it to RetireGrant: the grantee retires its own grant.
    assertOk(await bob.raw('RetireGrant', { GrantToken: constrained.GrantToken }));
    // Unlike an encryption-context constraint, it may sit on any key and with any operation.
    assertOk(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Sign', 'GetPublicKey'], Constraints: { SourceArn: 'arn:aws:s3:::reports' } }));
    assertError(await raw('CreateGrant', { KeyId: symmetric, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { SourceArn: '' } }), 'ValidationException', /sourceArn/);
  });

  it('takes a service principal named in GranteePrincipal or RetiringPrincipal, as AWS lists grants to services, with no partition to check', async () => {
    const keyId = await newKey();
    const created = await grant({ KeyId: keyId, GranteePrincipal: 'kms.amazonaws.com', RetiringPrincipal: 's3.amazonaws.com', Operations: ['Decrypt'] });
    const entry = (assertOk(await raw('ListGrants', { KeyId: keyId })).Grants as Entry[]).find((g) => g.GrantId === created.GrantId)!;
    assert.equal(entry.GranteePrincipal, 'kms.amazonaws.com');
    assert.equal(entry.RetiringPrincipal, 's3.amazonaws.com');
  });

  it('grants to service principals: one of each pair of members, kept and listed under their own names, used by no caller', async () => {
    const keyId = await newKey();
    const service = { KeyId: keyId, GranteeServicePrincipal: 's3.amazonaws.com', Operations: ['Decrypt'] };
    const source = { SourceArn: 'arn:aws:s3:::reports' };
    const created = await grant({ ...service, RetiringServicePrincipal: 's3.amazonaws.com', Constraints: source });
    const iam = await grant({ KeyId: keyId, GranteePrincipal: bob.arn, RetiringPrincipal: dave.arn, Operations: ['Encrypt'] });
    const entries = assertOk(await raw('ListGrants', { KeyId: keyId })).Grants as Entry[];
    const entry = entries.find((g) => g.GrantId === created.GrantId)!;
    assert.equal(entry.GranteeServicePrincipal, 's3.amazonaws.com');
    assert.equal(entry.RetiringServicePrincipal, 's3.amazonaws.com');
    assert.equal(entry.GranteePrincipal, undefined);
    assert.equal(entry.RetiringPrincipal, undefined);
    const byService = assertOk(await raw('ListGrants', { KeyId: keyId, GranteeServicePrincipal: 's3.amazonaws.com' })).Grants as Entry[];
    assert.deepEqual(byService.map((g) => g.GrantId), [created.GrantId]);
    assert.deepEqual((assertOk(await raw('ListGrants', { KeyId: keyId, GranteePrincipal: 's3.amazonaws.com' })).Grants as Entry[]), []);
    assert.deepEqual((assertOk(await raw('ListGrants', { KeyId: keyId, GranteePrincipal: bob.arn })).Grants as Entry[]).map((g) => g.GrantId), [iam.GrantId]);
    const retirable = assertOk(await raw('ListRetirableGrants', { RetiringServicePrincipal: 's3.amazonaws.com' })).Grants as Entry[];
    assert.ok(retirable.some((g) => g.GrantId === created.GrantId));
    assert.ok(!(assertOk(await raw('ListRetirableGrants', { RetiringPrincipal: dave.arn })).Grants as Entry[]).some((g) => g.GrantId === created.GrantId));

    const refused = async (body: object, message: string) => assertError(await raw('CreateGrant', body), 'ValidationException', message);
    await refused({ ...service, GranteePrincipal: bob.arn, RetiringPrincipal: dave.arn, Constraints: source }, 'You must specify either GranteePrincipal or GranteeServicePrincipal, but not both.');
    await refused({ ...service, RetiringPrincipal: dave.arn }, 'When you specify a GranteeServicePrincipal, you must also specify a SourceArn grant constraint.');
    await refused({ ...service, Constraints: source }, 'When you specify a GranteeServicePrincipal, you must also specify a RetiringPrincipal or a RetiringServicePrincipal.');
    await refused({ ...service, RetiringPrincipal: dave.arn, RetiringServicePrincipal: 's3.amazonaws.com', Constraints: source }, 'You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.');
    await refused({ ...service, GranteeServicePrincipal: bob.arn, RetiringPrincipal: dave.arn, Constraints: source }, `GranteeServicePrincipal '${bob.arn}' is not an AWS service principal, such as s3.amazonaws.com.`);
    assertError(await raw('ListGrants', { KeyId: keyId, GranteePrincipal: bob.arn, GranteeServicePrincipal: 's3.amazonaws.com' }), 'ValidationException');
    assertError(await raw('ListRetirableGrants', { RetiringPrincipal: dave.arn, RetiringServicePrincipal: 's3.amazonaws.com' }), 'ValidationException');
  });

  describe('ListGrants and ListRetirableGrants', () => {
    let keyId: string;
    const ids: string[] = [];
    before(async () => {
      keyId = await newKey();
      for (let i = 0; i < 5; i++) {
        ids.push((await grant({
          KeyId: keyId, GranteePrincipal: i < 3 ? bob.arn : carol.arn, RetiringPrincipal: dave.arn, Operations: ['Encrypt'],
          ...(i === 0 ? { Name: 'first', Constraints: { EncryptionContextEquals: { k: 'v' } } } : {}),
        })).GrantId);
      }
    });

    it('lists entries in the AWS shape', async () => {
      const grants = assertOk(await raw('ListGrants', { KeyId: keyId })).Grants as Entry[];
      assert.equal(grants.length, 5);
      const first = grants.find((g) => g.GrantId === ids[0])!;
      assert.equal(first.KeyId, `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`);
      assert.equal(first.Name, 'first');
      assert.equal(first.GranteePrincipal, bob.arn);
      assert.equal(first.RetiringPrincipal, dave.arn);
      assert.equal(first.IssuingAccount, ROOT);
      assert.deepEqual(first.Operations, ['Encrypt']);
      assert.deepEqual(first.Constraints, { EncryptionContextEquals: { k: 'v' } });
      assert.ok(first.CreationDate > 1e9 && first.CreationDate < 1e10);
    });

    it('pages with Limit and Marker, and refuses Limit 0 and 101', async () => {
      const seen: string[] = [];
      let marker: string | undefined;
      let pages = 0;
      do {
        const page = assertOk(await raw('ListGrants', { KeyId: keyId, Limit: 2, ...(marker ? { Marker: marker } : {}) }));
        const grants = page.Grants as Entry[];
        assert.ok(grants.length <= 2);
        seen.push(...grants.map((g) => g.GrantId));
        marker = page.Truncated ? String(page.NextMarker) : undefined;
        assert.equal(page.Truncated, marker !== undefined);
        pages++;
      } while (marker);
      assert.equal(pages, 3);
      assert.deepEqual([...seen].sort(), [...ids].sort());
      assertError(await raw('ListGrants', { KeyId: keyId, Limit: 0 }), 'ValidationException',
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
      assertError(await raw('ListGrants', { KeyId: keyId, Limit: 101 }), 'ValidationException',
        "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100");
      assert.equal((assertOk(await raw('ListGrants', { KeyId: keyId, Limit: 100 })).Grants as Entry[]).length, 5);
      assertError(await raw('ListGrants', { KeyId: keyId, Marker: 'forged' }), 'InvalidMarkerException');
    });

    it('filters by GrantId and GranteePrincipal, paging the filtered list', async () => {
      const one = assertOk(await raw('ListGrants', { KeyId: keyId, GrantId: ids[3] })).Grants as Entry[];
      assert.deepEqual(one.map((g) => g.GrantId), [ids[3]]);
      const first = assertOk(await raw('ListGrants', { KeyId: keyId, GranteePrincipal: bob.arn, Limit: 2 }));
      assert.equal(first.Truncated, true);
      const rest = assertOk(await raw('ListGrants', { KeyId: keyId, GranteePrincipal: bob.arn, Limit: 2, Marker: first.NextMarker }));
      assert.equal(rest.Truncated, false);
      const bobs = [...(first.Grants as Entry[]), ...(rest.Grants as Entry[])];
      assert.deepEqual(bobs.map((g) => g.GrantId).sort(), ids.slice(0, 3).sort());
      assert.ok(bobs.every((g) => g.GranteePrincipal === bob.arn));
      // The SDK reads the same answer.
      const sdk = await t.kms.send(new ListGrantsCommand({ KeyId: keyId, GranteePrincipal: carol.arn }));
      assert.equal(sdk.Grants?.length, 2);
    });

    it('ListGrants refuses a GrantId filter that is not in the form of a grant id, as RevokeGrant does', async () => {
      assertError(await raw('ListGrants', { KeyId: keyId, GrantId: 'not-a-grant-id' }), 'InvalidGrantIdException', 'Invalid grant id: not-a-grant-id');
      // A well-formed id of no grant of this key is an empty list.
      assert.deepEqual(assertOk(await raw('ListGrants', { KeyId: keyId, GrantId: '0'.repeat(64) })).Grants, []);
    });

    it('ListRetirableGrants lists a retiring principal\'s grants over all keys, with paging and limits', async () => {
      const otherKey = await newKey();
      await grant({ KeyId: otherKey, GranteePrincipal: bob.arn, RetiringPrincipal: dave.arn, Operations: ['Decrypt'] });
      const seen: string[] = [];
      let marker: string | undefined;
      do {
        const page = assertOk(await raw('ListRetirableGrants', { RetiringPrincipal: dave.arn, Limit: 4, ...(marker ? { Marker: marker } : {}) }));
        assert.ok((page.Grants as Entry[]).length <= 4);
        seen.push(...(page.Grants as Entry[]).map((g) => g.GrantId));
        marker = page.Truncated ? String(page.NextMarker) : undefined;
      } while (marker);
      assert.ok(seen.length >= 6);
      for (const id of ids) assert.ok(seen.includes(id));
      assertError(await raw('ListRetirableGrants', { RetiringPrincipal: dave.arn, Limit: 101 }), 'ValidationException', /less than or equal to 100/);
      assertError(await raw('ListRetirableGrants', { RetiringPrincipal: dave.arn, Limit: 0 }), 'ValidationException', /greater than or equal to 1/);
      assertError(await raw('ListRetirableGrants', {}), 'ValidationException', 'You must specify either RetiringPrincipal or RetiringServicePrincipal, but not both.');
      // The pattern admits names that are no principal's ARN; AWS names InvalidArnException among this operation's errors.
      assertError(await raw('ListRetirableGrants', { RetiringPrincipal: 'dave' }), 'InvalidArnException', 'dave is not a valid principal ARN.');
      // An identity policy decides it: dave has none for it.
      assertError(await dave.raw('ListRetirableGrants', { RetiringPrincipal: dave.arn }), 'AccessDeniedException', /kms:ListRetirableGrants/);
    });

    it('ListGrants needs kms:ListGrants', async () => {
      assertError(await bob.raw('ListGrants', { KeyId: keyId }), 'AccessDeniedException', /kms:ListGrants/);
    });
  });

  describe('CreateGrant permissions', () => {
    it('kms:GrantOperations and kms:GranteePrincipal conditions in the key policy', async () => {
      const keyId = await newKey({
        Policy: JSON.stringify(policyOf(
          { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
          {
            Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:CreateGrant', Resource: '*',
            Condition: {
              'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Encrypt', 'Decrypt'] },
              StringEquals: { 'kms:GranteePrincipal': carol.arn },
              Bool: { 'kms:GrantIsForAWSResource': 'false' },
            },
          },
        )),
      });
      const ok = assertOk(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'] }));
      assert.ok(ok.GrantId);
      assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt', 'ReEncryptFrom'] }), 'AccessDeniedException', /kms:CreateGrant/);
      assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: dave.arn, Operations: ['Encrypt'] }), 'AccessDeniedException');
      assertOk(await encryptAs(carol, keyId));
      const sdkError = await errorOf(() => bob.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'] })));
      assert.equal(sdkError.name, 'AccessDeniedException');
    });

    it('kms:GrantConstraintType', async () => {
      const keyId = await newKey({
        Policy: JSON.stringify(policyOf(
          { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:GrantConstraintType': 'EncryptionContextEquals' } } },
        )),
      });
      assertOk(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextEquals: { a: '1' } } }));
      assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { a: '1' } } }), 'AccessDeniedException');
      assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'] }), 'AccessDeniedException');
    });

    it('kms:EncryptionContext:<k> and kms:EncryptionContextKeys: in CreateGrant, the constraint\'s encryption context', async () => {
      const keyId = await newKey({
        Policy: JSON.stringify(policyOf(
          { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:Department': 'IT' } } },
          { Effect: 'Allow', Principal: { AWS: carol.arn }, Action: 'kms:CreateGrant', Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['app'] }, Null: { 'kms:EncryptionContextKeys': 'false' } } },
        )),
      });
      for (const Constraints of [{ EncryptionContextEquals: { Department: 'IT' } }, { EncryptionContextSubset: { department: 'IT', app: 'x' } }]) {
        assertOk(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], Constraints }));
      }
      for (const Constraints of [{ EncryptionContextEquals: { Department: 'it' } }, { EncryptionContextSubset: { app: 'x' } }, undefined]) {
        assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], ...(Constraints ? { Constraints } : {}) }), 'AccessDeniedException');
      }
      assertOk(await carol.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { app: 'x' } } }));
      assertError(await carol.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { app: 'x', team: 'y' } } }), 'AccessDeniedException');
      assertError(await carol.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'] }), 'AccessDeniedException');
    });

    it('a grant with CreateGrant passes on only its own operations, with constraints at least as strict', async () => {
      const keyId = await newKey();
      const parent = await grant({
        KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt', 'CreateGrant'], Constraints: { EncryptionContextSubset: { team: 'x' } },
      });
      // Usable at once through its token.
      const child = assertOk(await bob.raw('CreateGrant', {
        KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { team: 'x', app: 'y' } }, GrantTokens: [parent.GrantToken],
      })) as unknown as Grant;
      assertOk(await encryptAs(carol, keyId, { team: 'x', app: 'y' }));
      assertError(await encryptAs(carol, keyId, { team: 'x' }), 'AccessDeniedException');
      assertOk(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextEquals: { team: 'x' } } }));
      // Constraint keys are not case sensitive: {Team: x} is the parent's own constraint, as strict.
      assertOk(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { Team: 'x' } } }));
      assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { team: 'X' } } }), 'AccessDeniedException');
      assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { team: 'x' } } }), 'AccessDeniedException');
      assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'] }), 'AccessDeniedException');
      assertError(await bob.raw('CreateGrant', { KeyId: keyId, GranteePrincipal: carol.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { team: 'z' } } }), 'AccessDeniedException');
      // The issued grant names its issuer's account.
      const listed = (assertOk(await raw('ListGrants', { KeyId: keyId, GrantId: child.GrantId })).Grants as Entry[])[0]!;
      assert.equal(listed.IssuingAccount, ROOT);
    });
  });
});

/**
 * A grantee's grants on a key are read a page at a time. ListGrants filtered by GranteePrincipal
 * read every grant of that grantee on the key for each page, and paged them in memory: listing N
 * grants read N²/Limit records (a grantee with 4,500 grants: 16 ms a page on SQLite, 53 ms on
 * PostgreSQL). A page now reads one page from the store.
 */
describe('a grantee\'s grants are read a page at a time', () => {
  type Method = (this: SqliteStore, ...args: unknown[]) => unknown;
  const proto = SqliteStore.prototype as unknown as Record<string, Method>;
  const originals = new Map<string, Method>();
  /** Grant records the store handed out, whichever of its methods read them. */
  let recordsRead = 0;
  const grantsIn = (value: unknown): number => {
    const items: unknown[] = Array.isArray(value) ? value : typeof value === 'object' && value !== null && 'items' in value ? (value as Page<unknown>).items : [value];
    return items.filter((item) => typeof item === 'object' && item !== null && 'grantId' in item).length;
  };
  let t: TestServer;
  let bob: TestUser;

  before(async () => {
    // Counted before the server starts: it takes the store's methods once, at start (timed-store.ts).
    for (const name of Object.getOwnPropertyNames(proto)) {
      // Methods only: reading an accessor (unusableReason) on the prototype itself would throw.
      const original = Object.getOwnPropertyDescriptor(proto, name)?.value as Method | undefined;
      if (name === 'constructor' || typeof original !== 'function') continue;
      originals.set(name, original);
      proto[name] = function (this: SqliteStore, ...args: unknown[]) {
        const result = original.apply(this, args);
        return result instanceof Promise ? result.then((value: unknown) => ((recordsRead += grantsIn(value)), value)) : result;
      };
    }
    t = await startTestServer({ accountId: ACCOUNT });
    bob = await createUser(t, 'bob');
  });
  after(async () => {
    for (const [name, original] of originals) proto[name] = original;
    bob?.kms.destroy();
    await t.dispose();
  });

  it('pages 300 grants of one grantee 10 at a time, each page reading at most 11 grants, every grant once', async () => {
    const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);
    const keyId = String((assertOk(await raw('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId);
    const created = new Set<string>();
    for (let i = 0; i < 300; i++) {
      created.add((assertOk(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] })) as unknown as Grant).GrantId);
    }
    assertOk(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: ROOT, Operations: ['Encrypt'] }));
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      recordsRead = 0;
      const page = assertOk(await raw('ListGrants', { KeyId: keyId, GranteePrincipal: bob.arn, Limit: 10, ...(marker ? { Marker: marker } : {}) }));
      assert.ok(recordsRead <= 11, `one page of 10 read ${recordsRead} grants from the store`);
      seen.push(...(page.Grants as Entry[]).map((g) => g.GrantId));
      marker = page.Truncated ? String(page.NextMarker) : undefined;
    } while (marker);
    assert.equal(seen.length, 300);
    assert.deepEqual(new Set(seen), created);
  });

  it('a grantee\'s Encrypt allowed by its first grants reads a page of them, not all of its grants on the key', async () => {
    // The grantee's every Encrypt read all of its grants on the key before looking for one that
    // allows it: 22 ms an Encrypt with 4,500 of them (4 ms with one), and more with every grant.
    const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);
    const keyId = String((assertOk(await raw('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId);
    for (let i = 0; i < 300; i++) assertOk(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] }));
    recordsRead = 0;
    assertOk(await bob.raw('Encrypt', { KeyId: keyId, Plaintext: b64('g') }));
    assert.ok(recordsRead > 0 && recordsRead < 300, `one Encrypt read ${recordsRead} of the grantee's 300 grants`);
    // Grants that do not allow the operation are read past, page after page.
    const decryptOnly = await newKeyWithGrants(raw, 250, ['Decrypt']);
    assertOk(await raw('CreateGrant', { KeyId: decryptOnly, GranteePrincipal: bob.arn, Operations: ['Encrypt'] }));
    assertOk(await bob.raw('Encrypt', { KeyId: decryptOnly, Plaintext: b64('g') }));
    assertError(await bob.raw('Encrypt', { KeyId: await newKeyWithGrants(raw, 250, ['Decrypt']), Plaintext: b64('g') }), 'AccessDeniedException');
  });

  async function newKeyWithGrants(raw: (operation: string, body: unknown) => Promise<RawResponse>, count: number, Operations: string[]): Promise<string> {
    const keyId = String((assertOk(await raw('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId);
    for (let i = 0; i < count; i++) assertOk(await raw('CreateGrant', { KeyId: keyId, GranteePrincipal: bob.arn, Operations }));
    return keyId;
  }
});
