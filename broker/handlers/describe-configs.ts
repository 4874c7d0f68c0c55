// DescribeConfigs (key 32): v0–v4
// Behaviour: topic resources (every topic config with its effective value and source,
// synonyms on request) and this broker's configs; unknown topic ⇒ UNKNOWN_TOPIC_OR_PARTITION.
import { ApiKey } from '../../wire/generated/api.js';
import type { DescribeConfigsRequest } from '../../wire/generated/messages/describe-configs-request.js';
import type { DescribeConfigsResponse } from '../../wire/generated/messages/describe-configs-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { ConfigResourceType } from '../../kraft/image.js';
import { defineHandler } from '../handler.js';
import { describeBrokerConfigs, describeTopicConfigs } from './config-describe.js';
import { specVersions } from './versions.js';

type Result = DescribeConfigsResponse['results'][number];

export const describeConfigs = defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  apiKey: ApiKey.DescribeConfigs,
  name: 'DescribeConfigs',
  ...specVersions(ApiKey.DescribeConfigs),
  handle(ctx, req) {
    const { services } = ctx;
    const image = services.image();
    const results = req.resources.map((r): Result => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      const fail = (errorCode: number, errorMessage: string): Result => ({ ...base, errorCode, errorMessage, configs: [] });
      let configs;
      if (r.resourceType === ConfigResourceType.TOPIC) {
        if (!image.topicByName(r.resourceName)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${r.resourceName} does not exist`);
        configs = describeTopicConfigs(image.topicConfigs(r.resourceName), services.config, r.configurationKeys, req.includeSynonyms ?? false);
      } else if (r.resourceType === ConfigResourceType.BROKER) {
        if (r.resourceName !== '' && r.resourceName !== String(services.nodeId)) {
          return fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${services.nodeId} or empty string, but received ${r.resourceName}`);
        }
        const dynamic = new Map([...image.brokerConfigs(''), ...(r.resourceName === '' ? [] : image.brokerConfigs(services.nodeId))]);
        configs = describeBrokerConfigs(services.config, dynamic, r.configurationKeys);
      } else {
        return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}`);
      }
      return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
    });
    return { throttleTimeMs: 0, results };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, results: req.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })) };
  },
});
