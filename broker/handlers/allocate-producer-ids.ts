// AllocateProducerIds (key 67): v0 (controller listener)
// Behaviour: the active controller hands a broker the next block of 1000 producer ids
// (ProducerIdsRecord); STALE_BROKER_EPOCH for an unknown broker or another epoch,
// NOT_CONTROLLER elsewhere.
import { ApiKey } from '../../wire/generated/api.js';
import type { AllocateProducerIdsRequest } from '../../wire/generated/messages/allocate-producer-ids-request.js';
import type { AllocateProducerIdsResponse } from '../../wire/generated/messages/allocate-producer-ids-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const allocateProducerIds = defineHandler<AllocateProducerIdsRequest, AllocateProducerIdsResponse, ControllerServices>({
  apiKey: ApiKey.AllocateProducerIds,
  name: 'AllocateProducerIds',
  ...specVersions(ApiKey.AllocateProducerIds),
  handle(ctx, req) {
    return ctx.services.controller.allocateProducerIds(req);
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, producerIdStart: -1n, producerIdLen: 0 };
  },
});
