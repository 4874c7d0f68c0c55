// BrokerRegistration (key 62): v0–v4 (controller listener)
// Behaviour: the active controller registers a broker (RegisterBrokerRecord, fenced until it
// has caught up) and answers its broker epoch (the entry offset of the record). Errors:
// NOT_CONTROLLER elsewhere, INCONSISTENT_CLUSTER_ID, DUPLICATE_BROKER_REGISTRATION (another
// incarnation still has a live session), UNSUPPORTED_VERSION (a finalized feature level out of
// the broker's range).
import { ApiKey } from '../../wire/generated/api.js';
import type { BrokerRegistrationRequest } from '../../wire/generated/messages/broker-registration-request.js';
import type { BrokerRegistrationResponse } from '../../wire/generated/messages/broker-registration-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const brokerRegistration = defineHandler<BrokerRegistrationRequest, BrokerRegistrationResponse, ControllerServices>({
  apiKey: ApiKey.BrokerRegistration,
  name: 'BrokerRegistration',
  ...specVersions(ApiKey.BrokerRegistration),
  handle(ctx, req) {
    return ctx.services.controller.brokerRegistration(req);
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, brokerEpoch: -1n };
  },
});
