// Heartbeat (key 12): v0–v4
// Behaviour: restarts the member's session timer; REBALANCE_IN_PROGRESS while the group
// prepares a rebalance (the member must rejoin), UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID (v3+),
// ILLEGAL_GENERATION, NOT_COORDINATOR; answers NONE while the coordinator is still loading
// (as Kafka does).
import { ApiKey } from '../../wire/generated/api.js';
import type { HeartbeatRequest } from '../../wire/generated/messages/heartbeat-request.js';
import type { HeartbeatResponse } from '../../wire/generated/messages/heartbeat-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const heartbeat = defineHandler<HeartbeatRequest, HeartbeatResponse>({
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  ...specVersions(ApiKey.Heartbeat),
  handle(ctx, req) {
    const errorCode = ctx.services.groupCoordinator.coordinator.heartbeat(req.groupId, req.memberId, req.groupInstanceId ?? null, req.generationId);
    return { throttleTimeMs: 0, errorCode };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
});
