// CreateTopics (key 19): v0–v7
// Behaviour: validation and placement by the controller (names, counts, replica assignments,
// configs; validate_only); v5+ answers the partition count, replication factor and the
// effective configs of each created topic. Returns once this broker has opened the new logs.
import { ApiKey } from '../../wire/generated/api.js';
import type { CreateTopicsRequest } from '../../wire/generated/messages/create-topics-request.js';
import type { CreateTopicsResponse } from '../../wire/generated/messages/create-topics-response.js';
import { ZERO_UUID } from '../../wire/primitives.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { describeTopicConfigs } from './config-describe.js';
import { specVersions } from './versions.js';

type TopicResult = CreateTopicsResponse['topics'][number];

function failed(name: string, errorCode: number, errorMessage: string | null): TopicResult {
  return { name, topicId: ZERO_UUID, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
}

export const createTopics = defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  ...specVersions(ApiKey.CreateTopics),
  async handle(ctx, req) {
    const { services } = ctx;
    const results = await services.controller.createTopics(
      req.topics.map((t) => ({
        name: t.name,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })),
        configs: t.configs.map((c) => ({ name: c.name, value: c.value })),
      })),
      req.validateOnly ?? false,
      req.timeoutMs,
    );
    const image = services.image();
    return {
      throttleTimeMs: 0,
      topics: results.map((r): TopicResult => {
        if (r.errorCode !== ErrorCode.NONE) return failed(r.name, r.errorCode, r.errorMessage);
        const requested = req.topics.find((t) => t.name === r.name);
        const overrides = new Map<string, string>();
        for (const c of requested?.configs ?? []) if (c.value !== null) overrides.set(c.name, c.value);
        const configs = ctx.apiVersion >= 5
          ? describeTopicConfigs(image.topicConfigs(r.name).size > 0 ? image.topicConfigs(r.name) : overrides, services.config, null, false)
              .map((c) => ({ name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.configSource, isSensitive: c.isSensitive }))
          : null;
        return {
          name: r.name,
          topicId: r.topicId,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          numPartitions: r.numPartitions,
          replicationFactor: r.replicationFactor,
          configs,
        };
      }),
    };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, topics: req.topics.map((t) => failed(t.name, errorCode, null)) };
  },
});
