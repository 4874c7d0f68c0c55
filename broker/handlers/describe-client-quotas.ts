// DescribeClientQuotas (key 48): v0–v1, answered from this broker's metadata image (KIP-546):
// filter components match an entity type EXACTly (a name), its DEFAULT entity, or any
// SPECIFIED name; `strict` leaves out entities with other component types
// (kraft/client-quotas.ts).
import { describeClientQuotas as describe } from '../../kraft/client-quotas.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { DescribeClientQuotasRequest } from '../../wire/generated/messages/describe-client-quotas-request.js';
import type { DescribeClientQuotasResponse } from '../../wire/generated/messages/describe-client-quotas-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const describeClientQuotas = defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
  apiKey: ApiKey.DescribeClientQuotas,
  name: 'DescribeClientQuotas',
  ...specVersions(ApiKey.DescribeClientQuotas),
  handle(ctx, req) {
    return describe(ctx.services.image(), req);
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, entries: null };
  },
});
