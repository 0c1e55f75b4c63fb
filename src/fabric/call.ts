import type { CallingOptions } from 'moleculer';
import type { ActionName, ParamsOf, ResultOf, EventName, EventMap } from '../contracts/index.js';

/** Anything that can call an action: a broker or a context. */
export interface Caller {
  call(action: string, params?: unknown, opts?: CallingOptions): Promise<unknown>;
}
/** Anything that can broadcast an event. */
export interface Broadcaster {
  broadcast(event: string, payload?: unknown): Promise<void> | void;
}

/** Per-action timeouts and retries. Only idempotent actions are retried. */
export const CALL_POLICY: Partial<Record<ActionName, CallingOptions>> = {
  'regionProvider.rank': { timeout: 2_000, retries: 2 },
  'regionProvider.probeTargets': { timeout: 2_000, retries: 2 },
  // Stores measurements: not retried (a retry would count the probe set twice).
  'regionProvider.precall': { timeout: 5_000, retries: 0 },
  'regionProvider.plan': { timeout: 60_000, retries: 0 },
  'regions.list': { timeout: 3_000, retries: 2 },
  'regions.get': { timeout: 3_000, retries: 2 },
  'regions.heartbeat': { timeout: 3_000, retries: 1 },
  'auth.verifyKey': { timeout: 3_000, retries: 2 },
  'rooms.get': { timeout: 3_000, retries: 2 },
  // Placement is idempotent too: a retried join finds the placement the first one wrote.
  'rooms.join': { timeout: 5_000, retries: 1 },
  'rooms.create': { timeout: 5_000, retries: 0 },
  // With `migrate`, removal waits for migrated participants to leave (deadline 30 s + slack).
  'regions.remove': { timeout: 60_000, retries: 0 },
  'regions.drain': { timeout: 30_000, retries: 0 },
  'regions.drainNode': { timeout: 30_000, retries: 0 },
  'rooms.migrate': { timeout: 25_000, retries: 0 },
  'regions.nodeDown': { timeout: 3_000, retries: 2 },
};

/** Calls an action with its typed params and result, and the action's call policy. */
export function call<A extends ActionName>(caller: Caller, action: A, params: ParamsOf<A>, opts?: CallingOptions): Promise<ResultOf<A>> {
  const policy = CALL_POLICY[action];
  return caller.call(action, params, policy && opts ? { ...policy, ...opts } : (opts ?? policy)) as Promise<ResultOf<A>>;
}

/** Broadcasts a typed event to every service copy that listens. */
export function broadcast<E extends EventName>(b: Broadcaster, event: E, payload: EventMap[E]): void {
  void b.broadcast(event, payload);
}
