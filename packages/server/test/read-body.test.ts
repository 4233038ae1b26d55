import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ThrottlingException } from '../src/errors.js';
import { readBody } from '../src/http/read-body.js';

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
