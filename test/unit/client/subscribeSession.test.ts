/** Issue 8: the SDK follows the node's subscribe-connection rebuild (a new `session` in its offer). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribeOfferAction } from '../../../src/client/subscribeSession.js';

describe('subscribe offer sessions', () => {
  test('the first offer creates the subscribe connection', () => {
    assert.equal(subscribeOfferAction(undefined, 1), 'create');
    assert.equal(subscribeOfferAction(undefined, undefined), 'create');
  });

  test('an offer of the same session renegotiates the open connection', () => {
    assert.equal(subscribeOfferAction(1, 1), 'renegotiate');
    assert.equal(subscribeOfferAction(3, undefined), 'renegotiate', 'an offer without a number belongs to the open connection');
    assert.equal(subscribeOfferAction(null, 2), 'renegotiate', 'a connection made for a node that sends no numbers');
  });

  test('an offer under a new session replaces the connection', () => {
    assert.equal(subscribeOfferAction(1, 2), 'rebuild');
    assert.equal(subscribeOfferAction(7, 1), 'rebuild', 'any different number, not only a larger one');
  });
});
