import { generateKeyPair, type KeyPairKeyObjectResult } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

/**
 * libuv's thread pool runs Node's asynchronous crypto and file work alike: an RSA key generation
 * (up to ~1.3 s for 4096 bits) holds a thread, and the pool has UV_THREADPOOL_SIZE of them (4 by
 * default). The sync of every audit batch (store/sqlite.ts) waits for one, so a caller asking for
 * RSA key pairs as fast as it can (GenerateDataKeyPair RSA_4096, GetParametersForImport) held every
 * other request for seconds. At most all but two threads generate at once; the others queue here.
 */
const POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;
export const MAX_CONCURRENT_RSA_GENERATIONS = Math.max(1, POOL_SIZE - 2);

let running = 0;
const waiting: (() => void)[] = [];

/** A new RSA key pair (public exponent 65537), generated when a slot is free. */
export async function generateRsaKeyPair(modulusLength: number): Promise<KeyPairKeyObjectResult> {
  if (running < MAX_CONCURRENT_RSA_GENERATIONS) running++;
  // A slot is handed over by the generation that ends (below): `running` stays counted for us.
  else await new Promise<void>((resume) => waiting.push(resume));
  try {
    return await generate('rsa', { modulusLength, publicExponent: 65537 });
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** How many generations run now (for tests). */
export function rsaGenerationsRunning(): number {
  return running;
}
