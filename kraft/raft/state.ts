/**
 * The node's epoch state (a tagged union) and the one table of legal transitions, after Kafka's
 * `QuorumState` (with KIP-996's Prospective state). `checkTransition` enforces both the target
 * and the epoch relation; anything else throws `IllegalStateError`.
 *
 * Observers (nodes outside `controller.quorum.voters`) only ever are Unattached or Follower.
 *
 * Restarting is not a transition: the initial state comes from the persisted hard state
 * (see `RaftCore`): leader ⇒ Resigned in that epoch, voted for itself ⇒ Candidate, known leader
 * ⇒ Follower, otherwise Unattached (keeping its vote).
 */
import { IllegalStateError } from './errors.js';
import type { LeaderState } from './leader-state.js';

export type StateKind = 'Unattached' | 'Prospective' | 'Candidate' | 'Leader' | 'Follower' | 'Resigned';

/**
 * How the target epoch relates to the current one:
 * `same`, `higher` (strictly), `same-or-higher`, `next` (exactly current + 1).
 */
export type EpochRule = 'same' | 'higher' | 'same-or-higher' | 'next';

interface Edge {
  readonly epoch: EpochRule;
  readonly when: string;
}

export const TRANSITIONS: { readonly [F in StateKind]: { readonly [T in StateKind]?: Edge } } = {
  Unattached: {
    Unattached: { epoch: 'same-or-higher', when: 'learns of a higher epoch, or grants its vote in this epoch' },
    Prospective: { epoch: 'same', when: 'election timeout expired' },
    Follower: { epoch: 'same-or-higher', when: 'discovers the leader of this or a higher epoch' },
  },
  Prospective: {
    Unattached: { epoch: 'same-or-higher', when: 'learns of a higher epoch, or loses the pre-vote without a known leader' },
    Prospective: { epoch: 'same', when: 'grants its vote in this epoch' },
    Candidate: { epoch: 'next', when: 'a majority granted the pre-vote' },
    Follower: { epoch: 'same-or-higher', when: 'discovers a leader, or loses the pre-vote with a known leader' },
  },
  Candidate: {
    Unattached: { epoch: 'higher', when: 'learns of a higher epoch' },
    Prospective: { epoch: 'same', when: 'election timeout expired' },
    Leader: { epoch: 'same', when: 'a majority granted the vote' },
    Follower: { epoch: 'same-or-higher', when: 'discovers the leader of this or a higher epoch' },
  },
  Leader: {
    Unattached: { epoch: 'higher', when: 'learns of a higher epoch' },
    Follower: { epoch: 'higher', when: 'discovers the leader of a higher epoch' },
    Resigned: { epoch: 'same', when: 'resigns gracefully, or check-quorum failed' },
  },
  Follower: {
    Unattached: { epoch: 'higher', when: 'learns of a higher epoch' },
    Prospective: { epoch: 'same', when: 'fetch timeout expired' },
    Follower: { epoch: 'higher', when: 'discovers the leader of a higher epoch' },
  },
  Resigned: {
    Unattached: { epoch: 'higher', when: 'learns of a higher epoch, or election timeout expired (epoch + 1)' },
    Follower: { epoch: 'higher', when: 'discovers the leader of a higher epoch' },
  },
};

const OBSERVER_STATES: ReadonlySet<StateKind> = new Set(['Unattached', 'Follower']);

function epochOk(rule: EpochRule, from: number, to: number): boolean {
  switch (rule) {
    case 'same':
      return to === from;
    case 'higher':
      return to > from;
    case 'same-or-higher':
      return to >= from;
    case 'next':
      return to === from + 1;
  }
}

/** Throws `IllegalStateError` unless `from → to` is in `TRANSITIONS` with a legal epoch. */
export function checkTransition(
  from: { readonly kind: StateKind; readonly epoch: number },
  to: { readonly kind: StateKind; readonly epoch: number },
  isVoter: boolean,
): void {
  if (!isVoter && !OBSERVER_STATES.has(to.kind)) {
    throw new IllegalStateError(`an observer cannot become ${to.kind}`);
  }
  const edge = TRANSITIONS[from.kind][to.kind];
  if (edge === undefined) {
    throw new IllegalStateError(`illegal transition ${from.kind}(epoch ${from.epoch}) -> ${to.kind}(epoch ${to.epoch})`);
  }
  if (!epochOk(edge.epoch, from.epoch, to.epoch)) {
    throw new IllegalStateError(
      `illegal transition ${from.kind}(epoch ${from.epoch}) -> ${to.kind}(epoch ${to.epoch}): epoch must be ${edge.epoch}`,
    );
  }
}

/** No leader known; may have voted in this epoch. Voters run an election when the timer expires. */
export interface UnattachedState {
  readonly kind: 'Unattached';
  readonly epoch: number;
  readonly votedId: number | null;
  /** Tick at which a voter starts a pre-vote (Infinity for observers). */
  electionDeadline: number;
}

/** Asking for pre-votes (KIP-996) at the current epoch, without bumping it. */
export interface ProspectiveState {
  readonly kind: 'Prospective';
  readonly epoch: number;
  readonly votedId: number | null;
  /** The leader of this epoch, if one was known (then losing the pre-vote resumes following it). */
  readonly leaderId: number | null;
  readonly granted: Set<number>;
  readonly rejected: Set<number>;
  electionDeadline: number;
}

/** Asking for votes in its own, bumped epoch (it voted for itself). */
export interface CandidateState {
  readonly kind: 'Candidate';
  readonly epoch: number;
  readonly granted: Set<number>;
  readonly rejected: Set<number>;
  electionDeadline: number;
}

export interface LeaderEpochState {
  readonly kind: 'Leader';
  readonly epoch: number;
  readonly leader: LeaderState;
}

/** A snapshot being downloaded from the leader, chunk by chunk. */
export interface SnapshotDownload {
  readonly id: { readonly endOffset: number; readonly epoch: number };
  readonly chunks: Uint8Array[];
  position: number;
}

export interface FollowerState {
  readonly kind: 'Follower';
  readonly epoch: number;
  readonly leaderId: number;
  readonly votedId: number | null;
  /** Tick at which, without a successful fetch, a voter becomes Prospective. */
  fetchDeadline: number;
  /** A successful fetch happened in this state (then pre-votes are refused, KIP-996). */
  hasFetchedFromLeader: boolean;
  /** Where the next fetch goes: the leader, or (observers after a timeout) any voter. */
  fetchTarget: number;
  snapshot: SnapshotDownload | null;
}

/** A former leader of this epoch: no longer serves, tells the voters with EndQuorumEpoch. */
export interface ResignedState {
  readonly kind: 'Resigned';
  readonly epoch: number;
  readonly preferredSuccessors: readonly number[];
  readonly acked: Set<number>;
  electionDeadline: number;
}

export type EpochState =
  | UnattachedState
  | ProspectiveState
  | CandidateState
  | LeaderEpochState
  | FollowerState
  | ResignedState;
