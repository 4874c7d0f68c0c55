// TxnOffsetCommit (key 28): v0–v4
// Behaviour: offsets committed inside a transaction: the group's `__consumer_offsets` partition
// must be in the producer's open transaction (AddOffsetsToTxn first; checked with the
// transaction coordinator, KIP-890: INVALID_TXN_STATE otherwise), then the offsets are written
// as a transactional batch of the producer and stay pending until the transaction's marker:
// COMMIT makes them the group's committed offsets, ABORT drops them. v3+ members are checked
// like OffsetCommit (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID). Per partition:
// UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist, OFFSET_METADATA_TOO_LARGE.
// A stale producer epoch: INVALID_PRODUCER_EPOCH (the log refuses the batch).
// Not implemented: ACLs.
import { ApiKey } from '../../wire/generated/api.js';
import type { TxnOffsetCommitRequest } from '../../wire/generated/messages/txn-offset-commit-request.js';
import type { TxnOffsetCommitResponse } from '../../wire/generated/messages/txn-offset-commit-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { GROUP_METADATA_TOPIC } from '../coordinator/internal-topics.js';
import { partitionFor } from '../group/offsets-topic.js';
import { defineHandler } from '../handler.js';
import { fencedForVersion } from './txn-common.js';
import { specVersions } from './versions.js';

function allFailed(req: TxnOffsetCommitRequest, errorCode: number): TxnOffsetCommitResponse {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
  };
}

/** A verification answer as TxnOffsetCommit reports it: transient coordinator errors are retriable. */
function verificationError(error: number): number {
  switch (error) {
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
      return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    default:
      return error;
  }
}

export const txnOffsetCommit = defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  apiKey: ApiKey.TxnOffsetCommit,
  name: 'TxnOffsetCommit',
  ...specVersions(ApiKey.TxnOffsetCommit),
  async handle(ctx, req) {
    const { services } = ctx;
    const v = ctx.apiVersion;
    if (req.transactionalId === '') return allFailed(req, ErrorCode.INVALID_REQUEST);
    if (req.groupId === '') return allFailed(req, ErrorCode.INVALID_GROUP_ID);
    const image = services.image();
    const offsetsTopic = image.topicByName(GROUP_METADATA_TOPIC);
    if (!offsetsTopic) return allFailed(req, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const producerId = Number(req.producerId);
    const verified = verificationError(
      await services.txnCoordinator.verifyPartition(req.transactionalId, producerId, req.producerEpoch, GROUP_METADATA_TOPIC, partitionFor(req.groupId, offsetsTopic.partitions.size)),
    );
    if (verified !== ErrorCode.NONE) return allFailed(req, verified);
    const errors = new Map<string, number>();
    const valid: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }> }> = [];
    for (const t of req.topics) {
      const topic = image.topicByName(t.name);
      const partitions = [];
      for (const p of t.partitions) {
        if (!topic || !topic.partitions.has(p.partitionIndex)) {
          errors.set(`${t.name}\u0000${p.partitionIndex}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          continue;
        }
        partitions.push({ partitionIndex: p.partitionIndex, committedOffset: Number(p.committedOffset), committedLeaderEpoch: p.committedLeaderEpoch ?? -1, committedMetadata: p.committedMetadata });
      }
      if (partitions.length > 0) valid.push({ name: t.name, partitions });
    }
    if (valid.length > 0) {
      const results = await services.groupCoordinator.coordinator.commitTxnOffsets({
        groupId: req.groupId,
        producerId,
        producerEpoch: req.producerEpoch,
        generationId: req.generationId ?? -1,
        memberId: req.memberId ?? '',
        groupInstanceId: req.groupInstanceId ?? null,
        topics: valid,
      });
      for (const t of results) for (const p of t.partitions) errors.set(`${t.name}\u0000${p.partitionIndex}`, fencedForVersion(p.errorCode, v));
    }
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${t.name}\u0000${p.partitionIndex}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR })),
      })),
    };
  },
  errorResponse(req, errorCode) {
    return allFailed(req, errorCode);
  },
});
