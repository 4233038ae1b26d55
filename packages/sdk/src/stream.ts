/**
 * Streaming encrypt and decrypt: Node.js Transform streams and WHATWG TransformStreams over the
 * same incremental cores (internal/stream-encryptor.ts, internal/stream-decryptor.ts).
 *
 * Both Node streams emit 'messageHeader' (a MessageHeaderInfo) once the header is known; the web
 * streams carry it as a `messageHeader` promise.
 * Decryption withholds plaintext until the whole message verifies unless `unsignedStreaming` or
 * `signedStreaming` is set (see DecryptStreamOptions); a truncated stream always ends in an error.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { Transformer, TransformStreamDefaultController } from 'node:stream/web';
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import type { Keyring } from './keyrings/keyring.js';
import { KeyringError } from './errors.js';
import type { MessageHeaderInfo } from './header-info.js';
import { StreamDecryptor, type DecryptStreamOptions } from './internal/stream-decryptor.js';
import { checkEncryptStream, StreamEncryptor, type EncryptStreamOptions } from './internal/stream-encryptor.js';
import { assertAttached } from './internal/options.js';

export type { DecryptStreamOptions } from './internal/stream-decryptor.js';
export type { EncryptStreamOptions } from './internal/stream-encryptor.js';
export { DEFAULT_MAX_BUFFERED_BYTES } from './internal/stream-decryptor.js';

function asBytes(chunk: unknown): Uint8Array {
  if (!(chunk instanceof Uint8Array)) throw new TypeError('stream chunks must be Buffers or Uint8Arrays');
  assertAttached(chunk, 'a stream chunk');
  return chunk;
}

/**
 * The error a Node stream fails with. Its callbacks take a falsy argument for success, so a
 * keyring or materials manager (the only code of the caller's a stream runs) that rejects with
 * `undefined`, `null`, `0` or `''` would end the stream as if it had worked: an encrypted output
 * silently empty or cut short. Such a reason becomes a KeyringError that carries it as `cause`.
 */
function streamError(e: unknown): Error {
  if (e) return e as Error;
  const reason = typeof e === 'string' ? JSON.stringify(e) : String(e);
  return new KeyringError(`a keyring or materials manager failed without an error (it rejected with ${reason})`, { cause: e });
}

/** A Transform: plaintext in, ESDK message out. Materials are fetched on the first write (or at end for empty input). */
export function encryptStream(keyringOrCmm: Keyring | CryptographicMaterialsManager, options: EncryptStreamOptions = {}): Transform {
  checkEncryptStream(keyringOrCmm, options);
  let core: Promise<StreamEncryptor> | undefined;
  const start = (t: Transform) => {
    core ??= StreamEncryptor.create(keyringOrCmm, options).then((c) => {
      // Destroyed while the keyring ran: a stream that is gone announces no header.
      if (!t.destroyed) t.emit('messageHeader', c.messageHeader);
      return c;
    });
    return core;
  };
  const fail = (e: unknown, cb: TransformCallback) => {
    void core?.then((c) => c.abort(), () => {});
    cb(streamError(e));
  };
  return new Transform({
    transform(chunk: unknown, _encoding, cb) {
      // Checked before the first chunk starts the keyring: a chunk that cannot be read costs no KMS call.
      let bytes: Uint8Array;
      try {
        bytes = asBytes(chunk);
      } catch (e) {
        return fail(e, cb);
      }
      start(this).then((c) => {
        // Nor does it seal (or keep a copy of) plaintext written before it was destroyed.
        if (!this.destroyed) c.push(bytes, (b) => this.push(b));
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
  // The header is announced before any plaintext.
  const release = (t: Transform) => (b: Buffer) => {
    announce(t);
    t.push(b);
  };
  const fail = (e: unknown, cb: TransformCallback) => {
    core.abort();
    cb(streamError(e));
  };
  return new Transform({
    transform(chunk: unknown, _encoding, cb) {
      let bytes: Uint8Array;
      try {
        bytes = asBytes(chunk);
      } catch (e) {
        return fail(e, cb);
      }
      core.push(bytes, release(this)).then(() => {
        announce(this);
        cb();
      }, (e: unknown) => fail(e, cb));
    },
    flush(cb) {
      // A header cut into many small chunks may be parsed only here, at the end of the input.
      core.finish(release(this)).then(() => {
        announce(this);
        cb();
      }, (e: unknown) => fail(e, cb));
    },
    destroy(error, cb) {
      core.abort();
      cb(error);
    },
  });
}

/**
 * A web TransformStream (plaintext or message in, the other out) that also reports the message
 * header: web streams have no events, so the header the Node streams emit as 'messageHeader'
 * comes as a promise here.
 */
export interface MessageTransformStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * The header's facts, once known: for encryption when the materials have been fetched (on the
   * first chunk, or at the end of an empty input); for decryption once the header has been
   * authenticated, before any plaintext. Rejects with the stream's error if it fails, is aborted
   * or is cancelled before then.
   */
  readonly messageHeader: Promise<MessageHeaderInfo>;
}

// `cancel` (the writer aborted or the reader cancelled) is in the Streams standard and in Node's
// TransformStream from 20.14 and 21.5 (earlier releases never call it), but not yet in
// @types/node's Transformer.
type CancellableTransformer = Transformer<Uint8Array, Uint8Array> & { cancel?: (reason: unknown) => void };

class HeaderReportingStream extends TransformStream<Uint8Array, Uint8Array> implements MessageTransformStream {
  readonly messageHeader: Promise<MessageHeaderInfo>;
  constructor(transformer: CancellableTransformer, messageHeader: Promise<MessageHeaderInfo>) {
    super(transformer);
    this.messageHeader = messageHeader;
  }
}

/** The header's promise, settled once; a caller that never looks at it gets no unhandled rejection. */
function headerReport() {
  let resolve!: (header: MessageHeaderInfo) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<MessageHeaderInfo>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** WHATWG TransformStream flavour of encryptStream; `messageHeader` stands in for the 'messageHeader' event. */
export function encryptWebStream(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  options: EncryptStreamOptions = {},
): MessageTransformStream {
  checkEncryptStream(keyringOrCmm, options);
  const header = headerReport();
  let core: Promise<StreamEncryptor> | undefined;
  const start = () => (core ??= StreamEncryptor.create(keyringOrCmm, options).then((c) => {
    header.resolve(c.messageHeader);
    return c;
  }, (e: unknown) => {
    header.reject(e);
    throw e;
  }));
  const stop = (reason: unknown) => {
    header.reject(reason);
    void core?.then((c) => c.abort(), () => {});
  };
  return new HeaderReportingStream({
    async transform(chunk, controller) {
      let bytes: Uint8Array;
      try {
        bytes = asBytes(chunk);
      } catch (e) {
        stop(e);
        throw e;
      }
      const c = await start();
      try {
        c.push(bytes, (b) => controller.enqueue(b));
      } catch (e) {
        c.abort();
        throw e;
      }
    },
    async flush(controller) {
      const c = await start();
      c.finish((b) => controller.enqueue(b));
    },
    // The writer aborted or the reader cancelled: drop the pending plaintext.
    cancel: stop,
  }, header.promise);
}

/** WHATWG TransformStream flavour of decryptStream; `messageHeader` stands in for the 'messageHeader' event. */
export function decryptWebStream(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  options: DecryptStreamOptions = {},
): MessageTransformStream {
  const core = new StreamDecryptor(keyringOrCmm, options);
  const header = headerReport();
  const announce = () => {
    if (core.messageHeader !== undefined) header.resolve(core.messageHeader);
  };
  // The header is reported before any plaintext.
  const release = (controller: TransformStreamDefaultController<Uint8Array>) => (b: Buffer) => {
    announce();
    controller.enqueue(b);
  };
  const fail = (e: unknown) => {
    core.abort();
    header.reject(e);
  };
  return new HeaderReportingStream({
    async transform(chunk, controller) {
      try {
        await core.push(asBytes(chunk), release(controller));
      } catch (e) {
        fail(e);
        throw e;
      }
      announce();
    },
    async flush(controller) {
      try {
        await core.finish(release(controller));
      } catch (e) {
        fail(e);
        throw e;
      }
      announce();
    },
    // The writer aborted or the reader cancelled: zero the plaintext held back so far.
    cancel: fail,
  }, header.promise);
}
