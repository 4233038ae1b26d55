/**
 * Requests that race, on two nodes of one PostgreSQL database: whatever the interleaving, the
 * answers are those of some serial order (AWS's error for each loser, never a 5xx), nothing is
 * made twice, and the audit chain and the store check out afterwards.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkStore } from '../src/index.js';
import { PostgresStore } from '../src/store/postgres.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { createUser, policyOf } from './support/principals.js';
import { rawRequest, startTestServer, tempDataDir, type RawResponse, type TestServer } from './support/server.js';

const ACCOUNT = '111122223333';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;

/** How many of each answer (`200`, or the error name). */
function tally(answers: readonly RawResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const res of answers) {
    const outcome = res.status === 200 ? '200' : String(res.body.__type ?? res.status);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}

describe('races between two nodes on one PostgreSQL database', () => {
  let cluster: TestPostgres;
  let connectionString: string;
  let nodes: TestServer[];
  /** The request on node i % 2, so that concurrent requests alternate between the nodes. */
  const on = (i: number, operation: string, body: unknown) => {
    const t = nodes[i % 2]!;
    const admin = operation.startsWith('CofferAdmin.') ? { headers: { 'x-amz-target': operation } } : {};
    return rawRequest(t.server.endpoint, t.credentials, operation, body, admin);
  };
  const all = (count: number, request: (i: number) => Promise<RawResponse>) => Promise.all(Array.from({ length: count }, (_, i) => request(i)));
  const createKey = async () => String(((await on(0, 'CreateKey', {})).body.KeyMetadata as { KeyId: string }).KeyId);

  before(async () => {
    cluster = await startTestPostgres();
    connectionString = await cluster.createDatabase();
    const a = await startTestServer({ store: connectionString });
    const dataDir = tempDataDir();
    copyFileSync(join(a.dataDir, 'root.key'), join(dataDir, 'root.key'));
    nodes = [a, await startTestServer({ store: connectionString, dataDir })];
    assert.equal((await on(0, 'CofferAdmin.CreateUser', { UserName: 'alice' })).status, 200);
  });
  after(async () => {
    for (const t of nodes ?? []) await t.dispose();
    await cluster?.destroy();
  });

  it('CreateGrant of one Name at once makes one grant, and every answer names it', async () => {
    const keyId = await createKey();
    const grant = { KeyId: keyId, Name: 'once', GranteePrincipal: ALICE, Operations: ['Encrypt'] };
    const answers = await all(8, (i) => on(i, 'CreateGrant', grant));
    assert.deepEqual(tally(answers), { 200: 8 }, answers.map((r) => r.text).join('\n'));
    assert.equal(new Set(answers.map((r) => r.body.GrantId)).size, 1);
    const listed = await on(1, 'ListGrants', { KeyId: keyId });
    assert.deepEqual((listed.body.Grants as { GrantId: string }[]).map((g) => g.GrantId), [answers[0]!.body.GrantId]);
  });

  it('60 TagResource at once on one key: each change is made or refused as in some serial order', async () => {
    const keyId = await createKey();
    const answers = await all(60, (i) => on(i, 'TagResource', { KeyId: keyId, Tags: [{ TagKey: `t${i}`, TagValue: 'v' }] }));
    // 50 tags is AWS's limit per key: the ten changes that came last are refused.
    assert.deepEqual(tally(answers), { 200: 50, TagException: 10 }, answers.filter((r) => r.status !== 200).map((r) => r.text).join('\n'));
    assert.equal(((await on(1, 'ListResourceTags', { KeyId: keyId })).body.Tags as unknown[]).length, 50);
  });

  it('CreateAlias of one name at once: one is made, every other request is AlreadyExistsException', async () => {
    const [first, second] = [await createKey(), await createKey()];
    const answers = await all(8, (i) => on(i, 'CreateAlias', { AliasName: 'alias/raced', TargetKeyId: i % 3 ? first : second }));
    assert.deepEqual(tally(answers), { 200: 1, AlreadyExistsException: 7 });
  });

  it('70 CreateAlias at once on one key: its quota of 50 holds across the nodes', async () => {
    const keyId = await createKey();
    const answers = await all(70, (i) => on(i, 'CreateAlias', { AliasName: `alias/quota-${i}`, TargetKeyId: keyId }));
    assert.deepEqual(tally(answers), { 200: 50, LimitExceededException: 20 });
    assert.equal(((await on(1, 'ListAliases', { KeyId: keyId, Limit: 100 })).body.Aliases as unknown[]).length, 50);
  });

  it('CancelKeyDeletion racing the deletion sweep: a cancelled key is kept, a deleted key was not cancelled', async () => {
    const keyIds = await Promise.all(Array.from({ length: 12 }, () => createKey()));
    for (const keyId of keyIds) assert.equal((await on(0, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 })).status, 200);
    const [, ...cancels] = await Promise.all([
      nodes[0]!.server.runScheduledWork(Date.now() + 8 * 86_400_000),
      ...keyIds.map((keyId) => on(1, 'CancelKeyDeletion', { KeyId: keyId })),
    ]);
    for (const [i, keyId] of keyIds.entries()) {
      // A cancel that read the key before the sweep deleted it is answered as one that came after.
      if (cancels[i]!.status !== 200) assert.equal(cancels[i]!.body.__type, 'NotFoundException', cancels[i]!.text);
      const described = await on(0, 'DescribeKey', { KeyId: keyId });
      if (cancels[i]!.status === 200) assert.equal((described.body.KeyMetadata as { KeyState: string }).KeyState, 'Disabled', `${keyId} was cancelled`);
      else assert.equal(described.body.__type, 'NotFoundException', described.text);
    }
  });

  it('CreateGrant and CreateAlias that wait their turn check the key as it is when it comes, not as it was when they asked', async () => {
    // A third party on the same database holds the turns, as a busy node would.
    const holder = await PostgresStore.open({ connectionString });
    try {
      const hold = async (name: string, meanwhile: () => Promise<void>) => {
        let release!: () => void;
        const released = new Promise<void>((done) => { release = done; });
        let taken!: () => void;
        const holding = new Promise<void>((done) => { taken = done; });
        const held = holder.serialize(name, async () => { taken(); await released; });
        await holding;
        try {
          await meanwhile();
        } finally {
          release();
          await held;
        }
      };
      const disabled = await createKey();
      let grant!: Promise<RawResponse>;
      await hold('grants', async () => {
        grant = on(1, 'CreateGrant', { KeyId: disabled, GranteePrincipal: ALICE, Operations: ['Encrypt'] });
        await new Promise((done) => setTimeout(done, 200));
        assert.equal((await on(0, 'DisableKey', { KeyId: disabled })).status, 200);
      });
      const granted = await grant;
      assert.equal(granted.body.__type, 'DisabledException', granted.text);
      assert.deepEqual((await on(0, 'ListGrants', { KeyId: disabled })).body.Grants, []);

      const deleting = await createKey();
      let alias!: Promise<RawResponse>;
      await hold('aliases', async () => {
        alias = on(1, 'CreateAlias', { AliasName: 'alias/after-deletion-was-scheduled', TargetKeyId: deleting });
        await new Promise((done) => setTimeout(done, 200));
        assert.equal((await on(0, 'ScheduleKeyDeletion', { KeyId: deleting, PendingWindowInDays: 7 })).status, 200);
      });
      const aliased = await alias;
      assert.equal(aliased.body.__type, 'KMSInvalidStateException', aliased.text);
      assert.deepEqual((await on(0, 'ListAliases', { KeyId: deleting })).body.Aliases, []);
    } finally {
      await holder.close();
    }
  });

  it('CreateGrant and CreateAlias at once with ScheduleKeyDeletion: neither is made on a key already pending deletion', async () => {
    for (let round = 0; round < 10; round++) {
      const keyId = await createKey();
      const [scheduled, grant, alias] = await Promise.all([
        on(0, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 }),
        on(1, 'CreateGrant', { KeyId: keyId, GranteePrincipal: ALICE, Operations: ['Encrypt'] }),
        on(1, 'CreateAlias', { AliasName: `alias/raced-deletion-${round}`, TargetKeyId: keyId }),
      ]);
      assert.equal(scheduled.status, 200, scheduled.text);
      for (const refused of [grant, alias].filter((r) => r.status !== 200)) {
        assert.equal(refused.body.__type, 'KMSInvalidStateException', refused.text);
      }
      // The trail is in commit order: a grant or alias that was made committed before the deletion was scheduled.
      const query = await on(0, 'CofferAdmin.QueryAuditRecords', { KeyId: keyId, Outcome: 'success' });
      const made = (query.body.Records as { eventName: string }[]).map((r) => r.eventName).reverse();
      const expected = ['CreateKey', ...(grant.status === 200 ? ['CreateGrant'] : []), ...(alias.status === 200 ? ['CreateAlias'] : [])];
      assert.deepEqual(made.slice(0, -1).sort(), expected.sort(), `round ${round}: ${made.join(' ')}`);
      assert.equal(made.at(-1), 'ScheduleKeyDeletion', `round ${round}: ${made.join(' ')}`);
    }
  });

  it('UpdateAlias and DeleteAlias check the key the alias names as they write, not one another change moved it from', async () => {
    const bob = await createUser(nodes[0]!, 'alias-bob');
    const keyArn = (keyId: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`;
    for (let round = 0; round < 8; round++) {
      // Bob may change aliases of the first two keys only; the administrator moves the alias to the third meanwhile.
      const [first, second, third] = [await createKey(), await createKey(), await createKey()];
      await bob.putPolicy('aliases', policyOf({
        Effect: 'Allow', Action: ['kms:UpdateAlias', 'kms:DeleteAlias'], Resource: [`arn:aws:kms:us-east-1:${ACCOUNT}:alias/*`, keyArn(first), keyArn(second)],
      }));
      const moved = `alias/moved-under-update-${round}`;
      const deleted = `alias/moved-under-delete-${round}`;
      for (const name of [moved, deleted]) assert.equal((await on(0, 'CreateAlias', { AliasName: name, TargetKeyId: first })).status, 200);
      const [movedAway, bobsMove, movedAgain, bobsDelete] = await Promise.all([
        on(1, 'UpdateAlias', { AliasName: moved, TargetKeyId: third }),
        bob.raw('UpdateAlias', { AliasName: moved, TargetKeyId: second }),
        on(1, 'UpdateAlias', { AliasName: deleted, TargetKeyId: third }),
        bob.raw('DeleteAlias', { AliasName: deleted }),
      ]);
      // Serial orders: the administrator's move then Bob's refused, or Bob's change then the administrator's.
      const targetOf = async (name: string) => ((await on(0, 'ListAliases', { KeyId: third })).body.Aliases as { AliasName: string }[]).some((a) => a.AliasName === name);
      assert.equal(movedAway.status, 200, movedAway.text);
      assert.ok(bobsMove.status === 200 || bobsMove.body.__type === 'AccessDeniedException', bobsMove.text);
      assert.equal(await targetOf(moved), true, `round ${round}: Bob moved the alias off the third key (${bobsMove.status})`);
      if (bobsDelete.status === 200) {
        assert.equal(movedAgain.body.__type, 'NotFoundException', `round ${round}: Bob deleted the alias after it moved to the third key`);
      } else {
        assert.equal(bobsDelete.body.__type, 'AccessDeniedException', bobsDelete.text);
        assert.equal(await targetOf(deleted), true);
      }
    }
  });

  it('a user deleted and created again on one node gets nothing of the earlier one on the other, however soon', async () => {
    const CAROL = `arn:aws:iam::${ACCOUNT}:user/carol`;
    const rootAdmin = { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' };
    const newCarol = async () => {
      assert.equal((await on(0, 'CofferAdmin.CreateUser', { UserName: 'carol' })).status, 200);
      const created = await on(0, 'CofferAdmin.CreateAccessKey', { UserName: 'carol' });
      const key = created.body.AccessKey as { AccessKeyId: string; SecretAccessKey: string };
      return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    };
    let carol = await newCarol();
    const encryptOn1 = (keyId: string) => rawRequest(nodes[1]!.server.endpoint, carol, 'Encrypt', { KeyId: keyId, Plaintext: 'eA==' });
    let trials = 0;
    let soonEnough = 0;
    // Node 1 keeps what it read of carol for 250 ms, and only node 0 hears of her deletion: each
    // trial asks node 1 as the new carol within that time (if the machine is quick enough).
    while (soonEnough < 3 && trials < 10) {
      trials += 1;
      const named = String(((await on(0, 'CreateKey', { Policy: JSON.stringify(policyOf(rootAdmin, { Sid: 'carol', Effect: 'Allow', Principal: { AWS: CAROL }, Action: 'kms:Encrypt', Resource: '*' })) })).body.KeyMetadata as { KeyId: string }).KeyId);
      const byIdentity = await createKey();
      const granted = await createKey();
      assert.equal((await on(0, 'CofferAdmin.PutPrincipalPolicy', { UserName: 'carol', PolicyName: 'encrypt', PolicyDocument: JSON.stringify(policyOf({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' })) })).status, 200);
      assert.equal((await on(0, 'CreateGrant', { KeyId: granted, GranteePrincipal: CAROL, Operations: ['Encrypt'] })).status, 200);
      for (const keyId of [named, byIdentity, granted]) assert.equal((await encryptOn1(keyId)).status, 200);

      const cached = Date.now();
      assert.equal((await encryptOn1(named)).status, 200);
      assert.equal((await on(0, 'CofferAdmin.DeleteUser', { UserName: 'carol' })).status, 200);
      carol = await newCarol();
      const answers = await Promise.all([named, byIdentity, granted].map(encryptOn1));
      if (Date.now() - cached < 200) soonEnough += 1;
      assert.deepEqual(answers.map((a) => a.body.__type ?? a.status), ['AccessDeniedException', 'AccessDeniedException', 'AccessDeniedException'], `trial ${trials}`);
    }
    assert.equal(soonEnough, 3, `only ${soonEnough} of ${trials} trials asked within 200 ms`);
  });

  it('afterwards the audit chain verifies and the store checks out', async () => {
    const verdict = await on(1, 'CofferAdmin.VerifyAuditChain', {});
    assert.equal(verdict.body.Valid, true, verdict.text);
    assert.deepEqual((await checkStore({ dataDir: nodes[0]!.dataDir, store: connectionString })).problems, []);
  });
});
