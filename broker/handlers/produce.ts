// Produce (key 0): v0–v11
// Behaviour: acks 0 / 1 / -1; per partition: leadership, batch header + CRC32C check (records
// are never decoded), max.message.bytes, append as leader; acks=-1 waits for the high watermark.
// Legacy magic 0/1 message sets get UNSUPPORTED_FOR_MESSAGE_FORMAT.
// Not yet: idempotent sequence checks and transactions (issue 4), quotas (throttle is 0).
import { ApiKey } from '../../wire/generated/api.js';
import type { ProduceRequest } from '../../wire/generated/messages/produce-request.js';
import type { ProduceResponse } from '../../wire/generated/messages/produce-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler, NO_RESPONSE } from '../handler.js';
import { specVersions } from './versions.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

function errorPartition(index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage };
}

export const produce = defineHandler<ProduceRequest, ProduceResponse>({
  apiKey: ApiKey.Produce,
  name: 'Produce',
  ...specVersions(ApiKey.Produce),
  async handle(ctx, req) {
    const { replicaManager } = ctx.services;
    const acks = req.acks;
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const topics = req.topicData.map(async (t) => ({
      name: t.name,
      partitionResponses: await Promise.all(
        t.partitionData.map(async (p): Promise<PartitionResponse> => {
          if (!validAcks) return errorPartition(p.index, ErrorCode.INVALID_REQUIRED_ACKS);
          const r = await replicaManager.appendRecords(t.name, p.index, p.records, acks, req.timeoutMs, ctx.apiVersion);
          return {
            index: p.index,
            errorCode: r.errorCode,
            baseOffset: BigInt(r.baseOffset),
            logAppendTimeMs: BigInt(r.logAppendTimeMs),
            logStartOffset: BigInt(r.logStartOffset),
            recordErrors: [],
            errorMessage: r.errorMessage,
          };
        }),
      ),
    }));
    if (acks === 0) {
      // No response is due; Kafka closes the connection when an acks=0 produce fails so the
      // client notices on its next request.
      void Promise.all(topics).then((res) => {
        const failed = res.some((t) => t.partitionResponses.some((p) => p.errorCode !== ErrorCode.NONE));
        if (failed) ctx.conn.close('acks=0 produce failed');
      });
      return NO_RESPONSE;
    }
    return { responses: await Promise.all(topics), throttleTimeMs: 0 };
  },
  errorResponse(req, errorCode) {
    return {
      responses: req.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => errorPartition(p.index, errorCode)) })),
      throttleTimeMs: 0,
    };
  },
});
