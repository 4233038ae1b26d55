import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinRequestBatch } from '../src/http/request-batch.js';

describe('joinRequestBatch', () => {
  it('lets the requests of one turn go on together, one right after the other', async () => {
    const order: string[] = [];
    const first = joinRequestBatch().then(() => order.push('first'));
    // Scheduled between the two: with a group of its own, the second would run after this.
    const between = new Promise<void>((resolve) => setImmediate(() => { order.push('between'); resolve(); }));
    const second = joinRequestBatch().then(() => order.push('second'));
    await Promise.all([first, second, between]);
    assert.deepEqual(order, ['first', 'second', 'between']);
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
