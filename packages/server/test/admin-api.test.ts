import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { admin, adminRequest, createUser, policyOf } from './support/principals.js';
import { errorOf, kmsClient, startTestServer, type RawResponse, type TestServer } from './support/server.js';

/**
 * The admin API over signed HTTP: every operation, the limits on both sides of each, and the
 * errors, with IAM's field names and messages.
 */
function assertError(response: RawResponse, type: string, message?: string | RegExp): void {
  assert.equal(response.status, 400, response.text);
  assert.equal(response.body.__type, type, response.text);
  if (typeof message === 'string') assert.equal(response.body.message, message);
  else if (message) assert.match(String(response.body.message), message);
}

const ACCOUNT = '111122223333';
const userArn = (name: string) => `arn:aws:iam::${ACCOUNT}:user/${name}`;
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const ALLOW_ENCRYPT = JSON.stringify(policyOf({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }));

describe('admin API: users and roles', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.dispose());

  it('creates a user with IAM fields: UserName, UserId (AIDA + 17), Arn, CreateDate in epoch seconds', async () => {
    const before = Date.now() / 1000;
    const created = await admin(t, 'CreateUser', { UserName: 'alice' });
    const user = created.User as Record<string, unknown>;
    assert.equal(user.UserName, 'alice');
    assert.equal(user.Arn, userArn('alice'));
    assert.match(String(user.UserId), /^AIDA[A-Z2-7]{17}$/);
    assert.equal(typeof user.CreateDate, 'number');
    assert.ok(Number(user.CreateDate) >= before - 1 && Number(user.CreateDate) <= Date.now() / 1000 + 1);
    const listed = await admin(t, 'ListUsers', {});
    assert.deepEqual((listed.Users as unknown[]).find((u) => (u as { UserName: string }).UserName === 'alice'), user);
    assert.equal(listed.IsTruncated, false);
  });

  it('creates a role with RoleName, RoleId (AROA + 17) and a role ARN', async () => {
    const role = (await admin(t, 'CreateRole', { RoleName: 'deployer' })).Role as Record<string, unknown>;
    assert.equal(role.RoleName, 'deployer');
    assert.equal(role.Arn, roleArn('deployer'));
    assert.match(String(role.RoleId), /^AROA[A-Z2-7]{17}$/);
    const roles = (await admin(t, 'ListRoles', {})).Roles as Record<string, unknown>[];
    assert.deepEqual(roles.map((r) => r.RoleName), ['deployer']);
    assert.equal((await admin(t, 'ListUsers', {}) as { Users: { UserName: string }[] }).Users.some((u) => u.UserName === 'deployer'), false);
  });

  it('accepts names of 1 and 64 characters of [\\w+=,.@-] and refuses 0, 65 and other characters', async () => {
    await admin(t, 'CreateUser', { UserName: 'a' });
    await admin(t, 'CreateUser', { UserName: 'x'.repeat(64) });
    await admin(t, 'CreateUser', { UserName: 'Mix_+=,.@-9' });
    assertError(await adminRequest(t, 'CreateUser', { UserName: 'x'.repeat(65) }), 'ValidationException',
      `1 validation error detected: Value '${'x'.repeat(65)}' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64`);
    assertError(await adminRequest(t, 'CreateUser', { UserName: '' }), 'ValidationException', /at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1/);
    assertError(await adminRequest(t, 'CreateUser', { UserName: 'bad/name' }), 'ValidationException', /Value 'bad\/name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern/);
    assertError(await adminRequest(t, 'CreateUser', {}), 'ValidationException', "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null");
    assertError(await adminRequest(t, 'CreateRole', { RoleName: 'r'.repeat(65) }), 'ValidationException', /at 'roleName' .*less than or equal to 64/);
    assertError(await adminRequest(t, 'CreateUser', { UserName: 7 }), 'SerializationException');
  });

  it('refuses a duplicate name, regardless of case, with AlreadyExistsException', async () => {
    await admin(t, 'CreateUser', { UserName: 'Bob' });
    assertError(await adminRequest(t, 'CreateUser', { UserName: 'Bob' }), 'AlreadyExistsException', 'User with name Bob already exists.');
    assertError(await adminRequest(t, 'CreateUser', { UserName: 'BOB' }), 'AlreadyExistsException', 'User with name BOB already exists.');
    // Users and roles are separate namespaces, as in IAM.
    await admin(t, 'CreateRole', { RoleName: 'Bob' });
    assertError(await adminRequest(t, 'CreateRole', { RoleName: 'bob' }), 'AlreadyExistsException', 'Role with name bob already exists.');
  });

  it('pages ListUsers by MaxItems and Marker, and checks MaxItems 1..1000', async () => {
    const all = ((await admin(t, 'ListUsers', {})).Users as { UserName: string }[]).map((u) => u.UserName);
    assert.ok(all.length >= 4);
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await admin(t, 'ListUsers', { MaxItems: 1, ...(marker ? { Marker: marker } : {}) });
      seen.push(...(page.Users as { UserName: string }[]).map((u) => u.UserName));
      assert.equal(page.IsTruncated, page.Marker !== undefined);
      marker = page.Marker as string | undefined;
    } while (marker);
    assert.deepEqual(seen, all);
    assertError(await adminRequest(t, 'ListUsers', { MaxItems: 0 }), 'ValidationException', /at 'maxItems' .*greater than or equal to 1/);
    assertError(await adminRequest(t, 'ListUsers', { MaxItems: 1001 }), 'ValidationException', /at 'maxItems' .*less than or equal to 1000/);
    assert.equal(((await admin(t, 'ListRoles', { MaxItems: 1000 })).Roles as unknown[]).length, 2);
    assertError(await adminRequest(t, 'ListUsers', { Marker: 'not-ours' }), 'InvalidMarkerException');
  });

  it('deletes a user and a role; a second delete is NotFoundException', async () => {
    await admin(t, 'CreateUser', { UserName: 'temp' });
    assert.deepEqual(await admin(t, 'DeleteUser', { UserName: 'temp' }), {});
    assertError(await adminRequest(t, 'DeleteUser', { UserName: 'temp' }), 'NotFoundException', 'The user with name temp cannot be found.');
    assert.deepEqual(await admin(t, 'DeleteRole', { RoleName: 'deployer' }), {});
    assertError(await adminRequest(t, 'DeleteRole', { RoleName: 'deployer' }), 'NotFoundException', 'The role with name deployer cannot be found.');
    const users = ((await admin(t, 'ListUsers', {})).Users as { UserName: string }[]).map((u) => u.UserName);
    assert.equal(users.includes('temp'), false);
  });

  it('gives a user created again under the same name a new UserId', async () => {
    const first = ((await admin(t, 'CreateUser', { UserName: 'again' })).User as { UserId: string }).UserId;
    await admin(t, 'DeleteUser', { UserName: 'again' });
    await new Promise((done) => setTimeout(done, 5));
    const second = ((await admin(t, 'CreateUser', { UserName: 'again' })).User as { UserId: string }).UserId;
    assert.notEqual(first, second);
  });
});

describe('admin API: access keys', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await admin(t, 'CreateUser', { UserName: 'carol' });
    await admin(t, 'CreateRole', { RoleName: 'builder' });
  });
  after(() => t.dispose());

  it('creates a key with its secret shown once; ListAccessKeys never shows it', async () => {
    const key = (await admin(t, 'CreateAccessKey', { UserName: 'carol' })).AccessKey as Record<string, unknown>;
    assert.equal(key.UserName, 'carol');
    assert.match(String(key.AccessKeyId), /^AKIA[A-Z2-7]{16}$/);
    assert.equal(String(key.SecretAccessKey).length, 40);
    assert.equal(key.Status, 'Active');
    assert.equal(typeof key.CreateDate, 'number');
    const listed = await adminRequest(t, 'ListAccessKeys', { UserName: 'carol' });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.body.AccessKeyMetadata, [{ UserName: 'carol', AccessKeyId: key.AccessKeyId, Status: 'Active', CreateDate: key.CreateDate }]);
    assert.equal(listed.text.includes(String(key.SecretAccessKey)), false);
    assert.equal(listed.body.IsTruncated, false);
  });

  it('creates keys for roles too, answered with RoleName', async () => {
    const key = (await admin(t, 'CreateAccessKey', { RoleName: 'builder' })).AccessKey as Record<string, unknown>;
    assert.equal(key.RoleName, 'builder');
    assert.equal(key.UserName, undefined);
    const listed = (await admin(t, 'ListAccessKeys', { RoleName: 'builder' })).AccessKeyMetadata as Record<string, unknown>[];
    assert.deepEqual(listed.map((k) => k.AccessKeyId), [key.AccessKeyId]);
  });

  it('allows two keys per principal, active or inactive, and refuses a third with LimitExceededException', async () => {
    const second = (await admin(t, 'CreateAccessKey', { UserName: 'carol' })).AccessKey as { AccessKeyId: string };
    await admin(t, 'UpdateAccessKey', { UserName: 'carol', AccessKeyId: second.AccessKeyId, Status: 'Inactive' });
    assertError(await adminRequest(t, 'CreateAccessKey', { UserName: 'carol' }), 'LimitExceededException', 'Cannot exceed quota for AccessKeysPerUser: 2');
    await admin(t, 'DeleteAccessKey', { AccessKeyId: second.AccessKeyId });
    const third = await adminRequest(t, 'CreateAccessKey', { UserName: 'carol' });
    assert.equal(third.status, 200, third.text);
    await admin(t, 'DeleteAccessKey', { UserName: 'carol', AccessKeyId: (third.body.AccessKey as { AccessKeyId: string }).AccessKeyId });
  });

  it('lists the caller\'s own keys when no name is given', async () => {
    const keys = (await admin(t, 'ListAccessKeys', {})).AccessKeyMetadata as Record<string, unknown>[];
    assert.deepEqual(keys.map((k) => k.AccessKeyId), [t.credentials.accessKeyId]);
    assert.equal(keys[0]!.UserName, undefined);
  });

  it('refuses both names, an unknown principal and a bad Status', async () => {
    assertError(await adminRequest(t, 'CreateAccessKey', { UserName: 'carol', RoleName: 'builder' }), 'ValidationException', 'Specify either UserName or RoleName, not both.');
    assertError(await adminRequest(t, 'CreateAccessKey', { UserName: 'nobody' }), 'NotFoundException', 'The user with name nobody cannot be found.');
    assertError(await adminRequest(t, 'ListAccessKeys', { RoleName: 'nobody' }), 'NotFoundException', 'The role with name nobody cannot be found.');
    const id = ((await admin(t, 'ListAccessKeys', { UserName: 'carol' })).AccessKeyMetadata as { AccessKeyId: string }[])[0]!.AccessKeyId;
    assertError(await adminRequest(t, 'UpdateAccessKey', { AccessKeyId: id, Status: 'Expired' }), 'ValidationException',
      "1 validation error detected: Value 'Expired' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]");
    assertError(await adminRequest(t, 'UpdateAccessKey', { AccessKeyId: id }), 'ValidationException', /Value null at 'status'/);
  });

  it('checks AccessKeyId: 16..128 word characters; an unknown or not-that-owner key is NotFoundException', async () => {
    const id = ((await admin(t, 'ListAccessKeys', { UserName: 'carol' })).AccessKeyMetadata as { AccessKeyId: string }[])[0]!.AccessKeyId;
    assertError(await adminRequest(t, 'DeleteAccessKey', { AccessKeyId: 'A'.repeat(15) }), 'ValidationException', /at 'accessKeyId' .*greater than or equal to 16/);
    assertError(await adminRequest(t, 'DeleteAccessKey', { AccessKeyId: 'A'.repeat(129) }), 'ValidationException', /at 'accessKeyId' .*less than or equal to 128/);
    assertError(await adminRequest(t, 'DeleteAccessKey', { AccessKeyId: 'AKIA-not-a-word!' }), 'ValidationException', /at 'accessKeyId' .*pattern/);
    assertError(await adminRequest(t, 'DeleteAccessKey', { AccessKeyId: 'A'.repeat(16) }), 'NotFoundException', `The Access Key with id ${'A'.repeat(16)} cannot be found.`);
    assertError(await adminRequest(t, 'UpdateAccessKey', { AccessKeyId: 'A'.repeat(128), Status: 'Active' }), 'NotFoundException');
    assertError(await adminRequest(t, 'DeleteAccessKey', { RoleName: 'builder', AccessKeyId: id }), 'NotFoundException', `The Access Key with id ${id} cannot be found.`);
  });

  it('refuses to deactivate or delete the account root\'s last active key', async () => {
    for (const [op, extra] of [['UpdateAccessKey', { Status: 'Inactive' }], ['DeleteAccessKey', {}]] as const) {
      assertError(await adminRequest(t, op, { AccessKeyId: t.credentials.accessKeyId, ...extra }), 'ValidationException', /last active access key/);
    }
    const kms = kmsClient(t.server.endpoint, t.credentials);
    try {
      assert.ok(Array.isArray((await kms.send(new ListKeysCommand({}))).Keys));
    } finally {
      kms.destroy();
    }
  });

  it('tells a caller without permission nothing about who owns an access key named by id alone', async () => {
    const nosy = await createUser(t, 'nosy');
    const answers = await Promise.all([t.credentials.accessKeyId, 'AKIANOSUCHKEY0000000'].map((AccessKeyId) =>
      adminRequest(t, 'DeleteAccessKey', { AccessKeyId }, nosy.credentials)));
    for (const answer of answers) {
      assertError(answer, 'AccessDeniedException');
      assert.match(String(answer.body.message), /on resource: \*/);
    }
    assert.equal(answers[0]!.body.message, answers[1]!.body.message);
    // Nor one allowed on every resource but denied on the owner's: its key is one that does not exist.
    const fenced = await createUser(t, 'fenced', {
      'all-but-admins': { Version: '2012-10-17', Statement: [
        { Effect: 'Allow', Action: ['coffer:UpdateAccessKey', 'coffer:DeleteAccessKey'], Resource: '*' },
        { Effect: 'Deny', Action: 'coffer:*', Resource: 'arn:aws:iam::111122223333:user/nosy' },
      ] },
    });
    for (const [op, extra] of [['UpdateAccessKey', { Status: 'Inactive' }], ['DeleteAccessKey', {}]] as const) {
      for (const AccessKeyId of [nosy.credentials.accessKeyId, 'AKIANOSUCHKEY0000000']) {
        assertError(await adminRequest(t, op, { AccessKeyId, ...extra }, fenced.credentials), 'NotFoundException', `The Access Key with id ${AccessKeyId} cannot be found.`);
      }
    }
    // Named with its owner, the refusal may name the owner: the caller named it.
    assertError(await adminRequest(t, 'DeleteAccessKey', { UserName: 'nosy', AccessKeyId: nosy.credentials.accessKeyId }, fenced.credentials), 'AccessDeniedException', /user\/nosy with an explicit deny/);
    const still = await adminRequest(t, 'ListAccessKeys', { UserName: 'nosy' });
    assert.deepEqual((still.body.AccessKeyMetadata as { Status: string }[]).map((k) => k.Status), ['Active']);
  });

  it('keeps the account root\'s keys out of reach of a user allowed every access key action on every resource', async () => {
    const keeper = await createUser(t, 'keeper', {
      'all-keys': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['coffer:UpdateAccessKey', 'coffer:DeleteAccessKey'], Resource: '*' }] },
    });
    // A second root key, so that the last-active-key rule is not what stops the user.
    const second = ((await admin(t, 'CreateAccessKey', {})).AccessKey as { AccessKeyId: string }).AccessKeyId;
    try {
      for (const AccessKeyId of [t.credentials.accessKeyId, second]) {
        for (const [op, extra] of [['UpdateAccessKey', { Status: 'Inactive' }], ['DeleteAccessKey', {}]] as const) {
          assertError(await adminRequest(t, op, { AccessKeyId, ...extra }, keeper.credentials), 'NotFoundException', `The Access Key with id ${AccessKeyId} cannot be found.`);
        }
      }
      const listed = (await admin(t, 'ListAccessKeys', {})).AccessKeyMetadata as { AccessKeyId: string; Status: string }[];
      assert.deepEqual(listed.map((k) => k.Status), ['Active', 'Active']);
      // The same policy still reaches the keys of users, named by id alone.
      const other = await createUser(t, 'kept');
      assert.equal((await adminRequest(t, 'UpdateAccessKey', { AccessKeyId: other.credentials.accessKeyId, Status: 'Inactive' }, keeper.credentials)).status, 200);
    } finally {
      await admin(t, 'DeleteAccessKey', { AccessKeyId: second });
    }
  });

  it('keeps one root key active when both are switched off at once: the changes take turns, and the second is refused', async () => {
    const created = (await adminRequest(t, 'CreateAccessKey', {})).body.AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    const second = { accessKeyId: created.AccessKeyId, secretAccessKey: created.SecretAccessKey };
    const answers = await Promise.all([t.credentials.accessKeyId, second.accessKeyId].map((AccessKeyId) =>
      adminRequest(t, 'UpdateAccessKey', { AccessKeyId, Status: 'Inactive' })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400], answers.map((a) => a.text).join('\n'));
    const firstWentOff = answers[0]!.status === 200;
    const survivor = firstWentOff ? second : t.credentials;
    const listed = (await adminRequest(t, 'ListAccessKeys', {}, survivor)).body.AccessKeyMetadata as { Status: string }[];
    assert.equal(listed.filter((k) => k.Status === 'Active').length, 1);
    // Put things back as the other cases expect them: the test's own key active, the second gone.
    assert.equal((await adminRequest(t, 'UpdateAccessKey', { AccessKeyId: t.credentials.accessKeyId, Status: 'Active' }, survivor)).status, 200);
    assert.equal((await adminRequest(t, 'DeleteAccessKey', { AccessKeyId: second.accessKeyId })).status, 200);
  });

  it('never stores a secret in clear: the database files hold none of the secrets handed out', async () => {
    const secrets = [t.credentials.secretAccessKey];
    for (let i = 0; i < 3; i += 1) {
      await admin(t, 'CreateUser', { UserName: `secret-${i}` });
      secrets.push(((await admin(t, 'CreateAccessKey', { UserName: `secret-${i}` })).AccessKey as { SecretAccessKey: string }).SecretAccessKey);
    }
    const files = readdirSync(t.dataDir).filter((f) => f.startsWith('coffer.db'));
    assert.ok(files.includes('coffer.db'));
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(t.dataDir, f))));
    assert.ok(bytes.length > 0);
    for (const secret of secrets) {
      assert.equal(bytes.includes(Buffer.from(secret, 'utf8')), false, 'a secret is stored in clear');
      assert.equal(bytes.includes(Buffer.from(secret, 'utf8').toString('base64')), false, 'a secret is stored in base64');
    }
    // The ids are there: the search would find what is stored in clear.
    assert.ok(bytes.includes(Buffer.from(t.credentials.accessKeyId, 'utf8')));
  });

  it('audits every admin call once, as CofferAdmin.<Operation>, with its outcome and parameters', async () => {
    await admin(t, 'CreateUser', { UserName: 'audited' });
    const failed = await adminRequest(t, 'CreateUser', { UserName: 'audited' });
    assert.equal(failed.body.__type, 'AlreadyExistsException');
    const key = (await admin(t, 'CreateAccessKey', { UserName: 'audited' })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    const db = new Database(join(t.dataDir, 'coffer.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = (db.prepare("SELECT operation, outcome, record FROM audit WHERE operation LIKE 'CofferAdmin.%' ORDER BY seq").all() as { operation: string; outcome: string; record: string }[])
        .map((r) => ({ ...r, parsed: JSON.parse(r.record) as { requestParameters: Record<string, unknown>; principalArn: string } }));
      const ofUser = rows.filter((r) => r.parsed.requestParameters.UserName === 'audited');
      assert.deepEqual(ofUser.map((r) => [r.operation, r.outcome]), [
        ['CofferAdmin.CreateUser', 'success'], ['CofferAdmin.CreateUser', 'AlreadyExistsException'], ['CofferAdmin.CreateAccessKey', 'success'],
      ]);
      assert.ok(ofUser.every((r) => r.parsed.principalArn === `arn:aws:iam::${ACCOUNT}:root`));
      assert.equal(rows.some((r) => r.record.includes(key.SecretAccessKey)), false);
    } finally {
      db.close();
    }
  });
});

describe('admin API: identity policies', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await admin(t, 'CreateUser', { UserName: 'dave' });
    await admin(t, 'CreateRole', { RoleName: 'ops' });
  });
  after(() => t.dispose());

  it('puts, gets, lists and deletes inline policies of a user and of a role', async () => {
    assert.deepEqual(await admin(t, 'PutPrincipalPolicy', { UserName: 'dave', PolicyName: 'b-encrypt', PolicyDocument: ALLOW_ENCRYPT }), {});
    await admin(t, 'PutPrincipalPolicy', { UserName: 'dave', PolicyName: 'a-encrypt', PolicyDocument: ALLOW_ENCRYPT });
    assert.deepEqual(await admin(t, 'ListPrincipalPolicies', { UserName: 'dave' }), { PolicyNames: ['a-encrypt', 'b-encrypt'], IsTruncated: false });
    assert.deepEqual(await admin(t, 'GetPrincipalPolicy', { UserName: 'dave', PolicyName: 'a-encrypt' }),
      { UserName: 'dave', PolicyName: 'a-encrypt', PolicyDocument: ALLOW_ENCRYPT });
    // Replacing keeps one policy of the name.
    const replaced = JSON.stringify(policyOf({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }));
    await admin(t, 'PutPrincipalPolicy', { UserName: 'dave', PolicyName: 'a-encrypt', PolicyDocument: replaced });
    assert.equal((await admin(t, 'GetPrincipalPolicy', { UserName: 'dave', PolicyName: 'a-encrypt' })).PolicyDocument, replaced);
    assert.deepEqual(await admin(t, 'DeletePrincipalPolicy', { UserName: 'dave', PolicyName: 'a-encrypt' }), {});
    assert.deepEqual((await admin(t, 'ListPrincipalPolicies', { UserName: 'dave' })).PolicyNames, ['b-encrypt']);

    await admin(t, 'PutPrincipalPolicy', { RoleName: 'ops', PolicyName: 'p', PolicyDocument: ALLOW_ENCRYPT });
    assert.deepEqual(await admin(t, 'GetPrincipalPolicy', { RoleName: 'ops', PolicyName: 'p' }), { RoleName: 'ops', PolicyName: 'p', PolicyDocument: ALLOW_ENCRYPT });
    assert.deepEqual((await admin(t, 'ListPrincipalPolicies', { RoleName: 'ops' })).PolicyNames, ['p']);
  });

  it('refuses a malformed document with MalformedPolicyDocumentException naming the fault', async () => {
    const put = (document: string) => adminRequest(t, 'PutPrincipalPolicy', { UserName: 'dave', PolicyName: 'bad', PolicyDocument: document });
    assertError(await put('{not json'), 'MalformedPolicyDocumentException');
    assertError(await put(JSON.stringify(policyOf({ Effect: 'Allow', Resource: '*' }))), 'MalformedPolicyDocumentException', /Action/);
    assertError(await put(JSON.stringify(policyOf({ Effect: 'Maybe', Action: 'kms:Encrypt', Resource: '*' }))), 'MalformedPolicyDocumentException', /Effect/);
    // An identity policy names no principal.
    assertError(await put(JSON.stringify(policyOf({ Effect: 'Allow', Principal: '*', Action: 'kms:Encrypt', Resource: '*' }))), 'MalformedPolicyDocumentException', /Principal/);
    // IAM: "the Sid value must be unique within a JSON policy".
    assertError(await put(JSON.stringify(policyOf({ Sid: 'One', Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }, { Sid: 'One', Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' }))),
      'MalformedPolicyDocumentException', 'Statement IDs (SID) in a single policy must be unique.');
    // IAM: "The Sid element supports ASCII uppercase letters (A-Z), lowercase letters (a-z), and
    // numbers (0-9)" (a key policy's Sid may have spaces, an IAM policy's may not).
    for (const sid of ['Allow use', 'allow-use', 'allow_use', 'Zugriff\u00e4']) {
      assertError(await put(JSON.stringify(policyOf({ Sid: sid, Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }))),
        'MalformedPolicyDocumentException', 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*');
    }
    // IAM grammar: "Individual elements must not contain multiple instances of the same key."
    assertError(await put('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*", "Resource": "arn:aws:kms:*:111122223333:key/*"}}'),
      'MalformedPolicyDocumentException', /the member "Resource" twice in one object/);
    assert.equal((await admin(t, 'ListPrincipalPolicies', { UserName: 'dave' }) as { PolicyNames: string[] }).PolicyNames.includes('bad'), false);
  });

  it('checks PolicyName 1..128 and the document 1..131072 characters', async () => {
    await admin(t, 'PutPrincipalPolicy', { RoleName: 'ops', PolicyName: 'n'.repeat(128), PolicyDocument: ALLOW_ENCRYPT });
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { RoleName: 'ops', PolicyName: 'n'.repeat(129), PolicyDocument: ALLOW_ENCRYPT }),
      'ValidationException', /at 'policyName' .*less than or equal to 128/);
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { RoleName: 'ops', PolicyName: '', PolicyDocument: ALLOW_ENCRYPT }),
      'ValidationException', /at 'policyName' .*greater than or equal to 1/);
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { RoleName: 'ops', PolicyName: 'p', PolicyDocument: '' }),
      'ValidationException', /at 'policyDocument' .*greater than or equal to 1/);
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { RoleName: 'ops', PolicyName: 'p', PolicyDocument: ' '.repeat(131073) }),
      'ValidationException', /at 'policyDocument' .*less than or equal to 131072/);
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { RoleName: 'ops', PolicyName: 'p' }), 'ValidationException', /Value null at 'policyDocument'/);
  });

  it('keeps a user\'s policies within 2048 characters and a role\'s within 10240, white space not counted', async () => {
    const sized = (chars: number) => {
      const base = JSON.stringify(policyOf({ Sid: '', Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }));
      return base.replace('"Sid":""', `"Sid":"${'s'.repeat(chars - base.length)}"`);
    };
    await admin(t, 'CreateUser', { UserName: 'sized' });
    await admin(t, 'PutPrincipalPolicy', { UserName: 'sized', PolicyName: 'full', PolicyDocument: sized(2048) });
    // White space does not count.
    await admin(t, 'PutPrincipalPolicy', { UserName: 'sized', PolicyName: 'full', PolicyDocument: JSON.stringify(JSON.parse(sized(2048)), null, 8) });
    // Even past a key policy's 32768 characters: PutUserPolicy's document may have 131072.
    const padded = sized(2048).replace('{', `{${'\n'.repeat(131072 - 2048)}`);
    assert.equal(padded.length, 131072);
    await admin(t, 'PutPrincipalPolicy', { UserName: 'sized', PolicyName: 'full', PolicyDocument: padded });
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { UserName: 'sized', PolicyName: 'more', PolicyDocument: ALLOW_ENCRYPT }),
      'LimitExceededException', 'Maximum policy size of 2048 bytes exceeded for user sized');
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { UserName: 'sized', PolicyName: 'full', PolicyDocument: sized(2049) }), 'LimitExceededException');
    // Only JSON's white space is free: a no-break space counts as the character it is.
    const condition = `,"Condition":{"StringEquals":{"aws:username":"${'\u00a0'.repeat(100)}"}}`;
    const nbsp = sized(2040 - (condition.length - 100)).replace('"Resource":"*"', `"Resource":"*"${condition}`);
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { UserName: 'sized', PolicyName: 'full', PolicyDocument: nbsp }), 'LimitExceededException');
    await admin(t, 'CreateRole', { RoleName: 'sized' });
    await admin(t, 'PutPrincipalPolicy', { RoleName: 'sized', PolicyName: 'full', PolicyDocument: sized(10240) });
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { RoleName: 'sized', PolicyName: 'full', PolicyDocument: sized(10241) }),
      'LimitExceededException', 'Maximum policy size of 10240 bytes exceeded for role sized');
  });

  it('answers NotFoundException for a missing policy or principal, ValidationException without exactly one name', async () => {
    assertError(await adminRequest(t, 'GetPrincipalPolicy', { UserName: 'dave', PolicyName: 'none' }), 'NotFoundException', 'The user policy with name none cannot be found.');
    assertError(await adminRequest(t, 'DeletePrincipalPolicy', { RoleName: 'ops', PolicyName: 'none' }), 'NotFoundException', 'The role policy with name none cannot be found.');
    assertError(await adminRequest(t, 'ListPrincipalPolicies', { UserName: 'ghost' }), 'NotFoundException', 'The user with name ghost cannot be found.');
    assertError(await adminRequest(t, 'PutPrincipalPolicy', { UserName: 'ghost', PolicyName: 'p', PolicyDocument: ALLOW_ENCRYPT }), 'NotFoundException');
    assertError(await adminRequest(t, 'ListPrincipalPolicies', {}), 'ValidationException', 'Specify the principal by UserName or RoleName.');
    assertError(await adminRequest(t, 'ListPrincipalPolicies', { UserName: 'dave', RoleName: 'ops' }), 'ValidationException', 'Specify either UserName or RoleName, not both.');
  });

  it('removes a deleted user\'s policies and keys: a user created again under the name starts bare', async () => {
    const user = await createUser(t, 'erin', { allow: policyOf({ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }) });
    try {
      assert.ok(Array.isArray((await user.kms.send(new ListKeysCommand({}))).Keys));
      await admin(t, 'DeleteUser', { UserName: 'erin' });
      const refused = await errorOf(() => user.kms.send(new ListKeysCommand({})));
      assert.equal(refused.name, 'UnrecognizedClientException');
      await admin(t, 'CreateUser', { UserName: 'erin' });
      assert.deepEqual((await admin(t, 'ListPrincipalPolicies', { UserName: 'erin' })).PolicyNames, []);
      assert.deepEqual((await admin(t, 'ListAccessKeys', { UserName: 'erin' })).AccessKeyMetadata, []);
      assert.equal((await errorOf(() => user.kms.send(new ListKeysCommand({})))).name, 'UnrecognizedClientException');
    } finally {
      user.kms.destroy();
    }
  });
});
