import { describeError, type Api, type Json } from './client.js';
import type { AliasListEntry, GrantEntry, KeyMetadata } from './types.js';

/** Every key the caller may list, described, with its aliases (ListKeys, DescribeKey, ListAliases). */
export interface KeyRow extends KeyMetadata {
  Aliases: string[];
  /** Why DescribeKey failed for this key (`AccessDeniedException: ...`): the row has only its id. */
  Problem?: string;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Every item of a Marker-paginated KMS listing, page after page. */
async function everyPage<T>(api: Api, operation: string, input: Json, items: (page: Json) => T[]): Promise<T[]> {
  const all: T[] = [];
  let marker: string | undefined;
  do {
    const page = await api.kms<Json & { NextMarker?: string; Truncated?: boolean }>(operation, { ...input, ...(marker ? { Marker: marker } : {}) });
    all.push(...items(page));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return all;
}

export async function listAllAliases(api: Api, keyId?: string): Promise<AliasListEntry[]> {
  return everyPage(api, 'ListAliases', { Limit: 100, ...(keyId ? { KeyId: keyId } : {}) }, (page) => page.Aliases as AliasListEntry[]);
}

/** Every grant of a key: a key may have thousands (AWS's quota is 50,000), not only a first page of 100. */
export async function listAllGrants(api: Api, keyId: string): Promise<GrantEntry[]> {
  return everyPage(api, 'ListGrants', { KeyId: keyId, Limit: 100 }, (page) => page.Grants as GrantEntry[]);
}

/** The keys page's table: every key's row, and why aliases are not shown when ListAliases was refused. */
export interface KeyRows {
  rows: KeyRow[];
  aliasesProblem?: string;
  /** While the listing is shown part-way: how many rows are not described yet (they hold their id alone). */
  pending?: number;
}

/**
 * How often the rows so far are shown while the rest are described: each showing sorts and renders
 * the whole table, and a DescribeKey is a signed request each (thousands of keys take seconds).
 */
const SHOW_EVERY_MS = 250;

/**
 * Every key's row. `show` is given the rows so far as they fill in: first every key's id (from
 * ListKeys), then the descriptions and aliases as they arrive, at most every SHOW_EVERY_MS.
 */
export async function listKeyRows(api: Api, show?: (partial: KeyRows) => void): Promise<KeyRows> {
  const ids: string[] = [];
  let marker: string | undefined;
  do {
    const page = await api.kms<{ Keys: { KeyId: string }[]; NextMarker?: string; Truncated?: boolean }>('ListKeys', {
      Limit: 1000, ...(marker ? { Marker: marker } : {}),
    });
    ids.push(...page.Keys.map((k) => k.KeyId));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  const described: ({ meta: KeyMetadata; problem?: string } | undefined)[] = new Array(ids.length);
  let listed: { aliasesOf: Map<string, string[]>; problem?: string } | undefined;
  const rowsSoFar = (): KeyRows => {
    const aliasesOf = listed?.aliasesOf;
    let pending = 0;
    const rows = ids.map((KeyId, i): KeyRow => {
      const { meta, problem } = described[i] ?? (pending++, { meta: undescribed(KeyId) });
      return {
        ...meta,
        Aliases: [...(aliasesOf?.get(meta.KeyId) ?? [])].sort(),
        ...(problem !== undefined ? { Problem: problem } : {}),
      };
    });
    return {
      rows,
      ...(listed?.problem !== undefined ? { aliasesProblem: listed.problem } : {}),
      ...(pending > 0 ? { pending } : {}),
    };
  };
  let shownAt = 0;
  const showSoFar = (force = false) => {
    if (!show || (!force && performance.now() - shownAt < SHOW_EVERY_MS)) return;
    shownAt = performance.now();
    show(rowsSoFar());
  };
  showSoFar(true);
  // One key that cannot be described (a key policy that denies DescribeKey to the caller, a key
  // deleted since ListKeys) is one row that says why, not an empty page. Aliases are the rows'
  // extra: a caller who may not list them (kms:ListAliases) still sees every key.
  await Promise.all([
    mapLimited(ids, 6, async (KeyId, index) => {
      described[index] = await api.kms<{ KeyMetadata: KeyMetadata }>('DescribeKey', { KeyId }).then(
        (answer): { meta: KeyMetadata; problem?: string } => ({ meta: answer.KeyMetadata }),
        (failure: unknown) => ({ meta: undescribed(KeyId), problem: describeError(failure) }),
      );
      showSoFar();
    }),
    listAllAliases(api).then(
      (aliases) => { listed = { aliasesOf: groupByKey(aliases) }; },
      (failure: unknown) => { listed = { aliasesOf: new Map(), problem: describeError(failure) }; },
    ).then(() => showSoFar(true)),
  ]);
  return rowsSoFar();
}

/** Each key's alias names. Grouped once: a scan of every alias for every key froze the page for seconds with thousands of each. */
function groupByKey(aliases: readonly AliasListEntry[]): Map<string, string[]> {
  const aliasesOf = new Map<string, string[]>();
  for (const { AliasName, TargetKeyId } of aliases) {
    if (TargetKeyId === undefined) continue;
    const names = aliasesOf.get(TargetKeyId);
    if (names) names.push(AliasName);
    else aliasesOf.set(TargetKeyId, [AliasName]);
  }
  return aliasesOf;
}

/** What a row knows of a key that DescribeKey refused: its id alone. */
const undescribed = (KeyId: string): KeyMetadata => ({
  KeyId, Arn: '', CreationDate: 0, Enabled: false, KeyUsage: '', KeyState: '', Origin: '', KeyManager: '', KeySpec: '',
});

/** Key specs and the usages AWS KMS allows for each (AWS KMS Developer Guide, "Key spec reference"). */
export const KEY_SPEC_USAGES: Readonly<Record<string, readonly string[]>> = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P384: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P521: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_SECG_P256K1: ['SIGN_VERIFY'],
  ECC_NIST_EDWARDS25519: ['SIGN_VERIFY'],
  ML_DSA_44: ['SIGN_VERIFY'],
  ML_DSA_65: ['SIGN_VERIFY'],
  ML_DSA_87: ['SIGN_VERIFY'],
  ML_KEM_512: ['ENCAPSULATE_DECAPSULATE'],
  ML_KEM_768: ['ENCAPSULATE_DECAPSULATE'],
  ML_KEM_1024: ['ENCAPSULATE_DECAPSULATE'],
  HMAC_224: ['GENERATE_VERIFY_MAC'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_384: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
};
