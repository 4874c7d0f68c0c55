/**
 * The messages the Raft core consumes and produces. Each body is the single-partition content of
 * one Kafka quorum request or response (`wire/generated/messages/*`), field for field, so the
 * driver translates them mechanically:
 *
 * - the topic/partition nesting (`topics[0].partitions[0]`, topic `__cluster_metadata`,
 *   partition 0) and the top-level `clusterId` / top-level `errorCode` belong to the driver: it
 *   answers INCONSISTENT_CLUSTER_ID / INVALID_REQUEST for a wrong cluster or partition itself and
 *   hands the core only well-addressed requests;
 * - `null` leader ids and absent optional structs are Kafka's `-1` defaults
 *   (`leaderId: -1`, `divergingEpoch: {epoch: -1, endOffset: -1}`, `snapshotId: {-1, -1}`);
 *   `highWatermark: -1` means unknown, as in Kafka;
 * - offsets are numbers here and `bigint` in the generated structs;
 * - `entries` is the `records` field: the driver encodes one entry as one record batch whose
 *   base offset is the entry's offset and whose partition leader epoch is the entry's epoch
 *   (a `leader-change` entry as a LEADER_CHANGE control batch);
 * - `maxWaitTicks` is `maxWaitMs / tickMs`;
 * - `preVote` is VoteRequest v2's `PreVote` (KIP-996). The 3.9 schemas in this repository stop at
 *   VoteRequest v1, which has no such field; until v2 is generated the driver must not send a
 *   pre-vote to a peer that cannot carry it (our own nodes agree on the field out of band).
 *
 * `correlationId` pairs a response with its request: the core assigns it to the requests it
 * sends, echoes the request's value in its responses, and ignores a response whose id does not
 * match the request it has in flight to that node (a late, duplicated or reordered answer).
 * `from` / `to` are node ids. Responses must only be delivered to the node incarnation that sent
 * the request (a restarted node has new connections), which a TCP driver gets for free.
 */
import type { Entry, OffsetAndEpoch, SnapshotId } from './types.js';

/** VoteRequest (key 52) `PartitionData`. */
export interface VoteRequest {
  readonly type: 'VoteRequest';
  readonly candidateEpoch: number;
  readonly candidateId: number;
  /** Epoch of the candidate's last entry (its log end's epoch). */
  readonly lastOffsetEpoch: number;
  /** The candidate's log end offset (Kafka's field name says "last", the value is the end). */
  readonly lastOffset: number;
  /** A pre-vote (KIP-996): asks "would you vote for me?" without bumping any epoch. */
  readonly preVote: boolean;
}

/** VoteResponse (key 52) `PartitionData`. */
export interface VoteResponse {
  readonly type: 'VoteResponse';
  readonly errorCode: number;
  readonly leaderId: number | null;
  readonly leaderEpoch: number;
  readonly voteGranted: boolean;
}

/** BeginQuorumEpochRequest (key 53) `PartitionData`: a new leader announces itself. */
export interface BeginQuorumEpochRequest {
  readonly type: 'BeginQuorumEpochRequest';
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

/** BeginQuorumEpochResponse (key 53) `PartitionData`. */
export interface BeginQuorumEpochResponse {
  readonly type: 'BeginQuorumEpochResponse';
  readonly errorCode: number;
  readonly leaderId: number | null;
  readonly leaderEpoch: number;
}

/** EndQuorumEpochRequest (key 54) `PartitionData`: a leader resigns gracefully. */
export interface EndQuorumEpochRequest {
  readonly type: 'EndQuorumEpochRequest';
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** Voters in the order they should run for election (most caught up first). */
  readonly preferredSuccessors: readonly number[];
}

/** EndQuorumEpochResponse (key 54) `PartitionData`. */
export interface EndQuorumEpochResponse {
  readonly type: 'EndQuorumEpochResponse';
  readonly errorCode: number;
  readonly leaderId: number | null;
  readonly leaderEpoch: number;
}

/** FetchRequest (key 1) for `__cluster_metadata-0`, as a replica (`replicaId` ≥ 0) sends it. */
export interface FetchRequest {
  readonly type: 'FetchRequest';
  /** `ReplicaState.ReplicaId` (v15+) or the top-level `ReplicaId`. */
  readonly replicaId: number;
  readonly maxWaitTicks: number;
  /** `PartitionMaxBytes` (the core reads at least one entry). */
  readonly maxBytes: number;
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  readonly logStartOffset: number;
}

/** FetchResponse (key 1) `PartitionData` for `__cluster_metadata-0`. */
export interface FetchResponse {
  readonly type: 'FetchResponse';
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Set when the fetcher's log diverges: truncate to this (then fetch again). */
  readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number } | null;
  readonly currentLeader: { readonly leaderId: number | null; readonly leaderEpoch: number };
  /** Set when the fetch offset is below the log start: fetch this snapshot instead. */
  readonly snapshotId: SnapshotId | null;
  readonly entries: readonly Entry[];
}

/** FetchSnapshotRequest (key 59) `PartitionSnapshot`. */
export interface FetchSnapshotRequest {
  readonly type: 'FetchSnapshotRequest';
  readonly replicaId: number;
  readonly maxBytes: number;
  readonly currentLeaderEpoch: number;
  readonly snapshotId: SnapshotId;
  /** Byte position of the requested chunk. */
  readonly position: number;
}

/** FetchSnapshotResponse (key 59) `PartitionSnapshot`. */
export interface FetchSnapshotResponse {
  readonly type: 'FetchSnapshotResponse';
  readonly errorCode: number;
  readonly snapshotId: SnapshotId;
  readonly currentLeader: { readonly leaderId: number | null; readonly leaderEpoch: number };
  /** Total size of the snapshot in bytes. */
  readonly size: number;
  readonly position: number;
  /** `UnalignedRecords`: the chunk at `position`. */
  readonly chunk: Uint8Array;
}

export type RequestBody =
  | VoteRequest
  | BeginQuorumEpochRequest
  | EndQuorumEpochRequest
  | FetchRequest
  | FetchSnapshotRequest;

export type ResponseBody =
  | VoteResponse
  | BeginQuorumEpochResponse
  | EndQuorumEpochResponse
  | FetchResponse
  | FetchSnapshotResponse;

export type MessageBody = RequestBody | ResponseBody;

export interface RaftMessage<B extends MessageBody = MessageBody> {
  readonly from: number;
  readonly to: number;
  readonly correlationId: number;
  readonly body: B;
}

export function isRequest(body: MessageBody): body is RequestBody {
  return body.type.endsWith('Request');
}

/** The response type that answers a request type. */
export const RESPONSE_TYPE = {
  VoteRequest: 'VoteResponse',
  BeginQuorumEpochRequest: 'BeginQuorumEpochResponse',
  EndQuorumEpochRequest: 'EndQuorumEpochResponse',
  FetchRequest: 'FetchResponse',
  FetchSnapshotRequest: 'FetchSnapshotResponse',
} as const satisfies Record<RequestBody['type'], ResponseBody['type']>;

export type { OffsetAndEpoch };
