// ElectLeaders (key 43): v0–v2, on the broker listeners. Forwarded to the active controller
// (broker/controller-client.ts), which decides preferred (0) or unclean (1) elections
// (broker/controller/elect-leaders.ts) and answers once the change is committed; this broker
// answers once its own image has it. v0 carries no election type (preferred). Authorisation
// (ALTER on the cluster) is not implemented in this project.
import { ApiKey } from '../../wire/generated/api.js';
import type { ElectLeadersRequest } from '../../wire/generated/messages/elect-leaders-request.js';
import type { ElectLeadersResponse } from '../../wire/generated/messages/elect-leaders-response.js';
import { electLeadersErrorResponse, requestedElectionType } from '../controller/elect-leaders.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const electLeaders = defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  apiKey: ApiKey.ElectLeaders,
  name: 'ElectLeaders',
  ...specVersions(ApiKey.ElectLeaders),
  handle(ctx, req) {
    return ctx.services.controller.electLeaders(requestedElectionType(req, ctx.apiVersion), req.topicPartitions, req.timeoutMs);
  },
  errorResponse(req, errorCode) {
    return electLeadersErrorResponse(req, errorCode);
  },
});
