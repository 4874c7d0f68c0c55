// ApiVersions (key 18): v0–v4
// Behaviour: lists every API this broker registers a handler for, with the exact version range
// it serves. An unknown version is answered by the router with a v0 body and UNSUPPORTED_VERSION.
import { ApiKey } from '../../wire/generated/api.js';
import type { ApiVersionsRequest } from '../../wire/generated/messages/api-versions-request.js';
import type { ApiVersionsResponse } from '../../wire/generated/messages/api-versions-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { apiVersionRanges } from '../router.js';
import { specVersions } from './versions.js';

/** metadata.version of Kafka 3.9 (3.9-IV0), the feature level this broker speaks. */
const METADATA_VERSION_LEVEL = 21;

export const apiVersions = defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  ...specVersions(ApiKey.ApiVersions),
  handle(ctx) {
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: apiVersionRanges(ctx.services.handlers),
      throttleTimeMs: 0,
      supportedFeatures: [{ name: 'metadata.version', minVersion: 1, maxVersion: METADATA_VERSION_LEVEL }],
      finalizedFeaturesEpoch: BigInt(ctx.services.image().offset),
      finalizedFeatures: [{ name: 'metadata.version', minVersionLevel: METADATA_VERSION_LEVEL, maxVersionLevel: METADATA_VERSION_LEVEL }],
      zkMigrationReady: false,
    };
  },
  errorResponse(_req, errorCode) {
    return { errorCode, apiKeys: [], throttleTimeMs: 0 };
  },
});
