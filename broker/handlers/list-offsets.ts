// ListOffsets (key 2): v0–v9
// Behaviour: latest (high watermark; the last stable offset for isolation_level 1,
// read_committed, v2+ — and lookups by time or max timestamp see only offsets below it),
// earliest (log start offset), max timestamp (v7+),
// earliest local (v8+), latest tiered (v9+, none here: -1), and the first offset whose
// timestamp is at or after a given time. v0 answers with old-style offset lists.
import { ApiKey } from '../../wire/generated/api.js';
import type { ListOffsetsRequest } from '../../wire/generated/messages/list-offsets-request.js';
import type { ListOffsetsResponse } from '../../wire/generated/messages/list-offsets-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];

function errorPartition(partitionIndex: number, errorCode: number): PartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1n, offset: -1n, leaderEpoch: -1 };
}

export const listOffsets = defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  ...specVersions(ApiKey.ListOffsets),
  async handle(ctx, req) {
    const rm = ctx.services.replicaManager;
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p): Promise<PartitionResponse> => {
            const r = await rm.listOffset(t.name, p.partitionIndex, Number(p.timestamp), p.currentLeaderEpoch ?? -1, req.isolationLevel ?? 0);
            if (r.errorCode !== ErrorCode.NONE) return errorPartition(p.partitionIndex, r.errorCode);
            return {
              partitionIndex: p.partitionIndex,
              errorCode: ErrorCode.NONE,
              oldStyleOffsets: ctx.apiVersion === 0 && r.offset >= 0 ? [BigInt(r.offset)] : [],
              timestamp: BigInt(r.timestamp),
              offset: BigInt(r.offset),
              leaderEpoch: r.leaderEpoch,
            };
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => errorPartition(p.partitionIndex, errorCode)) })) };
  },
});
