import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as kmsCommands from '@aws-sdk/client-kms';
import { DecryptCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import Database from 'better-sqlite3';
import { ADMIN_OPERATIONS, KMS_OPERATIONS } from '../src/routes.js';
import { admin, adminRequest, createUser, policyOf, type TestUser } from './support/principals.js';
import { errorOf, startTestServer, type Credentials, type TestServer } from './support/server.js';

/**
 * Principals at work: what a user or role may do with no policy, with identity policies, with a
 * Deny; access keys switched off and on; STS GetCallerIdentity through the official clients.
 */
const ACCOUNT = '111122223333';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

type Command = new (input: object) => Parameters<kmsCommands.KMSClient['send']>[0];
const commandOf = (operation: string): Command | undefined =>
  (kmsCommands as unknown as Record<string, Command | undefined>)[`${operation}Command`];

describe('a user without any policy', () => {
  let t: TestServer;
  let user: TestUser;
  let keyArn: string;
  let aliasArn: string;
  let ciphertext: string;
  let grantId: string;
  before(async () => {
    t = await startTestServer();
    keyArn = (await t.kms.send(new kmsCommands.CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await t.kms.send(new kmsCommands.CreateAliasCommand({ AliasName: 'alias/existing', TargetKeyId: keyArn }));
    aliasArn = `arn:aws:kms:us-east-1:${ACCOUNT}:alias/existing`;
    ciphertext = Buffer.from((await t.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }))).CiphertextBlob!).toString('base64');
    grantId = (await t.kms.send(new kmsCommands.CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: ROOT, Operations: ['Encrypt'] }))).GrantId!;
    user = await createUser(t, 'nobody');
  });
  after(async () => {
    user.kms.destroy();
    await t.dispose();
  });

  /** Valid input for each operation, and where AWS checks it when that is not `kms:<Op>` on the key. */
  const cases = (): Record<string, { input: object; action?: string; resource?: string }> => ({
    CreateKey: { input: {}, resource: '*' },
    ListKeys: { input: {}, resource: '*' },
    ReplicateKey: { input: { KeyId: keyArn, ReplicaRegion: 'us-west-2' } },
    UpdatePrimaryRegion: { input: { KeyId: keyArn, PrimaryRegion: 'us-west-2' } },
    DescribeCustomKeyStores: { input: {}, resource: '*' },
    CreateCustomKeyStore: { input: { CustomKeyStoreName: 'hsm' }, resource: '*' },
    ConnectCustomKeyStore: { input: { CustomKeyStoreId: 'cks-1234567890abcdef0' }, resource: '*' },
    DisconnectCustomKeyStore: { input: { CustomKeyStoreId: 'cks-1234567890abcdef0' }, resource: '*' },
    DeleteCustomKeyStore: { input: { CustomKeyStoreId: 'cks-1234567890abcdef0' }, resource: '*' },
    UpdateCustomKeyStore: { input: { CustomKeyStoreId: 'cks-1234567890abcdef0' }, resource: '*' },
    ListAliases: { input: {}, resource: '*' },
    GenerateRandom: { input: { NumberOfBytes: 16 }, resource: '*' },
    ListRetirableGrants: { input: { RetiringPrincipal: ROOT }, resource: '*' },
    CreateAlias: { input: { AliasName: 'alias/by-nobody', TargetKeyId: keyArn }, resource: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/by-nobody` },
    UpdateAlias: { input: { AliasName: 'alias/existing', TargetKeyId: keyArn }, resource: aliasArn },
    DeleteAlias: { input: { AliasName: 'alias/existing' }, resource: aliasArn },
    UpdateKeyDescription: { input: { KeyId: keyArn, Description: 'mine now' } },
    ScheduleKeyDeletion: { input: { KeyId: keyArn, PendingWindowInDays: 7 } },
    TagResource: { input: { KeyId: keyArn, Tags: [{ TagKey: 'k', TagValue: 'v' }] } },
    UntagResource: { input: { KeyId: keyArn, TagKeys: ['k'] } },
    Encrypt: { input: { KeyId: keyArn, Plaintext: Buffer.from('secret') } },
    // Named by the ciphertext only: the refusal does not name the key.
    Decrypt: { input: { CiphertextBlob: Buffer.from(ciphertext, 'base64') }, resource: undefined },
    ReEncrypt: { input: { CiphertextBlob: Buffer.from(ciphertext, 'base64'), DestinationKeyId: keyArn }, action: 'kms:ReEncryptFrom', resource: undefined },
    GenerateDataKey: { input: { KeyId: keyArn, KeySpec: 'AES_256' } },
    GenerateDataKeyWithoutPlaintext: { input: { KeyId: keyArn, KeySpec: 'AES_256' } },
    GetKeyPolicy: { input: { KeyId: keyArn, PolicyName: 'default' } },
    PutKeyPolicy: { input: { KeyId: keyArn, PolicyName: 'default', Policy: JSON.stringify(policyOf({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' })) } },
    CreateGrant: { input: { KeyId: keyArn, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/nobody`, Operations: ['Encrypt'] } },
    RetireGrant: { input: { KeyId: keyArn, GrantId: grantId } },
    RevokeGrant: { input: { KeyId: keyArn, GrantId: grantId } },
    Sign: { input: { KeyId: keyArn, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' } },
    Verify: { input: { KeyId: keyArn, Message: Buffer.from('x'), Signature: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' } },
    GenerateMac: { input: { KeyId: keyArn, Message: Buffer.from('x'), MacAlgorithm: 'HMAC_SHA_256' } },
    VerifyMac: { input: { KeyId: keyArn, Message: Buffer.from('x'), Mac: Buffer.from('x'), MacAlgorithm: 'HMAC_SHA_256' } },
    GenerateDataKeyPair: { input: { KeyId: keyArn, KeyPairSpec: 'ECC_NIST_P256' } },
    GenerateDataKeyPairWithoutPlaintext: { input: { KeyId: keyArn, KeyPairSpec: 'ECC_NIST_P256' } },
    DeriveSharedSecret: { input: { KeyId: keyArn, KeyAgreementAlgorithm: 'ECDH', PublicKey: Buffer.from('x') } },
    Encapsulate: { input: { KeyId: keyArn, EncapsulationAlgorithm: 'ML_KEM' } },
    Decapsulate: { input: { KeyId: keyArn, EncapsulationAlgorithm: 'ML_KEM', SharedSecretCiphertextBlob: Buffer.from('x') } },
    GetParametersForImport: { input: { KeyId: keyArn, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' } },
    ImportKeyMaterial: { input: { KeyId: keyArn, ImportToken: Buffer.from('x'), EncryptedKeyMaterial: Buffer.from('x'), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } },
  });

  it('gets AccessDeniedException in AWS\'s words on every KMS operation the server has', async () => {
    const table = cases();
    assert.ok(KMS_OPERATIONS.size >= 26);
    for (const operation of KMS_OPERATIONS.keys()) {
      const entry = table[operation] ?? { input: { KeyId: keyArn } };
      const { input, action = `kms:${operation}` } = entry;
      const named = !('resource' in entry) ? `resource: ${keyArn}` : entry.resource === undefined ? 'the resource associated with this ciphertext' : `resource: ${entry.resource}`;
      const Command = commandOf(operation);
      let name: string;
      let message: string;
      if (Command) {
        const error = await errorOf(() => user.kms.send(new Command(input)));
        name = error.name;
        message = error.message;
      } else {
        const raw = await user.raw(operation, input);
        name = String(raw.body.__type);
        message = String(raw.body.message);
      }
      assert.equal(name, 'AccessDeniedException', `${operation}: ${message}`);
      assert.equal(message.startsWith(`User: ${user.arn} is not authorized to perform: ${action} on ${named} because `), true, `${operation}: ${message}`);
    }
    // Nothing changed: the key is still enabled, described as before, its alias still there.
    const described = await t.kms.send(new kmsCommands.DescribeKeyCommand({ KeyId: 'alias/existing' }));
    assert.equal(described.KeyMetadata!.KeyState, 'Enabled');
    assert.equal(described.KeyMetadata!.Description, '');
  });

  it('gets AccessDeniedException on every admin operation, naming the coffer: action', async () => {
    const inputs: Record<string, object> = {
      CreateUser: { UserName: 'made-by-nobody' }, DeleteUser: { UserName: 'nobody' }, CreateRole: { RoleName: 'r' }, DeleteRole: { RoleName: 'r' },
      CreateAccessKey: { UserName: 'nobody' }, ListAccessKeys: { UserName: 'nobody' },
      UpdateAccessKey: { AccessKeyId: user.credentials.accessKeyId, Status: 'Inactive' }, DeleteAccessKey: { AccessKeyId: user.credentials.accessKeyId },
      PutPrincipalPolicy: { UserName: 'nobody', PolicyName: 'p', PolicyDocument: JSON.stringify(policyOf({ Effect: 'Allow', Action: '*', Resource: '*' })) },
      GetPrincipalPolicy: { UserName: 'nobody', PolicyName: 'p' }, ListPrincipalPolicies: { UserName: 'nobody' },
      DeletePrincipalPolicy: { UserName: 'nobody', PolicyName: 'p' },
    };
    assert.ok(ADMIN_OPERATIONS.size >= 14);
    for (const operation of ADMIN_OPERATIONS.keys()) {
      const answer = await adminRequest(t, operation, inputs[operation] ?? {}, user.credentials);
      assert.equal(answer.body.__type, 'AccessDeniedException', `${operation}: ${answer.text}`);
      assert.match(String(answer.body.message), new RegExp(`^User: ${user.arn} is not authorized to perform: coffer:${operation} on resource: \\S+ because no identity-based policy allows the coffer:${operation} action$`));
    }
    assert.deepEqual((await admin(t, 'ListPrincipalPolicies', { UserName: 'nobody' })).PolicyNames, []);
    assert.deepEqual((await admin(t, 'ListRoles', {})).Roles, []);
  });
});

describe('identity policies', () => {
  let t: TestServer;
  let keyArn: string;
  const users: TestUser[] = [];
  before(async () => {
    t = await startTestServer();
    keyArn = (await t.kms.send(new kmsCommands.CreateKeyCommand({}))).KeyMetadata!.Arn!;
  });
  after(async () => {
    for (const u of users) u.kms.destroy();
    await t.dispose();
  });
  const newUser = async (name: string, policies: Record<string, object> = {}) => {
    const u = await createUser(t, name, policies);
    users.push(u);
    return u;
  };

  it('lets a user allowed kms:Encrypt on the key encrypt, and not decrypt (the default key policy delegates to IAM)', async () => {
    const u = await newUser('encryptor', { enc: policyOf({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: keyArn }) });
    const sealed = await u.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('hello') }));
    assert.equal(sealed.KeyId, keyArn);
    const denied = await errorOf(() => u.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob! })));
    assert.equal(denied.name, 'AccessDeniedException');
    // Named by the ciphertext only, the key is not named to a caller who may not use it (AWS's words).
    assert.equal(denied.message, `User: ${u.arn} is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because no identity-based policy allows the kms:Decrypt action`);
    const named = await errorOf(() => u.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob!, KeyId: keyArn })));
    assert.match(named.message, new RegExp(`^User: ${u.arn} is not authorized to perform: kms:Decrypt on resource: ${keyArn} because `));
    // Another key is not covered by the policy's Resource.
    const other = (await t.kms.send(new kmsCommands.CreateKeyCommand({}))).KeyMetadata!.Arn!;
    assert.equal((await errorOf(() => u.kms.send(new EncryptCommand({ KeyId: other, Plaintext: Buffer.from('x') })))).name, 'AccessDeniedException');
  });

  it('lets an explicit Deny in an identity policy beat an Allow', async () => {
    const u = await newUser('denied', {
      all: policyOf({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }),
      'no-encrypt': policyOf({ Effect: 'Deny', Action: 'kms:Encrypt', Resource: keyArn }),
    });
    const denied = await errorOf(() => u.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })));
    assert.equal(denied.name, 'AccessDeniedException');
    assert.equal(denied.message, `User: ${u.arn} is not authorized to perform: kms:Encrypt on resource: ${keyArn} with an explicit deny in an identity-based policy`);
    const sealed = await t.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
    assert.ok((await u.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob! }))).Plaintext);
    // Removing the Deny takes effect at once on this node.
    await admin(t, 'DeletePrincipalPolicy', { UserName: 'denied', PolicyName: 'no-encrypt' });
    assert.equal((await u.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }))).KeyId, keyArn);
  });

  it('CreateKey with Tags also needs kms:TagResource in an identity policy, on every key of the account, as AWS requires', async () => {
    const tags = [{ TagKey: 'team', TagValue: 'x' }];
    const creator = await newUser('creator', { create: policyOf({ Effect: 'Allow', Action: 'kms:CreateKey', Resource: '*' }) });
    assert.ok((await creator.kms.send(new kmsCommands.CreateKeyCommand({}))).KeyMetadata);
    const refused = await errorOf(() => creator.kms.send(new kmsCommands.CreateKeyCommand({ Tags: tags })));
    assert.equal(refused.name, 'AccessDeniedException');
    assert.equal(refused.message, `User: ${creator.arn} is not authorized to perform: kms:TagResource because no identity-based policy allows the kms:TagResource action`);
    // A permission for one key does not cover a key not made yet; one for every key does.
    await creator.putPolicy('tag', policyOf({ Effect: 'Allow', Action: 'kms:TagResource', Resource: keyArn }));
    assert.equal((await errorOf(() => creator.kms.send(new kmsCommands.CreateKeyCommand({ Tags: tags })))).name, 'AccessDeniedException');
    await creator.putPolicy('tag', policyOf({ Effect: 'Allow', Action: 'kms:TagResource', Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/*`, Condition: { StringEquals: { 'aws:RequestTag/team': 'x' } } }));
    assert.ok((await creator.kms.send(new kmsCommands.CreateKeyCommand({ Tags: tags }))).KeyMetadata);
    assert.equal((await errorOf(() => creator.kms.send(new kmsCommands.CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'y' }] })))).name, 'AccessDeniedException');
    await creator.putPolicy('no-tags', policyOf({ Effect: 'Deny', Action: 'kms:TagResource', Resource: '*' }));
    const denied = await errorOf(() => creator.kms.send(new kmsCommands.CreateKeyCommand({ Tags: tags })));
    assert.equal(denied.message, `User: ${creator.arn} is not authorized to perform: kms:TagResource with an explicit deny in an identity-based policy`);
  });

  it('sees the global keys AWS always sets: aws:RequestedRegion, aws:ViaAWSService and aws:PrincipalIsAWSService (false)', async () => {
    // A common guard: deny every request outside the allowed Regions or made through a service.
    const u = await newUser('guarded', {
      all: policyOf({ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:ViaAWSService': 'false', 'aws:PrincipalIsAWSService': 'false' } } }),
      region: policyOf({ Effect: 'Deny', Action: 'kms:*', Resource: '*', Condition: { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] } } }),
    });
    assert.equal((await u.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }))).KeyId, keyArn);
    assert.ok(Array.isArray((await u.kms.send(new ListKeysCommand({}))).Keys));
    await u.putPolicy('region', policyOf({ Effect: 'Deny', Action: 'kms:*', Resource: '*', Condition: { StringNotEquals: { 'aws:RequestedRegion': 'eu-west-1' } } }));
    const denied = await errorOf(() => u.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })));
    assert.equal(denied.message, `User: ${u.arn} is not authorized to perform: kms:Encrypt on resource: ${keyArn} with an explicit deny in an identity-based policy`);
  });

  it('applies a policy put after the user\'s first request at once, with no cache delay', async () => {
    const u = await newUser('late');
    assert.equal((await errorOf(() => u.kms.send(new ListKeysCommand({})))).name, 'AccessDeniedException');
    await u.putPolicy('list', policyOf({ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }));
    assert.ok(Array.isArray((await u.kms.send(new ListKeysCommand({}))).Keys));
  });

  it('delegates the admin API by coffer: actions, with Deny winning', async () => {
    const u = await newUser('user-admin', {
      manage: policyOf({ Effect: 'Allow', Action: ['coffer:ListUsers', 'coffer:CreateUser'], Resource: '*' }),
      'not-root-like': policyOf({ Effect: 'Deny', Action: 'coffer:CreateUser', Resource: `arn:aws:iam::${ACCOUNT}:user/admin*` }),
    });
    const listed = await adminRequest(t, 'ListUsers', {}, u.credentials);
    assert.equal(listed.status, 200, listed.text);
    assert.equal((await adminRequest(t, 'CreateUser', { UserName: 'helper' }, u.credentials)).status, 200);
    const denied = await adminRequest(t, 'CreateUser', { UserName: 'admin2' }, u.credentials);
    assert.equal(denied.body.__type, 'AccessDeniedException');
    assert.equal(denied.body.message, `User: ${u.arn} is not authorized to perform: coffer:CreateUser on resource: arn:aws:iam::${ACCOUNT}:user/admin2 with an explicit deny in an identity-based policy`);
    const notAllowed = await adminRequest(t, 'CreateAccessKey', { UserName: 'helper' }, u.credentials);
    assert.equal(notAllowed.body.__type, 'AccessDeniedException');
  });

  it('treats a role with an access key like a user: its own policies decide', async () => {
    await admin(t, 'CreateRole', { RoleName: 'worker' });
    await admin(t, 'PutPrincipalPolicy', { RoleName: 'worker', PolicyName: 'enc', PolicyDocument: JSON.stringify(policyOf({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' })) });
    const key = (await admin(t, 'CreateAccessKey', { RoleName: 'worker' })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    const role = kmsCommands.KMSClient && new kmsCommands.KMSClient({ endpoint: t.server.endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey } });
    try {
      assert.equal((await role.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }))).KeyId, keyArn);
      const denied = await errorOf(() => role.send(new ListKeysCommand({})));
      assert.match(denied.message, new RegExp(`^User: arn:aws:iam::${ACCOUNT}:role/worker is not authorized to perform: kms:ListKeys`));
    } finally {
      role.destroy();
    }
  });
});

describe('access keys switched off and on', () => {
  let t: TestServer;
  let keyArn: string;
  let user: TestUser;
  before(async () => {
    t = await startTestServer();
    keyArn = (await t.kms.send(new kmsCommands.CreateKeyCommand({}))).KeyMetadata!.Arn!;
    user = await createUser(t, 'switch', { enc: policyOf({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }) });
  });
  after(async () => {
    user.kms.destroy();
    await t.dispose();
  });
  const encrypt = () => user.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));

  it('refuses an inactive key with UnrecognizedClientException at once, and accepts it again at once', async () => {
    for (let round = 0; round < 3; round += 1) {
      // The key was just used, so the server has it cached: the change must still show at once.
      assert.equal((await encrypt()).KeyId, keyArn);
      await admin(t, 'UpdateAccessKey', { UserName: 'switch', AccessKeyId: user.credentials.accessKeyId, Status: 'Inactive' });
      const refused = await errorOf(encrypt);
      assert.equal(refused.name, 'UnrecognizedClientException');
      assert.equal(refused.message, 'The security token included in the request is invalid.');
      const listed = (await admin(t, 'ListAccessKeys', { UserName: 'switch' })).AccessKeyMetadata as { Status: string }[];
      assert.equal(listed[0]!.Status, 'Inactive');
      await admin(t, 'UpdateAccessKey', { AccessKeyId: user.credentials.accessKeyId, Status: 'Active' });
    }
    assert.equal((await encrypt()).KeyId, keyArn);
  });

  it('refuses a deleted key at once, while the user\'s other key keeps working', async () => {
    const second = (await admin(t, 'CreateAccessKey', { UserName: 'switch' })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    assert.equal((await encrypt()).KeyId, keyArn);
    await admin(t, 'DeleteAccessKey', { AccessKeyId: user.credentials.accessKeyId });
    assert.equal((await errorOf(encrypt)).name, 'UnrecognizedClientException');
    const other = new kmsCommands.KMSClient({ endpoint: t.server.endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: second.AccessKeyId, secretAccessKey: second.SecretAccessKey } });
    try {
      assert.equal((await other.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }))).KeyId, keyArn);
      await admin(t, 'DeleteUser', { UserName: 'switch' });
      assert.equal((await errorOf(() => other.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })))).name, 'UnrecognizedClientException');
    } finally {
      other.destroy();
    }
  });
});

describe('STS GetCallerIdentity', () => {
  let t: TestServer;
  let user: TestUser;
  let userId: string;
  const home = mkdtempSync(join(tmpdir(), 'coffer-sts-'));
  before(async () => {
    t = await startTestServer();
    user = await createUser(t, 'whoami');
    userId = ((await admin(t, 'ListUsers', {})).Users as { UserName: string; UserId: string }[]).find((u) => u.UserName === 'whoami')!.UserId;
  });
  after(async () => {
    user.kms.destroy();
    await t.dispose();
    rmSync(home, { recursive: true, force: true });
  });
  const sts = (credentials: Credentials) => new STSClient({ endpoint: t.server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

  it('answers the official @aws-sdk/client-sts for the account root and for a user', async () => {
    const asRoot = sts(t.credentials);
    const asUser = sts(user.credentials);
    try {
      const root = await asRoot.send(new GetCallerIdentityCommand({}));
      assert.equal(root.Arn, ROOT);
      assert.equal(root.UserId, ACCOUNT);
      assert.equal(root.Account, ACCOUNT);
      const me = await asUser.send(new GetCallerIdentityCommand({}));
      assert.equal(me.Arn, user.arn);
      assert.equal(me.UserId, userId);
      assert.match(String(me.UserId), /^AIDA[A-Z2-7]{17}$/);
      assert.equal(me.Account, ACCOUNT);
      assert.match(String(me.$metadata.requestId), /^[0-9a-f-]{36}$/);
    } finally {
      asRoot.destroy();
      asUser.destroy();
    }
  });

  it('answers with STS errors: InvalidClientTokenId for an unknown key, SignatureDoesNotMatch for a wrong secret', async () => {
    const unknown = sts({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) });
    const wrong = sts({ accessKeyId: user.credentials.accessKeyId, secretAccessKey: 'y'.repeat(40) });
    try {
      const a = await errorOf(() => unknown.send(new GetCallerIdentityCommand({})));
      assert.equal(a.name, 'InvalidClientTokenId');
      assert.equal(a.message, 'The security token included in the request is invalid.');
      assert.equal(a.$metadata?.httpStatusCode, 403);
      const b = await errorOf(() => wrong.send(new GetCallerIdentityCommand({})));
      assert.equal(b.name, 'SignatureDoesNotMatch');
      assert.equal(b.$metadata?.httpStatusCode, 403);
    } finally {
      unknown.destroy();
      wrong.destroy();
    }
  });

  /** A signed STS request with the exact wire form, for what the SDK hides. */
  async function stsRaw(body: string, headers: Record<string, string>, credentials = t.credentials, service = 'sts') {
    const url = new URL(t.server.endpoint);
    const signer = new SignatureV4({ credentials, region: 'us-east-1', service, sha256: Hash.bind(null, 'sha256') });
    const signed = await signer.sign(new HttpRequest({
      method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/',
      headers: { host: url.host, ...headers }, body,
    }));
    const response = await fetch(t.server.endpoint, { method: 'POST', headers: signed.headers, body });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  }
  const FORM = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };

  it('answers the query protocol in STS\'s XML, and its errors as <ErrorResponse>', async () => {
    const ok = await stsRaw('Action=GetCallerIdentity&Version=2011-06-15', FORM);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.type, 'text/xml');
    assert.match(ok.text, new RegExp(`^<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\\s*<GetCallerIdentityResult>\\s*<Arn>${ROOT}</Arn>\\s*<UserId>${ACCOUNT}</UserId>\\s*<Account>${ACCOUNT}</Account>\\s*</GetCallerIdentityResult>\\s*<ResponseMetadata>\\s*<RequestId>[0-9a-f-]{36}</RequestId>\\s*</ResponseMetadata>\\s*</GetCallerIdentityResponse>`));
    const action = await stsRaw('Action=AssumeRole&Version=2011-06-15', FORM);
    assert.equal(action.status, 400);
    assert.match(action.text, /<ErrorResponse[^>]*>\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>InvalidAction<\/Code>\s*<Message>Could not find operation AssumeRole for version 2011-06-15<\/Message>\s*<\/Error>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>\s*<\/ErrorResponse>/);
    const kmsScoped = await stsRaw('Action=GetCallerIdentity&Version=2011-06-15', FORM, t.credentials, 'kms');
    assert.equal(kmsScoped.status, 403);
    assert.match(kmsScoped.text, /<Code>SignatureDoesNotMatch<\/Code>/);
    const unsigned = await fetch(t.server.endpoint, { method: 'POST', headers: FORM, body: 'Action=GetCallerIdentity&Version=2011-06-15' });
    assert.equal(unsigned.status, 403);
    assert.match(await unsigned.text(), /<Code>MissingAuthenticationToken<\/Code>/);
  });

  it('answers the JSON protocol (X-Amz-Target AWSSecurityTokenServiceV20110615.GetCallerIdentity) in JSON', async () => {
    const answer = await stsRaw('{}', { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AWSSecurityTokenServiceV20110615.GetCallerIdentity' }, user.credentials);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(JSON.parse(answer.text), { Arn: user.arn, UserId: userId, Account: ACCOUNT });
    // A body that is not a JSON object is a SerializationException there, as for KMS; an empty one is {}.
    const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AWSSecurityTokenServiceV20110615.GetCallerIdentity' };
    for (const body of ['xx', '[]', '{"a":']) {
      const refused = await stsRaw(body, headers, user.credentials);
      assert.equal(refused.status, 400, `${body}: ${refused.text}`);
      assert.equal(JSON.parse(refused.text).__type, 'SerializationException', refused.text);
    }
    assert.equal((await stsRaw('', headers, user.credentials)).status, 200);
  });

  it('answers even a caller whose policies deny everything, as AWS does', async () => {
    await user.putPolicy('deny-all', policyOf({ Effect: 'Deny', Action: '*', Resource: '*' }));
    const client = sts(user.credentials);
    try {
      assert.equal((await client.send(new GetCallerIdentityCommand({}))).Arn, user.arn);
    } finally {
      client.destroy();
    }
  });

  it('records each call in the audit trail as sts:<Action>, success or failure', () => {
    const db = new Database(join(t.dataDir, 'coffer.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare("SELECT principal_arn AS principal, operation, outcome FROM audit WHERE operation LIKE 'sts:%' ORDER BY seq").all() as { principal: string | null; operation: string; outcome: string }[];
      assert.ok(rows.some((r) => r.principal === ROOT && r.outcome === 'success'), JSON.stringify(rows));
      assert.ok(rows.some((r) => r.principal === user.arn && r.outcome === 'success'));
      assert.ok(rows.some((r) => r.outcome === 'InvalidClientTokenId'));
      // An action STS does not have here is recorded under its own name.
      assert.ok(rows.some((r) => r.operation === 'sts:AssumeRole' && r.outcome === 'InvalidAction'));
      assert.ok(rows.filter((r) => r.operation !== 'sts:AssumeRole').every((r) => r.operation === 'sts:GetCallerIdentity'));
    } finally {
      db.close();
    }
  });

  it('answers the AWS CLI\'s `aws sts get-caller-identity` for the account root and for a user', async () => {
    const files: Record<string, Credentials> = { root: t.credentials, user: user.credentials };
    const expected: Record<string, object> = { root: { UserId: ACCOUNT, Account: ACCOUNT, Arn: ROOT }, user: { UserId: userId, Account: ACCOUNT, Arn: user.arn } };
    for (const [who, credentials] of Object.entries(files)) {
      const file = join(home, `${who}-credentials`);
      writeFileSync(file, `[coffer]\naws_access_key_id = ${credentials.accessKeyId}\naws_secret_access_key = ${credentials.secretAccessKey}\n`, { mode: 0o600 });
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('COFFER_')));
      const finished = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn('aws', ['sts', 'get-caller-identity', '--endpoint-url', t.server.endpoint, '--region', 'us-east-1', '--profile', 'coffer', '--output', 'json'], {
          env: { ...env, AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: '/nonexistent', HOME: home }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      assert.equal(finished.code, 0, `${who}: ${finished.stderr}`);
      assert.deepEqual(JSON.parse(finished.stdout), expected[who]);
    }
  });
});
