/**
 * The gateway's ear on the broker: a `gateway` service with no actions that hears
 * `auth.keyRevoked` and drops the key from the {@link AppKeyVerifier} caches of this
 * process. Every gateway process registers one, so a broadcast (in-process, or over NATS in
 * distributed mode) reaches them all and a revoked key is refused everywhere within the
 * event's delivery time, not the cache TTL.
 *
 * One service per broker, shared by the gateways built on it (tests build several on one
 * broker): Moleculer merges same-named services of one node into one event endpoint, so a
 * service per gateway would deliver to one of them only, and removing one would deafen all.
 */
import type { Context, Service, ServiceBroker } from 'moleculer';
import { Events, Services, type EventMap } from '../contracts/index.js';
import type { AppKeyVerifier } from './AppKeyVerifier.js';

interface Listener {
  readonly service: Service;
  readonly verifiers: Set<AppKeyVerifier>;
}

const listeners = new WeakMap<ServiceBroker, Listener>();

/** Makes `verifier` hear revocations on `broker`; the returned function stops that (idempotent). */
export function listenForKeyRevocations(broker: ServiceBroker, verifier: AppKeyVerifier): () => Promise<void> {
  let listener = listeners.get(broker);
  if (!listener) {
    const verifiers = new Set<AppKeyVerifier>();
    const service: Service = broker.createService({
      name: Services.gateway,
      events: {
        [Events.keyRevoked]: {
          handler(ctx: Context<EventMap['auth.keyRevoked']>) {
            for (const v of verifiers) v.forget(ctx.params.keyId);
          },
        },
      },
    });
    listener = { service, verifiers };
    listeners.set(broker, listener);
  }
  const own = listener;
  own.verifiers.add(verifier);
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      own.verifiers.delete(verifier);
      if (own.verifiers.size > 0 || listeners.get(broker) !== own) return;
      listeners.delete(broker);
      await broker.destroyService(own.service).catch(() => undefined);
    })());
}
