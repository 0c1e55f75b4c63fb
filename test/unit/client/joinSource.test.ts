/** The three forms of the SDK's `join` option: a response, a backend URL, a function. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJoinResponse, joinRequestBody, resolveJoinSource, type FetchLike } from '../../../src/client/JoinSource.js';
import { MeridianClientError } from '../../../src/client/errors.js';
import { joinResponse } from './support/fakeNodes.js';

const response = joinResponse('eu-central-1-n1', 'eu-central-1', 'ws://127.0.0.1:7881/rtc');

describe('join source', () => {
  test('a URL is POSTed { unreachableNodeId? } as JSON with the page’s cookies', async () => {
    const calls: Array<{ url: string; body: string; credentials: string; method: string }> = [];
    const fetchImpl: FetchLike = async (url, init) => {
      calls.push({ url, body: init.body, credentials: init.credentials, method: init.method });
      return { ok: true, status: 200, json: async () => response };
    };
    const source = resolveJoinSource('/api/join', fetchImpl);
    assert.equal(source.canReplace, true);
    assert.equal((await source.request({})).node.id, 'eu-central-1-n1');
    await source.request({ unreachableNodeId: 'ap-south-1-n1' });
    assert.deepEqual(calls, [
      { url: '/api/join', body: '{}', credentials: 'same-origin', method: 'POST' },
      { url: '/api/join', body: '{"unreachableNodeId":"ap-south-1-n1"}', credentials: 'same-origin', method: 'POST' },
    ]);
  });

  test('a reconnect or move POSTs its reason, participant id and previous node as well', async () => {
    const bodies: unknown[] = [];
    const fetchImpl: FetchLike = async (_url, init) => {
      bodies.push(JSON.parse(init.body));
      return { ok: true, status: 200, json: async () => response };
    };
    const source = resolveJoinSource('/api/join', fetchImpl);
    await source.request({ reason: 'unreachable', unreachableNodeId: 'n1', previousNodeId: 'n1', participantId: 'demo-abc' });
    await source.request({ reason: 'migrate', previousNodeId: 'n1', participantId: 'demo-abc' });
    assert.deepEqual(bodies, [
      { unreachableNodeId: 'n1', reason: 'unreachable', participantId: 'demo-abc', previousNodeId: 'n1' },
      { reason: 'migrate', participantId: 'demo-abc', previousNodeId: 'n1' },
    ]);
    assert.deepEqual(joinRequestBody({}), {}, 'a first join sends an empty object');
  });

  test('an error body of the platform keeps its code; other failures are JOIN_REQUEST_FAILED', async () => {
    const answering =
      (status: number, body: unknown): FetchLike =>
      async () => ({ ok: false, status, json: async () => body });
    await assert.rejects(resolveJoinSource('/j', answering(503, { error: { code: 'NO_REGION_AVAILABLE', message: 'none' } })).request({}), (e: unknown) => {
      assert.ok(e instanceof MeridianClientError);
      assert.deepEqual([e.code, e.message, e.retryable], ['NO_REGION_AVAILABLE', 'none', true]);
      return true;
    });
    await assert.rejects(resolveJoinSource('/j', answering(404, 'not json')).request({}), (e: unknown) => e instanceof MeridianClientError && e.code === 'JOIN_REQUEST_FAILED' && !e.retryable);
    const offline: FetchLike = async () => {
      throw new TypeError('Failed to fetch');
    };
    await assert.rejects(resolveJoinSource('/j', offline).request({}), (e: unknown) => e instanceof MeridianClientError && e.code === 'JOIN_REQUEST_FAILED' && e.retryable);
  });

  test('a function is called with the options; a `code` on what it throws is kept', async () => {
    const seen: unknown[] = [];
    const ok = resolveJoinSource(async (opts) => {
      seen.push(opts);
      return response;
    });
    await ok.request({ unreachableNodeId: 'n1' });
    assert.deepEqual(seen, [{ unreachableNodeId: 'n1' }]);
    const failing = resolveJoinSource(async () => {
      throw Object.assign(new Error('meeting is over'), { code: 'MEETING_NOT_FOUND' });
    });
    await assert.rejects(failing.request({}), (e: unknown) => e instanceof MeridianClientError && e.code === 'MEETING_NOT_FOUND');
  });

  test('a fixed response is used once and cannot be re-placed', async () => {
    const fixed = resolveJoinSource(response);
    assert.equal(fixed.canReplace, false);
    assert.equal((await fixed.request({})).token, response.token);
    await assert.rejects(fixed.request({ unreachableNodeId: 'x' }), (e: unknown) => e instanceof MeridianClientError && e.code === 'NO_REACHABLE_NODE');
  });

  test('something that is not a join response is refused before any connection', () => {
    for (const bad of [null, {}, { ...response, endpoint: 'http://x/rtc' }, { ...response, token: '' }, { ...response, node: null }]) {
      assert.throws(() => checkJoinResponse(bad), (e: unknown) => e instanceof MeridianClientError && e.code === 'JOIN_REQUEST_FAILED');
    }
    assert.deepEqual(checkJoinResponse({ ...response, fallbacks: undefined }).fallbacks, [], 'missing fallbacks become an empty list');
  });
});
