// BrokerHeartbeat (key 63): v0–v1 (controller listener)
// Behaviour: keeps the broker's session alive on the active controller; unfences a broker that
// has caught up with the metadata log (and elects leaders for leaderless partitions), runs a
// controlled shutdown (wantShutDown: leadership moves away, then shouldShutDown), fences on
// wantFence. STALE_BROKER_EPOCH for an unknown broker or another epoch (the broker registers
// again), NOT_CONTROLLER elsewhere.
import { ApiKey } from '../../wire/generated/api.js';
import type { BrokerHeartbeatRequest } from '../../wire/generated/messages/broker-heartbeat-request.js';
import type { BrokerHeartbeatResponse } from '../../wire/generated/messages/broker-heartbeat-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const brokerHeartbeat = defineHandler<BrokerHeartbeatRequest, BrokerHeartbeatResponse, ControllerServices>({
  apiKey: ApiKey.BrokerHeartbeat,
  name: 'BrokerHeartbeat',
  ...specVersions(ApiKey.BrokerHeartbeat),
  handle(ctx, req) {
    return ctx.services.controller.brokerHeartbeat(req);
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, isCaughtUp: false, isFenced: true, shouldShutDown: false };
  },
});
