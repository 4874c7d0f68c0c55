// AlterClientQuotas (key 49): v0–v1, on the broker listeners (KIP-546). Forwarded to the active
// controller (broker/controller-client.ts), which validates the entities, keys and values and
// commits ClientQuotaRecords (kraft/client-quotas.ts); this broker answers once its own image has
// them, so its quota manager (broker/quota/) enforces them from then on. Authorisation (ALTER_CONFIGS
// on the cluster) is not implemented in this project.
import { alterClientQuotasErrorResponse } from '../../kraft/client-quotas.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { AlterClientQuotasRequest } from '../../wire/generated/messages/alter-client-quotas-request.js';
import type { AlterClientQuotasResponse } from '../../wire/generated/messages/alter-client-quotas-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const alterClientQuotas = defineHandler<AlterClientQuotasRequest, AlterClientQuotasResponse>({
  apiKey: ApiKey.AlterClientQuotas,
  name: 'AlterClientQuotas',
  ...specVersions(ApiKey.AlterClientQuotas),
  handle(ctx, req) {
    return ctx.services.controller.alterClientQuotas(req);
  },
  errorResponse(req, errorCode) {
    return alterClientQuotasErrorResponse(req, errorCode);
  },
});
