/** The SDK's event emitter: typed, listeners cannot break it, removal works. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedEmitter } from '../../../src/client/TypedEmitter.js';

interface Events {
  ping: { n: number };
  other: { s: string };
}

class Probe extends TypedEmitter<Events> {
  readonly failures: Array<[unknown, string]> = [];
  fire<K extends keyof Events>(event: K, payload: Events[K]): void {
    this.emit(event, payload);
  }
  protected override listenerFailed(err: unknown, event: string): void {
    this.failures.push([err, event]);
  }
}

describe('typed emitter', () => {
  test('a throwing listener is reported and the others still run', () => {
    const e = new Probe();
    const seen: number[] = [];
    e.on('ping', () => {
      throw new Error('boom');
    });
    e.on('ping', ({ n }) => seen.push(n));
    e.fire('ping', { n: 1 });
    assert.deepEqual(seen, [1]);
    assert.equal(e.failures.length, 1);
    assert.equal(e.failures[0]![1], 'ping');
  });

  test('off, the returned remover and once remove listeners', () => {
    const e = new Probe();
    const seen: string[] = [];
    const a = ({ n }: { n: number }) => seen.push(`a${n}`);
    e.on('ping', a);
    const removeB = e.on('ping', ({ n }) => seen.push(`b${n}`));
    e.once('ping', ({ n }) => seen.push(`once${n}`));
    e.fire('ping', { n: 1 });
    e.off('ping', a);
    removeB();
    e.fire('ping', { n: 2 });
    assert.deepEqual(seen, ['a1', 'b1', 'once1']);
    assert.equal(e.listenerCount('ping'), 0);
  });

  test('a listener removed by an earlier one in the same emit still runs this time, not after', () => {
    const e = new Probe();
    const seen: string[] = [];
    let removeSecond = () => {};
    e.on('other', () => removeSecond());
    removeSecond = e.on('other', ({ s }) => seen.push(s));
    e.fire('other', { s: 'x' });
    e.fire('other', { s: 'y' });
    assert.deepEqual(seen, ['x']);
  });

  test('removeAllListeners drops everything', () => {
    const e = new Probe();
    e.on('ping', () => {});
    e.on('other', () => {});
    e.removeAllListeners();
    assert.equal(e.listenerCount('ping') + e.listenerCount('other'), 0);
  });
});
