// InitProducerId (key 22): v0–v5
// Behaviour: without a transactional id, a new producer id from this broker's block at epoch 0
// (idempotent producers; also their KIP-360 epoch bump with the current id/epoch in v3+).
// With one, the transaction coordinator: a new id (epoch 0) for a new transactional id, else
// the epoch bumped (fencing older producers), a fresh producer id when the epoch is exhausted;
// an open transaction is aborted first and CONCURRENT_TRANSACTIONS answered (the client
// retries); a stale producer id/epoch (v3+) gets PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before
// v4, as Kafka maps it). transaction.max.timeout.ms: INVALID_TRANSACTION_TIMEOUT; "" :
// INVALID_REQUEST; not this broker's transactional id: NOT_COORDINATOR.
// Not implemented: ACLs (TRANSACTIONAL_ID_AUTHORIZATION_FAILED / CLUSTER_AUTHORIZATION_FAILED).
import { ApiKey } from '../../wire/generated/api.js';
import type { InitProducerIdRequest } from '../../wire/generated/messages/init-producer-id-request.js';
import type { InitProducerIdResponse } from '../../wire/generated/messages/init-producer-id-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const initProducerId = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: ApiKey.InitProducerId,
  name: 'InitProducerId',
  ...specVersions(ApiKey.InitProducerId),
  async handle(ctx, req) {
    const r = await ctx.services.txnCoordinator.coordinator.initProducerId({
      transactionalId: req.transactionalId,
      transactionTimeoutMs: req.transactionTimeoutMs,
      producerId: Number(req.producerId ?? -1n),
      producerEpoch: req.producerEpoch ?? -1,
    });
    const errorCode = ctx.apiVersion < 4 && r.errorCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : r.errorCode;
    return { throttleTimeMs: 0, errorCode, producerId: BigInt(r.producerId), producerEpoch: r.producerEpoch };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 };
  },
});
