import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, ListAliasesCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import { jsonOf, serverForTests, type Finished } from './support/cli.js';

const suite = serverForTests();

const ok = (finished: Finished) => {
  assert.equal(finished.code, 0, finished.stderr);
  return finished.stdout;
};

async function newKey(): Promise<{ KeyId: string; Arn: string }> {
  const { KeyMetadata } = await suite.served.kms.send(new CreateKeyCommand({}));
  return { KeyId: KeyMetadata!.KeyId!, Arn: KeyMetadata!.Arn! };
}

// Principals of another account: the server takes them as they are (local ones must exist).
const APP = 'arn:aws:iam::444455556666:role/app';
const OPERATOR = 'arn:aws:iam::444455556666:role/operator';

describe('coffer aliases and grants', { concurrency: 4 }, () => {
  describe('coffer aliases', { concurrency: true }, () => {
    it('creates, lists (all and per key), updates and deletes an alias', async () => {
      const first = await newKey();
      const second = await newKey();
      assert.match(ok(await suite.coffer(['aliases', 'create', 'alias/moving', first.KeyId])), /^alias\/moving -> /);
      const mine = jsonOf(await suite.coffer(['aliases', 'list', '--key', first.KeyId, '--json']));
      assert.deepEqual((mine.Aliases as { AliasName: string }[]).map((a) => a.AliasName), ['alias/moving']);
      assert.equal((mine.Aliases as { TargetKeyId: string }[])[0]!.TargetKeyId, first.KeyId);

      ok(await suite.coffer(['aliases', 'update', 'alias/moving', second.Arn]));
      const byAlias = jsonOf(await suite.coffer(['aliases', 'list', '--key', 'alias/moving', '--json']));
      assert.equal((byAlias.Aliases as { TargetKeyId: string }[])[0]!.TargetKeyId, second.KeyId);
      assert.match(ok(await suite.coffer(['aliases', 'list'])), /^alias\/moving +[0-9a-f-]{36}$/m);

      assert.match(ok(await suite.coffer(['aliases', 'delete', 'alias/moving'])), /^deleted alias\/moving$/m);
      const { Aliases } = await suite.served.kms.send(new ListAliasesCommand({ KeyId: second.KeyId }));
      assert.deepEqual(Aliases, []);
    });

    it('lists every alias across pages (more than one ListAliases page)', async () => {
      const key = await newKey();
      for (let i = 0; i < 12; i++) {
        // 12 keys with 5 aliases each: 60 aliases, over the default page of 50.
        const target = i === 0 ? key : await newKey();
        await Promise.all(Array.from({ length: 5 }, (_, j) =>
          suite.served.kms.send(new CreateAliasCommand({ AliasName: `alias/page-${i}-${j}`, TargetKeyId: target.KeyId }))));
      }
      const listed = jsonOf(await suite.coffer(['aliases', 'list', '--json']));
      const names = (listed.Aliases as { AliasName: string }[]).map((a) => a.AliasName).filter((n) => n.startsWith('alias/page-'));
      assert.equal(names.length, 60);
    });

    it('refuses an alias name without alias/ with exit code 2 and a hint', async () => {
      const finished = await suite.coffer(['aliases', 'create', 'payments', 'alias/x']);
      assert.equal(finished.code, 2);
      assert.match(finished.stderr, /^error: 'payments' is not an alias name$/m);
      assert.match(finished.stderr, /^hint: alias names begin with alias\/, e\.g\. alias\/payments$/m);
    });

    it('answers an existing alias with AlreadyExistsException, exit code 1', async () => {
      const key = await newKey();
      ok(await suite.coffer(['aliases', 'create', 'alias/twice', key.KeyId]));
      const finished = await suite.coffer(['aliases', 'create', 'alias/twice', key.KeyId]);
      assert.equal(finished.code, 1);
      assert.match(finished.stderr, /^error: AlreadyExistsException: /m);
    });
  });

  describe('coffer grants', { concurrency: true }, () => {
    it('creates a grant with constraints and lists it, as a table and as JSON', async () => {
      const key = await newKey();
      ok(await suite.coffer(['aliases', 'create', 'alias/granted', key.KeyId]));
      const created = jsonOf(await suite.coffer(['grants', 'create', 'alias/granted', '--grantee', APP, '--operations', 'Encrypt,Decrypt',
        '--retiring', OPERATOR, '--name', 'app-access', '--context-subset', 'tenant=acme', '--json']));
      assert.match(String(created.GrantId), /^[0-9a-f]{64}$/);
      assert.ok(typeof created.GrantToken === 'string' && created.GrantToken.length > 0);

      const listed = jsonOf(await suite.coffer(['grants', 'list', key.KeyId, '--json']));
      const grants = listed.Grants as Record<string, unknown>[];
      assert.equal(grants.length, 1);
      assert.equal(grants[0]!.GrantId, created.GrantId);
      assert.equal(grants[0]!.GranteePrincipal, APP);
      assert.equal(grants[0]!.RetiringPrincipal, OPERATOR);
      assert.equal(grants[0]!.Name, 'app-access');
      assert.deepEqual([...(grants[0]!.Operations as string[])].sort(), ['Decrypt', 'Encrypt']);
      assert.deepEqual(grants[0]!.Constraints, { EncryptionContextSubset: { tenant: 'acme' } });

      const table = ok(await suite.coffer(['grants', 'list', 'alias/granted']));
      assert.match(table, /^GrantId +Name +GranteePrincipal +RetiringPrincipal +Operations +Constraints$/m);
      assert.match(table, /app-access .*(Encrypt,Decrypt|Decrypt,Encrypt) +subset:tenant=acme$/m);
      const human = ok(await suite.coffer(['grants', 'create', key.KeyId, '--grantee', APP, '--operations', 'GenerateDataKey', '--context-equals', 'a=b']));
      assert.match(human, /^GrantId +[0-9a-f]{64}\nGrantToken +\S+\n$/);
      const filtered = jsonOf(await suite.coffer(['grants', 'list', key.KeyId, '--grant-id', String(created.GrantId), '--json']));
      assert.equal((filtered.Grants as unknown[]).length, 1);
    });

    it('lists retirable grants, retires one by token and one by key and id, and revokes one', async () => {
      const key = await newKey();
      const grant = async () => suite.served.kms.send(new CreateGrantCommand({
        KeyId: key.KeyId, GranteePrincipal: APP, RetiringPrincipal: OPERATOR, Operations: ['Decrypt'],
      }));
      const [byToken, byId, revoked] = [await grant(), await grant(), await grant()];
      const retirable = jsonOf(await suite.coffer(['grants', 'list-retirable', OPERATOR, '--json']));
      const ids = (retirable.Grants as { GrantId: string }[]).map((g) => g.GrantId);
      for (const g of [byToken, byId, revoked]) assert.ok(ids.includes(g.GrantId!), `${g.GrantId} is retirable`);
      assert.match(ok(await suite.coffer(['grants', 'list-retirable', OPERATOR])), /^GrantId +Name/m);

      ok(await suite.coffer(['grants', 'retire', '--token', byToken.GrantToken!]));
      const again = await suite.coffer(['grants', 'retire', '--token', byToken.GrantToken!]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^error: NotFoundException: The grant that the grant token names does not exist\.\nhint: `coffer grants list KEY` shows the grants of a key$/m);
      ok(await suite.coffer(['grants', 'retire', key.KeyId, byId.GrantId!]));
      assert.match(ok(await suite.coffer(['grants', 'revoke', key.Arn, revoked.GrantId!])), new RegExp(`^revoked ${revoked.GrantId}$`, 'm'));
      assert.deepEqual((await suite.served.kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants, []);
    });

    it('refuses a missing --grantee, an unknown operation and a retire without a grant, exit code 2', async () => {
      const noGrantee = await suite.coffer(['grants', 'create', 'alias/x', '--operations', 'Decrypt']);
      assert.equal(noGrantee.code, 2);
      assert.match(noGrantee.stderr, /^error: coffer grants create: missing --grantee ARN$/m);
      const unknown = await suite.coffer(['grants', 'create', 'alias/x', '--grantee', APP, '--operations', 'Decrypt,Smash']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^error: --operations 'Smash' is not one of the accepted values$/m);
      assert.match(unknown.stderr, /^hint: use one of: .*\bDecrypt\b/m);
      const both = await suite.coffer(['grants', 'create', 'alias/x', '--grantee', APP, '--operations', 'Decrypt', '--context-subset', 'a=b', '--context-equals', 'a=b']);
      assert.equal(both.code, 2);
      const retire = await suite.coffer(['grants', 'retire', 'alias/x']);
      assert.equal(retire.code, 2);
      assert.match(retire.stderr, /^error: coffer grants retire: give either --token TOKEN, or KEY and GRANT_ID$/m);
    });

    it('shows the server\'s answer for an unknown grant id: NotFoundException, exit code 1', async () => {
      const key = await newKey();
      const finished = await suite.coffer(['grants', 'revoke', key.KeyId, 'a'.repeat(64)]);
      assert.equal(finished.code, 1);
      assert.match(finished.stderr, /^error: NotFoundException: /m);
      assert.match(finished.stderr, /^hint: `coffer grants list KEY` shows the grants of a key$/m);
    });
  });
});
