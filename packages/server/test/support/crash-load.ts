import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient,
} from '@aws-sdk/client-kms';
import { startEncryptFlood } from './audit-load.js';
import type { Credentials } from './server.js';
import { runCli } from './server-process.js';

/**
 * The load of the crash tests and what they check afterwards. Workers send CreateKey,
 * CreateAlias, Encrypt and GenerateDataKey (no retries) and record every acknowledged answer;
 * after a crash and a restart, everything acknowledged must be there and every ciphertext and
 * data key returned must decrypt to what was returned with it.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same kill moments and the same mix. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of a run: COFFER_CRASH_SEED when set (to replay a failure), else a fixed one. */
export function crashSeed(fallback: number): number {
  const text = process.env.COFFER_CRASH_SEED;
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : fallback;
}

export interface Acknowledged {
  readonly keys: Set<string>;
  /** Alias name -> the key it was created for. */
  readonly aliases: Map<string, string>;
  readonly ciphertexts: { readonly keyId: string; readonly blob: Uint8Array; readonly plaintext: Buffer }[];
  readonly dataKeys: { readonly keyId: string; readonly blob: Uint8Array; readonly plaintext: Uint8Array }[];
  /** The x-amzn-RequestId of every acknowledged answer: each must have its audit record. */
  readonly requestIds: string[];
}

export const acknowledged = (): Acknowledged => ({ keys: new Set(), aliases: new Map(), ciphertexts: [], dataKeys: [], requestIds: [] });

/** Every error answered by the server itself (not a dropped connection), by name and status. */
export interface AnsweredError {
  readonly name: string;
  readonly status: number;
  readonly at: number;
}

export interface LoadRun {
  /** Stops the workers after their current request, and waits for them. */
  stop(): Promise<void>;
  readonly answeredErrors: AnsweredError[];
  /** Acknowledged answers so far, this run. */
  successes(): number;
}

export function crashClient(endpoint: string, credentials: Credentials): KMSClient {
  return new KMSClient({
    endpoint, region: 'us-east-1', credentials, maxAttempts: 1,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 20_000 },
  });
}

/**
 * Starts `workers` loops of requests against one server. `prefix` makes alias names unique to
 * the run. Requests that fail are not acknowledged and are not recorded, except that an error
 * the server answered is kept in `answeredErrors` for the test to judge.
 */
export function startLoad(
  client: KMSClient, ack: Acknowledged, random: () => number,
  options: { workers: number; prefix: string; flood?: { endpoint: string; credentials: Credentials; connections: number } },
): LoadRun {
  let running = true;
  let successes = 0;
  let aliasCount = 0;
  const answeredErrors: AnsweredError[] = [];
  const pickKey = () => {
    const keys = [...ack.keys];
    return keys[Math.floor(random() * keys.length)]!;
  };
  const answered = (metadata: { requestId?: string }) => {
    if (metadata.requestId) ack.requestIds.push(metadata.requestId);
  };
  const one = async (): Promise<void> => {
    const dice = random();
    if (dice < 0.15) {
      const created = await client.send(new CreateKeyCommand({ Description: 'crash load' }));
      ack.keys.add(created.KeyMetadata!.KeyId!);
      answered(created.$metadata);
    } else if (dice < 0.3) {
      const keyId = pickKey();
      const aliasName = `alias/${options.prefix}-${++aliasCount}`;
      answered((await client.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }))).$metadata);
      ack.aliases.set(aliasName, keyId);
    } else if (dice < 0.7) {
      const keyId = pickKey();
      const plaintext = randomBytes(1 + Math.floor(random() * 256));
      const answer = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
      ack.ciphertexts.push({ keyId, blob: answer.CiphertextBlob!, plaintext });
      answered(answer.$metadata);
    } else {
      const keyId = pickKey();
      const answer = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
      ack.dataKeys.push({ keyId, blob: answer.CiphertextBlob!, plaintext: answer.Plaintext! });
      answered(answer.$metadata);
    }
    successes++;
  };
  const worker = async () => {
    while (running) {
      try {
        await one();
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status !== undefined) answeredErrors.push({ name: (error as Error).name, status, at: Date.now() });
        else await new Promise((done) => setTimeout(done, 5));
      }
    }
  };
  const workers = Array.from({ length: options.workers }, () => worker());
  // Beside the SDK's workers, a flood of Encrypt at a high rate: its 200s must be audited too.
  const flood = options.flood && startEncryptFlood(options.flood.endpoint, options.flood.credentials, pickKey(), options.flood.connections);
  return {
    answeredErrors,
    successes: () => successes + (flood?.acknowledged.length ?? 0),
    stop: async () => {
      running = false;
      await Promise.all(workers);
      if (flood) {
        await flood.stop();
        ack.requestIds.push(...flood.acknowledged);
        answeredErrors.push(...flood.answeredErrors.map((e) => ({ ...e, at: Date.now() })));
      }
    },
  };
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Precondition: everything acknowledged before the crash is there after the restart, and decrypts. */
export async function assertAcknowledgedSurvived(client: KMSClient, ack: Acknowledged, round: string): Promise<void> {
  await inParallel([...ack.keys], 8, async (keyId) => {
    const described = await client.send(new DescribeKeyCommand({ KeyId: keyId })).catch((error: Error) => error);
    assert.ok(!(described instanceof Error), `${round}: acknowledged key ${keyId} is gone: ${String(described)}`);
  });
  await inParallel([...ack.aliases], 8, async ([aliasName, keyId]) => {
    const described = await client.send(new DescribeKeyCommand({ KeyId: aliasName })).catch((error: Error) => error);
    assert.ok(!(described instanceof Error), `${round}: acknowledged alias ${aliasName} is gone: ${String(described)}`);
    assert.equal(described.KeyMetadata?.KeyId, keyId, `${round}: alias ${aliasName} points elsewhere`);
  });
  await inParallel([...ack.ciphertexts, ...ack.dataKeys], 8, async ({ keyId, blob, plaintext }) => {
    const opened = await client.send(new DecryptCommand({ CiphertextBlob: blob })).catch((error: Error) => error);
    assert.ok(!(opened instanceof Error), `${round}: a ciphertext acknowledged under ${keyId} does not decrypt: ${String(opened)}`);
    assert.ok(Buffer.from(opened.Plaintext!).equals(Buffer.from(plaintext)), `${round}: a ciphertext under ${keyId} decrypts to something else`);
    assert.ok(opened.KeyId?.endsWith(keyId), `${round}: a ciphertext under ${keyId} names ${opened.KeyId}`);
  });
}

/** Precondition: `coffer store check` finds the crashed store intact. */
export function assertStoreChecks(args: readonly string[], round: string): void {
  const result = runCli(['store', 'check', ...args]);
  assert.equal(result.status, 0, `${round}: coffer store check failed:\n${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /the store is intact/);
  // The offline audit check takes the same store, SQLite or PostgreSQL.
  const audit = runCli(['audit', 'verify', ...args]);
  assert.equal(audit.status, 0, `${round}: coffer audit verify failed:\n${audit.stdout}${audit.stderr}`);
  assert.match(audit.stdout, /^the audit chain is intact: \d+ records checked$/m);
}

export const totalAcknowledged = (ack: Acknowledged): number => ack.keys.size + ack.aliases.size + ack.ciphertexts.length + ack.dataKeys.length;
