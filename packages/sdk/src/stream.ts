/**
 * Streaming encrypt and decrypt: Node.js Transform streams and WHATWG TransformStreams over the
 * same incremental cores (internal/stream-encryptor.ts, internal/stream-decryptor.ts).
 *
 * Both Node streams emit 'messageHeader' (a MessageHeaderInfo) once the header is known.
 * Decryption withholds plaintext until the whole message verifies unless `unsignedStreaming`
 * is set (see DecryptStreamOptions); a truncated stream always ends in an error.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import type { Keyring } from './keyrings/keyring.js';
import { StreamDecryptor, type DecryptStreamOptions } from './internal/stream-decryptor.js';
import { checkEncryptStreamOptions, StreamEncryptor, type EncryptStreamOptions } from './internal/stream-encryptor.js';

export type { DecryptStreamOptions } from './internal/stream-decryptor.js';
export type { EncryptStreamOptions } from './internal/stream-encryptor.js';
export { DEFAULT_MAX_BUFFERED_BYTES } from './internal/stream-decryptor.js';

function asBytes(chunk: unknown): Uint8Array {
  if (!(chunk instanceof Uint8Array)) throw new TypeError('stream chunks must be Buffers or Uint8Arrays');
  return chunk;
}

/** A Transform: plaintext in, ESDK message out. Materials are fetched on the first write (or at end for empty input). */
export function encryptStream(keyringOrCmm: Keyring | CryptographicMaterialsManager, options: EncryptStreamOptions = {}): Transform {
  checkEncryptStreamOptions(options);
  let core: Promise<StreamEncryptor> | undefined;
  const start = (t: Transform) => {
    core ??= StreamEncryptor.create(keyringOrCmm, options).then((c) => {
      t.emit('messageHeader', c.messageHeader);
      return c;
    });
    return core;
  };
  const fail = (e: unknown, cb: TransformCallback) => {
    void core?.then((c) => c.abort(), () => {});
    cb(e as Error);
  };
  return new Transform({
    transform(chunk: unknown, _encoding, cb) {
      start(this).then((c) => {
        c.push(asBytes(chunk), (b) => this.push(b));
        cb();
      }).catch((e: unknown) => fail(e, cb));
    },
    flush(cb) {
      start(this).then((c) => {
        c.finish((b) => this.push(b));
        cb();
      }).catch((e: unknown) => fail(e, cb));
    },
    destroy(error, cb) {
      // A consumer that gives up early must not leave plaintext pending in memory.
      void core?.then((c) => c.abort(), () => {});
      cb(error);
    },
  });
}

/** A Transform: ESDK message in, plaintext out (see DecryptStreamOptions for when plaintext is released). */
export function decryptStream(keyringOrCmm: Keyring | CryptographicMaterialsManager, options: DecryptStreamOptions = {}): Transform {
  const core = new StreamDecryptor(keyringOrCmm, options);
  let announced = false;
  const announce = (t: Transform) => {
    if (!announced && core.messageHeader !== undefined) {
      announced = true;
      t.emit('messageHeader', core.messageHeader);
    }
  };
  const fail = (e: unknown, cb: TransformCallback) => {
    core.abort();
    cb(e as Error);
  };
  return new Transform({
    transform(chunk: unknown, _encoding, cb) {
      let bytes: Uint8Array;
      try {
        bytes = asBytes(chunk);
      } catch (e) {
        return fail(e, cb);
      }
      core.push(bytes, (b) => this.push(b)).then(() => {
        announce(this);
        cb();
      }, (e: unknown) => fail(e, cb));
    },
    flush(cb) {
      try {
        core.finish((b) => this.push(b));
        cb();
      } catch (e) {
        fail(e, cb);
      }
    },
    destroy(error, cb) {
      core.abort();
      cb(error);
    },
  });
}

/** WHATWG TransformStream flavour of encryptStream. */
export function encryptWebStream(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  options: EncryptStreamOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  checkEncryptStreamOptions(options);
  let core: Promise<StreamEncryptor> | undefined;
  const start = () => (core ??= StreamEncryptor.create(keyringOrCmm, options));
  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      const c = await start();
      try {
        c.push(asBytes(chunk), (b) => controller.enqueue(b));
      } catch (e) {
        c.abort();
        throw e;
      }
    },
    async flush(controller) {
      const c = await start();
      c.finish((b) => controller.enqueue(b));
    },
  });
}

/** WHATWG TransformStream flavour of decryptStream. */
export function decryptWebStream(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  options: DecryptStreamOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  const core = new StreamDecryptor(keyringOrCmm, options);
  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      try {
        await core.push(asBytes(chunk), (b) => controller.enqueue(b));
      } catch (e) {
        core.abort();
        throw e;
      }
    },
    flush(controller) {
      try {
        core.finish((b) => controller.enqueue(b));
      } catch (e) {
        core.abort();
        throw e;
      }
    },
  });
}
