// OffsetFetch (key 9): v0–v9
// Behaviour: committed offsets of a group: the requested partitions (-1 and empty metadata
// where nothing is committed, also for unknown groups) or, with a null topic list (v2+), all of
// them; v5+ with the committed leader epoch; v8+ several groups per request, each with its own
// error. require_stable (v7+): a requested partition with a pending transactional offset
// commit answers UNSTABLE_OFFSET_COMMIT (the client retries until the transaction ends).
// Coordinator errors (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) are top-level from v2 on,
// per partition before.
import { ApiKey } from '../../wire/generated/api.js';
import type { OffsetFetchRequest } from '../../wire/generated/messages/offset-fetch-request.js';
import type { OffsetFetchResponse } from '../../wire/generated/messages/offset-fetch-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
// Committed offsets are kept as numbers: 2^63-1 committed comes back as 2^63, clamped to int64.
import { int64 } from '../group/offsets-topic.js';
import { specVersions } from './versions.js';

type Topics = Array<{ name: string; partitions: number[] }> | null;

export const offsetFetch = defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  ...specVersions(ApiKey.OffsetFetch),
  handle(ctx, req) {
    const coordinator = ctx.services.groupCoordinator.coordinator;
    const v = ctx.apiVersion;
    if (v >= 8) {
      return {
        throttleTimeMs: 0,
        groups: (req.groups ?? []).map((g) => {
          const topics: Topics = g.topics === null ? null : g.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
          const r = coordinator.fetchOffsets(g.groupId, topics, req.requireStable ?? false);
          return {
            groupId: g.groupId,
            errorCode: r.errorCode,
            topics: r.topics.map((t) => ({
              name: t.name,
              partitions: t.partitions.map((p) => ({
                partitionIndex: p.partitionIndex,
                committedOffset: int64(p.committedOffset),
                committedLeaderEpoch: p.committedLeaderEpoch,
                metadata: p.metadata,
                errorCode: p.errorCode,
              })),
            })),
          };
        }),
      };
    }
    const requested = req.topics ?? null;
    const topics: Topics = requested === null ? null : requested.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
    const r = coordinator.fetchOffsets(req.groupId ?? '', topics, req.requireStable ?? false);
    const toTopics = (list: typeof r.topics, errorCode?: number) =>
      list.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: int64(p.committedOffset),
          committedLeaderEpoch: p.committedLeaderEpoch,
          metadata: p.metadata,
          errorCode: errorCode ?? p.errorCode,
        })),
      }));
    if (r.errorCode !== ErrorCode.NONE) {
      if (v < 2) {
        // No top-level error before v2: every requested partition carries it.
        const each = (topics ?? []).map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode })) }));
        return { throttleTimeMs: 0, topics: toTopics(each), errorCode: r.errorCode };
      }
      return { throttleTimeMs: 0, topics: [], errorCode: r.errorCode };
    }
    return { throttleTimeMs: 0, topics: toTopics(r.topics), errorCode: ErrorCode.NONE };
  },
  errorResponse(req, errorCode, version) {
    if (version >= 8) return { throttleTimeMs: 0, groups: (req.groups ?? []).map((g) => ({ groupId: g.groupId, topics: [], errorCode })) };
    if (version < 2) {
      return {
        throttleTimeMs: 0,
        errorCode,
        topics: (req.topics ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode })) })),
      };
    }
    return { throttleTimeMs: 0, topics: [], errorCode };
  },
});
