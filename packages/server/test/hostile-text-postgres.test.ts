/**
 * Text PostgreSQL refuses (a NUL character) or its JSON types refuse (a lone surrogate), in every
 * member a request can carry, over HTTP on PostgreSQL beside SQLite: each request is answered as
 * SQLite answers it, never with a 5xx; the Encrypt requests sent with it, which share its audit
 * batch, all succeed; no audit record is lost, the chain verifies and `coffer store check` passes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkStore } from '../src/index.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

const ACCOUNT = '111122223333';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const HOSTILE = { 'a NUL': 'a\u0000b', 'a lone surrogate': 'a\ud800b' } as const;

interface Node {
  readonly t: TestServer;
  keyId: string;
  ciphertext: string;
  /** Requests sent, each of which must leave one audit record. */
  sent: number;
  send(operation: string, body: unknown): Promise<RawResponse>;
}

function node(t: TestServer): Node {
  const n: Node = {
    t, keyId: '', ciphertext: '', sent: 0,
    send: (operation, body) => {
      n.sent++;
      const [service, name] = operation.includes('.') ? operation.split('.') as [string, string] : ['TrentService', operation];
      return rawRequest(t.server.endpoint, t.credentials, name, body, { headers: { 'x-amz-target': `${service}.${name}` } });
    },
  };
  return n;
}

const policy = (text: string) => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: text, Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
});

/** One request per member that carries text to the store, the audit record or a lookup. */
function hostileRequests(h: string, n: Node): [string, Record<string, unknown>][] {
  const k = n.keyId;
  const grant = { KeyId: k, GranteePrincipal: ALICE, Operations: ['Encrypt'] };
  const keyIds = [h, `arn:aws:kms:us-east-1:${ACCOUNT}:key/${h}`, `alias/${h}`, `arn:aws:kms:us-east-1:${ACCOUNT}:alias/${h}`, `arn:aws:kms:${h}:${ACCOUNT}:key/${k}`];
  return [
    ['CreateKey', { Description: h }],
    ['CreateKey', { Tags: [{ TagKey: h, TagValue: h }] }],
    ['CreateKey', { Policy: policy(h) }],
    ['TagResource', { KeyId: k, Tags: [{ TagKey: h, TagValue: 'v' }, { TagKey: 'k', TagValue: h }] }],
    ['UntagResource', { KeyId: k, TagKeys: [h] }],
    ['UpdateKeyDescription', { KeyId: k, Description: h }],
    ['PutKeyPolicy', { KeyId: k, PolicyName: h, Policy: policy('x') }],
    ['PutKeyPolicy', { KeyId: k, PolicyName: 'default', Policy: policy(h) }],
    ['GetKeyPolicy', { KeyId: k, PolicyName: h }],
    ['CreateGrant', { ...grant, Name: h }],
    ['CreateGrant', { ...grant, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/${h}` }],
    ['CreateGrant', { ...grant, RetiringPrincipal: h }],
    ['CreateGrant', { ...grant, Constraints: { EncryptionContextSubset: { [h]: h } } }],
    ['ListGrants', { KeyId: k, Marker: h }],
    ['ListGrants', { KeyId: k, GranteePrincipal: h }],
    ['ListRetirableGrants', { RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:user/${h}` }],
    ['RevokeGrant', { KeyId: k, GrantId: h }],
    ['Encrypt', { KeyId: k, Plaintext: 'eA==', EncryptionContext: { [h]: h } }],
    ['Decrypt', { CiphertextBlob: n.ciphertext, EncryptionContext: { [h]: 'v' } }],
    ['GenerateDataKey', { KeyId: k, KeySpec: 'AES_256', EncryptionContext: { a: h } }],
    ['ReEncrypt', { CiphertextBlob: n.ciphertext, DestinationKeyId: k, DestinationEncryptionContext: { [h]: 'v' } }],
    ...keyIds.flatMap((KeyId): [string, Record<string, unknown>][] => [
      ['DescribeKey', { KeyId }], ['Encrypt', { KeyId, Plaintext: 'eA==' }], ['GetKeyLastUsage', { KeyId }], ['ScheduleKeyDeletion', { KeyId }],
    ]),
    ['ListKeys', { Marker: h }],
    ['ListAliases', { Marker: h }],
    ['CreateAlias', { AliasName: `alias/${h}`, TargetKeyId: k }],
    ['UpdateAlias', { AliasName: `alias/${h}`, TargetKeyId: k }],
    ['DeleteAlias', { AliasName: `alias/${h}` }],
    ['CofferAdmin.CreateUser', { UserName: h }],
    ['CofferAdmin.ListUsers', { Marker: h }],
    ['CofferAdmin.UpdateAccessKey', { AccessKeyId: `AKIA${h}AAAAAAAAAAAAAA`, Status: 'Inactive' }],
    ['CofferAdmin.PutPrincipalPolicy', { UserName: 'alice', PolicyName: h, PolicyDocument: '{}' }],
    ['CofferAdmin.GetPrincipalPolicy', { UserName: h, PolicyName: 'p' }],
    ['CofferAdmin.QueryAuditRecords', { PrincipalArn: h }],
    ['CofferAdmin.QueryAuditRecords', { KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${h}` }],
    ['CofferAdmin.QueryAuditRecords', { Operation: h }],
  ];
}

describe('text PostgreSQL refuses, in every member, over HTTP', () => {
  let cluster: TestPostgres;
  let connectionString: string;
  let pg: Node;
  let sqlite: Node;

  before(async () => {
    cluster = await startTestPostgres();
    connectionString = await cluster.createDatabase();
    pg = node(await startTestServer({ store: connectionString }));
    sqlite = node(await startTestServer());
    for (const n of [pg, sqlite]) {
      n.keyId = String(((await n.send('CreateKey', {})).body.KeyMetadata as { KeyId: string }).KeyId);
      n.ciphertext = String((await n.send('Encrypt', { KeyId: n.keyId, Plaintext: 'eA==' })).body.CiphertextBlob);
      assert.equal((await n.send('CofferAdmin.CreateUser', { UserName: 'alice' })).status, 200);
    }
  });
  after(async () => {
    await pg?.t.dispose();
    await sqlite?.t.dispose();
    await cluster?.destroy();
  });

  for (const [what, h] of Object.entries(HOSTILE)) {
    it(`a request with ${what} is answered as on SQLite, and the Encrypt requests beside it succeed`, async () => {
      const requests = hostileRequests(h, pg);
      const onSqlite = hostileRequests(h, sqlite);
      for (const [i, [operation, body]] of requests.entries()) {
        const [answer, ...beside] = await Promise.all([
          pg.send(operation, body),
          ...Array.from({ length: 8 }, () => pg.send('Encrypt', { KeyId: pg.keyId, Plaintext: 'eA==' })),
        ]);
        const label = `${operation} ${JSON.stringify(body)}`;
        assert.ok(answer!.status < 500, `${label}: ${answer!.status} ${answer!.text}`);
        for (const res of beside) assert.equal(res.status, 200, `beside ${label}: ${res.text}`);
        const expected = await sqlite.send(...onSqlite[i]!);
        assert.deepEqual([answer!.status, answer!.body.__type], [expected.status, expected.body.__type], label);
      }
    });
  }

  it('bytes that are not UTF-8 in a body are refused with SerializationException, on either store, and change nothing', async () => {
    for (const n of [pg, sqlite]) {
      const before = await n.send('DescribeKey', { KeyId: n.keyId });
      const rawBody = Buffer.concat([
        Buffer.from(`{"KeyId":"${n.keyId}","Description":"a`), Buffer.from([0xff, 0xc0, 0xed, 0xa0, 0x80]), Buffer.from('b"}'),
      ]);
      n.sent++;
      const res = await rawRequest(n.t.server.endpoint, n.t.credentials, 'UpdateKeyDescription', undefined, { rawBody });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.__type, 'SerializationException');
      const described = await n.send('DescribeKey', { KeyId: n.keyId });
      assert.equal((described.body.KeyMetadata as { Description: string }).Description, (before.body.KeyMetadata as { Description: string }).Description);
    }
  });

  it('/metrics counts keys whose description, tags and policy hold such text', async () => {
    // A lone surrogate is refused in every text member (validate/shape.ts), so only the NUL gets this far.
    const text = HOSTILE['a NUL'];
    const created = await pg.send('CreateKey', { Description: text, Tags: [{ TagKey: text, TagValue: text }], Policy: policy(text) });
    assert.equal(created.status, 200, created.text);
    const scrape = await fetch(`${pg.t.server.endpoint}/metrics`);
    const metrics = await scrape.text();
    assert.equal(scrape.status, 200, metrics);
    assert.match(metrics, /^coffer_keys\{state="Enabled"\} [1-9]/m);
  });

  it('no audit record was lost: the chain verifies with one record per request, and the store checks out', async () => {
    const verdict = await pg.send('CofferAdmin.VerifyAuditChain', {});
    assert.deepEqual({ ...verdict.body, LastHash: undefined }, { Valid: true, Records: pg.sent - 1, LastHash: undefined });
    const report = await checkStore({ dataDir: pg.t.dataDir, store: connectionString });
    assert.deepEqual(report.problems, []);
  });
});
