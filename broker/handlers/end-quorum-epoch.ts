// EndQuorumEpoch (key 54): v0–v1 (controller listener)
// Behaviour: a resigning leader asks the voters to elect a successor (preferred successors v0,
// preferred candidates v1, first runs at once). Wrong cluster id or partition are refused here.
import { endQuorumEpochResponseToWire, inboundEndQuorumEpoch } from '../../kraft/raft-wire.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { EndQuorumEpochRequest } from '../../wire/generated/messages/end-quorum-epoch-request.js';
import type { EndQuorumEpochResponse } from '../../wire/generated/messages/end-quorum-epoch-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { askCore } from './quorum-common.js';
import { specVersions } from './versions.js';

export const endQuorumEpoch = defineHandler<EndQuorumEpochRequest, EndQuorumEpochResponse, ControllerServices>({
  apiKey: ApiKey.EndQuorumEpoch,
  name: 'EndQuorumEpoch',
  ...specVersions(ApiKey.EndQuorumEpoch),
  async handle(ctx, req) {
    const s = ctx.services;
    return endQuorumEpochResponseToWire(await askCore(ctx, inboundEndQuorumEpoch(req, s.clusterId), 'EndQuorumEpochResponse', s.requestTimeoutMs));
  },
  errorResponse(_req, errorCode) {
    return endQuorumEpochResponseToWire({ errorCode });
  },
});
