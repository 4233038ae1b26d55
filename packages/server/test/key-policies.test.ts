/**
 * Key policies over HTTP, as users of the server see them: GetKeyPolicy / ListKeyPolicies /
 * PutKeyPolicy, the condition keys the server fills for a request on a key, the delegation to
 * identity policies, the lockout safety check, and malformed documents.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { admin, createUser, policyOf, type TestUser } from './support/principals.js';
import { errorOf, rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

const ACCOUNT = '111122223333';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const plaintext = new TextEncoder().encode('policy test');
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

/** The statement every test key keeps, so the admin (the account root) can manage it. */
const ADMIN_STATEMENT = { Sid: 'admin', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' };

describe('key policies over HTTP', () => {
  let t: TestServer;
  let bob: TestUser;
  let carol: TestUser;
  let alice: TestUser;
  const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);

  /** A key whose policy is the admin statement plus `statements`; returns its id and ARN. */
  async function keyWith(...statements: object[]): Promise<{ id: string; arn: string }> {
    const created = assertOk(await raw('CreateKey', { Policy: JSON.stringify(policyOf(ADMIN_STATEMENT, ...statements)) }));
    const metadata = created.KeyMetadata as { KeyId: string; Arn: string };
    return { id: metadata.KeyId, arn: metadata.Arn };
  }

  const allowBob = (actions: string | string[], condition?: object) => ({
    Effect: 'Allow', Principal: { AWS: bob.arn }, Action: actions, Resource: '*', ...(condition ? { Condition: condition } : {}),
  });

  const encryptAs = (user: TestUser, keyId: string, context?: Record<string, string>) =>
    user.raw('Encrypt', { KeyId: keyId, Plaintext: b64('x'), ...(context ? { EncryptionContext: context } : {}) });

  before(async () => {
    t = await startTestServer({ accountId: ACCOUNT });
    bob = await createUser(t, 'bob');
    carol = await createUser(t, 'carol');
    alice = await createUser(t, 'alice', { all: policyOf({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }) });
  });
  after(async () => {
    for (const user of [bob, carol, alice]) user?.kms.destroy();
    await t.dispose();
  });

  describe('GetKeyPolicy, ListKeyPolicies, PutKeyPolicy', () => {
    it('returns the default key policy for a key created without one, named default', async () => {
      const id = String((assertOk(await raw('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId);
      const got = assertOk(await raw('GetKeyPolicy', { KeyId: id }));
      assert.equal(got.PolicyName, 'default');
      assert.deepEqual(JSON.parse(String(got.Policy)), {
        Version: '2012-10-17', Id: 'key-default-1',
        Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }],
      });
      assert.deepEqual(assertOk(await raw('ListKeyPolicies', { KeyId: id })), { PolicyNames: ['default'], Truncated: false });
    });

    it('stores the text PutKeyPolicy sets and GetKeyPolicy returns it as given', async () => {
      const { id, arn } = await keyWith();
      const text = JSON.stringify(policyOf(ADMIN_STATEMENT, allowBob('kms:DescribeKey')), null, 1);
      assertOk(await raw('PutKeyPolicy', { KeyId: arn, PolicyName: 'default', Policy: text }));
      assert.equal(assertOk(await raw('GetKeyPolicy', { KeyId: id, PolicyName: 'default' })).Policy, text);
      // The new policy is in force at once: bob may now describe the key.
      assertOk(await bob.raw('DescribeKey', { KeyId: id }));
    });

    it('refuses a policy name other than default, and names that break the pattern', async () => {
      const { id } = await keyWith();
      assertError(await raw('GetKeyPolicy', { KeyId: id, PolicyName: 'other' }), 'NotFoundException', 'No such policy exists');
      assertError(await raw('PutKeyPolicy', { KeyId: id, PolicyName: 'other', Policy: JSON.stringify(policyOf(ADMIN_STATEMENT)) }),
        'NotFoundException', 'No such policy exists');
      assertError(await raw('GetKeyPolicy', { KeyId: id, PolicyName: 'no-dash' }), 'ValidationException',
        "1 validation error detected: Value 'no-dash' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]+");
    });

    it('validates Policy length, Limit and KeyId forms as AWS does', async () => {
      const { id } = await keyWith();
      assertError(await raw('PutKeyPolicy', { KeyId: id, Policy: '' }), 'ValidationException',
        // A policy document is never echoed (nor so reaches the audit trail), even an empty one.
        "2 validation errors detected: Value at 'policy' failed to satisfy constraint: Member must have length greater than or equal to 1; "
        + "Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
      // AWS's PolicyType pattern, before the document is read: the model's ValidationException, the policy not echoed.
      for (const operation of ['PutKeyPolicy', 'CreateKey']) {
        assertError(await raw(operation, { ...(operation === 'PutKeyPolicy' ? { KeyId: id } : {}), Policy: JSON.stringify(policyOf({ ...ADMIN_STATEMENT, Sid: 'snow \u2603' })) }), 'ValidationException',
          "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
      }
      assertError(await raw('PutKeyPolicy', { KeyId: id }), 'ValidationException',
        "1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null");
      // Over AWS's member limit, a ValidationException that does not echo the policy; over the key policy quota, LimitExceededException.
      assertError(await raw('PutKeyPolicy', { KeyId: id, Policy: 'x'.repeat(131073) }), 'ValidationException',
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 131072");
      assertError(await raw('PutKeyPolicy', { KeyId: id, Policy: 'x'.repeat(32769) }), 'LimitExceededException', /the limit is 32768/);
      assertError(await raw('CreateKey', { Policy: 'x'.repeat(32769) }), 'LimitExceededException', /the limit is 32768/);
      assertError(await raw('ListKeyPolicies', { KeyId: id, Limit: 0 }), 'ValidationException', /greater than or equal to 1/);
      assertError(await raw('ListKeyPolicies', { KeyId: id, Limit: 1001 }), 'ValidationException', /less than or equal to 1000/);
      assertOk(await raw('ListKeyPolicies', { KeyId: id, Limit: 1000 }));
      assertOk(await raw('CreateAlias', { AliasName: 'alias/policy-forms', TargetKeyId: id }));
      assertError(await raw('GetKeyPolicy', { KeyId: 'alias/policy-forms' }), 'NotFoundException', "Invalid keyId 'alias/policy-forms'");
      // An alias ARN is refused as AWS refuses one given to CreateGrant.
      for (const [operation, body] of [['GetKeyPolicy', {}], ['EnableKeyRotation', {}], ['CreateGrant', { GranteePrincipal: `arn:aws:iam::${ACCOUNT}:root`, Operations: ['Encrypt'] }]] as const) {
        assertError(await raw(operation, { KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/policy-forms`, ...body }), 'InvalidArnException',
          'Key Aliases are not supported for this operation.');
      }
    });

    it('needs kms:GetKeyPolicy, kms:ListKeyPolicies and kms:PutKeyPolicy', async () => {
      const { id, arn } = await keyWith();
      for (const [operation, action, body] of [
        ['GetKeyPolicy', 'kms:GetKeyPolicy', { KeyId: id }],
        ['ListKeyPolicies', 'kms:ListKeyPolicies', { KeyId: id }],
        ['PutKeyPolicy', 'kms:PutKeyPolicy', { KeyId: id, Policy: JSON.stringify(policyOf(ADMIN_STATEMENT)) }],
      ] as const) {
        assertError(await bob.raw(operation, body), 'AccessDeniedException',
          `User: ${bob.arn} is not authorized to perform: ${action} on resource: ${arn} because no identity-based policy allows the ${action} action`);
      }
    });
  });

  describe('condition keys', () => {
    it('kms:EncryptionContext:<key> with StringEquals allows only matching Encrypt, Decrypt and GenerateDataKey', async () => {
      const { id, arn } = await keyWith(allowBob(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        { StringEquals: { 'kms:EncryptionContext:dept': 'finance' } }));
      const ok = assertOk(await encryptAs(bob, id, { dept: 'finance', extra: 'x' }));
      assertError(await encryptAs(bob, id, { dept: 'hr' }), 'AccessDeniedException',
        `User: ${bob.arn} is not authorized to perform: kms:Encrypt on resource: ${arn} because no identity-based policy allows the kms:Encrypt action`);
      assertError(await encryptAs(bob, id), 'AccessDeniedException');
      assertError(await encryptAs(bob, id, { dept: 'Finance' }), 'AccessDeniedException');

      // Through the official SDK, for Decrypt and GenerateDataKey.
      const decrypted = await bob.kms.send(new DecryptCommand({
        CiphertextBlob: Buffer.from(String(ok.CiphertextBlob), 'base64'), EncryptionContext: { dept: 'finance', extra: 'x' },
      }));
      assert.equal(Buffer.from(decrypted.Plaintext!).toString(), 'x');
      const hrBlob = (await t.kms.send(new EncryptCommand({ KeyId: id, Plaintext: plaintext, EncryptionContext: { dept: 'hr' } }))).CiphertextBlob!;
      const denied = await errorOf(() => bob.kms.send(new DecryptCommand({ CiphertextBlob: hrBlob, EncryptionContext: { dept: 'hr' } })));
      assert.equal(denied.name, 'AccessDeniedException');
      await bob.kms.send(new GenerateDataKeyCommand({ KeyId: id, KeySpec: 'AES_256', EncryptionContext: { dept: 'finance' } }));
      const gdk = await errorOf(() => bob.kms.send(new GenerateDataKeyCommand({ KeyId: id, KeySpec: 'AES_256', EncryptionContext: { dept: 'hr' } })));
      assert.equal(gdk.name, 'AccessDeniedException');
    });

    it('kms:ReEncryptOnSameKey is the same on both sides of ReEncrypt: kms:ReEncrypt* allowed when true re-encrypts under the same key only', async () => {
      const same = await keyWith(allowBob('kms:ReEncrypt*', { Bool: { 'kms:ReEncryptOnSameKey': 'true' } }));
      const other = await keyWith(allowBob('kms:ReEncrypt*'));
      const blob = (await t.kms.send(new EncryptCommand({ KeyId: same.id, Plaintext: plaintext }))).CiphertextBlob!;
      const CiphertextBlob = Buffer.from(blob).toString('base64');
      // Named by id, by ARN, or by the ciphertext alone, the source is the destination.
      assertOk(await bob.raw('ReEncrypt', { CiphertextBlob, DestinationKeyId: same.id }));
      assertOk(await bob.raw('ReEncrypt', { CiphertextBlob, SourceKeyId: same.arn, DestinationKeyId: same.arn }));
      assertError(await bob.raw('ReEncrypt', { CiphertextBlob, DestinationKeyId: other.id }), 'AccessDeniedException',
        `User: ${bob.arn} is not authorized to perform: kms:ReEncryptFrom on the resource associated with this ciphertext because no identity-based policy allows the kms:ReEncryptFrom action`);
    });

    it('kms:EncryptionContextKeys with ForAllValues and ForAnyValue', async () => {
      const all = await keyWith(allowBob('kms:Encrypt', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['a', 'b'] } }));
      assertOk(await encryptAs(bob, all.id, { a: '1' }));
      assertOk(await encryptAs(bob, all.id, { a: '1', b: '2' }));
      assertError(await encryptAs(bob, all.id, { a: '1', c: '3' }), 'AccessDeniedException');
      // ForAllValues over no keys at all holds, as in AWS: pair it with Null to require a context.
      assertOk(await encryptAs(bob, all.id));

      const any = await keyWith(allowBob('kms:Encrypt', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': ['a'] } }));
      assertOk(await encryptAs(bob, any.id, { a: '1', z: '0' }));
      assertError(await encryptAs(bob, any.id, { z: '0' }), 'AccessDeniedException');
      assertError(await encryptAs(bob, any.id), 'AccessDeniedException');
    });

    it('kms:RequestAlias and kms:ResourceAliases', async () => {
      const requested = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:RequestAlias': 'alias/policy-requested' } }));
      assertOk(await raw('CreateAlias', { AliasName: 'alias/policy-requested', TargetKeyId: requested.id }));
      assertOk(await raw('CreateAlias', { AliasName: 'alias/policy-other', TargetKeyId: requested.id }));
      assertOk(await encryptAs(bob, 'alias/policy-requested'));
      assertOk(await encryptAs(bob, `arn:aws:kms:us-east-1:${ACCOUNT}:alias/policy-requested`));
      assertError(await encryptAs(bob, 'alias/policy-other'), 'AccessDeniedException');
      assertError(await encryptAs(bob, requested.id), 'AccessDeniedException');

      const resource = await keyWith(allowBob('kms:Encrypt', { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/policy-resource' } }));
      assertError(await encryptAs(bob, resource.id), 'AccessDeniedException');
      assertOk(await raw('CreateAlias', { AliasName: 'alias/policy-resource', TargetKeyId: resource.id }));
      assertOk(await encryptAs(bob, resource.id));
      assertOk(await raw('DeleteAlias', { AliasName: 'alias/policy-resource' }));
      assertError(await encryptAs(bob, resource.id), 'AccessDeniedException');
    });

    it('kms:CallerAccount', async () => {
      const mine = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:CallerAccount': ACCOUNT } }));
      const other = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:CallerAccount': '444455556666' } }));
      assertOk(await encryptAs(bob, mine.id));
      assertError(await encryptAs(bob, other.id), 'AccessDeniedException');
    });

    it('aws:SourceIp: 127.0.0.1 allowed, 10.0.0.0/8 denied', async () => {
      assert.match(t.server.endpoint, /127\.0\.0\.1/);
      const loopback = await keyWith(allowBob('kms:Encrypt', { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } }));
      const private10 = await keyWith(allowBob('kms:Encrypt', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }));
      const notPrivate = await keyWith(allowBob('kms:Encrypt', { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }));
      assertOk(await encryptAs(bob, loopback.id));
      assertError(await encryptAs(bob, private10.id), 'AccessDeniedException');
      assertOk(await encryptAs(bob, notPrivate.id));
    });

    it('aws:CurrentTime with DateGreaterThan a past and a future date', async () => {
      const past = await keyWith(allowBob('kms:Encrypt', { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }));
      const future = await keyWith(allowBob('kms:Encrypt', { DateGreaterThan: { 'aws:CurrentTime': '2100-01-01T00:00:00Z' } }));
      assertOk(await encryptAs(bob, past.id));
      assertError(await encryptAs(bob, future.id), 'AccessDeniedException');
    });

    it('aws:PrincipalArn and aws:username', async () => {
      const everyone = (condition: object) => ({ Effect: 'Allow', Principal: '*', Action: 'kms:Encrypt', Resource: '*', Condition: condition });
      const byArn = await keyWith(everyone({ ArnEquals: { 'aws:PrincipalArn': bob.arn } }));
      assertOk(await encryptAs(bob, byArn.id));
      assertError(await encryptAs(carol, byArn.id), 'AccessDeniedException');
      const byName = await keyWith(everyone({ StringEquals: { 'aws:username': 'carol' } }));
      assertOk(await encryptAs(carol, byName.id));
      assertError(await encryptAs(bob, byName.id), 'AccessDeniedException');
    });

    it('kms:EncryptionAlgorithm', async () => {
      const symmetric = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } }));
      const rsa = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:EncryptionAlgorithm': 'RSAES_OAEP_SHA_256' } }));
      assertOk(await encryptAs(bob, symmetric.id));
      assertOk(await bob.raw('Encrypt', { KeyId: symmetric.id, Plaintext: b64('x'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }));
      assertError(await encryptAs(bob, rsa.id), 'AccessDeniedException');
    });

    it('kms:RotationPeriodInDays and kms:ScheduleKeyDeletionPendingWindowInDays have the default when the request leaves the member out, as AWS documents', async () => {
      const capped = await keyWith(
        allowBob(['kms:EnableKeyRotation', 'kms:ScheduleKeyDeletion']),
        { Effect: 'Deny', Principal: { AWS: bob.arn }, Action: 'kms:EnableKeyRotation', Resource: '*', Condition: { NumericGreaterThan: { 'kms:RotationPeriodInDays': '180' } } },
        { Effect: 'Deny', Principal: { AWS: bob.arn }, Action: 'kms:ScheduleKeyDeletion', Resource: '*', Condition: { NumericGreaterThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '14' } } },
      );
      // The defaults, 365 and 30 days, are past the caps.
      assertError(await bob.raw('EnableKeyRotation', { KeyId: capped.id }), 'AccessDeniedException');
      assertError(await bob.raw('ScheduleKeyDeletion', { KeyId: capped.id }), 'AccessDeniedException');
      assertOk(await bob.raw('EnableKeyRotation', { KeyId: capped.id, RotationPeriodInDays: 180 }));
      const floor = await keyWith(allowBob('kms:EnableKeyRotation', { NumericGreaterThanEquals: { 'kms:RotationPeriodInDays': '365' } }));
      assertOk(await bob.raw('EnableKeyRotation', { KeyId: floor.id }));
    });

    it('kms:KeySpec and kms:KeyUsage', async () => {
      const specOk = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT' } }));
      const specNo = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:KeySpec': 'RSA_2048' } }));
      const usageNo = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:KeyUsage': 'SIGN_VERIFY' } }));
      assertOk(await encryptAs(bob, specOk.id));
      assertError(await encryptAs(bob, specNo.id), 'AccessDeniedException');
      assertError(await encryptAs(bob, usageNo.id), 'AccessDeniedException');
    });

    it('kms:MultiRegion says whether the key is multi-Region, and kms:MultiRegionKeyType is PRIMARY on one', async () => {
      const single = await keyWith(allowBob('kms:Encrypt', { Bool: { 'kms:MultiRegion': false } }));
      const singleDenied = await keyWith(allowBob('kms:Encrypt', { Bool: { 'kms:MultiRegion': true } }));
      const singleByType = await keyWith(allowBob('kms:Encrypt', { StringEquals: { 'kms:MultiRegionKeyType': 'PRIMARY' } }));
      assertOk(await encryptAs(bob, single.id));
      assertError(await encryptAs(bob, singleDenied.id), 'AccessDeniedException');
      assertError(await encryptAs(bob, singleByType.id), 'AccessDeniedException');

      const multiRegionKey = async (...statements: object[]) => {
        const created = assertOk(await raw('CreateKey', { MultiRegion: true, Policy: JSON.stringify(policyOf(ADMIN_STATEMENT, ...statements)) }));
        return (created.KeyMetadata as { KeyId: string }).KeyId;
      };
      assertOk(await encryptAs(bob, await multiRegionKey(allowBob('kms:Encrypt', { Bool: { 'kms:MultiRegion': true } }))));
      assertOk(await encryptAs(bob, await multiRegionKey(allowBob('kms:Encrypt', { StringEquals: { 'kms:MultiRegionKeyType': 'PRIMARY' } }))));
      assertError(await encryptAs(bob, await multiRegionKey(allowBob('kms:Encrypt', { Bool: { 'kms:MultiRegion': false } }))), 'AccessDeniedException');
      assertError(await encryptAs(bob, await multiRegionKey(allowBob('kms:Encrypt', { StringEquals: { 'kms:MultiRegionKeyType': 'REPLICA' } }))), 'AccessDeniedException');
    });

    it('CreateKey carries kms:MultiRegion and kms:MultiRegionKeyType for an identity policy to limit', async () => {
      const singleOnly = await createUser(t, 'single-region-creator', {
        create: policyOf({ Effect: 'Allow', Action: 'kms:CreateKey', Resource: '*', Condition: { Bool: { 'kms:MultiRegion': false } } }),
      });
      const primariesOnly = await createUser(t, 'primary-creator', {
        create: policyOf({ Effect: 'Allow', Action: 'kms:CreateKey', Resource: '*', Condition: { StringEquals: { 'kms:MultiRegionKeyType': 'PRIMARY' } } }),
      });
      try {
        assertOk(await singleOnly.raw('CreateKey', {}));
        assertError(await singleOnly.raw('CreateKey', { MultiRegion: true }), 'AccessDeniedException');
        assertOk(await primariesOnly.raw('CreateKey', { MultiRegion: true }));
        assertError(await primariesOnly.raw('CreateKey', {}), 'AccessDeniedException');
      } finally {
        singleOnly.kms.destroy();
        primariesOnly.kms.destroy();
      }
    });
  });

  describe('delegation to identity policies and the lockout safety check', () => {
    it('a user allowed by an identity policy may use a key with the default key policy', async () => {
      const id = String((assertOk(await raw('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId);
      assertOk(await encryptAs(alice, id));
      assertError(await encryptAs(bob, id), 'AccessDeniedException');
    });

    it('a key policy without the account statement turns identity policies off', async () => {
      const policy = JSON.stringify(policyOf(allowBob('kms:*')));
      const noIam = String((assertOk(await raw('CreateKey', { Policy: JSON.stringify(policyOf(allowBob('kms:Encrypt'))), BypassPolicyLockoutSafetyCheck: true })).KeyMetadata as { Arn: string }).Arn);
      // Nothing delegated to IAM: the missing allow is the key policy's, as KMS words it.
      assertError(await alice.raw('Encrypt', { KeyId: noIam, Plaintext: b64('x') }), 'AccessDeniedException',
        `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${noIam} because no resource-based policy allows the kms:Encrypt action`);
      // The admin (the account root) would lock itself out: refused unless bypassed.
      assertError(await raw('CreateKey', { Policy: policy }), 'MalformedPolicyDocumentException',
        'The new key policy will not allow you to update the key policy in the future.');
      const id = String((assertOk(await raw('CreateKey', { Policy: policy, BypassPolicyLockoutSafetyCheck: true })).KeyMetadata as { KeyId: string }).KeyId);
      assertError(await encryptAs(alice, id), 'AccessDeniedException');
      assertOk(await encryptAs(bob, id));
      // Bob, named by the key policy, may still change it.
      assertOk(await bob.raw('PutKeyPolicy', { KeyId: id, Policy: JSON.stringify(policyOf(ADMIN_STATEMENT, allowBob('kms:*'))) }));
      assertOk(await encryptAs(alice, id));
    });

    it('judges the lockout with the request\'s conditions: allowed from this address passes, denied from it is refused', async () => {
      const { id } = await keyWith(allowBob('kms:*'));
      const fromHere = (effect: 'Allow' | 'Deny') => JSON.stringify(policyOf(allowBob('kms:*'),
        { Effect: effect, Principal: { AWS: bob.arn }, Action: 'kms:PutKeyPolicy', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }));
      assertError(await bob.raw('PutKeyPolicy', { KeyId: id, Policy: fromHere('Deny') }), 'MalformedPolicyDocumentException',
        'The new key policy will not allow you to update the key policy in the future.');
      assertOk(await bob.raw('PutKeyPolicy', { KeyId: id, Policy: JSON.stringify(policyOf({
        Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:PutKeyPolicy', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } },
      })) }));
    });

    it('refuses a PutKeyPolicy that would lock the caller out, unless BypassPolicyLockoutSafetyCheck', async () => {
      const id = String((assertOk(await raw('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId);
      const lockout = JSON.stringify(policyOf(allowBob('kms:Encrypt')));
      assertError(await alice.raw('PutKeyPolicy', { KeyId: id, Policy: lockout }), 'MalformedPolicyDocumentException',
        'The new key policy will not allow you to update the key policy in the future.');
      assertError(await raw('PutKeyPolicy', { KeyId: id, Policy: lockout }), 'MalformedPolicyDocumentException',
        'The new key policy will not allow you to update the key policy in the future.');
      // Unchanged: alice still reads the default policy.
      assert.equal(JSON.parse(String(assertOk(await alice.raw('GetKeyPolicy', { KeyId: id })).Policy)).Id, 'key-default-1');
      assertOk(await alice.raw('PutKeyPolicy', { KeyId: id, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));
      assertError(await alice.raw('GetKeyPolicy', { KeyId: id }), 'AccessDeniedException');
    });

    it('the lockout check reads kms:BypassPolicyLockoutSafetyCheck conditions on PutKeyPolicy', async () => {
      const { id, arn } = await keyWith(
        { Effect: 'Deny', Principal: { AWS: bob.arn }, Action: 'kms:PutKeyPolicy', Resource: '*', Condition: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } } },
        allowBob('kms:PutKeyPolicy'),
      );
      const keepsBob = JSON.stringify(policyOf(ADMIN_STATEMENT, allowBob('kms:PutKeyPolicy')));
      assertError(await bob.raw('PutKeyPolicy', { KeyId: id, Policy: keepsBob, BypassPolicyLockoutSafetyCheck: true }), 'AccessDeniedException',
        `User: ${bob.arn} is not authorized to perform: kms:PutKeyPolicy on resource: ${arn} with an explicit deny in a resource-based policy`);
      assertOk(await bob.raw('PutKeyPolicy', { KeyId: id, Policy: keepsBob }));
    });

    it('the lockout check reads the key\'s condition keys, as a later PutKeyPolicy on the key would have them', async () => {
      const admin = (condition: object) => JSON.stringify(policyOf({ ...ADMIN_STATEMENT, Condition: condition }));
      const ownAccount = admin({ StringEquals: { 'kms:CallerAccount': ACCOUNT } });
      const created = assertOk(await raw('CreateKey', { Policy: ownAccount })).KeyMetadata as { KeyId: string };
      assertOk(await raw('PutKeyPolicy', { KeyId: created.KeyId, Policy: admin({ StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyOrigin': 'AWS_KMS' } }) }));
      assertOk(await raw('PutKeyPolicy', { KeyId: created.KeyId, Policy: ownAccount }));
      // The tags CreateKey gives the key are its aws:ResourceTag keys.
      assertOk(await raw('CreateKey', { Policy: admin({ StringEquals: { 'aws:ResourceTag/env': 'prod' } }), Tags: [{ TagKey: 'env', TagValue: 'prod' }] }));
      const lockout = 'The new key policy will not allow you to update the key policy in the future.';
      assertError(await raw('CreateKey', { Policy: admin({ StringEquals: { 'kms:CallerAccount': '444455556666' } }) }), 'MalformedPolicyDocumentException', lockout);
      assertError(await raw('PutKeyPolicy', { KeyId: created.KeyId, Policy: admin({ StringEquals: { 'kms:KeySpec': 'RSA_2048' } }) }), 'MalformedPolicyDocumentException', lockout);
      assertError(await raw('CreateKey', { Policy: admin({ StringEquals: { 'aws:ResourceTag/env': 'prod' } }) }), 'MalformedPolicyDocumentException', lockout);
    });

    it('a tag whose key differs only in case does not hide a tag from a Deny (resource and request tags)', async () => {
      // Condition keys are case-insensitive and tag keys are not: both values are the one key's.
      const denySecret = { Effect: 'Deny', Principal: { AWS: bob.arn }, Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/classification': 'secret' } } };
      const { id } = await keyWith(allowBob(['kms:Encrypt', 'kms:TagResource']), denySecret);
      assertOk(await raw('TagResource', { KeyId: id, Tags: [{ TagKey: 'Classification', TagValue: 'secret' }] }));
      assertError(await encryptAs(bob, id), 'AccessDeniedException', /explicit deny/);
      assertOk(await bob.raw('TagResource', { KeyId: id, Tags: [{ TagKey: 'classification', TagValue: 'public' }] }));
      assertError(await encryptAs(bob, id), 'AccessDeniedException', /explicit deny/);
      const denyVictim = { Effect: 'Deny', Principal: { AWS: bob.arn }, Action: 'kms:TagResource', Resource: '*', Condition: { StringEquals: { 'aws:RequestTag/Owner': 'victim' } } };
      const other = await keyWith(allowBob('kms:TagResource'), denyVictim);
      for (const tags of [[{ TagKey: 'Owner', TagValue: 'victim' }], [{ TagKey: 'Owner', TagValue: 'victim' }, { TagKey: 'owner', TagValue: 'me' }], [{ TagKey: 'owner', TagValue: 'me' }, { TagKey: 'Owner', TagValue: 'victim' }]]) {
        assertError(await bob.raw('TagResource', { KeyId: other.id, Tags: tags }), 'AccessDeniedException', /explicit deny/);
      }
      assertOk(await bob.raw('TagResource', { KeyId: other.id, Tags: [{ TagKey: 'owner', TagValue: 'me' }] }));
    });

    it('a policy variable naming a key that differs only in case is read per value too: a Deny applies if any reading does', async () => {
      const deny = (condition: object) => ({ Effect: 'Deny', Principal: { AWS: bob.arn }, Action: 'kms:Encrypt', Resource: '*', Condition: condition });
      // The variable from the caller's own encryption context.
      const byContext = await keyWith(allowBob('kms:Encrypt'), deny({ StringNotEquals: { 'aws:ResourceTag/tenant': '${kms:EncryptionContext:tenant}' } }));
      assertOk(await raw('TagResource', { KeyId: byContext.id, Tags: [{ TagKey: 'tenant', TagValue: 'acme' }] }));
      assertOk(await encryptAs(bob, byContext.id, { tenant: 'acme' }));
      assertError(await encryptAs(bob, byContext.id, { tenant: 'evil' }), 'AccessDeniedException', /explicit deny/);
      assertError(await encryptAs(bob, byContext.id, { tenant: 'evil', TENANT: 'evil' }), 'AccessDeniedException', /explicit deny/);
      assertError(await encryptAs(bob, byContext.id, { tenant: 'acme', TENANT: 'evil' }), 'AccessDeniedException', /explicit deny/);
      // The variable from the key's tags: a case variant of the tag added later.
      const byTag = await keyWith(allowBob(['kms:Encrypt', 'kms:TagResource']), deny({ StringNotEquals: { 'kms:EncryptionContext:tenant': '${aws:ResourceTag/tenant}' } }));
      assertOk(await raw('TagResource', { KeyId: byTag.id, Tags: [{ TagKey: 'tenant', TagValue: 'acme' }] }));
      assertOk(await bob.raw('TagResource', { KeyId: byTag.id, Tags: [{ TagKey: 'TENANT', TagValue: 'evil' }] }));
      assertError(await encryptAs(bob, byTag.id, { tenant: 'evil' }), 'AccessDeniedException', /explicit deny/);
      assertError(await encryptAs(bob, byTag.id, { tenant: 'acme' }), 'AccessDeniedException', /explicit deny/);
    });

    it('a tag whose key differs only in case does not satisfy an Allow either: the Allow must hold for every value', async () => {
      const allowProd = allowBob('kms:Encrypt', { StringEquals: { 'aws:ResourceTag/env': 'prod' } });
      const allowDevTags = allowBob('kms:TagResource', { StringEquals: { 'aws:RequestTag/env': 'dev' } });
      const { id } = await keyWith(allowProd, allowDevTags);
      assertOk(await raw('TagResource', { KeyId: id, Tags: [{ TagKey: 'env', TagValue: 'dev' }] }));
      assertError(await encryptAs(bob, id), 'AccessDeniedException');
      // The request tag rule: env=dev only. A case variant of another value rides along in neither order.
      for (const tags of [[{ TagKey: 'env', TagValue: 'dev' }, { TagKey: 'ENV', TagValue: 'prod' }], [{ TagKey: 'ENV', TagValue: 'prod' }, { TagKey: 'env', TagValue: 'dev' }]]) {
        assertError(await bob.raw('TagResource', { KeyId: id, Tags: tags }), 'AccessDeniedException');
      }
      // Tagged so by the administrator, the key still does not read as env=prod to the Allow.
      assertOk(await raw('TagResource', { KeyId: id, Tags: [{ TagKey: 'ENV', TagValue: 'prod' }] }));
      assertError(await encryptAs(bob, id), 'AccessDeniedException');
      // Both readings prod: allowed.
      assertOk(await raw('TagResource', { KeyId: id, Tags: [{ TagKey: 'env', TagValue: 'prod' }] }));
      assertOk(await encryptAs(bob, id));
    });

    it('a key policy naming a user that does not exist is refused', async () => {
      const policy = JSON.stringify(policyOf(ADMIN_STATEMENT, { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/nobody` }, Action: 'kms:*', Resource: '*' }));
      assertError(await raw('CreateKey', { Policy: policy }), 'MalformedPolicyDocumentException', /invalid principals/);
    });

    it('a key policy naming a principal of another partition is refused, even this account id there', async () => {
      for (const principal of [`arn:aws-cn:iam::${ACCOUNT}:root`, `arn:aws-us-gov:iam::${ACCOUNT}:user/alice`, 'arn:aws-cn:iam::444455556666:root']) {
        const policy = JSON.stringify(policyOf(ADMIN_STATEMENT, { Effect: 'Allow', Principal: { AWS: principal }, Action: 'kms:*', Resource: '*' }));
        assertError(await raw('CreateKey', { Policy: policy }), 'MalformedPolicyDocumentException', /^Policy contains a statement with one or more invalid principals\. A principal of partition aws-(cn|us-gov) /);
      }
      // The account named by another partition's root ARN alone: were it taken, it would be this account.
      const { id } = await keyWith();
      const foreignRoot = JSON.stringify(policyOf({ Effect: 'Allow', Principal: { AWS: `arn:aws-cn:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }));
      assertError(await raw('PutKeyPolicy', { KeyId: id, Policy: foreignRoot }), 'MalformedPolicyDocumentException', /invalid principals/);
    });
  });

  describe('a principal deleted and created again under its name', () => {
    it('does not inherit what the key policy or a grant gave the earlier one, which GetKeyPolicy shows by its unique id; a policy written afterwards names it', async () => {
      const first = await createUser(t, 'phoenix');
      const firstId = ((await admin(t, 'ListUsers', {})).Users as Array<{ UserName: string; UserId: string }>).find((u) => u.UserName === 'phoenix')!.UserId;
      // With a number JSON.parse would round and an escape it would decode: only the principal may change.
      const setText = JSON.stringify(policyOf(
        ADMIN_STATEMENT,
        { Effect: 'Allow', Principal: { AWS: [first.arn, bob.arn] }, Action: 'kms:Encrypt', Resource: '*' },
        { Sid: 'Caf\u00e9', Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:n': '@' } } },
      ), null, 1).replace('"@"', '12345678901234567890').replace('Caf\u00e9', 'Caf\\u00e9');
      const { id } = await keyWith();
      assertOk(await raw('PutKeyPolicy', { KeyId: id, Policy: setText }));
      // Every named principal still the one named: the text as it was set.
      assert.equal(assertOk(await raw('GetKeyPolicy', { KeyId: id })).Policy, setText);
      const granted = await keyWith();
      assertOk(await raw('CreateGrant', { KeyId: granted.id, GranteePrincipal: first.arn, Operations: ['Encrypt'] }));
      assertOk(await encryptAs(first, id));
      assertOk(await encryptAs(first, granted.id));
      first.kms.destroy();
      await admin(t, 'DeleteUser', { UserName: 'phoenix' });
      // At once: the key holds which phoenix its policy and its grant meant, not only when they were written.
      await new Promise((done) => setTimeout(done, 5));
      const again = await createUser(t, 'phoenix');
      try {
        assert.equal(again.arn, first.arn);
        assertError(await encryptAs(again, id), 'AccessDeniedException');
        assertError(await encryptAs(again, granted.id), 'AccessDeniedException');
        // AWS shows the principal the policy named by its unique id, so the policy read and set
        // again as it is cannot pass the earlier phoenix's permissions to this one: the id is
        // refused as an invalid principal.
        const shownText = String(assertOk(await raw('GetKeyPolicy', { KeyId: id })).Policy);
        assert.equal(shownText, setText.replace(JSON.stringify(first.arn), JSON.stringify(firstId)));
        const shown = JSON.parse(shownText) as { Statement: Array<{ Principal: { AWS: unknown } }> };
        assert.deepEqual(shown.Statement[1]!.Principal.AWS, [firstId, bob.arn]);
        assert.match(firstId, /^AIDA[A-Z2-7]{17}$/);
        assertError(await raw('PutKeyPolicy', { KeyId: id, Policy: JSON.stringify(shown) }), 'MalformedPolicyDocumentException', /invalid principals/);
        assertError(await encryptAs(again, id), 'AccessDeniedException');
        // A policy that names phoenix afresh names the principal that exists.
        shown.Statement[1]!.Principal.AWS = [again.arn, bob.arn];
        assertOk(await raw('PutKeyPolicy', { KeyId: id, Policy: JSON.stringify(shown) }));
        assertOk(await encryptAs(again, id));
      } finally {
        again.kms.destroy();
      }
    });

    it('cannot retire a grant made for the earlier one, as its grantee or as its retiring principal', async () => {
      const grantee = await createUser(t, 'ember');
      const retirer = await createUser(t, 'ash');
      const { id } = await keyWith();
      const forGrantee = assertOk(await raw('CreateGrant', { KeyId: id, GranteePrincipal: grantee.arn, Operations: ['Encrypt', 'RetireGrant'] }));
      const forRetirer = assertOk(await raw('CreateGrant', { KeyId: id, GranteePrincipal: bob.arn, RetiringPrincipal: retirer.arn, Operations: ['Encrypt'] }));
      const retirable = async (): Promise<unknown[]> =>
        (assertOk(await raw('ListRetirableGrants', { RetiringPrincipal: retirer.arn })).Grants as Array<{ GrantId: string }>).map((g) => g.GrantId);
      assert.deepEqual(await retirable(), [forRetirer.GrantId]);
      for (const user of [grantee, retirer]) user.kms.destroy();
      await admin(t, 'DeleteUser', { UserName: 'ember' });
      await admin(t, 'DeleteUser', { UserName: 'ash' });
      await new Promise((done) => setTimeout(done, 5));
      const granteeAgain = await createUser(t, 'ember');
      const retirerAgain = await createUser(t, 'ash');
      try {
        assertError(await granteeAgain.raw('RetireGrant', { KeyId: id, GrantId: forGrantee.GrantId }), 'AccessDeniedException');
        assertError(await granteeAgain.raw('RetireGrant', { GrantToken: forGrantee.GrantToken }), 'AccessDeniedException');
        assertError(await retirerAgain.raw('RetireGrant', { KeyId: id, GrantId: forRetirer.GrantId }), 'AccessDeniedException');
        // Nor is it listed as one the new ash may retire.
        assert.deepEqual(await retirable(), []);
        // The grants stay, and the principals they were made for are gone: the key's administrator retires them.
        assertOk(await raw('RetireGrant', { KeyId: id, GrantId: forGrantee.GrantId }));
        assertOk(await raw('RetireGrant', { KeyId: id, GrantId: forRetirer.GrantId }));
      } finally {
        for (const user of [granteeAgain, retirerAgain]) user.kms.destroy();
      }
    });

    it('a grant names no principal of another partition, as a key policy does not', async () => {
      const { id } = await keyWith();
      assertError(await raw('CreateGrant', { KeyId: id, GranteePrincipal: `arn:aws-cn:iam::${ACCOUNT}:root`, Operations: ['Encrypt'] }), 'InvalidArnException', /partition aws-cn/);
      assertError(await raw('CreateGrant', { KeyId: id, GranteePrincipal: bob.arn, RetiringPrincipal: `arn:aws-us-gov:iam::${ACCOUNT}:user/alice`, Operations: ['Encrypt'] }),
        'InvalidArnException', /partition aws-us-gov/);
    });

    it('aws:userid is the caller\'s unique id (AIDA...), as IAM sets it', async () => {
      const { id } = await keyWith({ Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:Encrypt', Resource: '*', Condition: { StringLike: { 'aws:userid': 'AIDA*' } } });
      assertOk(await encryptAs(bob, id));
      const other = await keyWith({ Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'aws:userid': 'user/bob' } } });
      assertError(await encryptAs(bob, other.id), 'AccessDeniedException');
    });
  });

  describe('malformed policy documents', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['not JSON', '{"Version": "2012-10-17", "Statement": [', /not valid JSON/],
      ['not an object', '[]', /JSON object/],
      ['no Statement', JSON.stringify({ Version: '2012-10-17' }), /no Statement/],
      ['an unknown top-level element', JSON.stringify({ ...policyOf(ADMIN_STATEMENT), Extra: 1 }), /Extra/],
      ['an unsupported Version', JSON.stringify({ Version: '2020-01-01', Statement: [ADMIN_STATEMENT] }), /Version/],
      ['a bad Effect', JSON.stringify(policyOf(ADMIN_STATEMENT, { ...ADMIN_STATEMENT, Effect: 'Maybe' })), /Effect/],
      ['no Principal', JSON.stringify(policyOf(ADMIN_STATEMENT, { Effect: 'Allow', Action: 'kms:*', Resource: '*' })), /Principal/],
      ['Action and NotAction', JSON.stringify(policyOf(ADMIN_STATEMENT, { ...ADMIN_STATEMENT, NotAction: 'kms:Decrypt' })), /NotAction/],
      ['an unknown condition operator', JSON.stringify(policyOf(ADMIN_STATEMENT, { ...ADMIN_STATEMENT, Condition: { StringSortOf: { 'kms:CallerAccount': ACCOUNT } } })), /StringSortOf/],
      // (A character outside the allowed set fails AWS's PolicyType pattern first: a ValidationException, above.)
      ['a bad principal', JSON.stringify(policyOf(ADMIN_STATEMENT, { ...ADMIN_STATEMENT, Principal: { AWS: 'not-an-arn' } })), /principal/i],
      // AWS's guidance for this exception: remove duplicate Sid values.
      ['a Sid used twice', JSON.stringify(policyOf({ ...ADMIN_STATEMENT, Sid: 'Same' }, { ...ADMIN_STATEMENT, Action: 'kms:Decrypt', Sid: 'Same' })),
        /^Statement\[1\]: the Sid "Same" is used by another statement/],
      // IAM: NotPrincipal "must be used with "Effect":"Deny""; with Allow it would allow everyone else.
      ['NotPrincipal with Allow', JSON.stringify(policyOf(ADMIN_STATEMENT, { Effect: 'Allow', NotPrincipal: { AWS: ROOT }, Action: 'kms:Encrypt', Resource: '*' })),
        /^Statement\[1\]: NotPrincipal is supported only with "Effect": "Deny"/],
      // IAM grammar: "you cannot include the Effect block twice in the same statement"; JSON.parse
      // would keep the last, an Allow, of a statement that starts as a Deny.
      ['a member twice in one statement',
        `{"Version": "2012-10-17", "Statement": [${JSON.stringify(ADMIN_STATEMENT)}, {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Effect": "Allow"}]}`,
        /^The policy document has the member "Effect" twice in one object/],
    ];
    for (const [fault, document, points] of cases) {
      it(`refuses ${fault} with MalformedPolicyDocumentException naming the fault, on CreateKey and PutKeyPolicy`, async () => {
        assertError(await raw('CreateKey', { Policy: document }), 'MalformedPolicyDocumentException', points);
        const { id } = await keyWith();
        assertError(await raw('PutKeyPolicy', { KeyId: id, Policy: document }), 'MalformedPolicyDocumentException', points);
      });
    }

    it('takes a statement without Action or Resource, which has no effect, as AWS does', async () => {
      const { id } = await keyWith();
      const inert = JSON.stringify(policyOf(ADMIN_STATEMENT, { Effect: 'Allow', Principal: { AWS: ROOT }, Resource: '*' }, { Effect: 'Deny', Principal: '*', Action: 'kms:*' }));
      assertOk(await raw('PutKeyPolicy', { KeyId: id, Policy: inert }));
      // The Deny without a Resource denies nothing.
      assertOk(await raw('DescribeKey', { KeyId: id }));
    });

    it('the official SDK surfaces the error by name', async () => {
      const error = await errorOf(() => t.kms.send(new CreateKeyCommand({ Policy: '{' })));
      assert.equal(error.name, 'MalformedPolicyDocumentException');
    });
  });
});
