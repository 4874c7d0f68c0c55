// BeginQuorumEpoch (key 53): v0–v1 (controller listener)
// Behaviour: a new leader announces its epoch; the Raft core follows it (or answers
// FENCED_LEADER_EPOCH / INCONSISTENT_VOTER_SET). Wrong cluster id, partition or addressee are
// refused here (INCONSISTENT_CLUSTER_ID, INVALID_REQUEST, INVALID_VOTER_KEY).
import { beginQuorumEpochResponseToWire, inboundBeginQuorumEpoch } from '../../kraft/raft-wire.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { BeginQuorumEpochRequest } from '../../wire/generated/messages/begin-quorum-epoch-request.js';
import type { BeginQuorumEpochResponse } from '../../wire/generated/messages/begin-quorum-epoch-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { askCore } from './quorum-common.js';
import { specVersions } from './versions.js';

export const beginQuorumEpoch = defineHandler<BeginQuorumEpochRequest, BeginQuorumEpochResponse, ControllerServices>({
  apiKey: ApiKey.BeginQuorumEpoch,
  name: 'BeginQuorumEpoch',
  ...specVersions(ApiKey.BeginQuorumEpoch),
  async handle(ctx, req) {
    const s = ctx.services;
    return beginQuorumEpochResponseToWire(await askCore(ctx, inboundBeginQuorumEpoch(req, s.clusterId, s.nodeId), 'BeginQuorumEpochResponse', s.requestTimeoutMs));
  },
  errorResponse(_req, errorCode) {
    return beginQuorumEpochResponseToWire({ errorCode });
  },
});
