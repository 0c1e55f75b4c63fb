/**
 * Internal names stay internal (issue 14, finding 7): a service refusing its parameters
 * answers VALIDATION_FAILED naming the fields, and the HTTP error built from it does not
 * name the broker action (`rooms.join`) behind the route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Actions, Schemas } from '../../../src/contracts/index.js';
import { call, createBroker } from '../../../src/fabric/index.js';
import { toHttpError } from '../../../src/gateway/index.js';
import { silent } from './fakeServices.js';

test('a service refusing its params answers VALIDATION_FAILED without the action name', async () => {
  const broker = createBroker({ nodeID: 'names', namespace: 'names', transporter: '', logger: silent });
  broker.createService({ name: 'rooms', actions: { get: { params: Schemas.MeetingRef, handler: () => ({}) } } });
  await broker.start();
  try {
    const err = await call(broker, Actions.rooms.get, { appId: 'app', meetingId: '..' }).then(
      () => assert.fail('accepted an id of only dots'),
      (e: unknown) => toHttpError(e),
    );
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.doesNotMatch(err.message, /rooms\.get|rooms/);
    assert.match(err.message, /meetingId/);
  } finally {
    await broker.stop();
  }
});
