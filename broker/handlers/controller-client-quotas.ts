// The client-quota APIs on the controller listener (Kafka's ControllerApis): brokers forward
// AlterClientQuotas here (broker/controller-client.ts); the active controller decides and answers
// once the ClientQuotaRecords are committed, any other controller answers NOT_CONTROLLER per
// entry. DescribeClientQuotas is answered from this controller's image.
import { alterClientQuotasErrorResponse, describeClientQuotas } from '../../kraft/client-quotas.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { AlterClientQuotasRequest } from '../../wire/generated/messages/alter-client-quotas-request.js';
import type { AlterClientQuotasResponse } from '../../wire/generated/messages/alter-client-quotas-response.js';
import type { DescribeClientQuotasRequest } from '../../wire/generated/messages/describe-client-quotas-request.js';
import type { DescribeClientQuotasResponse } from '../../wire/generated/messages/describe-client-quotas-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const controllerAlterClientQuotas = defineHandler<AlterClientQuotasRequest, AlterClientQuotasResponse, ControllerServices>({
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

export const controllerDescribeClientQuotas = defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse, ControllerServices>({
  apiKey: ApiKey.DescribeClientQuotas,
  name: 'DescribeClientQuotas',
  ...specVersions(ApiKey.DescribeClientQuotas),
  handle(ctx, req) {
    return describeClientQuotas(ctx.services.quorum.image, req);
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, entries: null };
  },
});
