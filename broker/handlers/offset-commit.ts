// OffsetCommit (key 8): v0–v9
// Behaviour: stores committed offsets in `__consumer_offsets` (acks=-1) and answers once they
// are replicated. Members commit with their generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
// FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS while the group awaits its assignment); generation
// -1 without a member commits into an Empty or unknown ("simple") group, as admin clients and
// manually assigned consumers do; v9 answers GROUP_ID_NOT_FOUND for a member of an unknown
// group (older versions ILLEGAL_GENERATION). Per partition: UNKNOWN_TOPIC_OR_PARTITION for a
// partition that does not exist, OFFSET_METADATA_TOO_LARGE (offset.metadata.max.bytes).
// v1 commit timestamps and v2–v4 retention times are kept (a retention time makes the offset
// expire at commit time + retention, the pre-2.1 rule Kafka keeps for it).
import { ApiKey } from '../../wire/generated/api.js';
import type { OffsetCommitRequest } from '../../wire/generated/messages/offset-commit-request.js';
import type { OffsetCommitResponse } from '../../wire/generated/messages/offset-commit-response.js';
import { ErrorCode } from '../../wire/errors.js';
import type { TopicPartitionErrors } from '../group/coordinator.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

function allFailed(req: OffsetCommitRequest, errorCode: number): OffsetCommitResponse {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
  };
}

export const offsetCommit = defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  ...specVersions(ApiKey.OffsetCommit),
  async handle(ctx, req) {
    const image = ctx.services.image();
    // Partitions that do not exist are answered here; the rest go to the coordinator.
    const errors = new Map<string, number>();
    const valid: Array<{ name: string; partitions: OffsetCommitRequest['topics'][number]['partitions'] }> = [];
    for (const t of req.topics) {
      const topic = image.topicByName(t.name);
      const ok = t.partitions.filter((p) => {
        const exists = topic !== undefined && topic.partitions.has(p.partitionIndex);
        if (!exists) errors.set(`${t.name}\u0000${p.partitionIndex}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return exists;
      });
      if (ok.length > 0) valid.push({ name: t.name, partitions: ok });
    }
    let results: TopicPartitionErrors[] = [];
    if (valid.length > 0) {
      results = await ctx.services.groupCoordinator.coordinator.commitOffsets({
        groupId: req.groupId,
        generationId: req.generationIdOrMemberEpoch ?? -1,
        memberId: req.memberId ?? '',
        groupInstanceId: req.groupInstanceId ?? null,
        retentionTimeMs: Number(req.retentionTimeMs ?? -1n),
        apiVersion: ctx.apiVersion,
        topics: valid.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            committedOffset: Number(p.committedOffset),
            committedLeaderEpoch: p.committedLeaderEpoch ?? -1,
            commitTimestamp: Number(p.commitTimestamp ?? -1n),
            committedMetadata: p.committedMetadata,
          })),
        })),
      });
    }
    for (const t of results) for (const p of t.partitions) errors.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
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
