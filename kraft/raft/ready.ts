/**
 * The core's output (etcd's `Ready`) and its introspection types.
 *
 * A driver loop:
 *
 *   while (core.hasReady()) {
 *     const rd = core.ready();
 *     persist rd.hardState (if not null), then rd's log changes in storage order
 *       (snapshot, truncateTo, entries, compaction) and fsync;     // BEFORE sending
 *     send rd.messages;
 *     if (rd.snapshot) load the state machine from rd.snapshot.data;
 *     apply rd.committed in order (skip `leader-change` entries);
 *     core.advance();
 *   }
 *
 * Nothing in a Ready may be sent before everything in it is durable: a vote, a fetch offset or a
 * leader's epoch all promise durable state. `committed` entries may be in this Ready's own
 * `entries` (hence apply after persisting). `highWatermark` is informational (the committed
 * entries already reflect it); it never decreases.
 */
import type { RaftMessage } from './messages.js';
import type { StateKind } from './state.js';
import type { LogChanges } from './storage.js';
import type { Entry, HardState, Snapshot } from './types.js';

export interface RoleInfo {
  readonly kind: StateKind;
  readonly epoch: number;
  readonly leaderId: number | null;
}

export interface Ready extends LogChanges {
  /** Persist if not null (Kafka's quorum-state file). */
  readonly hardState: HardState | null;
  /** A snapshot fetched from the leader: persist it as the new log start and load it. */
  readonly snapshot: Snapshot | null;
  readonly truncateTo: number | null;
  readonly entries: readonly Entry[];
  /** The application's own snapshot (`takeSnapshot`): persist it, drop the entries below it. */
  readonly compaction: Snapshot | null;
  readonly messages: readonly RaftMessage[];
  /** The new local high watermark, if it moved. */
  readonly highWatermark: number | null;
  /** Committed entries to apply, in offset order. */
  readonly committed: readonly Entry[];
  /** The new role, if it changed. */
  readonly role: RoleInfo | null;
}

export interface ReplicaStatus {
  readonly id: number;
  readonly endOffset: number | null;
  readonly lastFetchTick: number | null;
}

/** A snapshot of the core's state (for tests, metrics and DescribeQuorum). */
export interface RaftStatus {
  readonly nodeId: number;
  readonly isVoter: boolean;
  readonly kind: StateKind;
  readonly epoch: number;
  readonly leaderId: number | null;
  readonly votedId: number | null;
  /** The local high watermark (committed end offset known to this node). */
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly lastEpoch: number;
  /** Next offset to hand out as committed. */
  readonly appliedOffset: number;
  readonly tick: number;
  readonly leader: {
    readonly epochStartOffset: number;
    /** Established high watermark of this epoch (null before the first commit). */
    readonly highWatermark: number | null;
    readonly voters: readonly ReplicaStatus[];
    readonly observers: readonly ReplicaStatus[];
  } | null;
}
