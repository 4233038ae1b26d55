import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinRequestBatch } from '../src/http/request-batch.js';

describe('joinRequestBatch', () => {
  it('lets the requests of one turn go on together, one right after the other', async () => {
    const order: string[] = [];
    const first = joinRequestBatch().then(() => order.push('first'));
    const second = joinRequestBatch().then(() => order.push('second'));
    setImmediate(() => order.push('later'));
    await Promise.all([first, second]);
    // Both continuations ran, one after the other, with nothing between them.
    assert.deepEqual(order.slice(0, 2), ['first', 'second']);
  });

  it('a request of a later turn joins a new group', async () => {
    const one = joinRequestBatch();
    assert.equal(joinRequestBatch(), one, 'the same turn shares one group');
    await one;
    const two = joinRequestBatch();
    assert.notEqual(two, one);
    await two;
  });
});
