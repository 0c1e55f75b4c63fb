/** The one event emitter (node and SDK): typed, listeners cannot break it, removal works. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedEmitter, type EventArgs } from '../../../src/lib/TypedEmitter.js';

interface Events {
  /** One payload argument (the SDK's style). */
  ping: { n: number };
  other: { s: string };
  /** An argument list (the media objects' style). */
  moved: [from: string, to: string];
  closed: [];
}

/** Reports listener failures through the overridable hook. */
class Probe extends TypedEmitter<Events> {
  readonly failures: Array<[unknown, string]> = [];
  fire<K extends keyof Events>(event: K, ...args: EventArgs<Events[K]>): void {
    this.emit(event, ...args);
  }
  protected override listenerFailed(err: unknown, event: string): void {
    this.failures.push([err, event]);
  }
}

/** Reports listener failures to a handler, as the media objects do with their logger. */
class Logged extends TypedEmitter<Events> {
  readonly logged: string[] = [];
  constructor() {
    super();
    this.setListenerErrorHandler((err, event) => this.logged.push(`${event}: ${(err as Error).message}`));
  }
  fire<K extends keyof Events>(event: K, ...args: EventArgs<Events[K]>): void {
    this.emit(event, ...args);
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

  test('a listener error goes to the handler its owner set, and a throwing handler is contained', () => {
    const e = new Logged();
    const seen: string[] = [];
    e.on('moved', () => {
      throw new Error('boom');
    });
    e.on('moved', (from, to) => seen.push(`${from}->${to}`));
    e.fire('moved', 'a', 'b');
    assert.deepEqual(seen, ['a->b']);
    assert.deepEqual(e.logged, ['moved: boom']);
  });

  test('tuple events pass their argument list; empty tuples pass none', () => {
    const e = new Probe();
    const seen: unknown[][] = [];
    e.on('moved', (...args) => seen.push(args));
    e.on('closed', (...args) => seen.push(args));
    e.fire('moved', 'x', 'y');
    e.fire('closed');
    assert.deepEqual(seen, [['x', 'y'], []]);
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

  test('a once listener removed before it fires never runs', () => {
    const e = new Probe();
    let ran = false;
    const remove = e.once('closed', () => (ran = true));
    remove();
    e.fire('closed');
    assert.equal(ran, false);
    assert.equal(e.listenerCount('closed'), 0);
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
    e.on('moved', () => {});
    e.removeAllListeners();
    assert.equal(e.listenerCount('ping') + e.listenerCount('moved'), 0);
  });

  test('without a handler, a listener error goes to reportError where the platform has it (browsers)', () => {
    const g = globalThis as { reportError?: (e: unknown) => void };
    const had = g.reportError;
    const reported: unknown[] = [];
    g.reportError = (err) => reported.push(err);
    try {
      class Plain extends TypedEmitter<Events> {
        fire(): void {
          this.emit('closed');
        }
      }
      const e = new Plain();
      const boom = new Error('boom');
      e.on('closed', () => {
        throw boom;
      });
      e.fire();
      assert.deepEqual(reported, [boom]);
    } finally {
      if (had) g.reportError = had;
      else delete g.reportError;
    }
  });
});
