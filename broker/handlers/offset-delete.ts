// OffsetDelete (key 47): v0
// Behaviour: deletes committed offsets of a group (tombstones in `__consumer_offsets`). An
// Empty group loses any of them; a consumer group with members keeps those of topics it
// subscribes to (GROUP_SUBSCRIBED_TO_TOPIC per partition); other groups with members:
// NON_EMPTY_GROUP. Top-level: GROUP_ID_NOT_FOUND, INVALID_GROUP_ID, NOT_COORDINATOR. Partitions
// that do not exist: UNKNOWN_TOPIC_OR_PARTITION.
import { ApiKey } from '../../wire/generated/api.js';
import type { OffsetDeleteRequest } from '../../wire/generated/messages/offset-delete-request.js';
import type { OffsetDeleteResponse } from '../../wire/generated/messages/offset-delete-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const offsetDelete = defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: ApiKey.OffsetDelete,
  name: 'OffsetDelete',
  ...specVersions(ApiKey.OffsetDelete),
  async handle(ctx, req) {
    const image = ctx.services.image();
    const errors = new Map<string, number>();
    const valid: Array<{ name: string; partitions: number[] }> = [];
    for (const t of req.topics) {
      const topic = image.topicByName(t.name);
      const ok: number[] = [];
      for (const p of t.partitions) {
        if (topic !== undefined && topic.partitions.has(p.partitionIndex)) ok.push(p.partitionIndex);
        else errors.set(`${t.name}\u0000${p.partitionIndex}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      }
      if (ok.length > 0) valid.push({ name: t.name, partitions: ok });
    }
    const r = await ctx.services.groupCoordinator.coordinator.deleteOffsets(req.groupId, valid);
    if (r.errorCode !== ErrorCode.NONE) return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [] };
    for (const t of r.topics) for (const p of t.partitions) errors.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${t.name}\u0000${p.partitionIndex}`) ?? ErrorCode.NONE })),
      })),
    };
  },
  errorResponse(_req, errorCode) {
    return { errorCode, throttleTimeMs: 0, topics: [] };
  },
});
