import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

/**
 * A ciphertext changed in any way must fail as AWS fails: InvalidCiphertextException, with no
 * message, never a success, another error or a 5xx; except that one whose header now names a key
 * id this server does not have fails as AWS fails a ciphertext of a key that does not exist,
 * AccessDeniedException. Every single-bit flip, every truncation, appended bytes and blobs from
 * another server are tried against the real HTTP server.
 */

const CONCURRENCY = 16;

/** Runs `fn` over `items` with at most CONCURRENCY requests in flight. */
async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY) {
    await Promise.all(items.slice(i, i + CONCURRENCY).map(fn));
  }
}

const NO_SUCH_KEY = 'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.';

function assertUnknownKey(res: RawResponse, label: string): void {
  assert.equal(res.status, 400, `${label}: ${res.status} ${res.text}`);
  assert.deepEqual(res.body, { __type: 'AccessDeniedException', message: NO_SUCH_KEY }, label);
}

/** A key id as the server makes one: a change that leaves one in the header names another key. */
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertInvalidCiphertext(res: RawResponse, label: string): void {
  assert.equal(res.status, 400, `${label}: ${res.status} ${res.text}`);
  assert.equal(String(res.body.__type).split('#').pop(), 'InvalidCiphertextException', `${label}: ${res.text}`);
  assert.equal('message' in res.body, false, `${label}: AWS sends no message, got ${res.text}`);
  assert.equal('Message' in res.body, false, `${label}: ${res.text}`);
}

describe('tampered ciphertexts', () => {
  let t: TestServer;
  let other: TestServer;
  let keyId: string;
  let blob: Buffer;
  const context = { purpose: 'tamper', tenant: 't1' };

  const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);
  const decrypt = (bytes: Buffer) =>
    raw('Decrypt', { CiphertextBlob: bytes.toString('base64'), EncryptionContext: context });

  before(async () => {
    [t, other] = await Promise.all([startTestServer(), startTestServer()]);
    keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const sealed = await raw('Encrypt', {
      KeyId: keyId, Plaintext: Buffer.from('the untampered plaintext, 32 B!!').toString('base64'), EncryptionContext: context,
    });
    assert.equal(sealed.status, 200, sealed.text);
    blob = Buffer.from(String(sealed.body.CiphertextBlob), 'base64');
  });
  after(async () => {
    await Promise.all([t.dispose(), other.dispose()]);
  });

  it('the untouched ciphertext decrypts', async () => {
    const res = await decrypt(blob);
    assert.equal(res.status, 200, res.text);
    assert.equal(Buffer.from(String(res.body.Plaintext), 'base64').toString(), 'the untampered plaintext, 32 B!!');
  });

  /** Whether `tampered`'s header still names a key id, another one (its id is 36 bytes after two). */
  const namesAnotherKeyId = (tampered: Buffer) => tampered[0] === blob[0] && tampered[1] === blob[1]
    && KEY_ID.test(tampered.toString('latin1', 2, 38)) && tampered.toString('latin1', 2, 38) !== keyId;

  it('every single-bit flip fails: InvalidCiphertextException with no message, or AccessDeniedException where the key id turns into another', async () => {
    assert.equal(blob[1], 36);
    const flips: Array<[number, number]> = [];
    for (let byte = 0; byte < blob.length; byte++) for (let bit = 0; bit < 8; bit++) flips.push([byte, bit]);
    assert.equal(flips.length, blob.length * 8);
    let unknownKeys = 0;
    await inBatches(flips, async ([byte, bit]) => {
      const tampered = Buffer.from(blob);
      tampered[byte]! ^= 1 << bit;
      const label = `byte ${byte} bit ${bit}`;
      if (namesAnotherKeyId(tampered)) {
        unknownKeys++;
        assertUnknownKey(await decrypt(tampered), label);
      } else {
        assertInvalidCiphertext(await decrypt(tampered), label);
      }
    });
    // Hex digits turned into other hex digits: some of the id's 32 digits' flips, none of its dashes'.
    assert.ok(unknownKeys >= 32 && unknownKeys < 32 * 8, `${unknownKeys}`);
  });

  it('every byte XOR 0x01 fails ReEncrypt the same way', async () => {
    const offsets = Array.from({ length: blob.length }, (_, i) => i);
    await inBatches(offsets, async (byte) => {
      const tampered = Buffer.from(blob);
      tampered[byte]! ^= 0x01;
      const res = await raw('ReEncrypt', {
        CiphertextBlob: tampered.toString('base64'), SourceEncryptionContext: context, DestinationKeyId: keyId,
      });
      if (namesAnotherKeyId(tampered)) assertUnknownKey(res, `ReEncrypt byte ${byte}`);
      else assertInvalidCiphertext(res, `ReEncrypt byte ${byte}`);
    });
  });

  it('every truncation fails: InvalidCiphertextException, or ValidationException for no bytes at all', async () => {
    const lengths = Array.from({ length: blob.length - 1 }, (_, i) => i + 1);
    await inBatches(lengths, async (length) => {
      assertInvalidCiphertext(await decrypt(blob.subarray(0, length)), `first ${length} bytes`);
      assertInvalidCiphertext(await decrypt(blob.subarray(blob.length - length)), `last ${length} bytes`);
    });
    const empty = await decrypt(Buffer.alloc(0));
    assert.equal(empty.status, 400, empty.text);
    assert.equal(String(empty.body.__type).split('#').pop(), 'ValidationException');
  });

  it('appended bytes fail', async () => {
    const tails = [Buffer.from([0]), Buffer.from([1]), randomBytes(1), randomBytes(12), randomBytes(16), randomBytes(100), Buffer.from(blob)];
    await inBatches(tails, async (tail) => {
      assertInvalidCiphertext(await decrypt(Buffer.concat([blob, tail])), `${tail.length} bytes appended`);
      assertInvalidCiphertext(await decrypt(Buffer.concat([tail, blob])), `${tail.length} bytes prepended`);
    });
  });

  it('swapped halves and duplicated bytes fail', async () => {
    const variants = [
      Buffer.concat([blob.subarray(0, blob.length - 16), blob.subarray(blob.length - 32, blob.length - 16)]),
      Buffer.concat([blob.subarray(0, 60), blob.subarray(61), blob.subarray(60, 61)]),
      Buffer.concat([blob.subarray(0, 50), blob.subarray(50, 51), blob.subarray(50)]),
      Buffer.from(blob).reverse(),
    ];
    await inBatches(variants, async (variant) => assertInvalidCiphertext(await decrypt(variant), 'rearranged'));
  });

  it('a ciphertext made by another server names a key that does not exist here: AccessDeniedException, as AWS answers', async () => {
    const otherKey = (await other.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const sealed = await rawRequest(other.server.endpoint, other.credentials, 'Encrypt', {
      KeyId: otherKey, Plaintext: Buffer.from('from elsewhere').toString('base64'), EncryptionContext: context,
    });
    assert.equal(sealed.status, 200, sealed.text);
    const foreign = Buffer.from(String(sealed.body.CiphertextBlob), 'base64');
    // It is a good ciphertext where it was made.
    const home = await rawRequest(other.server.endpoint, other.credentials, 'Decrypt', {
      CiphertextBlob: foreign.toString('base64'), EncryptionContext: context,
    });
    assert.equal(home.status, 200, home.text);
    assertUnknownKey(await decrypt(foreign), 'foreign blob');
    assertUnknownKey(await raw('ReEncrypt', {
      CiphertextBlob: foreign.toString('base64'), SourceEncryptionContext: context, DestinationKeyId: keyId,
    }), 'foreign blob, ReEncrypt');
    assertUnknownKey(await raw('Decrypt', {
      CiphertextBlob: foreign.toString('base64'), DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'],
    }), 'foreign blob, DryRun ignoring the ciphertext');
    // This server's header (its key id and version) over the other server's IV, body and tag.
    const headerLength = 2 + blob[1]! + 4 + 12;
    const spliced = Buffer.concat([blob.subarray(0, headerLength), foreign.subarray(headerLength)]);
    assertInvalidCiphertext(await decrypt(spliced), 'spliced blob');
    // And this server's ciphertext is nothing to the other.
    const back = await rawRequest(other.server.endpoint, other.credentials, 'Decrypt', {
      CiphertextBlob: blob.toString('base64'), EncryptionContext: context,
    });
    assertUnknownKey(back, 'blob taken to the other server');
  });
});
