/**
 * Which request members an audit record keeps (audit/sanitize.ts): for each operation, the
 * recordable members it takes, rebuilt from their known parts. The table is held to the
 * operations themselves: every member it lists for an operation is one the operation reads (a
 * value of the wrong type is refused naming it), and every recordable name it leaves out for an
 * operation is one the operation ignores.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { recordedMembers } from '../src/audit/sanitize.js';
import { ADMIN_OPERATIONS, KMS_OPERATIONS } from '../src/routes.js';
import { memberPath } from '../src/validate/shape.js';
import { admin } from './support/principals.js';
import { rawRequest, startTestServer, type TestServer } from './support/server.js';

const OPERATIONS = [
  ...[...KMS_OPERATIONS.keys()].map((name) => ({ name, target: `TrentService.${name}` })),
  ...[...ADMIN_OPERATIONS.keys()].map((name) => ({ name: `CofferAdmin.${name}`, target: `CofferAdmin.${name}` })),
];

describe('the members an audit record keeps', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.dispose();
  });

  /** Whether `operation` reads `member`: a value no member's type admits is refused by name. */
  async function reads(target: string, member: string): Promise<boolean> {
    const res = await rawRequest(t.server.endpoint, t.credentials, '', { [member]: [[]] }, { headers: { 'x-amz-target': target } });
    return String(res.body.message ?? '').includes(`'${memberPath(member)}'`);
  }

  it('lists, for every operation, exactly the recordable members it reads', async () => {
    const recordable = new Set(OPERATIONS.flatMap(({ name }) => recordedMembers(name) ?? []));
    for (const { name, target } of OPERATIONS) {
      const listed = recordedMembers(name);
      assert.ok(listed !== undefined, `${name} has a row`);
      for (const member of recordable) {
        assert.equal(await reads(target, member), listed.includes(member), `${name}: ${member}`);
      }
    }
  });

  /** The requestParameters of the newest audit record of `requestId`. */
  async function recorded(requestId: string): Promise<Record<string, unknown>> {
    const page = await admin(t, 'QueryAuditRecords', { Limit: 20 });
    const record = (page.Records as Array<Record<string, unknown>>).find((r) => r.requestID === requestId);
    assert.ok(record, 'the request has a record');
    return record.requestParameters as Record<string, unknown>;
  }

  async function send(operation: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await rawRequest(t.server.endpoint, t.credentials, operation, body);
    return recorded(String(res.headers.get('x-amzn-requestid')));
  }

  it('keeps an identity policy\'s document, as IAM\'s CloudTrail records PutUserPolicy\'s', async () => {
    await admin(t, 'CreateUser', { UserName: 'audited' });
    const document = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }] });
    const res = await rawRequest(t.server.endpoint, t.credentials, 'PutPrincipalPolicy', { UserName: 'audited', PolicyName: 'p', PolicyDocument: document },
      { headers: { 'x-amz-target': 'CofferAdmin.PutPrincipalPolicy' } });
    assert.equal(res.status, 200, res.text);
    // Before, the name only: what the user was allowed could not be read from the trail.
    assert.deepEqual(await recorded(String(res.headers.get('x-amzn-requestid'))), { userName: 'audited', policyName: 'p', policyDocument: document });
  });

  it('keeps an identity policy document up to its own limit, 131,072 characters, not JSON\'s 64 KiB', async () => {
    await admin(t, 'CreateUser', { UserName: 'padded' });
    // White space does not count toward the policy quota; quotes count once, as written.
    const document = `{"Version": "2012-10-17",${' '.repeat(70_000)}"Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]}`;
    const res = await rawRequest(t.server.endpoint, t.credentials, 'PutPrincipalPolicy', { UserName: 'padded', PolicyName: 'p', PolicyDocument: document },
      { headers: { 'x-amz-target': 'CofferAdmin.PutPrincipalPolicy' } });
    // Before, '[omitted: too large]', as only a hostile request's value is.
    assert.equal((await recorded(String(res.headers.get('x-amzn-requestid')))).policyDocument, document);
  });

  it('keeps no member the operation does not take, whatever its name, and nothing nested in a kept member that its type has not', async () => {
    const secret = 'S3CRET-in-an-unknown-member';
    const { KeyMetadata } = await t.kms.send(new (await import('@aws-sdk/client-kms')).CreateKeyCommand({}));
    const keyId = KeyMetadata!.KeyId!;
    const plaintext = Buffer.from('x').toString('base64');

    // Names other operations record, on an operation that does not take them.
    const encrypt = await send('Encrypt', { KeyId: keyId, Plaintext: plaintext, Description: secret, Policy: secret, Name: secret, Principal: secret, Status: secret });
    // The algorithm the caller left out is shown, as CloudTrail shows it (cloudtrail-parameters.ts).
    assert.deepEqual(encrypt, { keyId, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' });

    const tagged = await send('CreateKey', { Tags: [{ TagKey: 'k', TagValue: 'v', Extra: secret }] });
    assert.deepEqual(tagged, { tags: [{ tagKey: 'k', tagValue: 'v' }] });

    const granted = await send('CreateGrant', {
      KeyId: keyId, GranteePrincipal: 'arn:aws:iam::111122223333:root', Operations: ['Decrypt'],
      Constraints: { EncryptionContextSubset: { a: 'b' }, Hidden: secret },
    });
    assert.deepEqual(granted.constraints, { encryptionContextSubset: { a: 'b' } });

    // A context key "__proto__" is a key like any other: recorded, in a context and in a constraint.
    const proto = JSON.parse('{"__proto__":"tenant-a","purpose":"x"}') as Record<string, string>;
    const protoEncrypt = await send('Encrypt', { KeyId: keyId, Plaintext: plaintext, EncryptionContext: proto });
    assert.equal(JSON.stringify(protoEncrypt.encryptionContext), '{"__proto__":"tenant-a","purpose":"x"}');
    const protoGrant = await send('CreateGrant', {
      KeyId: keyId, GranteePrincipal: 'arn:aws:iam::111122223333:root', Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: proto },
    });
    assert.equal(JSON.stringify(protoGrant.constraints), '{"encryptionContextEquals":{"__proto__":"tenant-a","purpose":"x"}}');

    // A member of another type than its own is named, not kept.
    const wrong = await send('Encrypt', { KeyId: { nested: secret }, Plaintext: plaintext, EncryptionContext: { a: { b: secret } } });
    assert.deepEqual(wrong, {
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT', keyId: "[omitted: not of the member's type]", encryptionContext: "[omitted: not of the member's type]",
    });
    assert.ok(!JSON.stringify([encrypt, tagged, granted, wrong]).includes(secret));
  });
});
