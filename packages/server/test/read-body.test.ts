import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ThrottlingException } from '../src/errors.js';
import { readBody, RequestAbortedError } from '../src/http/read-body.js';

/** A request whose body the test writes, as node:http would deliver it. */
function incoming(): PassThrough & IncomingMessage {
  const stream = new PassThrough() as PassThrough & { headers: Record<string, string>; complete: boolean };
  stream.headers = {};
  stream.complete = false;
  return stream as unknown as PassThrough & IncomingMessage;
}

function finish(req: PassThrough & IncomingMessage): void {
  (req as { complete: boolean }).complete = true;
  req.end();
}

/** Lets the streams deliver what was written. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('readBody: the bytes of bodies still arriving are bounded together', () => {
  it('takes bodies that fit in the budget together', async () => {
    const [a, b] = [incoming(), incoming()];
    const [pa, pb] = [readBody(a, 1000, 2000), readBody(b, 1000, 2000)];
    a.write(Buffer.alloc(900));
    b.write(Buffer.alloc(900));
    await settle();
    finish(a);
    finish(b);
    assert.equal((await pa).length, 900);
    assert.equal((await pb).length, 900);
  });

  it('refuses the body that started first with ThrottlingException when a newer one needs the room, and takes the newer one', async () => {
    const [slow, fresh] = [incoming(), incoming()];
    const refused = assert.rejects(readBody(slow, 1000, 1500), (error) => error instanceof ThrottlingException);
    const pFresh = readBody(fresh, 1000, 1500);
    slow.write(Buffer.alloc(800));
    await settle();
    fresh.write(Buffer.alloc(800));
    await settle();
    await refused;
    finish(fresh);
    assert.equal((await pFresh).length, 800);
  });

  it('gives the room of a finished or refused body back', async () => {
    // After the cases above, nothing is held: a body of the whole budget fits.
    const whole = incoming();
    const pWhole = readBody(whole, 1500, 1500);
    whole.write(Buffer.alloc(1500));
    await settle();
    finish(whole);
    assert.equal((await pWhole).length, 1500);
  });
});

/** A request whose body chunks the test hands over one `data` event at a time, as node:http does. */
function delivered(headers: Record<string, string> = {}): EventEmitter & IncomingMessage & { complete: boolean } {
  return Object.assign(new EventEmitter(), { headers, complete: false }) as unknown as EventEmitter & IncomingMessage & { complete: boolean };
}

/** The heap and buffer bytes in use after a full collection. */
function memoryInUse(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

describe('readBody: a body is held in about its own size, however it is cut', () => {
  const body = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));

  for (const [label, headers] of [['chunked', {}], ['with a Content-Length', { 'content-length': String(body.length) }]] as const) {
    it(`gives back the bytes of a body ${label} sent in one-byte chunks, in order`, async () => {
      const req = delivered(headers);
      const pending = readBody(req, 200_000, 1_000_000);
      for (let i = 0; i < body.length; i++) req.emit('data', body.subarray(i, i + 1));
      req.complete = true;
      req.emit('end');
      assert.deepEqual(await pending, body);
    });
  }

  it('holds a body still arriving in one-byte chunks in about its size, not a Buffer object per chunk', async () => {
    const req = delivered();
    const pending = readBody(req, 300_000, 1_000_000);
    const before = memoryInUse();
    for (let i = 0; i < 200_000; i++) req.emit('data', body.subarray(i % body.length, (i % body.length) + 1));
    const held = memoryInUse() - before;
    // A list of 200,000 chunks holds some 200 bytes each (40 MB); one buffer of 256 KiB holds 262,144 bytes.
    assert.ok(held < 4 * 1024 * 1024, `${held} bytes held for a body of 200,000 bytes`);
    req.emit('close');
    await assert.rejects(pending, RequestAbortedError);
  });
});
