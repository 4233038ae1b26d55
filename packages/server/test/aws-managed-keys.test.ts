/**
 * AWS managed keys and the aliases AWS predefines (`alias/aws/<service>`), over HTTP with the
 * official SDK: ListAliases lists the predefined ones, DescribeKey of one makes its key (once, also
 * when asked at once), and the key's policy, AWS's, keeps direct use and every change away from
 * every principal of the account.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DescribeKeyCommand, DisableKeyCommand, EncryptCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, ListAliasesCommand,
  ListKeysCommand, PutKeyPolicyCommand, ScheduleKeyDeletionCommand, type AliasListEntry,
} from '@aws-sdk/client-kms';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

describe('AWS managed keys', () => {
  let t: TestServer;
  before(async () => { t = await startTestServer(); });
  after(() => t.dispose());

  async function allAliases(Limit?: number): Promise<AliasListEntry[]> {
    const all: AliasListEntry[] = [];
    for (let Marker: string | undefined; ;) {
      const page = await t.kms.send(new ListAliasesCommand({ Limit, Marker }));
      all.push(...page.Aliases!);
      if (!page.Truncated) return all;
      Marker = page.NextMarker;
    }
  }

  it('ListAliases lists the predefined aliases, without a key until one is made, among the others in name order', async () => {
    const fresh = await allAliases();
    const s3 = fresh.find((a) => a.AliasName === 'alias/aws/s3')!;
    assert.deepEqual(s3, { AliasName: 'alias/aws/s3', AliasArn: `arn:aws:kms:us-east-1:${t.server.config.accountId}:alias/aws/s3` });
    assert.ok(fresh.length >= 12);
    // Pages of any size give the same list, each name once, in order.
    const names = fresh.map((a) => a.AliasName!);
    assert.deepEqual(names, [...names].sort());
    for (const limit of [1, 3, 7]) assert.deepEqual((await allAliases(limit)).map((a) => a.AliasName), names);
  });

  it('DescribeKey of a predefined alias makes its AWS managed key, once', async () => {
    const described = await Promise.all(Array.from({ length: 5 }, () => t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' }))));
    const meta = described[0]!.KeyMetadata!;
    for (const d of described) assert.equal(d.KeyMetadata!.KeyId, meta.KeyId);
    assert.equal(meta.KeyManager, 'AWS');
    assert.equal(meta.KeyState, 'Enabled');
    assert.equal(meta.KeySpec, 'SYMMETRIC_DEFAULT');
    assert.match(meta.Description!, /ebs/);
    const byArn = await t.kms.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:us-east-1:${t.server.config.accountId}:alias/aws/ebs` }));
    assert.equal(byArn.KeyMetadata!.KeyId, meta.KeyId);
    const ebs = (await allAliases()).filter((a) => a.AliasName === 'alias/aws/ebs');
    assert.equal(ebs.length, 1);
    assert.equal(ebs[0]!.TargetKeyId, meta.KeyId);
    const keys = (await t.kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.map((k) => k.KeyId);
    assert.ok(keys.includes(meta.KeyId));
    // AWS rotates AWS managed keys every year.
    assert.equal((await t.kms.send(new GetKeyRotationStatusCommand({ KeyId: meta.KeyId }))).KeyRotationEnabled, true);
    const text = (await t.kms.send(new GetKeyPolicyCommand({ KeyId: meta.KeyId }))).Policy!;
    const policy = JSON.parse(text) as { Id: string };
    assert.equal(policy.Id, 'auto-ebs-2');
    // Printed as KMS prints the policies it writes (the default key policy's layout).
    assert.ok(text.startsWith('{\n  "Version" : "2012-10-17",\n  "Id" : "auto-ebs-2",\n  "Statement" : [ {\n    "Sid" : '), text);
    assert.match(text, /\n    "Action" : \[ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt\*", "kms:GenerateDataKey\*", "kms:CreateGrant", "kms:DescribeKey" \],\n/);
    assert.ok(text.endsWith('\n  } ]\n}'), text);
  });

  it('its policy allows use only through the service, and no change, to every principal of the account', async () => {
    const keyId = (await t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }))).KeyMetadata!.KeyId!;
    for (const send of [
      () => t.kms.send(new EncryptCommand({ KeyId: 'alias/aws/s3', Plaintext: Buffer.from('x') })),
      () => t.kms.send(new DisableKeyCommand({ KeyId: keyId })),
      () => t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })),
      () => t.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: '{}' })),
    ]) {
      assert.equal((await errorOf(send)).name, 'AccessDeniedException');
    }
  });

  it('an alias under alias/aws/ that AWS does not predefine names nothing', async () => {
    const error = await errorOf(() => t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/not-a-service' })));
    assert.equal(error.name, 'NotFoundException');
  });
});
