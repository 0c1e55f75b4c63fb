/**
 * The node numbers each subscribe connection it builds for a client (`session` in its
 * `offer`). When that connection fails on the node's side it builds a new one under a new
 * number; the client must then close its old subscribe connection and answer on a new one,
 * echoing the number so the node knows which connection the answer belongs to (issue 8,
 * docs/signaling.md#subscribe-connection-sessions). Pure, so it is unit-tested in Node.
 */

/** What to do with a subscribe `offer`. */
export type SubscribeOfferAction =
  /** No subscribe connection yet: create one and answer on it. */
  | 'create'
  /** Same connection (same or no `session`): renegotiate it. */
  | 'renegotiate'
  /** A new `session`: close the old connection, create a new one and answer on it. */
  | 'rebuild';

/**
 * Decides how to answer an offer.
 * @param current the session number of the open subscribe connection: `undefined` when there
 *   is none, `null` when it was created from an offer without a number (an older node).
 * @param offered the offer's `session`, if any.
 */
export function subscribeOfferAction(current: number | null | undefined, offered: number | undefined): SubscribeOfferAction {
  if (current === undefined) return 'create';
  if (offered === undefined || current === null || offered === current) return 'renegotiate';
  return 'rebuild';
}
