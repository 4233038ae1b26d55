/**
 * A Coffer server for tests, started through packages/server's own test helpers (compiled
 * output, loaded at run time so this package does not build against the server's sources),
 * with a count of the KMS operations the server answered.
 */
import { CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';

interface TestServer {
  readonly server: { readonly endpoint: string; readonly config: { readonly region: string; readonly accountId: string; readonly partition: string } };
  readonly kms: KMSClient;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  dispose(): Promise<void>;
}
interface ServerSupport {
  startTestServer(options: { logger?: (level: string, message: string, fields?: Record<string, unknown>) => void }): Promise<TestServer>;
}

// From packages/sdk/dist/test/helpers/ to packages/server/dist/test/support/.
const SUPPORT = new URL('../../../../server/dist/test/support/server.js', import.meta.url);

export interface CofferForTests {
  readonly kms: KMSClient;
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Requests the server answered, per operation name, since start or the last reset. */
  readonly calls: Map<string, number>;
  count(operation: string): number;
  resetCounts(): void;
  createKey(): Promise<string>;
  dispose(): Promise<void>;
}

export async function startCoffer(): Promise<CofferForTests> {
  const support = (await import(SUPPORT.href)) as ServerSupport;
  const calls = new Map<string, number>();
  const t = await support.startTestServer({
    logger: (_level, message, fields) => {
      if (message !== 'request' || typeof fields?.operation !== 'string') return;
      calls.set(fields.operation, (calls.get(fields.operation) ?? 0) + 1);
    },
  });
  return {
    kms: t.kms,
    endpoint: t.server.endpoint,
    region: t.server.config.region,
    accountId: t.server.config.accountId,
    credentials: t.credentials,
    calls,
    count: (op) => calls.get(op) ?? 0,
    resetCounts: () => calls.clear(),
    createKey: async () => {
      const out = await t.kms.send(new CreateKeyCommand({}));
      return out.KeyMetadata!.Arn!;
    },
    dispose: () => t.dispose(),
  };
}
