// AlterPartition (key 56): v0–v3 (controller listener)
// Behaviour: a partition leader's ISR change, checked against the partition's leader and
// partition epochs (FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, NOT_CONTROLLER when the
// request is ahead of us), the ISR's eligibility (INELIGIBLE_REPLICA / OPERATION_NOT_ATTEMPTED)
// and shape (INVALID_REQUEST); a stale broker epoch ⇒ top-level STALE_BROKER_EPOCH. See
// broker/controller/alter-partition.ts.
import { ApiKey } from '../../wire/generated/api.js';
import type { AlterPartitionRequest } from '../../wire/generated/messages/alter-partition-request.js';
import type { AlterPartitionResponse } from '../../wire/generated/messages/alter-partition-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const alterPartition = defineHandler<AlterPartitionRequest, AlterPartitionResponse, ControllerServices>({
  apiKey: ApiKey.AlterPartition,
  name: 'AlterPartition',
  ...specVersions(ApiKey.AlterPartition),
  handle(ctx, req) {
    return ctx.services.controller.alterPartition(req, ctx.apiVersion);
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, topics: [] };
  },
});
