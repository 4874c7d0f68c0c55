// IncrementalAlterConfigs (key 44): v0–v1
// Behaviour: SET / DELETE / APPEND / SUBTRACT per config of a topic (or broker), validated by
// the controller; validate_only supported.
import { ApiKey } from '../../wire/generated/api.js';
import type { IncrementalAlterConfigsRequest } from '../../wire/generated/messages/incremental-alter-configs-request.js';
import type { IncrementalAlterConfigsResponse } from '../../wire/generated/messages/incremental-alter-configs-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const incrementalAlterConfigs = defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: ApiKey.IncrementalAlterConfigs,
  name: 'IncrementalAlterConfigs',
  ...specVersions(ApiKey.IncrementalAlterConfigs),
  async handle(ctx, req) {
    const results = await ctx.services.controller.incrementalAlterConfigs(
      req.resources.map((r) => ({
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: r.configs.map((c) => ({ name: c.name, configOperation: c.configOperation, value: c.value })),
      })),
      req.validateOnly,
    );
    return { throttleTimeMs: 0, responses: results };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, responses: req.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })) };
  },
});
