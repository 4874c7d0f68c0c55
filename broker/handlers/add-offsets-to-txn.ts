// AddOffsetsToTxn (key 25): v0–v4
// Behaviour: the group's `__consumer_offsets` partition (created first if missing) joins the
// transaction, so its transactional offset commits get the transaction's marker. Errors as
// AddPartitionsToTxn (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED — INVALID_PRODUCER_EPOCH
// before v2 —, CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, ...).
// Not implemented: ACLs (GROUP_AUTHORIZATION_FAILED).
import { ApiKey } from '../../wire/generated/api.js';
import type { AddOffsetsToTxnRequest } from '../../wire/generated/messages/add-offsets-to-txn-request.js';
import type { AddOffsetsToTxnResponse } from '../../wire/generated/messages/add-offsets-to-txn-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { GROUP_METADATA_TOPIC } from '../coordinator/internal-topics.js';
import { defineHandler } from '../handler.js';
import { fencedForVersion } from './txn-common.js';
import { specVersions } from './versions.js';

export const addOffsetsToTxn = defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  apiKey: ApiKey.AddOffsetsToTxn,
  name: 'AddOffsetsToTxn',
  ...specVersions(ApiKey.AddOffsetsToTxn),
  async handle(ctx, req) {
    const { services } = ctx;
    if (req.groupId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID };
    const created = await services.internalTopics.ensure(GROUP_METADATA_TOPIC);
    if (created !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const error = await services.txnCoordinator.coordinator.addOffsets(req.transactionalId, Number(req.producerId), req.producerEpoch, req.groupId);
    return { throttleTimeMs: 0, errorCode: fencedForVersion(error, ctx.apiVersion) };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
});
