// Fetch (key 1): v0–v17 on the controller listener, for __cluster_metadata-0 only (by name, or
// v13+ by Kafka's metadata topic id). Behaviour: a voter's or observer's pull of the metadata
// log, served by the Raft core: entries (one record batch each, base offset = entry offset),
// the high watermark, a diverging epoch to truncate to, or the snapshot to fetch instead; a
// fetch with nothing new is held up to max_wait_ms (long poll). Any other topic or partition,
// or another cluster id, is refused (INVALID_REQUEST / INCONSISTENT_CLUSTER_ID). Client fetches
// of data partitions go to the broker listeners (handlers/fetch.ts).
import { fetchResponseToWire, inboundFetch } from '../../kraft/raft-wire.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { FetchRequest } from '../../wire/generated/messages/fetch-request.js';
import type { FetchResponse } from '../../wire/generated/messages/fetch-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { askCore } from './quorum-common.js';
import { specVersions } from './versions.js';

export const metadataFetch = defineHandler<FetchRequest, FetchResponse, ControllerServices>({
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  ...specVersions(ApiKey.Fetch),
  async handle(ctx, req) {
    const s = ctx.services;
    const inbound = inboundFetch(req, ctx.apiVersion, s.clusterId, (ms) => s.quorum.msToTicks(ms));
    const timeout = Math.max(0, req.maxWaitMs) + s.requestTimeoutMs;
    return fetchResponseToWire(await askCore(ctx, inbound, 'FetchResponse', timeout), ctx.apiVersion, Date.now());
  },
  errorResponse(_req, errorCode, version) {
    return fetchResponseToWire({ errorCode }, version, Date.now());
  },
});
