import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChainVerdict } from '../src/audit/chain.js';
import {
  CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, PutKeyPolicyCommand,
  GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand, GenerateRandomCommand, GetKeyLastUsageCommand,
  EnableKeyRotationCommand, GenerateDataKeyPairCommand, GenerateDataKeyPairWithoutPlaintextCommand, ListKeysCommand, ReEncryptCommand, ScheduleKeyDeletionCommand, TagResourceCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import Database from 'better-sqlite3';
import type { AuditRecord } from '../src/audit/record.js';
import { verifyAuditTrail } from '../src/index.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { admin, adminRequest, createUser, policyOf, type TestUser } from './support/principals.js';
import {
  errorOf, kmsClient, rawRequest, readCredentials, startTestServer, tempDataDir, type Credentials, type RawResponse, type TestServer, wrongSecret,
} from './support/server.js';

/**
 * The audit trail end to end: one record per request (success or failure, authenticated or not),
 * written with its change, chained so that tampering is found and named, never holding a secret;
 * GetKeyLastUsage and the admin API's QueryAuditRecords and VerifyAuditChain read it.
 */

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const requestIdOf = (error: unknown): string => String((error as { $metadata?: { requestId?: string } }).$metadata?.requestId);

/** Every record of a data directory, read through a second connection to its store. */
async function storedRecords(dataDir: string, afterSeq = 0): Promise<AuditRecord[]> {
  const store = new SqliteStore(join(dataDir, 'coffer.db'));
  try {
    return await store.readAudit({ afterSeq, limit: 1_000_000 });
  } finally {
    await store.close();
  }
}

async function headSeq(dataDir: string): Promise<number> {
  const store = new SqliteStore(join(dataDir, 'coffer.db'));
  try {
    return (await store.getAuditHead())?.seq ?? 0;
  } finally {
    await store.close();
  }
}

/** Sends an SDK command and returns the request id of its answer, success or error. */
async function idOf(send: () => Promise<{ $metadata: { requestId?: string } }>): Promise<{ id: string; ok: boolean }> {
  try {
    return { id: String((await send()).$metadata.requestId), ok: true };
  } catch (error) {
    return { id: requestIdOf(error), ok: false };
  }
}

const headerId = (response: RawResponse | Response): string => String(response.headers.get('x-amzn-requestid'));

type CloudTrailEvent = Record<string, unknown> & { seq: number; requestID: string; eventID: string; eventName: string | null };

/** QueryAuditRecords with paging: every matching record, newest first. */
async function queryAll(t: TestServer, filters: Record<string, unknown> = {}, limit = 50): Promise<CloudTrailEvent[]> {
  const records: CloudTrailEvent[] = [];
  let token: string | undefined;
  do {
    const page = await admin(t, 'QueryAuditRecords', { ...filters, Limit: limit, ...(token ? { NextToken: token } : {}) });
    const items = page.Records as CloudTrailEvent[];
    assert.ok(items.length <= limit);
    if (page.NextToken !== undefined) assert.equal(items.length, limit, 'a page before the last is full');
    records.push(...items);
    token = page.NextToken as string | undefined;
  } while (token);
  return records;
}

describe('audit: one record per request', () => {
  let t: TestServer;
  let user: TestUser;
  before(async () => {
    t = await startTestServer();
    user = await createUser(t, 'auditee');
  });
  after(() => t.dispose());

  it('records every request of a concurrent mixed workload exactly once, with who, what, where and the outcome', async () => {
    const keyArn = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const otherArn = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const blob = (await t.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: randomBytes(16) }))).CiphertextBlob!;
    const before = await headSeq(t.dataDir);
    const endpoint = t.server.endpoint;
    const badSecret = wrongSecret(t.credentials);
    const unknownKey: Credentials = { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) };
    const unsigned = () => fetch(endpoint, {
      method: 'POST', body: '{}', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
    });
    const missingKey = keyArn.replace(/key\/.*/, 'key/00000000-0000-4000-8000-000000000000');

    // Each entry: what it is, the operation the record must name (null: none), the outcome it must carry.
    const workload: Array<[string, Promise<{ id: string; ok?: boolean }>, string | null, string]> = [];
    const add = (what: string, run: Promise<{ id: string; ok?: boolean }>, operation: string | null, outcome: string) =>
      workload.push([what, run, operation, outcome]);
    for (let i = 0; i < 5; i++) {
      add(`encrypt ${i}`, idOf(() => t.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: randomBytes(32), EncryptionContext: { n: String(i) } }))), 'Encrypt', 'success');
      add(`decrypt ${i}`, idOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))), 'Decrypt', 'success');
    }
    add('generate data key', idOf(() => t.kms.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256' }))), 'GenerateDataKey', 'success');
    add('generate data key without plaintext', idOf(() => t.kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyArn, NumberOfBytes: 32 }))), 'GenerateDataKeyWithoutPlaintext', 'success');
    add('re-encrypt', idOf(() => t.kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: otherArn }))), 'ReEncrypt', 'success');
    add('generate random', idOf(() => t.kms.send(new GenerateRandomCommand({ NumberOfBytes: 16 }))), 'GenerateRandom', 'success');
    add('describe key', idOf(() => t.kms.send(new DescribeKeyCommand({ KeyId: keyArn }))), 'DescribeKey', 'success');
    add('list keys', idOf(() => t.kms.send(new ListKeysCommand({}))), 'ListKeys', 'success');
    // Two creations of one alias at once: one wins, the other is refused, and both are recorded.
    add('create alias A', idOf(() => t.kms.send(new CreateAliasCommand({ AliasName: 'alias/audited', TargetKeyId: keyArn }))), 'CreateAlias', 'CreateAlias?');
    add('create alias B', idOf(() => t.kms.send(new CreateAliasCommand({ AliasName: 'alias/audited', TargetKeyId: keyArn }))), 'CreateAlias', 'CreateAlias?');
    add('missing key', idOf(() => t.kms.send(new EncryptCommand({ KeyId: missingKey, Plaintext: randomBytes(8) }))), 'Encrypt', 'NotFoundException');
    add('bad ciphertext', idOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: randomBytes(80) }))), 'Decrypt', 'InvalidCiphertextException');
    add('too much plaintext', idOf(() => t.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: randomBytes(4097) }))), 'Encrypt', 'ValidationException');
    add('dry run', idOf(() => t.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: randomBytes(8), DryRun: true }))), 'Encrypt', 'DryRunOperationException');
    add('denied user', idOf(() => user.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: randomBytes(8) }))), 'Encrypt', 'AccessDeniedException');
    add('denied admin call', adminRequest(t, 'ListUsers', {}, user.credentials).then((r) => ({ id: headerId(r) })), 'CofferAdmin.ListUsers', 'AccessDeniedException');
    add('admin call', adminRequest(t, 'ListUsers', {}).then((r) => ({ id: headerId(r) })), 'CofferAdmin.ListUsers', 'success');
    add('unsigned', unsigned().then((r) => ({ id: headerId(r) })), 'ListKeys', 'MissingAuthenticationTokenException');
    add('wrong secret', rawRequest(endpoint, badSecret, 'ListKeys', {}).then((r) => ({ id: headerId(r) })), 'ListKeys', 'InvalidSignatureException');
    add('unknown access key', rawRequest(endpoint, unknownKey, 'ListKeys', {}).then((r) => ({ id: headerId(r) })), 'ListKeys', 'UnrecognizedClientException');
    add('malformed JSON', rawRequest(endpoint, t.credentials, 'Encrypt', null, { rawBody: '{"KeyId": ' }).then((r) => ({ id: headerId(r) })), 'Encrypt', 'SerializationException');
    add('unknown operation', rawRequest(endpoint, t.credentials, 'NoSuchOperation', {}).then((r) => ({ id: headerId(r) })), null, 'UnknownOperationException');
    add('wrong member type', rawRequest(endpoint, t.credentials, 'Encrypt', { KeyId: 7, Plaintext: 'AA==' }).then((r) => ({ id: headerId(r) })), 'Encrypt', 'SerializationException');

    const results = await Promise.all(workload.map(([, run]) => run));
    const ids = results.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'every answer has its own request id');
    assert.ok(ids.every((id) => /^[0-9a-f-]{36}$/.test(id)), `request ids: ${ids}`);

    const records = await storedRecords(t.dataDir, before);
    // Exactly the workload's requests, no more and no fewer.
    assert.equal(records.length, workload.length, 'one record per request');
    const byId = new Map(records.map((r) => [r.requestId, r]));
    assert.equal(byId.size, records.length, 'no request recorded twice');
    const aliasOutcomes: string[] = [];
    workload.forEach(([what, , operation, outcome], i) => {
      const record = byId.get(ids[i]!);
      assert.ok(record, `${what}: no record of request ${ids[i]}`);
      assert.equal(record.operation, operation ?? undefined, `${what}: operation`);
      if (outcome === 'CreateAlias?') aliasOutcomes.push(record.outcome);
      else assert.equal(record.outcome, outcome, `${what}: outcome`);
      assert.equal(record.sourceIp, '127.0.0.1', `${what}: source address`);
      assert.ok(record.userAgent, `${what}: user agent`);
      if (record.outcome === 'success') assert.equal(record.errorMessage, undefined, `${what}: no error message on success`);
    });
    assert.deepEqual(aliasOutcomes.sort(), ['AlreadyExistsException', 'success']);

    const find = (what: string) => byId.get(ids[workload.findIndex(([w]) => w === what)]!)!;
    const encrypt = find('encrypt 3');
    assert.equal(encrypt.principalArn, `arn:aws:iam::111122223333:root`);
    assert.equal(encrypt.accessKeyId, t.credentials.accessKeyId);
    assert.match(encrypt.userAgent!, /aws-sdk-js/);
    assert.deepEqual(encrypt.keyArns, [keyArn]);
    assert.deepEqual(encrypt.requestParameters, { KeyId: keyArn, EncryptionContext: { n: '3' } }, 'the plaintext is not recorded');
    assert.deepEqual(new Set(find('re-encrypt').keyArns), new Set([keyArn, otherArn]), 'ReEncrypt names both keys');
    assert.deepEqual(find('describe key').keyArns, [keyArn]);
    assert.deepEqual(find('generate random').keyArns, []);
    const denied = find('denied user');
    assert.equal(denied.principalArn, user.arn);
    assert.equal(denied.accessKeyId, user.credentials.accessKeyId);
    assert.match(denied.errorMessage!, /is not authorized to perform: kms:Encrypt/);
    assert.deepEqual(denied.keyArns, [keyArn]);
    assert.equal(find('missing key').outcome, 'NotFoundException');
    // Requests that never authenticated name no principal; a signed but malformed one does.
    for (const what of ['unsigned', 'wrong secret', 'unknown access key']) {
      assert.equal(find(what).principalArn, undefined, what);
      assert.equal(find(what).accessKeyId, undefined, what);
    }
    assert.equal(find('malformed JSON').principalArn, 'arn:aws:iam::111122223333:root');
    assert.deepEqual(find('malformed JSON').requestParameters, {});
    assert.equal(find('admin call').principalArn, 'arn:aws:iam::111122223333:root');

    // The admin API shows the same records, CloudTrail-shaped, newest first, each once.
    const listed = await queryAll(t, {}, 17);
    const seqs = listed.map((r) => r.seq);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0]! - i), 'every record, newest first, once');
    assert.equal(seqs.at(-1), 1);
    const shown = listed.find((r) => r.requestID === encrypt.requestId)!;
    const materialId = (await t.kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata!.CurrentKeyMaterialId!;
    assert.deepEqual(shown, {
      eventVersion: '1.11',
      userIdentity: { type: 'Root', principalId: '111122223333', arn: encrypt.principalArn, accountId: '111122223333', accessKeyId: t.credentials.accessKeyId },
      // In whole seconds, as CloudTrail writes it; the record keeps the milliseconds.
      eventTime: `${new Date(encrypt.time).toISOString().slice(0, 19)}Z`,
      eventSource: 'kms.amazonaws.com',
      eventName: 'Encrypt',
      awsRegion: 'us-east-1',
      sourceIPAddress: '127.0.0.1',
      userAgent: encrypt.userAgent,
      // The algorithm the caller left out, as CloudTrail writes it.
      requestParameters: { keyId: keyArn, encryptionContext: { n: '3' }, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
      responseElements: null,
      // The key material the ciphertext was made under, as CloudTrail adds it.
      additionalEventData: { keyMaterialId: materialId },
      requestID: encrypt.requestId,
      eventID: shown.eventID,
      resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: keyArn }],
      eventType: 'AwsApiCall',
      readOnly: true,
      managementEvent: true,
      eventCategory: 'Management',
      recipientAccountId: '111122223333',
      seq: encrypt.seq,
      prevHash: encrypt.prevHash,
      hash: encrypt.hash,
    });
    assert.match(shown.eventID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(new Set(listed.map((r) => r.eventID)).size, listed.length, 'event ids are unique');
    // CloudTrail's readOnly: false for an operation that changes something, KMS or admin.
    const readOnlyOf = (operation: string) => listed.find((r) => r.eventName === operation)?.readOnly;
    assert.equal(readOnlyOf('CreateKey'), false);
    assert.equal(readOnlyOf('ListUsers'), true);
    const shownDenied = listed.find((r) => r.requestID === denied.requestId)!;
    assert.equal(shownDenied.errorCode, 'AccessDeniedException');
    assert.equal(shownDenied.errorMessage, denied.errorMessage);
    const auditeeId = ((await admin(t, 'ListUsers', {})).Users as { UserName: string; UserId: string }[]).find((u) => u.UserName === 'auditee')!.UserId;
    assert.deepEqual(shownDenied.userIdentity, {
      type: 'IAMUser', principalId: auditeeId, arn: user.arn, accountId: '111122223333', accessKeyId: user.credentials.accessKeyId, userName: 'auditee',
    });
    const shownAdmin = listed.find((r) => r.requestID === find('admin call').requestId)!;
    assert.equal(shownAdmin.eventSource, 'coffer');
    assert.equal(shownAdmin.eventName, 'ListUsers');
    const shownUnsigned = listed.find((r) => r.requestID === find('unsigned').requestId)!;
    assert.deepEqual(shownUnsigned.userIdentity, { type: 'Unknown' });
    assert.equal(listed.find((r) => r.requestID === find('unknown operation').requestId)!.eventName, null);

    // And the chain over all of it is intact.
    const verdict = await admin(t, 'VerifyAuditChain', {});
    assert.deepEqual({ ...verdict, LastHash: undefined }, { Valid: true, Records: (await headSeq(t.dataDir)) - 1, LastHash: undefined });
    assert.match(String(verdict.LastHash), /^[0-9a-f]{64}$/);
  });

  it('records a key policy as given, on CreateKey and PutKeyPolicy, as AWS\'s CloudTrail does', async () => {
    const policy = (sid: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }] });
    const keyId = (await t.kms.send(new CreateKeyCommand({ Policy: policy('at-create') }))).KeyMetadata!.KeyId!;
    await t.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: policy('put') }));
    const [created] = await queryAll(t, { Operation: 'CreateKey' }, 1);
    assert.equal((created?.requestParameters as Record<string, unknown> | undefined)?.policy, policy('at-create'));
    const [put] = await queryAll(t, { Operation: 'PutKeyPolicy', KeyId: keyId });
    assert.deepEqual(put?.requestParameters, { keyId, policyName: 'default', policy: policy('put') });
    assert.equal(put?.readOnly, false);
  });

  it('shows the encryption algorithm of Decrypt, Encrypt and ReEncrypt even when the caller left it out, as CloudTrail does', async () => {
    const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const otherId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const rsaId = (await t.kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.KeyId!;
    const blob = (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('p'), EncryptionContext: { Dept: 'IT' } }))).CiphertextBlob!;
    await t.kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { Dept: 'IT' } }));
    await t.kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { Dept: 'IT' }, KeyId: keyId, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }));
    await t.kms.send(new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: { Dept: 'IT' }, DestinationKeyId: otherId }));
    await t.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    const rsaBlob = (await t.kms.send(new EncryptCommand({ KeyId: rsaId, Plaintext: Buffer.from('p'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).CiphertextBlob!;
    await t.kms.send(new DecryptCommand({ CiphertextBlob: rsaBlob, KeyId: rsaId, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    const shown = async (operation: string, key: string) => (await queryAll(t, { Operation: operation, KeyId: key })).map((r) => r.requestParameters);
    assert.deepEqual(await shown('Encrypt', keyId), [{ keyId, encryptionContext: { Dept: 'IT' }, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }]);
    assert.deepEqual(await shown('Decrypt', keyId), [
      { keyId, encryptionContext: { Dept: 'IT' }, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
      // Without a KeyId: the algorithm is all that is shown besides the context.
      { encryptionContext: { Dept: 'IT' }, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
    ]);
    assert.deepEqual(await shown('ReEncrypt', otherId), [{
      sourceEncryptionContext: { Dept: 'IT' }, destinationKeyId: otherId,
      sourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    }]);
    // GenerateDataKey takes no algorithm, and CloudTrail shows none.
    assert.deepEqual(await shown('GenerateDataKey', keyId), [{ keyId, keySpec: 'AES_256' }]);
    // An algorithm the caller named is shown as named.
    assert.deepEqual(await shown('Encrypt', rsaId), [{ keyId: rsaId, encryptionAlgorithm: 'RSAES_OAEP_SHA_256' }]);
    assert.deepEqual(await shown('Decrypt', rsaId), [{ keyId: rsaId, encryptionAlgorithm: 'RSAES_OAEP_SHA_256' }]);
  });

  it('adds what CloudTrail adds: the key material used, the grant a token named, the alias changed, the key a refused Decrypt named', async () => {
    const created = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const other = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const keyId = created.KeyId!;
    const blob = (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('p') }))).CiphertextBlob!;
    await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }));
    await t.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    await t.kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    await t.kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' }));
    await t.kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' }));
    await t.kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: other.KeyId! }));
    const recorded = async (operation: string, key = keyId) => (await queryAll(t, { Operation: operation, KeyId: key }))[0]!;
    const material = { keyMaterialId: created.CurrentKeyMaterialId };
    for (const operation of ['Encrypt', 'Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']) {
      assert.deepEqual((await recorded(operation)).additionalEventData, material, operation);
    }
    assert.deepEqual((await recorded('ReEncrypt')).additionalEventData, {
      destinationKeyMaterialId: other.CurrentKeyMaterialId, sourceKeyMaterialId: created.CurrentKeyMaterialId,
    });
    // Nothing to add where nothing was used.
    assert.equal('additionalEventData' in (await recorded('CreateKey')), false);

    // A Decrypt refused because its KeyId is not the ciphertext's key names the key it named.
    const refused = await rawRequest(t.server.endpoint, t.credentials, 'Decrypt', { CiphertextBlob: b64(blob), KeyId: other.KeyId });
    assert.equal(refused.body.__type, 'IncorrectKeyException', refused.text);
    const incorrect = (await queryAll(t, { Operation: 'Decrypt', KeyId: other.KeyId! }))[0]!;
    assert.equal(incorrect.requestID, headerId(refused));
    assert.deepEqual(incorrect.resources, [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: other.Arn }]);

    // An alias operation names the alias beside its key.
    await t.kms.send(new CreateAliasCommand({ AliasName: 'alias/audited-beside-its-key', TargetKeyId: keyId }));
    assert.deepEqual((await recorded('CreateAlias')).resources, [
      { accountId: '111122223333', type: 'AWS::KMS::Key', ARN: created.Arn },
      { accountId: '111122223333', type: 'AWS::KMS::Key', ARN: 'arn:aws:kms:us-east-1:111122223333:alias/audited-beside-its-key' },
    ]);

    // RetireGrant by its token alone: the record says which grant it was.
    const grant = await t.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: user.arn, Operations: ['Encrypt'] }));
    const retired = await rawRequest(t.server.endpoint, t.credentials, 'RetireGrant', { GrantToken: grant.GrantToken });
    assert.equal(retired.status, 200, retired.text);
    const retire = await recorded('RetireGrant');
    assert.equal(retire.requestID, headerId(retired));
    assert.deepEqual(retire.additionalEventData, { grantId: grant.GrantId });
    assert.equal(JSON.stringify(retire).includes(grant.GrantToken!), false, 'the token is not recorded');
  });

  it('names the members of tags and grant constraints as CloudTrail does, and keeps encryption context keys as sent', async () => {
    const keyId = (await t.kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'Department', TagValue: 'IT' }] }))).KeyMetadata!.KeyId!;
    await t.kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'Project', TagValue: 'Alpha' }] }));
    // Context keys that look like member names are the caller's data all the same.
    const subset = { ContextKey1: 'Value1', TagKey: 'UPPER', EncryptionContextEquals: 'x' };
    await t.kms.send(new CreateGrantCommand({
      KeyId: keyId, GranteePrincipal: user.arn, Operations: ['Encrypt', 'RetireGrant'], Constraints: { EncryptionContextSubset: subset },
    }));
    await t.kms.send(new CreateGrantCommand({
      KeyId: keyId, GranteePrincipal: user.arn, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: { Dept: 'IT' } },
    }));
    const shown = async (operation: string) => (await queryAll(t, { Operation: operation, KeyId: keyId })).map((r) => r.requestParameters);
    assert.deepEqual((await shown('CreateKey'))[0], { tags: [{ tagKey: 'Department', tagValue: 'IT' }] });
    assert.deepEqual(await shown('TagResource'), [{ keyId, tags: [{ tagKey: 'Project', tagValue: 'Alpha' }] }]);
    assert.deepEqual(await shown('CreateGrant'), [
      { keyId, granteePrincipal: user.arn, operations: ['Decrypt'], constraints: { encryptionContextEquals: { Dept: 'IT' } } },
      { keyId, granteePrincipal: user.arn, operations: ['Encrypt', 'RetireGrant'], constraints: { encryptionContextSubset: subset } },
    ]);
  });
});

describe('audit: records are written with their change', () => {
  it('keeps the record of a CreateAlias that answered 200 when the server is killed right after (SIGKILL)', async () => {
    const dataDir = tempDataDir();
    const script = `
      const { startServer } = await import(process.argv[1]);
      const server = await startServer({ port: 0, dataDir: process.argv[2], logger: () => {} });
      process.stdout.write(server.endpoint + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, new URL('../src/index.js', import.meta.url).href, dataDir],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (s: string) => {
          out += s;
          if (out.includes('\n')) resolve(out.trim());
        });
        child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
      const kms = kmsClient(endpoint, readCredentials(join(dataDir, 'credentials')));
      const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const answer = await kms.send(new CreateAliasCommand({ AliasName: 'alias/survivor', TargetKeyId: key }));
      const requestId = answer.$metadata.requestId!;
      kms.destroy();
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const record = (await storedRecords(dataDir)).find((r) => r.requestId === requestId);
      assert.ok(record, 'the record of the answered CreateAlias is durable');
      assert.equal(record.operation, 'CreateAlias');
      assert.equal(record.outcome, 'success');
      assert.equal(record.requestParameters.AliasName, 'alias/survivor');
      assert.deepEqual(await verifyAuditTrail(dataDir), { ok: true, records: record.seq, lastHash: record.hash });
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps every record across a restart, and the restarted server continues the same chain', async () => {
    let t = await startTestServer();
    try {
      const key = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const created = await t.kms.send(new CreateAliasCommand({ AliasName: 'alias/restart', TargetKeyId: key }));
      const before = await storedRecords(t.dataDir);
      t = await t.restart();
      const after = await storedRecords(t.dataDir);
      assert.deepEqual(after, before);
      assert.equal(after.find((r) => r.requestId === created.$metadata.requestId)?.outcome, 'success');
      await t.kms.send(new DescribeKeyCommand({ KeyId: key }));
      const verdict = await admin(t, 'VerifyAuditChain', {});
      assert.deepEqual({ Valid: verdict.Valid, Records: verdict.Records }, { Valid: true, Records: before.length + 1 });
    } finally {
      await t.dispose();
    }
  });
});

describe('audit: tampering is found and named', () => {
  let source: string;
  let records: number;
  const copies: string[] = [];
  before(async () => {
    const t = await startTestServer();
    source = t.dataDir;
    const key = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (let i = 0; i < 6; i++) await t.kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from(`p${i}`) }));
    await errorOf(() => t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/none' })));
    await t.stop();
    records = (await storedRecords(source)).length;
    assert.ok(records >= 8);
  });
  after(() => {
    for (const dir of [source, ...copies]) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the stopped server's data directory, changed by `tamper` through SQL on the file. */
  function tampered(tamper: (db: Database.Database) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-tampered-'));
    copies.push(dir);
    cpSync(source, dir, { recursive: true });
    const db = new Database(join(dir, 'coffer.db'));
    try {
      tamper(db);
    } finally {
      db.close();
    }
    return dir;
  }

  /** The verdict offline (the data directory alone) and through a server's admin API. */
  async function verdicts(dir: string): Promise<{ offline: ChainVerdict; api: Record<string, unknown> }> {
    const offline = await verifyAuditTrail(dir);
    const t = await startTestServer({ dataDir: dir });
    try {
      return { offline, api: await admin(t, 'VerifyAuditChain', {}) };
    } finally {
      await t.stop();
    }
  }

  const recordJson = (db: Database.Database, seq: number) => JSON.parse((db.prepare('SELECT record FROM audit WHERE seq = ?').get(seq) as { record: string }).record);

  it('finds an untouched chain valid, both ways', async () => {
    const { offline, api } = await verdicts(tampered(() => {}));
    assert.ok(offline.ok);
    assert.deepEqual(offline, { ok: true, records, lastHash: offline.lastHash });
    assert.match(String(offline.lastHash), /^[0-9a-f]{64}$/);
    assert.deepEqual(api, { Valid: true, Records: records, LastHash: offline.lastHash });
  });

  it('names a record whose JSON was altered', async () => {
    const dir = tampered((db) => {
      const record = recordJson(db, 4);
      assert.equal(record.outcome, 'success');
      db.prepare('UPDATE audit SET record = ? WHERE seq = 4').run(JSON.stringify({ ...record, outcome: 'AccessDeniedException' }));
    });
    const { offline, api } = await verdicts(dir);
    assert.deepEqual(offline, { ok: false, seq: 4, problem: 'record 4 was altered' });
    assert.deepEqual(api, { Valid: false, Records: 3, BrokenAt: 4, Problem: 'record 4 was altered' });
  });

  it('names a record whose JSON was made unreadable, without repeating what is stored there', async () => {
    const dir = tampered((db) => db.prepare("UPDATE audit SET record = '{not json, but a stored secret' WHERE seq = 5").run());
    const { offline, api } = await verdicts(dir);
    assert.deepEqual(offline, { ok: false, seq: 5, problem: 'record 5 cannot be read (it is not JSON)' });
    assert.equal(api.BrokenAt, 5);
    assert.equal(api.Problem, 'record 5 cannot be read (it is not JSON)');
  });

  it('QueryAuditRecords shows a record that cannot be read in its place, and every other record around it', async () => {
    const dir = tampered((db) => {
      db.prepare("UPDATE audit SET record = '{not json' WHERE seq = 5").run();
      // JSON, but not what the server writes: members of the wrong types.
      db.prepare('UPDATE audit SET record = ? WHERE seq = 3').run(JSON.stringify({ ...recordJson(db, 3), time: 'yesterday', keyArns: 7 }));
      db.prepare('UPDATE audit SET record = ? WHERE seq = 2').run(JSON.stringify({ ...recordJson(db, 2), seq: 9 }));
    });
    const t = await startTestServer({ dataDir: dir });
    try {
      // Small pages, so paging goes on past the unreadable records.
      const listed = await queryAll(t, {}, 2);
      const ours = listed.filter((r) => r.seq <= records);
      assert.deepEqual(ours.map((r) => r.seq), Array.from({ length: records }, (_, i) => records - i), 'every record, newest first');
      for (const seq of [2, 3, 5]) {
        const entry = ours.find((r) => r.seq === seq)!;
        assert.deepEqual(Object.keys(entry).sort(), ['seq', 'unreadable'], `record ${seq} stands in its place as unreadable`);
        assert.match(String(entry.unreadable), new RegExp(`^Audit record ${seq} cannot be read \\(.+\\); VerifyAuditChain checks the whole trail\\.$`));
        assert.equal(String(entry.unreadable).includes('not json'), false, 'the stored text is never repeated');
      }
      assert.match(String(ours.find((r) => r.seq === 5)!.unreadable), /\(it is not JSON\)/);
      assert.ok(ours.filter((r) => ![2, 3, 5].includes(r.seq)).every((r) => typeof r.eventID === 'string'), 'the others read as events');
      // The filters read their own columns: the damaged record is still found by operation.
      const encrypts = await queryAll(t, { Operation: 'Encrypt' });
      assert.equal(encrypts.filter((r) => r.seq <= records).length, 6);
    } finally {
      await t.stop();
    }
  });

  it('names a deleted record', async () => {
    const dir = tampered((db) => db.prepare('DELETE FROM audit WHERE seq = 3').run());
    const { offline, api } = await verdicts(dir);
    assert.deepEqual(offline, { ok: false, seq: 3, problem: 'record 3 is missing (record 4 follows record 2)' });
    assert.equal(api.BrokenAt, 3);
    assert.equal(api.Valid, false);
  });

  it('names the newest record when it was deleted', async () => {
    const dir = tampered((db) => db.prepare('DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)').run());
    const { offline, api } = await verdicts(dir);
    assert.deepEqual(offline, { ok: false, seq: records, problem: `the chain ends at record ${records - 1} but record ${records} was written` });
    assert.equal(api.BrokenAt, records);
  });

  it('names the first of two swapped records', async () => {
    const dir = tampered((db) => {
      const [a, b] = [recordJson(db, 5), recordJson(db, 6)];
      db.prepare('UPDATE audit SET record = ? WHERE seq = 5').run(JSON.stringify(b));
      db.prepare('UPDATE audit SET record = ? WHERE seq = 6').run(JSON.stringify(a));
    });
    const { offline, api } = await verdicts(dir);
    // Row 5 is there, holding record 6: it was altered, not removed.
    assert.deepEqual(offline, { ok: false, seq: 5, problem: 'record 5 was altered' });
    assert.equal(api.BrokenAt, 5);
  });

  it('calls a record whose JSON seq was changed to the next one\'s altered, not missing', async () => {
    // The verifier saw seq 4 after 2 and said 'record 3 is missing (record 4 follows record 2)', though row 3 is there.
    const dir = tampered((db) => db.prepare('UPDATE audit SET record = ? WHERE seq = 3').run(JSON.stringify({ ...recordJson(db, 3), seq: 4 })));
    const { offline, api } = await verdicts(dir);
    assert.deepEqual(offline, { ok: false, seq: 3, problem: 'record 3 was altered' });
    assert.equal(api.BrokenAt, 3);
  });

  it('names a swapped record even when the swapper renumbered both', async () => {
    const dir = tampered((db) => {
      const [a, b] = [recordJson(db, 5), recordJson(db, 6)];
      db.prepare('UPDATE audit SET record = ? WHERE seq = 5').run(JSON.stringify({ ...b, seq: 5, prevHash: a.prevHash }));
      db.prepare('UPDATE audit SET record = ? WHERE seq = 6').run(JSON.stringify({ ...a, seq: 6, prevHash: b.hash }));
    });
    const { offline, api } = await verdicts(dir);
    assert.deepEqual(offline, { ok: false, seq: 5, problem: 'record 5 was altered' });
    assert.equal(api.BrokenAt, 5);
  });

  it('names the first record past a head that was set back to hide the newest records', async () => {
    const dir = tampered((db) => {
      const hidden = recordJson(db, records - 2);
      db.prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1').run(hidden.seq, hidden.hash);
    });
    // Offline only: a server on these files cannot append (the seq after the head is taken), and
    // so answers no request at all rather than one it cannot record.
    assert.deepEqual(await verifyAuditTrail(dir), {
      ok: false, seq: records - 1, problem: `record ${records - 1} lies past the head, which names record ${records - 2} as the last written`,
    });
  });

  it('names a record put before record 1, and leaves it out of queries', async () => {
    for (const forged of [0, -1]) {
      // A copy of record 4 (a key's CreateKey) as someone else's ScheduleKeyDeletion, hash and all.
      const mallory = 'arn:aws:iam::111122223333:user/mallory';
      let keyArn = '';
      const dir = tampered((db) => {
        const copy = { ...recordJson(db, 4), seq: forged, principalArn: mallory, operation: 'ScheduleKeyDeletion' };
        keyArn = copy.keyArns[0];
        db.prepare('INSERT INTO audit (seq, time, principal_arn, operation, outcome, record) VALUES (?, ?, ?, ?, ?, ?)')
          .run(forged, copy.time, mallory, 'ScheduleKeyDeletion', 'success', JSON.stringify(copy));
        db.prepare('INSERT INTO audit_keys (key_arn, seq) VALUES (?, ?)').run(keyArn, forged);
      });
      // Before, verification began after 0 and found the chain intact, and queries listed the row as the server's.
      const problem = `record ${forged} lies before record 1, the first the server writes: it was not written by the server`;
      assert.deepEqual(await verifyAuditTrail(dir), { ok: false, seq: forged, problem });
      const t = await startTestServer({ dataDir: dir });
      try {
        const verdict = await admin(t, 'VerifyAuditChain', {});
        assert.deepEqual([verdict.Valid, verdict.BrokenAt, verdict.Problem], [false, forged, problem]);
        for (const filters of [{}, { KeyId: keyArn }, { PrincipalArn: mallory }]) {
          const listed = await queryAll(t, filters, 3);
          assert.equal(listed.some((r) => r.seq < 1), false, JSON.stringify(filters));
        }
      } finally {
        await t.stop();
      }
    }
  });

  it('names a record whose columns queries filter on were changed, though its JSON and hash were not', async () => {
    for (const [column, value, what] of [['operation', 'GenerateRandom', 'operation'], ['principal_arn', 'arn:aws:iam::111122223333:user/x', 'principal'], ['time', 0, 'time'], ['outcome', 'success', 'outcome']] as const) {
      // Record 8 is the refused DescribeKey (outcome NotFoundException).
      const dir = tampered((db) => db.prepare(`UPDATE audit SET ${column} = ? WHERE seq = 8`).run(value));
      assert.deepEqual(await verifyAuditTrail(dir), { ok: false, seq: 8, problem: `record 8's ${what} in the index that queries read differs from the record` }, column);
    }
  });

  it('names a record taken out of the key index, which a query by that key would no longer find', async () => {
    let keyArn = '';
    const dir = tampered((db) => {
      keyArn = recordJson(db, 4).keyArns[0];
      db.prepare('DELETE FROM audit_keys WHERE seq = 4').run();
    });
    const { offline, api } = await verdicts(dir);
    assert.deepEqual(offline, { ok: false, seq: 4, problem: `record 4 is missing from the key index under ${keyArn}, so a query by that key does not find it` });
    assert.equal(api.BrokenAt, 4);
  });

  it('says why it cannot check a directory that holds no store', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'coffer-empty-'));
    copies.push(empty);
    await assert.rejects(verifyAuditTrail(empty), { name: 'StartupError', message: /holds no Coffer store/ });
    assert.equal(existsSync(join(empty, 'coffer.db')), false, 'verification creates nothing');
  });
});

describe('audit: no secret or plaintext in any record', () => {
  it('keeps plaintexts, data keys, ciphertexts, grant tokens and secrets out of the records and the audit tables', async () => {
    const t = await startTestServer();
    const needles = new Map<string, Buffer>();
    /** A secret, searched for as base64, base64url, hex and (long enough to be unique) raw bytes. */
    const secret = (what: string, bytes: Uint8Array) => needles.set(what, Buffer.from(bytes));
    let grantToken = '';
    try {
      const user = await createUser(t, 'secretive', { all: policyOf({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }) });
      const userKey = (await admin(t, 'CreateAccessKey', { UserName: 'secretive' })).AccessKey as { SecretAccessKey: string };
      secret('admin secret', Buffer.from(t.credentials.secretAccessKey));
      secret('user secret', Buffer.from(user.credentials.secretAccessKey));
      secret('second user secret', Buffer.from(userKey.SecretAccessKey));
      const key = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
      const other = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
      const grant = await t.kms.send(new CreateGrantCommand({ KeyId: key, GranteePrincipal: user.arn, Operations: ['Encrypt', 'Decrypt'] }));
      grantToken = grant.GrantToken!;
      for (let i = 0; i < 3; i++) {
        const plaintext = randomBytes(48);
        secret(`plaintext ${i}`, plaintext);
        const sealed = await t.kms.send(new EncryptCommand({ KeyId: key, Plaintext: plaintext, EncryptionContext: { purpose: 'test' }, GrantTokens: [grantToken] }));
        secret(`ciphertext ${i}`, sealed.CiphertextBlob!);
        const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob!, EncryptionContext: { purpose: 'test' } }));
        assert.deepEqual(Buffer.from(opened.Plaintext!), plaintext);
        const moved = await t.kms.send(new ReEncryptCommand({
          CiphertextBlob: sealed.CiphertextBlob!, SourceEncryptionContext: { purpose: 'test' }, DestinationKeyId: other,
        }));
        secret(`re-encrypted ${i}`, moved.CiphertextBlob!);
        const dataKey = await t.kms.send(new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256' }));
        secret(`data key ${i}`, dataKey.Plaintext!);
        secret(`data key blob ${i}`, dataKey.CiphertextBlob!);
        const wrapped = await t.kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key, NumberOfBytes: 64 }));
        secret(`wrapped data key ${i}`, wrapped.CiphertextBlob!);
        const random = await t.kms.send(new GenerateRandomCommand({ NumberOfBytes: 64 }));
        secret(`random ${i}`, random.Plaintext!);
        // Refused requests carry their plaintexts too, and must drop them just the same.
        const refused = randomBytes(4097);
        secret(`refused plaintext ${i}`, refused.subarray(0, 64));
        await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: key, Plaintext: refused })));
        const denied = randomBytes(48);
        secret(`denied plaintext ${i}`, denied);
        await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: key.replace(/key\/.*/, 'key/00000000-0000-4000-8000-000000000000'), Plaintext: denied })));
        const tampered = Buffer.from(sealed.CiphertextBlob!);
        tampered[tampered.length - 1]! ^= 1;
        secret(`tampered ciphertext ${i}`, tampered);
        await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: tampered })));
        // A user's request that uses the grant token, and one with the token in an unexpected member.
        await user.kms.send(new EncryptCommand({ KeyId: key, Plaintext: randomBytes(8), GrantTokens: [grantToken] }));
        await user.raw('Encrypt', { KeyId: key, Plaintext: b64(denied), Secret: grantToken, Nested: { Plaintext: b64(denied) } });
        // Refused for its grant tokens: the validation message must not quote them.
        await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: key, Plaintext: randomBytes(8), GrantTokens: Array<string>(11).fill(grantToken) })));
      }
      secret('grant token', Buffer.from(grantToken));
      const query = await queryAll(t);
      assert.ok(query.length >= 40, `${query.length} records`);

      const forms = (bytes: Buffer) => [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
      const searchText = (text: string, where: string) => {
        for (const [what, bytes] of needles) {
          for (const form of forms(bytes)) assert.ok(!text.includes(form), `${what} (${form.slice(0, 12)}...) found in ${where}`);
        }
      };
      searchText(JSON.stringify(await storedRecords(t.dataDir)), 'the stored records');
      searchText(JSON.stringify(query), 'QueryAuditRecords');
      await t.stop();

      // The raw bytes of the audit tables: a copy of the file with only them, vacuumed so no page
      // of another table is left behind.
      const copy = join(t.dataDir, 'audit-only.db');
      cpSync(join(t.dataDir, 'coffer.db'), copy);
      const db = new Database(copy);
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
      assert.ok(tables.includes('audit'));
      for (const name of tables) if (!['audit', 'audit_keys', 'audit_head', 'key_last_use'].includes(name)) db.exec(`DROP TABLE "${name}"`);
      db.exec('VACUUM');
      db.close();
      const auditBytes = readFileSync(copy);
      assert.ok(auditBytes.includes(Buffer.from('"operation":"Encrypt"')), 'the copy holds the audit records');
      const searchBytes = (bytes: Buffer, where: string, skip: (what: string) => boolean = () => false) => {
        for (const [what, needle] of needles) {
          if (skip(what)) continue;
          for (const form of [...forms(needle).map((f) => Buffer.from(f)), ...(needle.length >= 16 ? [needle] : [])]) {
            assert.equal(bytes.indexOf(form), -1, `${what} found in ${where}`);
          }
        }
      };
      searchBytes(auditBytes, 'the audit tables');
      // The whole database never holds a plaintext, a data key, a ciphertext or a secret in the
      // clear; only the grant token lives in the grants table, by design.
      const whole = Buffer.concat([readFileSync(join(t.dataDir, 'coffer.db')),
        ...(existsSync(join(t.dataDir, 'coffer.db-wal')) ? [readFileSync(join(t.dataDir, 'coffer.db-wal'))] : [])]);
      searchBytes(whole, 'the database file', (what) => what === 'grant token');
    } finally {
      await t.dispose();
    }
  });
});

describe('audit: a caller cannot make records large', () => {
  it('quotes at most a short excerpt of an unsigned request\'s path or target, in the answer and the record', async () => {
    const t = await startTestServer();
    try {
      const before = await headSeq(t.dataDir);
      const path = await fetch(`${t.server.endpoint}/${'A'.repeat(15_000)}`, { method: 'POST', body: '{}' });
      const target = await fetch(t.server.endpoint, { method: 'POST', headers: { 'x-amz-target': `TrentService.${'B'.repeat(15_000)}`, 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
      for (const response of [path, target]) {
        const body = await response.json() as { __type: string; message: string };
        assert.equal(body.__type, 'UnknownOperationException');
        assert.ok(body.message.length < 300, body.message);
      }
      const records = await storedRecords(t.dataDir, before);
      assert.equal(records.length, 2);
      for (const record of records) assert.ok(JSON.stringify(record).length < 2000, `${JSON.stringify(record).length} characters`);
    } finally {
      await t.dispose();
    }
  });
});

describe('audit: a client that disconnects mid-body', () => {
  it('is not answered, not audited and not logged as a server error; the server goes on', async () => {
    const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
    const t = await startTestServer({ logger: (level, message, fields) => lines.push({ level, message, ...(fields ? { fields } : {}) }) });
    try {
      const before = await headSeq(t.dataDir);
      const url = new URL(t.server.endpoint);
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: 100\r\n\r\n{"a":');
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
      await t.kms.send(new ListKeysCommand({}));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(lines.filter((line) => line.level === 'error'), []);
      assert.ok(lines.some((line) => line.fields?.error === 'RequestAborted'), JSON.stringify(lines));
      const records = await storedRecords(t.dataDir, before);
      assert.deepEqual(records.map((r) => [r.operation, r.outcome]), [['ListKeys', 'success']]);
    } finally {
      await t.dispose();
    }
  });
});

describe('GetKeyLastUsage', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.dispose());

  it('is empty for a key never used, with tracking from the key\'s creation', async () => {
    const created = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await t.kms.send(new DescribeKeyCommand({ KeyId: created.KeyId }));
    const usage = await t.kms.send(new GetKeyLastUsageCommand({ KeyId: created.KeyId }));
    assert.equal(usage.KeyId, created.KeyId);
    assert.deepEqual(usage.KeyLastUsage, {});
    assert.equal(usage.KeyCreationDate?.getTime(), created.CreationDate?.getTime());
    assert.equal(usage.TrackingStartDate?.getTime(), created.CreationDate?.getTime());
    // The raw answer: an empty object, dates in epoch seconds, the key id (not the ARN).
    const raw = await rawRequest(t.server.endpoint, t.credentials, 'GetKeyLastUsage', { KeyId: created.Arn });
    assert.equal(raw.status, 200, raw.text);
    assert.deepEqual(raw.body, {
      KeyId: created.KeyId, KeyLastUsage: {},
      TrackingStartDate: created.CreationDate!.getTime() / 1000, KeyCreationDate: created.CreationDate!.getTime() / 1000,
    });
  });

  it('shows the last successful cryptographic use: Encrypt, then Decrypt, then GenerateDataKey', async () => {
    const key = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const other = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const lastUse = async (keyId = key.KeyId!) => (await t.kms.send(new GetKeyLastUsageCommand({ KeyId: keyId }))).KeyLastUsage!;
    const expectUse = async (operation: string, requestId: string | undefined, keyId?: string) => {
      const use = await lastUse(keyId);
      assert.equal(use.Operation, operation);
      assert.equal(use.KmsRequestId, requestId);
      const record = (await queryAll(t, { KeyId: keyId ?? key.KeyId })).find((r) => r.requestID === requestId)!;
      assert.equal(use.CloudTrailEventId, record.eventID);
      // The same time, which the event shows in whole seconds.
      assert.equal(`${use.Timestamp?.toISOString().slice(0, 19)}Z`, record.eventTime);
    };

    const encrypted = await t.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('hello') }));
    await expectUse('Encrypt', encrypted.$metadata.requestId);
    const decrypted = await t.kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob }));
    await expectUse('Decrypt', decrypted.$metadata.requestId);
    const generated = await t.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_128' }));
    await expectUse('GenerateDataKey', generated.$metadata.requestId);
    // Uses that are not cryptographic, or that failed, change nothing.
    await t.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: randomBytes(90), KeyId: key.KeyId })));
    await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), DryRun: true })));
    await expectUse('GenerateDataKey', generated.$metadata.requestId);
    assert.deepEqual(await lastUse(other.KeyId), {}, 'another key is untouched');
    // ReEncrypt is a use of both keys.
    const moved = await t.kms.send(new ReEncryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, DestinationKeyId: other.Arn }));
    await expectUse('ReEncrypt', moved.$metadata.requestId);
    await expectUse('ReEncrypt', moved.$metadata.requestId, other.KeyId);
  });

  it('takes a key id or key ARN only, and checks permission like AWS', async () => {
    const key = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await t.kms.send(new CreateAliasCommand({ AliasName: 'alias/last-usage', TargetKeyId: key.KeyId }));
    const byAlias = await rawRequest(t.server.endpoint, t.credentials, 'GetKeyLastUsage', { KeyId: 'alias/last-usage' });
    assert.equal(byAlias.body.__type, 'NotFoundException', byAlias.text);
    const missing = await rawRequest(t.server.endpoint, t.credentials, 'GetKeyLastUsage', {});
    assert.equal(missing.body.__type, 'ValidationException');
    assert.equal(missing.body.message, "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
    const unknown = await rawRequest(t.server.endpoint, t.credentials, 'GetKeyLastUsage', { KeyId: '00000000-0000-4000-8000-000000000000' });
    assert.equal(unknown.body.__type, 'NotFoundException');
    const user = await createUser(t, 'curious');
    const denied = await user.raw('GetKeyLastUsage', { KeyId: key.KeyId });
    assert.equal(denied.body.__type, 'AccessDeniedException');
    assert.equal(denied.body.message,
      `User: ${user.arn} is not authorized to perform: kms:GetKeyLastUsage on resource: ${key.Arn} because no identity-based policy allows the kms:GetKeyLastUsage action`);
    await user.putPolicy('last-usage', policyOf({ Effect: 'Allow', Action: 'kms:GetKeyLastUsage', Resource: key.Arn }));
    const allowed = await user.raw('GetKeyLastUsage', { KeyId: key.Arn });
    assert.equal(allowed.status, 200, allowed.text);
    user.kms.destroy();
  });
});

describe('audit: the server\'s own actions, as CloudTrail shows KMS\'s', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.dispose());

  it('shows a scheduled deletion and an automatic rotation as AWS service events, as ct-delete-key and ct-rotatekey do', async () => {
    const rotated = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await t.kms.send(new EnableKeyRotationCommand({ KeyId: rotated.KeyId, RotationPeriodInDays: 90 }));
    const deleted = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: deleted.KeyId, PendingWindowInDays: 7 }));
    await t.server.runScheduledWork(Date.now() + 91 * 86_400_000);
    const [rotation] = await queryAll(t, { Operation: 'RotateKey' });
    const [deletion] = await queryAll(t, { Operation: 'DeleteKey' });
    const expected = (event: CloudTrailEvent, eventName: string, arn: string, details?: object) => ({
      eventVersion: '1.11',
      userIdentity: { accountId: '111122223333', invokedBy: 'AWS Internal' },
      eventTime: event.eventTime,
      eventSource: 'kms.amazonaws.com',
      eventName,
      awsRegion: 'us-east-1',
      sourceIPAddress: 'AWS Internal',
      userAgent: 'AWS Internal',
      requestParameters: null,
      responseElements: null,
      eventID: event.eventID,
      readOnly: false,
      resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: arn }],
      eventType: 'AwsServiceEvent',
      managementEvent: true,
      eventCategory: 'Management',
      recipientAccountId: '111122223333',
      ...(details ? { serviceEventDetails: details } : {}),
      seq: event.seq,
      prevHash: event.prevHash,
      hash: event.hash,
    });
    assert.deepEqual(rotation, expected(rotation!, 'RotateKey', rotated.Arn!, { rotationType: 'AUTOMATIC', keyId: rotated.KeyId }));
    // ct-delete-key's entry has no serviceEventDetails.
    assert.deepEqual(deletion, expected(deletion!, 'DeleteKey', deleted.Arn!));

    // An AWS managed key made on first use: the server's own action too, with what it made.
    await t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' }));
    const made = (await queryAll(t, { StartTime: Math.floor(Date.now() / 1000) - 60 })).filter((r) => r.eventType === 'AwsServiceEvent')
      .sort((a, b) => a.eventName!.localeCompare(b.eventName!));
    assert.deepEqual(made.map((r) => [r.eventName, r.userIdentity, r.sourceIPAddress, r.requestParameters, r.readOnly, r.requestID]), [
      ['CreateAlias', { accountId: '111122223333', invokedBy: 'AWS Internal' }, 'AWS Internal', null, false, undefined],
      ['CreateKey', { accountId: '111122223333', invokedBy: 'AWS Internal' }, 'AWS Internal', null, false, undefined],
      ['DeleteKey', { accountId: '111122223333', invokedBy: 'AWS Internal' }, 'AWS Internal', null, false, undefined],
      ['RotateKey', { accountId: '111122223333', invokedBy: 'AWS Internal' }, 'AWS Internal', null, false, undefined],
    ]);
    assert.equal((made[0]!.serviceEventDetails as { aliasName?: string }).aliasName, 'alias/aws/ebs');
    // Its resources as a request's CreateAlias lists them: the key, then the alias.
    assert.deepEqual((made[0]!.resources as { ARN: string }[]).map((r) => r.ARN.split(':').slice(5).join(':')),
      [`key/${(made[0]!.serviceEventDetails as { targetKeyId: string }).targetKeyId}`, 'alias/aws/ebs']);

    // A request that names itself as the scheduler is still a request, from its address.
    const posing = await rawRequest(t.server.endpoint, t.credentials, 'ListKeys', {}, { headers: { 'user-agent': 'coffer-scheduler' } });
    const [listed] = await queryAll(t, { Operation: 'ListKeys' });
    assert.equal(listed!.requestID, headerId(posing));
    assert.equal(listed!.eventType, 'AwsApiCall');
    assert.equal(listed!.userAgent, 'coffer-scheduler');
    assert.equal(listed!.sourceIPAddress, '127.0.0.1');
  });
});

describe('QueryAuditRecords and VerifyAuditChain', () => {
  let t: TestServer;
  let user: TestUser;
  let keys: { KeyId: string; Arn: string }[];
  before(async () => {
    t = await startTestServer();
    user = await createUser(t, 'querier');
    keys = [];
    for (let i = 0; i < 2; i++) keys.push((await t.kms.send(new CreateKeyCommand({}))).KeyMetadata as { KeyId: string; Arn: string });
    for (let i = 0; i < 6; i++) {
      await t.kms.send(new EncryptCommand({ KeyId: keys[i % 2]!.KeyId, Plaintext: Buffer.from('q') }));
      await errorOf(() => user.kms.send(new EncryptCommand({ KeyId: keys[0]!.KeyId, Plaintext: Buffer.from('q') })));
      await errorOf(() => t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/nothing' })));
      // Spread the records over time so that time filters have something to cut.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const sts = new STSClient({ endpoint: t.server.endpoint, region: 'us-east-1', credentials: t.credentials, maxAttempts: 1 });
    await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    await admin(t, 'ListUsers', { MaxItems: 7 });
  });
  after(() => t.dispose());

  it('filters by key, principal, operation, outcome and time, alone and together', async () => {
    const all = await queryAll(t);
    const head = all[0]!.seq;
    /** The filtered answer, leaving out the QueryAuditRecords calls made since `all` was read. */
    const query = async (filters: Record<string, unknown>) => (await queryAll(t, filters, 4)).filter((r) => r.seq <= head).map((r) => r.seq);
    const expected = (keep: (r: CloudTrailEvent) => boolean) => all.filter(keep).map((r) => r.seq);
    const principal = (r: CloudTrailEvent) => (r.userIdentity as { arn?: string }).arn;
    const names = (r: CloudTrailEvent, arn: string) => (r.resources as { ARN: string }[]).some((x) => x.ARN === arn);

    const byKeyId = await query({ KeyId: keys[0]!.KeyId });
    assert.ok(byKeyId.length >= 9, `${byKeyId.length} records`);
    assert.deepEqual(byKeyId, expected((r) => names(r, keys[0]!.Arn)));
    assert.deepEqual(await query({ KeyId: keys[0]!.Arn }), byKeyId, 'a key ARN is the same filter');
    assert.deepEqual(await query({ KeyId: keys[1]!.KeyId }), expected((r) => names(r, keys[1]!.Arn)));
    assert.deepEqual(await query({ PrincipalArn: user.arn }), expected((r) => principal(r) === user.arn));
    assert.equal((await query({ PrincipalArn: user.arn })).length, 6);
    assert.deepEqual(await query({ Operation: 'Encrypt' }), expected((r) => r.eventName === 'Encrypt'));
    assert.deepEqual(await query({ Operation: 'CreateUser' }), expected((r) => r.eventName === 'CreateUser'), 'an admin operation by its bare name');
    assert.deepEqual(await query({ Operation: 'CofferAdmin.CreateUser' }), expected((r) => r.eventName === 'CreateUser'));
    // STS requests: shown as CloudTrail shows them, eventName GetCallerIdentity from STS's event
    // source; found by that name and by the recorded `sts:GetCallerIdentity`.
    const sts = await query({ Operation: 'sts:GetCallerIdentity' });
    assert.equal(sts.length, 1);
    const stsEvent = all.find((r) => r.seq === sts[0])!;
    assert.equal(stsEvent.eventSource, 'sts.amazonaws.com');
    assert.equal(stsEvent.eventName, 'GetCallerIdentity');
    assert.deepEqual(await query({ Operation: 'GetCallerIdentity' }), sts);
    // Limits are kept in the record, as markers are.
    assert.deepEqual(all.find((r) => r.eventName === 'ListUsers')!.requestParameters, { maxItems: 7 });
    assert.equal((await query({ Operation: 'CreateUser' })).length, 1);
    assert.deepEqual(await query({ Outcome: 'success' }), expected((r) => r.errorCode === undefined));
    assert.deepEqual(await query({ Outcome: 'failure' }), expected((r) => r.errorCode !== undefined));
    assert.deepEqual(await query({ Outcome: 'NotFoundException' }), expected((r) => r.errorCode === 'NotFoundException'));
    assert.equal((await query({ Outcome: 'NotFoundException' })).length, 6);
    assert.deepEqual(await query({ Outcome: 'AccessDeniedException', KeyId: keys[0]!.KeyId, Operation: 'Encrypt', PrincipalArn: user.arn }),
      expected((r) => r.errorCode === 'AccessDeniedException' && names(r, keys[0]!.Arn) && r.eventName === 'Encrypt' && principal(r) === user.arn));
    // The filters cut at milliseconds, which the records keep and eventTime (whole seconds) does not show.
    const timeOf = new Map((await storedRecords(t.dataDir)).map((r) => [r.seq, r.time]));
    const time = (r: CloudTrailEvent) => timeOf.get(r.seq)!;
    const middle = time(all[Math.floor(all.length / 2)]!);
    assert.deepEqual(await query({ StartTime: middle / 1000 }), expected((r) => time(r) >= middle), 'StartTime is inclusive');
    assert.deepEqual(await query({ EndTime: middle / 1000 }), expected((r) => time(r) < middle), 'EndTime is exclusive');
    assert.deepEqual(await query({ StartTime: (middle - 20) / 1000, EndTime: (middle + 20) / 1000, Outcome: 'failure' }),
      expected((r) => time(r) >= middle - 20 && time(r) < middle + 20 && r.errorCode !== undefined));
    assert.ok(all.every((r) => r.eventTime === `${new Date(time(r)).toISOString().slice(0, 19)}Z`), 'eventTime is in whole seconds');
    assert.deepEqual(await query({ KeyId: '00000000-0000-4000-8000-000000000000' }), []);
  });

  it('pages newest first with Limit (default 100, 1..1000) and NextToken', async () => {
    const first = await admin(t, 'QueryAuditRecords', {});
    assert.equal((first.Records as unknown[]).length, Math.min(100, (first.Records as CloudTrailEvent[])[0]!.seq));
    const pages: number[][] = [];
    let token: string | undefined;
    do {
      const page = await admin(t, 'QueryAuditRecords', { Limit: 3, ...(token ? { NextToken: token } : {}) });
      pages.push((page.Records as CloudTrailEvent[]).map((r) => r.seq));
      token = page.NextToken as string | undefined;
    } while (token);
    const seqs = pages.flat();
    assert.deepEqual(seqs, Array.from({ length: seqs[0]! }, (_, i) => seqs[0]! - i));
    assert.ok(pages.slice(0, -1).every((p) => p.length === 3));
    const one = await admin(t, 'QueryAuditRecords', { Limit: 1000 });
    assert.equal(one.NextToken, undefined);
    // A token pages on its own listing: with other filters it is InvalidMarkerException; with
    // another Limit, or the key named by ARN instead of id, it goes on.
    const encrypts = await admin(t, 'QueryAuditRecords', { Operation: 'Encrypt', KeyId: keys[0]!.KeyId, Limit: 1 });
    const next = String(encrypts.NextToken);
    for (const other of [{}, { Operation: 'CreateUser', KeyId: keys[0]!.KeyId }, { Operation: 'Encrypt' }, { Operation: 'Encrypt', KeyId: keys[1]!.KeyId }]) {
      const refused = await adminRequest(t, 'QueryAuditRecords', { ...other, NextToken: next });
      assert.equal(refused.body.__type, 'InvalidMarkerException', JSON.stringify(other));
    }
    const onward = await admin(t, 'QueryAuditRecords', { Operation: 'Encrypt', KeyId: keys[0]!.Arn, Limit: 2, NextToken: next });
    assert.ok((onward.Records as CloudTrailEvent[]).every((r) => r.seq < (encrypts.Records as CloudTrailEvent[])[0]!.seq && r.eventName === 'Encrypt'));
  });

  it('checks its input with AWS\'s error names and messages', async () => {
    const error = async (body: unknown) => {
      const r = await adminRequest(t, 'QueryAuditRecords', body);
      assert.equal(r.status, 400, r.text);
      return { type: r.body.__type, message: r.body.message };
    };
    assert.deepEqual(await error({ Limit: 0 }), { type: 'ValidationException',
      message: "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1" });
    assert.deepEqual(await error({ Limit: 1001 }), { type: 'ValidationException',
      message: "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000" });
    assert.equal((await error({ NextToken: 'bm90LWEtdG9rZW4' })).type, 'InvalidMarkerException');
    assert.equal((await error({ KeyId: 'alias/aliases-move' })).type, 'ValidationException');
    assert.equal((await error({ StartTime: 'yesterday' })).type, 'SerializationException');
    assert.deepEqual(await error({ StartTime: 20, EndTime: 10 }), { type: 'ValidationException', message: 'StartTime must not be later than EndTime.' });
    assert.equal((await error({ Outcome: 'not an outcome!' })).type, 'ValidationException');
    // Beyond what a store keeps (PostgreSQL's bigint, its text without NUL): refused, never a 500.
    for (const body of [{ StartTime: 1e300 }, { EndTime: 9.3e15 }, { StartTime: -1 }, { PrincipalArn: 'a\u0000b' }, { KeyId: 'k\u0001' }]) {
      assert.equal((await error(body)).type, 'ValidationException', JSON.stringify(body));
    }
    assert.equal((await error({ NextToken: Buffer.from('coffer:a\u0000b').toString('base64url') })).type, 'InvalidMarkerException');
  });

  it('finds the chain intact while requests are being recorded around the check', async () => {
    const work = Array.from({ length: 80 }, (_, i) => i % 10 === 0
      ? admin(t, 'VerifyAuditChain', {})
      : t.kms.send(new EncryptCommand({ KeyId: keys[i % 2]!.KeyId, Plaintext: Buffer.from('busy') })).then(() => undefined));
    const verdicts = (await Promise.all(work)).filter((v) => v !== undefined);
    assert.equal(verdicts.length, 8);
    for (const verdict of verdicts) assert.equal(verdict.Valid, true, JSON.stringify(verdict));
  });

  it('is for whom an identity policy allows coffer:QueryAuditRecords and coffer:VerifyAuditChain', async () => {
    for (const operation of ['QueryAuditRecords', 'VerifyAuditChain']) {
      const r = await adminRequest(t, operation, {}, user.credentials);
      assert.equal(r.body.__type, 'AccessDeniedException', r.text);
      assert.equal(r.body.message,
        `User: ${user.arn} is not authorized to perform: coffer:${operation} on resource: * because no identity-based policy allows the coffer:${operation} action`);
    }
    await user.putPolicy('audit-reader', policyOf({ Effect: 'Allow', Action: 'coffer:QueryAuditRecords', Resource: '*' }));
    const allowed = await adminRequest(t, 'QueryAuditRecords', { PrincipalArn: user.arn, Limit: 5 }, user.credentials);
    assert.equal(allowed.status, 200, allowed.text);
    assert.ok((allowed.body.Records as CloudTrailEvent[]).every((r) => (r.userIdentity as { arn: string }).arn === user.arn));
    assert.equal((await adminRequest(t, 'VerifyAuditChain', {}, user.credentials)).body.__type, 'AccessDeniedException');
  });

  it('shows the caller\'s principalId: the account for the root, a user\'s or role\'s unique id while it exists', async () => {
    const identityOf = async (credentials: Credentials) => {
      const sts = new STSClient({ endpoint: t.server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
      try {
        return await sts.send(new GetCallerIdentityCommand({}));
      } finally {
        sts.destroy();
      }
    };
    const shownIdentity = async (principalArn: string) =>
      (await queryAll(t, { PrincipalArn: principalArn })).map((r) => r.userIdentity as Record<string, unknown>);

    // The root: its principalId is the account id, as GetCallerIdentity's UserId.
    const root = await shownIdentity('arn:aws:iam::111122223333:root');
    assert.ok(root.length > 0 && root.every((u) => u.principalId === '111122223333'));
    assert.equal((await identityOf(t.credentials)).UserId, '111122223333');

    // A user: AIDA..., as ListUsers and GetCallerIdentity give it.
    const userId = ((await admin(t, 'ListUsers', {})).Users as { UserName: string; UserId: string }[]).find((u) => u.UserName === 'querier')!.UserId;
    assert.match(userId, /^AIDA[A-Z2-7]{17}$/);
    assert.equal((await identityOf(user.credentials)).UserId, userId);
    const users = await shownIdentity(user.arn);
    assert.ok(users.length >= 6);
    for (const shown of users) {
      assert.deepEqual(shown, { type: 'IAMUser', principalId: userId, arn: user.arn, accountId: '111122223333', accessKeyId: shown.accessKeyId, userName: 'querier' });
    }

    // A role: AROA..., without a session (Coffer's roles have none), as GetCallerIdentity gives it.
    const role = (await admin(t, 'CreateRole', { RoleName: 'audited-role' })).Role as { Arn: string; RoleId: string };
    const roleKey = (await admin(t, 'CreateAccessKey', { RoleName: 'audited-role' })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    const roleCredentials = { accessKeyId: roleKey.AccessKeyId, secretAccessKey: roleKey.SecretAccessKey };
    assert.equal((await identityOf(roleCredentials)).UserId, role.RoleId);
    await rawRequest(t.server.endpoint, roleCredentials, 'ListKeys', {});
    const roles = await shownIdentity(role.Arn);
    assert.equal(roles.length, 2);
    assert.ok(roles.every((u) => u.type === 'AssumedRole' && u.principalId === role.RoleId && /^AROA[A-Z2-7]{17}$/.test(role.RoleId)));

    // Deleted: no principalId (never another's). Made again under the same name: the new one's id,
    // on its own records only.
    const gone = await createUser(t, 'transient');
    // Refused (no policy), and recorded with its caller all the same.
    await errorOf(() => gone.kms.send(new ListKeysCommand({})));
    await admin(t, 'DeleteUser', { UserName: 'transient' });
    const deleted = await shownIdentity(gone.arn);
    assert.equal(deleted.length, 1);
    assert.equal(deleted[0]!.principalId, undefined);
    assert.equal(deleted[0]!.arn, gone.arn);
    const again = await createUser(t, 'transient');
    await errorOf(() => again.kms.send(new ListKeysCommand({})));
    const newId = ((await admin(t, 'ListUsers', {})).Users as { UserName: string; UserId: string }[]).find((u) => u.UserName === 'transient')!.UserId;
    assert.deepEqual((await shownIdentity(gone.arn)).map((u) => u.principalId), [newId, undefined]);
  });
});
