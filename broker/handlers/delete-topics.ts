// DeleteTopics (key 20): v0–v6
// Behaviour: by name (v0–5) or by name or id (v6+); the controller writes RemoveTopicRecord and
// every broker deletes the logs when the image arrives. Refused when delete.topic.enable=false.
import { ApiKey } from '../../wire/generated/api.js';
import type { DeleteTopicsRequest } from '../../wire/generated/messages/delete-topics-request.js';
import type { DeleteTopicsResponse } from '../../wire/generated/messages/delete-topics-response.js';
import { ZERO_UUID } from '../../wire/primitives.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const deleteTopics = defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  ...specVersions(ApiKey.DeleteTopics),
  async handle(ctx, req) {
    const wanted = ctx.apiVersion >= 6
      ? (req.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId ?? ZERO_UUID }))
      : (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
    if (!ctx.services.config.bool('delete.topic.enable')) {
      return {
        throttleTimeMs: 0,
        responses: wanted.map((t) => ({ name: t.name, topicId: t.topicId, errorCode: ErrorCode.TOPIC_DELETION_DISABLED, errorMessage: 'Topic deletion is disabled.' })),
      };
    }
    const results = await ctx.services.controller.deleteTopics(wanted, req.timeoutMs);
    return { throttleTimeMs: 0, responses: results };
  },
  errorResponse(req, errorCode) {
    const names = req.topicNames ?? (req.topics ?? []).map((t) => t.name ?? '');
    return { throttleTimeMs: 0, responses: names.map((name) => ({ name, topicId: ZERO_UUID, errorCode, errorMessage: null })) };
  },
});
