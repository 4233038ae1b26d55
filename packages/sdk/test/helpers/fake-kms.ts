/**
 * An in-memory stand-in for a KMS client, for what a Coffer server cannot show: multi-Region
 * key replicas in several regions, and the exact requests a keyring sends (grant tokens,
 * KeyId). Replicas of one `mrk-` key share key material, as in AWS KMS. It speaks the shape of
 * the v3 client: `send(command)` with `command.input`.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { parseKmsArn } from '../../src/index.js';

export interface SentRequest {
  readonly operation: string;
  readonly region: string;
  readonly input: Record<string, unknown>;
}

function material(arn: string): Buffer {
  const a = parseKmsArn(arn)!;
  // Replicas: same partition, account and id in any region share material.
  return createHash('sha256').update(`${a.partition}:${a.account}:${a.resourceId}`).digest();
}

function canonical(ec: unknown): Buffer {
  return Buffer.from(JSON.stringify(Object.entries((ec ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function seal(arn: string, plaintext: Uint8Array, ec: unknown): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', material(arn), iv);
  c.setAAD(canonical(ec));
  return Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
}

function open(arn: string, blob: Uint8Array, ec: unknown): Buffer {
  const b = Buffer.from(blob);
  const d = createDecipheriv('aes-256-gcm', material(arn), b.subarray(0, 12));
  d.setAAD(canonical(ec));
  d.setAuthTag(b.subarray(b.length - 16));
  return Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]);
}

export class FakeKms {
  readonly sent: SentRequest[] = [];
  /** Keys (ARNs) that exist, per region. */
  readonly #keys = new Set<string>();
  /** Test hook: lie about the KeyId in Decrypt responses. */
  answerDecryptAs: string | undefined;

  addKey(arn: string): this {
    this.#keys.add(arn);
    return this;
  }

  client(region: string) {
    return { send: (command: { input: Record<string, unknown> }) => this.#send(region, command) };
  }

  async #send(region: string, command: { input: Record<string, unknown> }): Promise<Record<string, unknown>> {
    const input = command.input;
    const operation = command instanceof GenerateDataKeyCommand ? 'GenerateDataKey'
      : command instanceof EncryptCommand ? 'Encrypt' : command instanceof DecryptCommand ? 'Decrypt' : 'Unknown';
    this.sent.push({ operation, region, input });
    const keyId = input.KeyId as string;
    const arn = parseKmsArn(keyId);
    if (arn === null || arn.region !== region || !this.#keys.has(keyId)) throw Object.assign(new Error('key not found'), { name: 'NotFoundException' });
    const ec = input.EncryptionContext;
    switch (operation) {
      case 'GenerateDataKey': {
        const plaintext = randomBytes(input.NumberOfBytes as number);
        return { KeyId: keyId, Plaintext: plaintext, CiphertextBlob: seal(keyId, plaintext, ec) };
      }
      case 'Encrypt':
        return { KeyId: keyId, CiphertextBlob: seal(keyId, input.Plaintext as Uint8Array, ec) };
      case 'Decrypt':
        try {
          return { KeyId: this.answerDecryptAs ?? keyId, Plaintext: open(keyId, input.CiphertextBlob as Uint8Array, ec) };
        } catch {
          throw Object.assign(new Error('invalid ciphertext'), { name: 'InvalidCiphertextException' });
        }
      default:
        throw new Error('unsupported command');
    }
  }
}
