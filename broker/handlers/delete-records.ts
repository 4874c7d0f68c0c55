// DeleteRecords (key 21): v0–v2
// Behaviour: advances each partition's log start offset (offset -1 = the high watermark);
// past the high watermark ⇒ OFFSET_OUT_OF_RANGE. Whole segments below it are deleted.
import { ApiKey } from '../../wire/generated/api.js';
import type { DeleteRecordsRequest } from '../../wire/generated/messages/delete-records-request.js';
import type { DeleteRecordsResponse } from '../../wire/generated/messages/delete-records-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const deleteRecords = defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  apiKey: ApiKey.DeleteRecords,
  name: 'DeleteRecords',
  ...specVersions(ApiKey.DeleteRecords),
  async handle(ctx, req) {
    const rm = ctx.services.replicaManager;
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            const r = await rm.deleteRecords(t.name, p.partitionIndex, Number(p.offset));
            return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(r.lowWatermark), errorCode: r.errorCode };
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(req, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode })) })),
    };
  },
});
