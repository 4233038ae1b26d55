import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, type Api, type Json } from '../src/api/client.js';
import { listKeyRows, type KeyRows } from '../src/api/keys.js';

/**
 * The keys page's rows, without a browser: a fake API answers ListKeys, DescribeKey and ListAliases.
 * Each key's aliases were once found by scanning every alias for every key, which froze the page
 * for 1.6 s with 20,000 keys and 20,000 aliases (and grew with the square of their number).
 */
describe('keys page rows', () => {
  /** N keys, each with one alias and every third with a second; counts how often an alias's TargetKeyId is read. */
  function fakeApi(keys: number, { refuseAliases = false } = {}): { api: Api; targetReads: () => number } {
    const keyIds = Array.from({ length: keys }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    let reads = 0;
    const alias = (name: string, target: string) => {
      const entry = { AliasName: name, AliasArn: `arn:aws:kms:us-east-1:111122223333:${name}` };
      return Object.defineProperty(entry, 'TargetKeyId', { enumerable: true, get: () => (reads++, target) });
    };
    const aliases = [
      ...keyIds.map((id, i) => alias(`alias/k${i}`, id)),
      ...keyIds.filter((_, i) => i % 3 === 0).map((id, i) => alias(`alias/extra${i}`, id)),
      { AliasName: 'alias/aws/unassigned', AliasArn: 'arn:aws:kms:us-east-1:111122223333:alias/aws/unassigned' },
    ];
    const page = <T>(items: T[], marker: unknown, limit: number) => {
      const start = marker === undefined ? 0 : Number(marker);
      const next = start + limit < items.length ? String(start + limit) : undefined;
      return { items: items.slice(start, start + limit), ...(next !== undefined ? { NextMarker: next, Truncated: true } : { Truncated: false }) };
    };
    const api: Api = {
      region: 'us-east-1',
      async kms<T = Json>(operation: string, input: Json = {}): Promise<T> {
        if (operation === 'ListKeys') {
          const { items, ...rest } = page(keyIds, input.Marker, Number(input.Limit));
          return { Keys: items.map((KeyId) => ({ KeyId })), ...rest } as T;
        }
        if (operation === 'ListAliases') {
          if (refuseAliases) throw new ApiError('AccessDeniedException', 'not authorized to perform: kms:ListAliases', 400);
          const { items, ...rest } = page(aliases, input.Marker, Number(input.Limit));
          return { Aliases: items, ...rest } as T;
        }
        if (operation === 'DescribeKey') return { KeyMetadata: { KeyId: input.KeyId, KeyState: 'Enabled' } } as T;
        throw new Error(`unexpected ${operation}`);
      },
      admin: () => Promise.reject(new Error('unexpected admin call')),
      whoAmI: () => Promise.reject(new Error('unexpected whoAmI')),
      dispose: () => {},
    };
    return { api, targetReads: () => reads };
  }

  it('gives each key its aliases, sorted, reading each alias once however many keys there are', async () => {
    const { api, targetReads } = fakeApi(600);
    const { rows, aliasesProblem } = await listKeyRows(api);
    assert.equal(aliasesProblem, undefined);
    assert.equal(rows.length, 600);
    assert.deepEqual(rows[0]!.Aliases, ['alias/extra0', 'alias/k0']);
    assert.deepEqual(rows[1]!.Aliases, ['alias/k1']);
    assert.deepEqual(rows[3]!.Aliases, ['alias/extra1', 'alias/k3']);
    assert.ok(rows.every((row) => row.Aliases.length === (Number(row.KeyId.slice(-12)) % 3 === 0 ? 2 : 1)));
    // 800 aliases: read once each to group them, not once for every key (480,000 reads).
    assert.ok(targetReads() <= 2 * 800, `${targetReads()} reads of TargetKeyId`);
  });

  it('shows the rows as they fill in: every key\'s id at once, then descriptions and aliases, and the whole listing at the end', { timeout: 20_000 }, async () => {
    const { api } = fakeApi(40);
    // DescribeKey answers one at a time, when the test says: nothing is described until then.
    const waiting: (() => void)[] = [];
    const slow: Api = {
      ...api,
      async kms<T = Json>(operation: string, input: Json = {}): Promise<T> {
        if (operation === 'DescribeKey') await new Promise<void>((done) => waiting.push(done));
        return api.kms<T>(operation, input);
      },
    };
    const shown: KeyRows[] = [];
    const whole = listKeyRows(slow, (partial) => shown.push(partial));
    while (waiting.length < 6) await new Promise((done) => setTimeout(done, 1));
    // Before any key is described: every id, none described, so said.
    assert.equal(shown[0]!.rows.length, 40);
    assert.equal(shown[0]!.pending, 40);
    assert.ok(shown[0]!.rows.every((row) => row.KeyState === '' && row.Problem === undefined));
    // The aliases' listing does not wait for the descriptions.
    while (!shown.some((partial) => partial.rows[1]!.Aliases.length > 0)) await new Promise((done) => setTimeout(done, 1));
    assert.deepEqual(shown.at(-1)!.rows[1]!.Aliases, ['alias/k1']);
    assert.equal(shown.at(-1)!.pending, 40);
    const release = async (n: number) => {
      for (let i = 0; i < n; i++) {
        while (waiting.length === 0) await new Promise((done) => setTimeout(done, 1));
        waiting.shift()!();
      }
    };
    await release(10);
    // A quarter of a second on, the next description shows the rows so far (11 described).
    await new Promise((done) => setTimeout(done, 300));
    await release(1);
    // (A slow machine may have shown some of the first ten already: the eleventh is shown all the same.)
    while (shown.at(-1)!.pending !== 29) await new Promise((done) => setTimeout(done, 1));
    assert.equal(shown.at(-1)!.rows.filter((row) => row.KeyState === 'Enabled').length, 11);
    await release(29);
    const { rows, pending } = await whole;
    assert.equal(pending, undefined);
    assert.equal(rows.length, 40);
    assert.ok(rows.every((row) => row.KeyState === 'Enabled'));
  });

  it('shows every key to a caller who may not list aliases, and says why their aliases are missing', async () => {
    // The refused ListAliases failed the whole listing: an empty page, every DescribeKey answer thrown away.
    const { api } = fakeApi(30, { refuseAliases: true });
    const { rows, aliasesProblem } = await listKeyRows(api);
    assert.equal(rows.length, 30);
    assert.ok(rows.every((row) => row.Aliases.length === 0 && row.KeyState === 'Enabled'));
    assert.equal(aliasesProblem, 'AccessDeniedException: not authorized to perform: kms:ListAliases');
  });
});
