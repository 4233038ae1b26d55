import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { openStore } from '../../src/store/open-store.js';
import type { Credentials } from './server.js';

/**
 * Audit durability under a high request rate: a flood of one pre-signed Encrypt over many
 * keep-alive connections (what a busy client looks like, and what the group commit of audit
 * records has to keep up with), the request id of every 200 it got, and the check that after a
 * crash each of those requests has its audit record.
 */

export interface Flood {
  /** The x-amzn-RequestId of every 200 answer. */
  readonly acknowledged: string[];
  /** Errors the server answered (not dropped connections), by name and status. */
  readonly answeredErrors: { name: string; status: number }[];
  stop(): Promise<void>;
}

/** One Encrypt of 1 KiB, signed once (good for 5 minutes), sent over `connections` keep-alive connections until stopped. */
export function startEncryptFlood(endpoint: string, credentials: Credentials, keyId: string, connections: number): Flood {
  const acknowledged: string[] = [];
  const answeredErrors: { name: string; status: number }[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let running = true;
  const send = (headers: Record<string, string>, body: string) => new Promise<void>((done) => {
    const req = request(endpoint, { method: 'POST', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const id = res.headers['x-amzn-requestid'];
        if (res.statusCode === 200 && typeof id === 'string') acknowledged.push(id);
        else if (res.statusCode !== 200) {
          let name = String(res.headers['x-amzn-errortype'] ?? 'unknown');
          try {
            name = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { __type?: string }).__type ?? name);
          } catch {
            // not JSON: the header's name stands
          }
          answeredErrors.push({ name, status: res.statusCode ?? 0 });
        }
        done();
      });
      res.on('error', () => done());
    });
    // A connection the crash cut: not acknowledged, not an answer.
    req.on('error', () => setTimeout(done, 5));
    req.end(body);
  });
  const loops = (async () => {
    const url = new URL(endpoint);
    const body = JSON.stringify({ KeyId: keyId, Plaintext: randomBytes(1024).toString('base64') });
    const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'kms', sha256: Hash.bind(null, 'sha256') });
    const signed = await signer.sign(new HttpRequest({
      method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/',
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' },
      body,
    }));
    await Promise.all(Array.from({ length: connections }, async () => {
      while (running) await send(signed.headers, body);
    }));
  })();
  return {
    acknowledged,
    answeredErrors,
    stop: async () => {
      running = false;
      await loops;
      agent.destroy();
    },
  };
}

/**
 * Precondition: every request the server answered with a 200 has its audit record in the store
 * (opened afresh, as after a restart). The chain itself is verified by `coffer store check`.
 */
export async function assertAuditedAcknowledged(config: { dataDir: string; store?: string }, requestIds: readonly string[], round: string): Promise<void> {
  const store = await openStore({ dataDir: config.dataDir, store: config.store ?? 'sqlite' });
  try {
    const recorded = new Set<string>();
    for (let afterSeq = 0; ;) {
      const page = await store.readAudit({ afterSeq, limit: 5000 });
      if (page.length === 0) break;
      for (const record of page) recorded.add(record.requestId);
      afterSeq = page[page.length - 1]!.seq;
    }
    const missing = requestIds.filter((id) => !recorded.has(id));
    assert.deepEqual(missing.slice(0, 10), [], `${round}: ${missing.length} of ${requestIds.length} acknowledged requests have no audit record`);
  } finally {
    await store.close();
  }
}
