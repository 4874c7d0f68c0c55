/**
 * What a leader tracks during its epoch (Kafka's `LeaderState`): each replica's fetched end
 * offset, the high watermark, check-quorum (when each voter last fetched), which voters
 * acknowledged the new epoch, and fetches parked until there is something to answer (long poll).
 *
 * High watermark (KRaft's rule): the largest end offset reached by a majority of the voters (the
 * leader counts with its durable end), and only once that offset is past `epochStartOffset`,
 * i.e. once the leader's LeaderChange record of this epoch is committed. Before that the leader
 * exposes no high watermark (-1 in fetch responses). It never decreases within the epoch.
 * Observers are tracked for DescribeQuorum but never count.
 */
import type { FetchRequest, RaftMessage } from './messages.js';
import { majority, majorityEndOffset } from './quorum.js';

export interface ReplicaState {
  /** The end offset this replica has durably replicated (its last valid fetch offset). */
  endOffset: number | null;
  lastFetchTick: number | null;
  /** The high watermark last sent to this replica (a fetch behind it is answered at once). */
  lastSentHighWatermark: number;
}

export interface ParkedFetch {
  readonly request: RaftMessage<FetchRequest>;
  readonly deadline: number;
}

export class LeaderState {
  readonly voters = new Map<number, ReplicaState>();
  readonly observers = new Map<number, ReplicaState>();
  /** The high watermark established in this epoch (null until the epoch's first commit). */
  highWatermark: number | null = null;
  /** Voters that answered BeginQuorumEpoch or fetched in this epoch. */
  readonly acknowledged = new Set<number>();
  readonly parked = new Map<number, ParkedFetch>();
  readonly grantingVoters: readonly number[];
  /** Last tick each other voter fetched (the epoch start counts as contact). */
  private readonly lastContact = new Map<number, number>();

  constructor(
    readonly localId: number,
    voterIds: readonly number[],
    grantingVoters: readonly number[],
    readonly epochStartOffset: number,
    now: number,
    private readonly checkQuorumTimeout: number,
  ) {
    for (const id of voterIds) this.voters.set(id, { endOffset: null, lastFetchTick: null, lastSentHighWatermark: -1 });
    this.grantingVoters = grantingVoters;
    this.acknowledged.add(localId);
    for (const id of voterIds) if (id !== localId) this.lastContact.set(id, now);
  }

  /** The leader's own durable end offset moved. Returns true if the high watermark moved. */
  updateLocalEnd(endOffset: number): boolean {
    const self = this.voters.get(this.localId)!;
    if (self.endOffset === null || endOffset > self.endOffset) self.endOffset = endOffset;
    return this.maybeUpdateHighWatermark();
  }

  /**
   * A replica fetched validly from `endOffset`. Within an epoch a replica's matching prefix only
   * grows, so a smaller offset (a late or duplicated fetch) changes nothing.
   * Returns true if the high watermark moved.
   */
  updateReplica(id: number, endOffset: number, now: number): boolean {
    const isVoter = this.voters.has(id);
    const r = this.replica(id);
    r.lastFetchTick = now;
    if (r.endOffset === null || endOffset > r.endOffset) r.endOffset = endOffset;
    return isVoter && this.maybeUpdateHighWatermark();
  }

  /** The state of replica `id` (an observer is added on first sight). */
  replica(id: number): ReplicaState {
    let r = this.voters.get(id) ?? this.observers.get(id);
    if (r === undefined) {
      r = { endOffset: null, lastFetchTick: null, lastSentHighWatermark: -1 };
      this.observers.set(id, r);
    }
    return r;
  }

  private maybeUpdateHighWatermark(): boolean {
    const candidate = majorityEndOffset([...this.voters.values()].map((r) => r.endOffset));
    if (candidate === null || candidate <= this.epochStartOffset) return false;
    if (this.highWatermark === null || candidate > this.highWatermark) {
      this.highWatermark = candidate;
      return true;
    }
    return false;
  }

  /** A voter fetched (or fetched a snapshot) in this epoch: it counts for check-quorum. */
  recordVoterContact(id: number, now: number): void {
    if (id === this.localId || !this.voters.has(id)) return;
    this.acknowledged.add(id);
    this.lastContact.set(id, now);
  }

  /**
   * Check-quorum: fewer than a majority of voters (the leader included) fetched within the last
   * `checkQuorumTimeout` ticks. Never for a single voter. (Kafka's LeaderState resets a timer
   * once the voters that fetched since the last reset form a majority; fetches from voters that
   * were never reachable at the same time can add up there, so a leader cut off from its
   * majority may last up to twice the timeout. This sliding window bounds it by the timeout.)
   */
  checkQuorumExpired(now: number): boolean {
    if (this.voters.size <= 1) return false;
    let heard = 1;
    for (const t of this.lastContact.values()) if (now - t < this.checkQuorumTimeout) heard++;
    return heard < majority(this.voters.size);
  }

  /** Other voters, most caught up first (the preferred successors when resigning). */
  votersByDescendingEndOffset(): number[] {
    return [...this.voters.entries()]
      .filter(([id]) => id !== this.localId)
      .sort(([ia, a], [ib, b]) => (b.endOffset ?? -1) - (a.endOffset ?? -1) || ia - ib)
      .map(([id]) => id);
  }
}
