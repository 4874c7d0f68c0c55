// Produce (key 0): v0–v11
// Behaviour: acks 0 / 1 / -1; per partition: leadership, batch header + CRC32C check (records
// are never decoded), max.message.bytes, append as leader; acks=-1 waits for the high watermark.
// Legacy magic 0/1 message sets get UNSUPPORTED_FOR_MESSAGE_FORMAT.
// Idempotent and transactional producers (checked by the partition's producer state): a retry
// of one of the producer's last 5 batches answers the original offset and stores nothing; a
// sequence gap OUT_OF_ORDER_SEQUENCE_NUMBER; a stale epoch INVALID_PRODUCER_EPOCH. Control
// batches from clients: INVALID_RECORD. Transactional batches need the request's
// transactional_id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition, as Kafka
// answers an unauthorized one), and the first of a transaction on a partition is checked with
// the transaction coordinator (KIP-890 verification): a partition not added to the transaction
// gets INVALID_TXN_STATE.
// NOT_LEADER_OR_FOLLOWER carries the current leader (v10+, KIP-951) and the response that
// leader's endpoint, so a client can retry there without a metadata round trip.
// Quotas: with a producer_byte_rate quota for the client, the request's bytes are recorded and a
// client over it gets throttle_time_ms, its connection muted for that long (broker/quota/).
// Not implemented: ACLs, per-record errors.
import { ApiKey } from '../../wire/generated/api.js';
import type { ProduceRequest } from '../../wire/generated/messages/produce-request.js';
import type { ProduceResponse } from '../../wire/generated/messages/produce-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { ATTRIBUTES_OFFSET, BATCH_HEADER_SIZE, CURRENT_MAGIC, isTransactional, MAGIC_OFFSET } from '../../wire/record-batch.js';
import { defineHandler, NO_RESPONSE, type RequestContext } from '../handler.js';
import { leaderHint, nodeEndpointsOf } from './common.js';
import { throttleProduce } from '../quota/request-quotas.js';
import { produceVerificationError } from '../txn/runtime.js';
import { specVersions } from './versions.js';
import { recordsBuffer } from '../../wire/primitives.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

function errorPartition(index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage };
}

function allFailed(req: ProduceRequest, errorCode: number): ProduceResponse {
  return {
    responses: req.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => errorPartition(p.index, errorCode)) })),
    throttleTimeMs: 0,
  };
}

/** The first batch of `records` is a transactional magic-2 batch (a header peek). */
function hasTransactionalBatch(records: Buffer | null): boolean {
  return records !== null && records.length >= BATCH_HEADER_SIZE && records.readInt8(MAGIC_OFFSET) === CURRENT_MAGIC && isTransactional(records.readInt16BE(ATTRIBUTES_OFFSET));
}

/** The endpoints of the leaders named in NOT_LEADER_OR_FOLLOWER answers. */
function leaderEndpoints(ctx: RequestContext, responses: ProduceResponse['responses']): NonNullable<ProduceResponse['nodeEndpoints']> {
  const ids = new Set<number>();
  for (const t of responses) for (const p of t.partitionResponses) if (p.currentLeader && p.currentLeader.leaderId >= 0) ids.add(p.currentLeader.leaderId);
  return ids.size === 0 ? [] : nodeEndpointsOf(ctx.services.image(), ctx.listenerName, ids);
}

export const produce = defineHandler<ProduceRequest, ProduceResponse>({
  apiKey: ApiKey.Produce,
  name: 'Produce',
  ...specVersions(ApiKey.Produce),
  async handle(ctx, req) {
    const { replicaManager, txnCoordinator } = ctx.services;
    const acks = req.acks;
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const transactionalId = req.transactionalId ?? null;
    if (transactionalId === null && req.topicData.some((t) => t.partitionData.some((p) => hasTransactionalBatch(recordsBuffer(p.records))))) {
      // Kafka: transactional records need an (authorized) transactional id.
      const failed = allFailed(req, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      if (acks === 0) {
        ctx.conn.close('acks=0 produce failed');
        return NO_RESPONSE;
      }
      return failed;
    }
    const topics = req.topicData.map(async (t) => ({
      name: t.name,
      partitionResponses: await Promise.all(
        t.partitionData.map(async (p): Promise<PartitionResponse> => {
          if (!validAcks) return errorPartition(p.index, ErrorCode.INVALID_REQUIRED_ACKS);
          const verifyTransaction =
            transactionalId === null
              ? undefined
              : (producerId: number, producerEpoch: number) =>
                  txnCoordinator.verifyPartition(transactionalId, producerId, producerEpoch, t.name, p.index).then(produceVerificationError);
          const r = await replicaManager.appendRecords(t.name, p.index, recordsBuffer(p.records), acks, req.timeoutMs, ctx.apiVersion, { verifyTransaction });
          const answer: PartitionResponse = {
            index: p.index,
            errorCode: r.errorCode,
            baseOffset: BigInt(r.baseOffset),
            logAppendTimeMs: BigInt(r.logAppendTimeMs),
            logStartOffset: BigInt(r.logStartOffset),
            recordErrors: [],
            errorMessage: r.errorMessage,
          };
          if (ctx.apiVersion >= 10 && r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) answer.currentLeader = leaderHint(ctx.services.image(), t.name, p.index);
          return answer;
        }),
      ),
    }));
    if (acks === 0) {
      // No response is due, but the request stays in flight until its bytes are written, so
      // queued.max.requests bounds what an acks=0 producer can pile up in memory. Kafka closes
      // the connection when an acks=0 produce fails so the client notices on its next request.
      const res = await Promise.all(topics);
      if (ctx.services.quotas.enabled) throttleProduce(ctx);
      if (res.some((t) => t.partitionResponses.some((p) => p.errorCode !== ErrorCode.NONE))) ctx.conn.close('acks=0 produce failed');
      return NO_RESPONSE;
    }
    const responses = await Promise.all(topics);
    const throttleTimeMs = ctx.services.quotas.enabled ? throttleProduce(ctx) : 0;
    return { responses, throttleTimeMs, nodeEndpoints: ctx.apiVersion >= 10 ? leaderEndpoints(ctx, responses) : [] };
  },
  errorResponse(req, errorCode) {
    return allFailed(req, errorCode);
  },
});
