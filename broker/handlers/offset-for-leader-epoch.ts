// OffsetForLeaderEpoch (key 23): v0–v4
// Behaviour: per partition, where the requested leader epoch ended on this broker's log: the
// largest epoch ≤ the requested one and the start offset of the next epoch, or the log end
// offset for the current epoch; -1/-1 when the leader epoch cache cannot tell (Kafka's
// Partition.lastOffsetForLeaderEpoch over LeaderEpochFileCache.endOffsetFor). Followers use it
// to find where their log diverged, consumers to detect truncation after a leader change.
// Checks in Kafka's order: a log dir that failed ⇒ KAFKA_STORAGE_ERROR; `currentLeaderEpoch`
// (v2+, -1 = not given) lower than ours ⇒ FENCED_LEADER_EPOCH, higher ⇒ UNKNOWN_LEADER_EPOCH;
// then only the leader answers (NOT_LEADER_OR_FOLLOWER): Kafka 3.x serves it from the leader
// for every replica id, consumers, followers and the debugging id alike. A partition the
// metadata knows but this broker does not host ⇒ NOT_LEADER_OR_FOLLOWER, else
// UNKNOWN_TOPIC_OR_PARTITION. v0 answers carry no epoch.
import { ApiKey } from '../../wire/generated/api.js';
import type { OffsetForLeaderEpochRequest } from '../../wire/generated/messages/offset-for-leader-epoch-request.js';
import type { OffsetForLeaderEpochResponse } from '../../wire/generated/messages/offset-for-leader-epoch-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { specVersions } from './versions.js';

type EpochEndOffset = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number];
type PartitionRequest = OffsetForLeaderEpochRequest['topics'][number]['partitions'][number];

/** RecordBatch.NO_PARTITION_LEADER_EPOCH: the client did not say which epoch it knows. */
const NO_PARTITION_LEADER_EPOCH = -1;

function errorPartition(partition: number, errorCode: number): EpochEndOffset {
  return { errorCode, partition, leaderEpoch: -1, endOffset: -1n };
}

function answerPartition(ctx: RequestContext, topic: string, p: PartitionRequest): EpochEndOffset {
  const hosted = ctx.services.replicaManager.getPartition(topic, p.partition);
  if (hosted === undefined) {
    const known = ctx.services.image().partition(topic, p.partition) !== undefined;
    return errorPartition(p.partition, known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  if (hosted.log.offlineError !== null) return errorPartition(p.partition, ErrorCode.KAFKA_STORAGE_ERROR);
  const current = p.currentLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH;
  if (current !== NO_PARTITION_LEADER_EPOCH) {
    if (current < hosted.leaderEpoch) return errorPartition(p.partition, ErrorCode.FENCED_LEADER_EPOCH);
    if (current > hosted.leaderEpoch) return errorPartition(p.partition, ErrorCode.UNKNOWN_LEADER_EPOCH);
  }
  if (!hosted.isLeader) return errorPartition(p.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  const found = hosted.log.endOffsetForEpoch(p.leaderEpoch);
  return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: found.epoch, endOffset: BigInt(found.endOffset) };
}

export const offsetForLeaderEpoch = defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  apiKey: ApiKey.OffsetForLeaderEpoch,
  name: 'OffsetForLeaderEpoch',
  ...specVersions(ApiKey.OffsetForLeaderEpoch),
  handle(ctx, req) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => answerPartition(ctx, t.topic, p)) })),
    };
  },
  errorResponse(req, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => errorPartition(p.partition, errorCode)) })),
    };
  },
});
