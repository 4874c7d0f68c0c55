// CreatePartitions (key 37): v0–v3
// Behaviour: grows a topic to `count` partitions, with optional manual assignments;
// validate_only supported. Shrinking or a count equal to the current one ⇒ INVALID_PARTITIONS.
import { ApiKey } from '../../wire/generated/api.js';
import type { CreatePartitionsRequest } from '../../wire/generated/messages/create-partitions-request.js';
import type { CreatePartitionsResponse } from '../../wire/generated/messages/create-partitions-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const createPartitions = defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  apiKey: ApiKey.CreatePartitions,
  name: 'CreatePartitions',
  ...specVersions(ApiKey.CreatePartitions),
  async handle(ctx, req) {
    const results = await ctx.services.controller.createPartitions(
      req.topics.map((t) => ({ name: t.name, count: t.count, assignments: t.assignments === null ? null : t.assignments.map((a) => ({ brokerIds: [...a.brokerIds] })) })),
      req.validateOnly,
      req.timeoutMs,
    );
    return { throttleTimeMs: 0, results };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, results: req.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) };
  },
});
