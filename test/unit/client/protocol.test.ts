/**
 * The client's copy of the signaling protocol: it parses what the node sends, and its
 * types stay in step with the node's own (checked at compile time below).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerMessage, isUnknownType, NodeCloseCode, type ClientMessage as ClientSide, type ServerMessage as ClientView } from '../../../src/client/protocol.js';
import { CloseCode, type ClientMessage as NodeClientMessage, type ServerMessage as NodeServerMessage } from '../../../src/media/index.js';

// Compile-time: every message the node sends fits the client's view, and every message the
// client sends fits what the node accepts. A protocol change that breaks either fails `tsc`.
const _nodeToClient = (m: NodeServerMessage): ClientView => m;
const _clientToNode = (m: ClientSide): NodeClientMessage => m;
void _nodeToClient;
void _clientToNode;

describe('client protocol', () => {
  test('close codes match the node’s', () => {
    for (const [name, code] of Object.entries(CloseCode)) assert.equal(NodeCloseCode[name as keyof typeof NodeCloseCode], code, name);
  });

  test('parses each node message type', () => {
    const samples: unknown[] = [
      { type: 'joined', participantId: 'a', meetingId: 'm', name: 'A', participants: [{ id: 'b', name: 'B' }], tracks: [{ trackId: 't', participantId: 'b', kind: 'video' }], activeSpeaker: null },
      { type: 'answer', sdp: 'v=0' },
      { type: 'offer', sdp: 'v=0', slots: [{ mid: 'v0', kind: 'video', participantId: 'b', trackId: 't' }] },
      { type: 'subscriptions', slots: [{ mid: 'v0', kind: 'video', participantId: null, trackId: null }] },
      { type: 'participant-joined', participant: { id: 'c', name: 'C' } },
      { type: 'participant-left', participantId: 'c' },
      { type: 'track-published', track: { trackId: 't2', participantId: 'c', kind: 'audio' } },
      { type: 'track-unpublished', trackId: 't2', participantId: 'c' },
      { type: 'active-speaker', participantId: null },
      { type: 'offer', sdp: 'v=0', slots: [], session: 2 },
      { type: 'pong', id: 7 },
      { type: 'migrate', reason: 'region-drain', deadlineMs: 30_000 },
      { type: 'error', code: 'TOKEN_EXPIRED', message: 'The join token has expired' },
    ];
    for (const s of samples) {
      const r = parseServerMessage(JSON.stringify(s));
      assert.ok(r.ok, JSON.stringify(s));
      assert.deepEqual(r.ok && r.message, s);
    }
  });

  test('rejects malformed frames and known types with wrong fields', () => {
    for (const text of ['nope', '[]', '{"type":1}', '{"type":"offer","sdp":"v=0"}', '{"type":"offer","sdp":"v=0","slots":[],"session":"2"}', '{"type":"pong","id":-1}', '{"type":"migrate","reason":"node-drain"}', '{"type":"joined","participantId":"a"}', '{"type":"subscriptions","slots":[{"mid":"v0","kind":"data"}]}']) {
      const r = parseServerMessage(text);
      assert.equal(r.ok, false, text);
      assert.equal(isUnknownType(r), false, text);
    }
  });

  test('unknown types are told apart so a newer node’s messages can be ignored', () => {
    const r = parseServerMessage('{"type":"quality-report","score":3}');
    assert.equal(r.ok, false);
    assert.ok(isUnknownType(r));
    assert.ok(isUnknownType(parseServerMessage('{"type":"__proto__"}')), 'prototype keys are not message types');
  });
});
