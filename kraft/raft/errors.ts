/**
 * Thrown by the Raft core on an illegal state transition or a broken invariant. It is always a
 * bug (in the core, or in a peer that violates the protocol's safety, e.g. two leaders claiming
 * one epoch); it is never a Kafka error. Bad input from the network is answered with Kafka error
 * codes instead.
 */
export class IllegalStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IllegalStateError';
  }
}
