/**
 * Kafka's quorum APIs on the wire ↔ the Raft core's message bodies (`raft/messages.ts`).
 *
 * Inbound (this node serves them on its controller listener): the topic/partition nesting must
 * be exactly `__cluster_metadata` partition 0 (by name, or for Fetch v13+ by Kafka's metadata
 * topic id), else the request gets INVALID_REQUEST; a cluster id other than ours gets
 * INCONSISTENT_CLUSTER_ID (a null one is accepted, as Kafka does); a VoteRequest/
 * BeginQuorumEpochRequest addressed to another voter id gets INVALID_VOTER_KEY. These top-level
 * errors are answered here and never reach the core, so they change no state.
 *
 * Outbound (this node's core sends them to other voters): the core's bodies are wrapped with
 * our cluster id and the addressee; responses are unwrapped back into core bodies, and a
 * response that is malformed (wrong nesting, a top-level error, undecodable records) is dropped
 * with a warning: the core treats it as lost and retries after its request timeout.
 *
 * Pre-vote. Kafka 3.9's VoteRequest (v0–1) has no PreVote field; Kafka 4.0 added it as
 * VoteRequest v2 (v1's layout plus `PreVote: bool` at the end of the partition data; the
 * response is unchanged). The codec is generated from an overlay of the definition in
 * wire/generator/overlays/. Our nodes always send v2, so pre-votes travel as pre-votes; a v0/v1
 * vote request is a real vote.
 *
 * Offsets are entry offsets (see `metadata-log.ts`); a Fetch response carries one record batch
 * per entry with base offset = entry offset and partitionLeaderEpoch = entry epoch.
 */
import { ZERO_UUID, type Reader, type Writer, recordsBuffer } from '../wire/primitives.js';
import { ErrorCode } from '../wire/errors.js';
import type { BeginQuorumEpochRequest as WireBeginRequest } from '../wire/generated/messages/begin-quorum-epoch-request.js';
import type { BeginQuorumEpochResponse as WireBeginResponse } from '../wire/generated/messages/begin-quorum-epoch-response.js';
import type { EndQuorumEpochRequest as WireEndRequest } from '../wire/generated/messages/end-quorum-epoch-request.js';
import type { EndQuorumEpochResponse as WireEndResponse } from '../wire/generated/messages/end-quorum-epoch-response.js';
import type { FetchRequest as WireFetchRequest } from '../wire/generated/messages/fetch-request.js';
import type { FetchResponse as WireFetchResponse } from '../wire/generated/messages/fetch-response.js';
import type { FetchSnapshotRequest as WireFetchSnapshotRequest } from '../wire/generated/messages/fetch-snapshot-request.js';
import type { FetchSnapshotResponse as WireFetchSnapshotResponse } from '../wire/generated/messages/fetch-snapshot-response.js';
import {
  decodeVoteResponse,
  encodeVoteResponse,
  type VoteResponse as WireVoteResponse,
} from '../wire/generated/messages/vote-response.js';
import { decodeVoteRequest, encodeVoteRequest, type VoteRequest as WireVoteRequestGenerated } from '../wire/generated/messages/vote-request.js';
import { scanBatches } from '../wire/record-batch.js';
import { batchToEntry, entryToBatch } from './entry-codec.js';
import { METADATA_PARTITION, METADATA_TOPIC_ID, METADATA_TOPIC_NAME } from './metadata-log.js';
import type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  Entry,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  VoteRequest,
  VoteResponse,
} from './raft/index.js';

/** The versions this node sends. */
export const RAFT_API_VERSIONS = {
  vote: 2,
  beginQuorumEpoch: 1,
  endQuorumEpoch: 1,
  fetch: 17,
  fetchSnapshot: 1,
  describeQuorum: 2,
} as const;

/** The highest VoteRequest version served (v2 = Kafka 4.0's, with PreVote). */
export const VOTE_MAX_VERSION = 2;

export type Inbound<B> =
  | { readonly ok: true; readonly from: number; readonly body: B }
  | { readonly ok: false; readonly errorCode: ErrorCode; readonly message: string };

const reject = (errorCode: ErrorCode, message: string): { ok: false; errorCode: ErrorCode; message: string } => ({ ok: false, errorCode, message });

function checkClusterId(clusterId: string | null | undefined, ours: string): { ok: false; errorCode: ErrorCode; message: string } | null {
  if (clusterId == null || clusterId === ours) return null;
  return reject(ErrorCode.INCONSISTENT_CLUSTER_ID, `cluster id ${clusterId} is not this cluster's (${ours})`);
}

/** The single partition of a well-addressed quorum request, or null. */
function onlyPartition<P>(topics: ReadonlyArray<{ readonly partitions: readonly P[] }>, topicOk: (i: number) => boolean, index: (p: P) => number): P | null {
  if (topics.length !== 1 || !topicOk(0)) return null;
  const parts = topics[0]!.partitions;
  if (parts.length !== 1 || index(parts[0]!) !== METADATA_PARTITION) return null;
  return parts[0]!;
}

const nullable = (id: number): number | null => (id < 0 ? null : id);
const orMinusOne = (id: number | null): number => id ?? -1;

// ---------------------------------------------------------------- Vote

export type WireVoteRequest = WireVoteRequestGenerated;

/** VoteRequest v0–v2, with the generated codec (v2 comes from the Kafka 4.0 overlay in wire/generator/overlays). */
export function decodeVoteRequestV0to2(r: Reader, version: number): WireVoteRequest {
  return decodeVoteRequest(r, version);
}

export function encodeVoteRequestV0to2(w: Writer, version: number, m: WireVoteRequest): void {
  encodeVoteRequest(w, version, m);
}

export function decodeVoteResponseV0to2(r: Reader, version: number): WireVoteResponse {
  return decodeVoteResponse(r, version);
}

export function encodeVoteResponseV0to2(w: Writer, version: number, m: WireVoteResponse): void {
  encodeVoteResponse(w, version, m);
}

export function inboundVote(req: WireVoteRequest, clusterId: string, nodeId: number): Inbound<VoteRequest> {
  const bad = checkClusterId(req.clusterId, clusterId);
  if (bad) return bad;
  const p = onlyPartition(req.topics, (i) => req.topics[i]!.topicName === METADATA_TOPIC_NAME, (x) => x.partitionIndex);
  if (p === null) return reject(ErrorCode.INVALID_REQUEST, `a vote request must address ${METADATA_TOPIC_NAME}-${METADATA_PARTITION} only`);
  if (req.voterId !== undefined && req.voterId >= 0 && req.voterId !== nodeId) {
    return reject(ErrorCode.INVALID_VOTER_KEY, `vote request for voter ${req.voterId} reached node ${nodeId}`);
  }
  return {
    ok: true,
    from: p.candidateId,
    body: {
      type: 'VoteRequest',
      candidateEpoch: p.candidateEpoch,
      candidateId: p.candidateId,
      lastOffsetEpoch: p.lastOffsetEpoch,
      lastOffset: safeNumber(p.lastOffset),
      preVote: p.preVote ?? false,
    },
  };
}

export function voteResponseToWire(b: VoteResponse | { errorCode: ErrorCode }): WireVoteResponse {
  if (!('type' in b)) return { errorCode: b.errorCode, topics: [], nodeEndpoints: [] };
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [{ partitionIndex: METADATA_PARTITION, errorCode: b.errorCode, leaderId: orMinusOne(b.leaderId), leaderEpoch: b.leaderEpoch, voteGranted: b.voteGranted }],
      },
    ],
    nodeEndpoints: [],
  };
}

export function voteRequestToWire(b: VoteRequest, clusterId: string, to: number): WireVoteRequest {
  return {
    clusterId,
    voterId: to,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            candidateEpoch: b.candidateEpoch,
            candidateId: b.candidateId,
            candidateDirectoryId: ZERO_UUID,
            voterDirectoryId: ZERO_UUID,
            lastOffsetEpoch: b.lastOffsetEpoch,
            lastOffset: BigInt(b.lastOffset),
            preVote: b.preVote,
          },
        ],
      },
    ],
  };
}

export function voteResponseFromWire(r: WireVoteResponse): VoteResponse | string {
  if (r.errorCode !== ErrorCode.NONE) return `top-level error ${r.errorCode}`;
  const p = onlyPartition(r.topics, (i) => r.topics[i]!.topicName === METADATA_TOPIC_NAME, (x) => x.partitionIndex);
  if (p === null) return 'not addressed to the metadata partition';
  return { type: 'VoteResponse', errorCode: p.errorCode, leaderId: nullable(p.leaderId), leaderEpoch: p.leaderEpoch, voteGranted: p.voteGranted };
}

// ---------------------------------------------------------------- BeginQuorumEpoch / EndQuorumEpoch

export function inboundBeginQuorumEpoch(req: WireBeginRequest, clusterId: string, nodeId: number): Inbound<BeginQuorumEpochRequest> {
  const bad = checkClusterId(req.clusterId, clusterId);
  if (bad) return bad;
  const p = onlyPartition(req.topics, (i) => req.topics[i]!.topicName === METADATA_TOPIC_NAME, (x) => x.partitionIndex);
  if (p === null) return reject(ErrorCode.INVALID_REQUEST, `BeginQuorumEpoch must address ${METADATA_TOPIC_NAME}-${METADATA_PARTITION} only`);
  if (req.voterId !== undefined && req.voterId >= 0 && req.voterId !== nodeId) {
    return reject(ErrorCode.INVALID_VOTER_KEY, `BeginQuorumEpoch for voter ${req.voterId} reached node ${nodeId}`);
  }
  return { ok: true, from: p.leaderId, body: { type: 'BeginQuorumEpochRequest', leaderId: p.leaderId, leaderEpoch: p.leaderEpoch } };
}

export function beginQuorumEpochResponseToWire(b: BeginQuorumEpochResponse | { errorCode: ErrorCode }): WireBeginResponse {
  if (!('type' in b)) return { errorCode: b.errorCode, topics: [], nodeEndpoints: [] };
  return {
    errorCode: ErrorCode.NONE,
    topics: [{ topicName: METADATA_TOPIC_NAME, partitions: [{ partitionIndex: METADATA_PARTITION, errorCode: b.errorCode, leaderId: orMinusOne(b.leaderId), leaderEpoch: b.leaderEpoch }] }],
    nodeEndpoints: [],
  };
}

export function beginQuorumEpochRequestToWire(
  b: BeginQuorumEpochRequest,
  clusterId: string,
  to: number,
  endpoints: WireBeginRequest['leaderEndpoints'],
): WireBeginRequest {
  return {
    clusterId,
    voterId: to,
    topics: [{ topicName: METADATA_TOPIC_NAME, partitions: [{ partitionIndex: METADATA_PARTITION, voterDirectoryId: ZERO_UUID, leaderId: b.leaderId, leaderEpoch: b.leaderEpoch }] }],
    leaderEndpoints: endpoints ?? [],
  };
}

export function beginQuorumEpochResponseFromWire(r: WireBeginResponse): BeginQuorumEpochResponse | string {
  if (r.errorCode !== ErrorCode.NONE) return `top-level error ${r.errorCode}`;
  const p = onlyPartition(r.topics, (i) => r.topics[i]!.topicName === METADATA_TOPIC_NAME, (x) => x.partitionIndex);
  if (p === null) return 'not addressed to the metadata partition';
  return { type: 'BeginQuorumEpochResponse', errorCode: p.errorCode, leaderId: nullable(p.leaderId), leaderEpoch: p.leaderEpoch };
}

export function inboundEndQuorumEpoch(req: WireEndRequest, clusterId: string): Inbound<EndQuorumEpochRequest> {
  const bad = checkClusterId(req.clusterId, clusterId);
  if (bad) return bad;
  const p = onlyPartition(req.topics, (i) => req.topics[i]!.topicName === METADATA_TOPIC_NAME, (x) => x.partitionIndex);
  if (p === null) return reject(ErrorCode.INVALID_REQUEST, `EndQuorumEpoch must address ${METADATA_TOPIC_NAME}-${METADATA_PARTITION} only`);
  const successors = p.preferredCandidates !== undefined && p.preferredCandidates.length > 0
    ? p.preferredCandidates.map((c) => c.candidateId)
    : (p.preferredSuccessors ?? []);
  return { ok: true, from: p.leaderId, body: { type: 'EndQuorumEpochRequest', leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, preferredSuccessors: successors } };
}

export function endQuorumEpochResponseToWire(b: EndQuorumEpochResponse | { errorCode: ErrorCode }): WireEndResponse {
  if (!('type' in b)) return { errorCode: b.errorCode, topics: [], nodeEndpoints: [] };
  return {
    errorCode: ErrorCode.NONE,
    topics: [{ topicName: METADATA_TOPIC_NAME, partitions: [{ partitionIndex: METADATA_PARTITION, errorCode: b.errorCode, leaderId: orMinusOne(b.leaderId), leaderEpoch: b.leaderEpoch }] }],
    nodeEndpoints: [],
  };
}

export function endQuorumEpochRequestToWire(b: EndQuorumEpochRequest, clusterId: string, endpoints: WireEndRequest['leaderEndpoints']): WireEndRequest {
  return {
    clusterId,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            leaderId: b.leaderId,
            leaderEpoch: b.leaderEpoch,
            preferredSuccessors: [...b.preferredSuccessors],
            preferredCandidates: b.preferredSuccessors.map((candidateId) => ({ candidateId, candidateDirectoryId: ZERO_UUID })),
          },
        ],
      },
    ],
    leaderEndpoints: endpoints ?? [],
  };
}

export function endQuorumEpochResponseFromWire(r: WireEndResponse): EndQuorumEpochResponse | string {
  if (r.errorCode !== ErrorCode.NONE) return `top-level error ${r.errorCode}`;
  const p = onlyPartition(r.topics, (i) => r.topics[i]!.topicName === METADATA_TOPIC_NAME, (x) => x.partitionIndex);
  if (p === null) return 'not addressed to the metadata partition';
  return { type: 'EndQuorumEpochResponse', errorCode: p.errorCode, leaderId: nullable(p.leaderId), leaderEpoch: p.leaderEpoch };
}

// ---------------------------------------------------------------- Fetch

function isMetadataTopic(t: { topic?: string; topicId?: string }, version: number): boolean {
  return version >= 13 ? t.topicId === METADATA_TOPIC_ID : t.topic === METADATA_TOPIC_NAME;
}

export function inboundFetch(req: WireFetchRequest, version: number, clusterId: string, msToTicks: (ms: number) => number): Inbound<FetchRequest> {
  const bad = checkClusterId(req.clusterId, clusterId);
  if (bad) return bad;
  const p = onlyPartition(req.topics, (i) => isMetadataTopic(req.topics[i]!, version), (x) => x.partition);
  if (p === null) return reject(ErrorCode.INVALID_REQUEST, `the controller listener serves fetches of ${METADATA_TOPIC_NAME}-${METADATA_PARTITION} only`);
  const replicaId = version >= 15 ? (req.replicaState?.replicaId ?? -1) : (req.replicaId ?? -1);
  return {
    ok: true,
    from: replicaId,
    body: {
      type: 'FetchRequest',
      replicaId,
      maxWaitTicks: Math.max(0, msToTicks(req.maxWaitMs)),
      maxBytes: p.partitionMaxBytes,
      currentLeaderEpoch: p.currentLeaderEpoch ?? -1,
      fetchOffset: safeNumber(p.fetchOffset),
      lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
      logStartOffset: safeNumber(p.logStartOffset ?? -1n),
    },
  };
}

export function fetchResponseToWire(b: FetchResponse | { errorCode: ErrorCode }, version: number, nowMs: number): WireFetchResponse {
  const topic = version >= 13 ? { topicId: METADATA_TOPIC_ID, topic: '' } : { topic: METADATA_TOPIC_NAME, topicId: ZERO_UUID };
  if (!('type' in b)) return { throttleTimeMs: 0, errorCode: b.errorCode, sessionId: 0, responses: [], nodeEndpoints: [] };
  const records = b.entries.length === 0 ? Buffer.alloc(0) : Buffer.concat(b.entries.map((e) => entryToBatch(e, e.offset, nowMs)));
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: 0,
    responses: [
      {
        ...topic,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            errorCode: b.errorCode,
            highWatermark: BigInt(b.highWatermark),
            lastStableOffset: -1n,
            logStartOffset: BigInt(b.logStartOffset),
            divergingEpoch: b.divergingEpoch === null ? { epoch: -1, endOffset: -1n } : { epoch: b.divergingEpoch.epoch, endOffset: BigInt(b.divergingEpoch.endOffset) },
            currentLeader: { leaderId: orMinusOne(b.currentLeader.leaderId), leaderEpoch: b.currentLeader.leaderEpoch },
            snapshotId: b.snapshotId === null ? { endOffset: -1n, epoch: -1 } : { endOffset: BigInt(b.snapshotId.endOffset), epoch: b.snapshotId.epoch },
            abortedTransactions: null,
            preferredReadReplica: -1,
            records,
          },
        ],
      },
    ],
    nodeEndpoints: [],
  };
}

export function fetchRequestToWire(b: FetchRequest, clusterId: string, tickMs: number): WireFetchRequest {
  return {
    clusterId,
    replicaId: b.replicaId,
    replicaState: { replicaId: b.replicaId, replicaEpoch: -1n },
    maxWaitMs: b.maxWaitTicks * tickMs,
    minBytes: 0,
    maxBytes: 0x7fffffff,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: METADATA_TOPIC_NAME,
        topicId: METADATA_TOPIC_ID,
        partitions: [
          {
            partition: METADATA_PARTITION,
            currentLeaderEpoch: b.currentLeaderEpoch,
            fetchOffset: BigInt(b.fetchOffset),
            lastFetchedEpoch: b.lastFetchedEpoch,
            logStartOffset: BigInt(b.logStartOffset),
            partitionMaxBytes: b.maxBytes,
            replicaDirectoryId: ZERO_UUID,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

/**
 * The core's FetchResponse, with every batch checked (CRC, a LEADER_CHANGE or decodable
 * metadata records, consecutive entry offsets); a string says why the response is dropped.
 */
export function fetchResponseFromWire(r: WireFetchResponse, version: number): FetchResponse | string {
  if ((r.errorCode ?? 0) !== ErrorCode.NONE) return `top-level error ${r.errorCode}`;
  const p = onlyPartition(r.responses, (i) => isMetadataTopic(r.responses[i]!, version), (x) => x.partitionIndex);
  if (p === null) return 'not addressed to the metadata partition';
  const entries: Entry[] = [];
  const records = recordsBuffer(p.records) ?? Buffer.alloc(0);
  if (records.length > 0) {
    const scan = scanBatches(records);
    if (scan.error !== null) return `corrupt records: ${scan.message ?? scan.error}`;
    for (const { pos, header } of scan.batches) {
      const offset = header.baseOffset;
      const prev = entries[entries.length - 1];
      if (prev !== undefined && offset !== prev.offset + 1) return `entry ${offset} does not follow entry ${prev.offset}`;
      try {
        entries.push(batchToEntry(records, pos, offset).entry);
      } catch (err) {
        return (err as Error).message;
      }
    }
  }
  const de = p.divergingEpoch;
  const sid = p.snapshotId;
  const cl = p.currentLeader;
  return {
    type: 'FetchResponse',
    errorCode: p.errorCode,
    highWatermark: safeNumber(p.highWatermark),
    logStartOffset: safeNumber(p.logStartOffset ?? -1n),
    divergingEpoch: de !== undefined && de.epoch >= 0 && de.endOffset >= 0n ? { epoch: de.epoch, endOffset: safeNumber(de.endOffset) } : null,
    currentLeader: { leaderId: nullable(cl?.leaderId ?? -1), leaderEpoch: cl?.leaderEpoch ?? -1 },
    snapshotId: sid !== undefined && sid.epoch >= 0 && sid.endOffset >= 0n ? { endOffset: safeNumber(sid.endOffset), epoch: sid.epoch } : null,
    entries,
  };
}

// ---------------------------------------------------------------- FetchSnapshot

export function inboundFetchSnapshot(req: WireFetchSnapshotRequest, clusterId: string): Inbound<FetchSnapshotRequest> {
  const bad = checkClusterId(req.clusterId, clusterId);
  if (bad) return bad;
  const p = onlyPartition(req.topics, (i) => req.topics[i]!.name === METADATA_TOPIC_NAME, (x) => x.partition);
  if (p === null) return reject(ErrorCode.INVALID_REQUEST, `FetchSnapshot must address ${METADATA_TOPIC_NAME}-${METADATA_PARTITION} only`);
  return {
    ok: true,
    from: req.replicaId,
    body: {
      type: 'FetchSnapshotRequest',
      replicaId: req.replicaId,
      maxBytes: req.maxBytes,
      currentLeaderEpoch: p.currentLeaderEpoch,
      snapshotId: { endOffset: safeNumber(p.snapshotId.endOffset), epoch: p.snapshotId.epoch },
      position: safeNumber(p.position),
    },
  };
}

export function fetchSnapshotResponseToWire(b: FetchSnapshotResponse | { errorCode: ErrorCode }): WireFetchSnapshotResponse {
  if (!('type' in b)) return { throttleTimeMs: 0, errorCode: b.errorCode, topics: [], nodeEndpoints: [] };
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    topics: [
      {
        name: METADATA_TOPIC_NAME,
        partitions: [
          {
            index: METADATA_PARTITION,
            errorCode: b.errorCode,
            snapshotId: { endOffset: BigInt(b.snapshotId.endOffset), epoch: b.snapshotId.epoch },
            currentLeader: { leaderId: orMinusOne(b.currentLeader.leaderId), leaderEpoch: b.currentLeader.leaderEpoch },
            size: BigInt(b.size),
            position: BigInt(b.position),
            unalignedRecords: Buffer.from(b.chunk.buffer, b.chunk.byteOffset, b.chunk.byteLength),
          },
        ],
      },
    ],
    nodeEndpoints: [],
  };
}

export function fetchSnapshotRequestToWire(b: FetchSnapshotRequest, clusterId: string): WireFetchSnapshotRequest {
  return {
    clusterId,
    replicaId: b.replicaId,
    maxBytes: b.maxBytes,
    topics: [
      {
        name: METADATA_TOPIC_NAME,
        partitions: [
          {
            partition: METADATA_PARTITION,
            currentLeaderEpoch: b.currentLeaderEpoch,
            snapshotId: { endOffset: BigInt(b.snapshotId.endOffset), epoch: b.snapshotId.epoch },
            position: BigInt(b.position),
            replicaDirectoryId: ZERO_UUID,
          },
        ],
      },
    ],
  };
}

export function fetchSnapshotResponseFromWire(r: WireFetchSnapshotResponse): FetchSnapshotResponse | string {
  if (r.errorCode !== ErrorCode.NONE) return `top-level error ${r.errorCode}`;
  const p = onlyPartition(r.topics, (i) => r.topics[i]!.name === METADATA_TOPIC_NAME, (x) => x.index);
  if (p === null) return 'not addressed to the metadata partition';
  const cl = p.currentLeader;
  return {
    type: 'FetchSnapshotResponse',
    errorCode: p.errorCode,
    snapshotId: { endOffset: safeNumber(p.snapshotId.endOffset), epoch: p.snapshotId.epoch },
    currentLeader: { leaderId: nullable(cl?.leaderId ?? -1), leaderEpoch: cl?.leaderEpoch ?? -1 },
    size: safeNumber(p.size),
    position: safeNumber(p.position),
    chunk: recordsBuffer(p.unalignedRecords) ?? Buffer.alloc(0),
  };
}

/** A wire int64 as a JS number (values beyond 2^53 saturate; no metadata log gets there). */
export function safeNumber(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}
