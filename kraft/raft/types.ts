/**
 * Value types shared by the Raft core, its log view and its messages.
 *
 * Offsets are JS numbers (the driver converts the generated codecs' `bigint` at the boundary).
 * One entry occupies one offset. Epochs start at 0; the first elected leader has epoch 1, so an
 * entry's epoch is always ≥ 1 and the empty log ends at (offset 0, epoch 0).
 */
import type { LeaderChangeMessage } from '../../wire/generated/messages/leader-change-message.js';

/** Kafka's `OffsetAndEpoch`: an end offset (exclusive) and the epoch of the entry before it. */
export interface OffsetAndEpoch {
  readonly offset: number;
  readonly epoch: number;
}

/** A snapshot's id, as in `FetchResponse.SnapshotId`: it covers offsets `< endOffset`. */
export interface SnapshotId {
  readonly endOffset: number;
  /** Epoch of the last entry the snapshot covers. */
  readonly epoch: number;
}

/** A snapshot of the application's state machine: opaque bytes, produced by the application. */
export interface Snapshot {
  readonly id: SnapshotId;
  readonly data: Uint8Array;
}

/** An application record (the payload is opaque to the core). */
export interface DataEntry {
  readonly kind: 'data';
  readonly offset: number;
  readonly epoch: number;
  readonly data: Uint8Array;
}

/**
 * The control record a new leader appends at the start of its epoch (Kafka's LEADER_CHANGE
 * control batch). The application skips it; the driver encodes it as a control batch.
 */
export interface LeaderChangeEntry {
  readonly kind: 'leader-change';
  readonly offset: number;
  readonly epoch: number;
  readonly leaderChange: LeaderChangeMessage;
}

export type Entry = DataEntry | LeaderChangeEntry;

/**
 * What must be durable before any message of the same `Ready` is sent (Kafka's `quorum-state`
 * file: leaderEpoch, votedId, leaderId). `null` ids are written as -1.
 */
export interface HardState {
  readonly epoch: number;
  readonly votedId: number | null;
  readonly leaderId: number | null;
}

/** `(bound) => integer in [0, bound)`; the core's only source of randomness. */
export type RandomInt = (bound: number) => number;

/** Size an entry counts for against a fetch's byte limit. */
export function entrySize(e: Entry): number {
  return e.kind === 'data' ? Math.max(1, e.data.length) : 16 + 4 * e.leaderChange.voters.length;
}

export function compareOffsetAndEpoch(a: OffsetAndEpoch, b: OffsetAndEpoch): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}
