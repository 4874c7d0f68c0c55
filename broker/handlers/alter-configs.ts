// AlterConfigs (key 33): v0–v2
// Behaviour: replaces the whole set of dynamic configs of a topic (or broker) with the given
// ones, validated by the controller; validate_only supported.
import { ApiKey } from '../../wire/generated/api.js';
import type { AlterConfigsRequest } from '../../wire/generated/messages/alter-configs-request.js';
import type { AlterConfigsResponse } from '../../wire/generated/messages/alter-configs-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const alterConfigs = defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: ApiKey.AlterConfigs,
  name: 'AlterConfigs',
  ...specVersions(ApiKey.AlterConfigs),
  async handle(ctx, req) {
    const results = await ctx.services.controller.alterConfigs(
      req.resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, configs: r.configs.map((c) => ({ name: c.name, value: c.value })) })),
      req.validateOnly,
    );
    return { throttleTimeMs: 0, responses: results };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, responses: req.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })) };
  },
});
