import { randomBytes } from 'node:crypto';
import { send, signKmsRequest, type Credentials, type SignedRequest } from './signed-request.js';

/** The server bench's workloads, each one KMS request repeated: `--workloads` takes these names. */
export const WORKLOADS = {
  encrypt: 'Encrypt of 1 KiB',
  decrypt: 'Decrypt of that ciphertext',
  'generate-data-key': 'GenerateDataKey AES_256',
  'generate-random': 'GenerateRandom of 32 bytes',
  sign: 'Sign (ECC_NIST_P256, ECDSA_SHA_256)',
} as const;
export type Workload = keyof typeof WORKLOADS;

export function parseWorkloads(list: string): Workload[] {
  return list.split(',').map((name) => {
    if (!(name in WORKLOADS)) throw new Error(`unknown workload '${name}'; known: ${Object.keys(WORKLOADS).join(', ')}`);
    return name as Workload;
  });
}

/** What the workloads need on one server: a symmetric key, a signing key, a ciphertext of 1 KiB. */
export interface Fixtures {
  readonly symmetricKeyId: string;
  readonly signingKeyId: string;
  readonly plaintext: string;
  readonly ciphertext: string;
}

export async function createFixtures(endpoint: string, credentials: Credentials): Promise<Fixtures> {
  const call = async (operation: string, input: unknown) => send(endpoint, await signKmsRequest(endpoint, credentials, operation, input));
  const symmetricKeyId = ((await call('CreateKey', { Description: 'server bench' })).KeyMetadata as { KeyId: string }).KeyId;
  const signingKeyId = ((await call('CreateKey', { Description: 'server bench', KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata as { KeyId: string }).KeyId;
  const plaintext = randomBytes(1024).toString('base64');
  const ciphertext = (await call('Encrypt', { KeyId: symmetricKeyId, Plaintext: plaintext })).CiphertextBlob as string;
  return { symmetricKeyId, signingKeyId, plaintext, ciphertext };
}

const INPUTS: Record<Workload, (f: Fixtures) => [operation: string, input: unknown]> = {
  encrypt: (f) => ['Encrypt', { KeyId: f.symmetricKeyId, Plaintext: f.plaintext }],
  decrypt: (f) => ['Decrypt', { CiphertextBlob: f.ciphertext }],
  'generate-data-key': (f) => ['GenerateDataKey', { KeyId: f.symmetricKeyId, KeySpec: 'AES_256' }],
  'generate-random': () => ['GenerateRandom', { NumberOfBytes: 32 }],
  sign: (f) => ['Sign', { KeyId: f.signingKeyId, Message: randomBytes(32).toString('base64'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }],
};

/**
 * The workload's request, signed now (a signature is good for 5 minutes) and sent once to check
 * that it succeeds and answers what it should before it is repeated under load.
 */
export async function signWorkload(endpoint: string, credentials: Credentials, workload: Workload, fixtures: Fixtures): Promise<SignedRequest> {
  const [operation, input] = INPUTS[workload](fixtures);
  const request = await signKmsRequest(endpoint, credentials, operation, input);
  const answer = await send(endpoint, request);
  const expected: Record<Workload, string> = { encrypt: 'CiphertextBlob', decrypt: 'Plaintext', 'generate-data-key': 'CiphertextBlob', 'generate-random': 'Plaintext', sign: 'Signature' };
  if (typeof answer[expected[workload]] !== 'string') throw new Error(`${operation} answered without ${expected[workload]}: ${JSON.stringify(answer)}`);
  if (workload === 'decrypt' && answer.Plaintext !== fixtures.plaintext) throw new Error('Decrypt answered another plaintext');
  return request;
}
