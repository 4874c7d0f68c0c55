// FetchSnapshot (key 59): v0–v1 (controller listener)
// Behaviour: the leader serves its latest metadata snapshot in chunks to a follower or observer
// whose fetch offset fell below the log start (SNAPSHOT_NOT_FOUND for another snapshot id,
// POSITION_OUT_OF_RANGE past its end, leader epoch errors from the Raft core).
import { fetchSnapshotResponseToWire, inboundFetchSnapshot } from '../../kraft/raft-wire.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { FetchSnapshotRequest } from '../../wire/generated/messages/fetch-snapshot-request.js';
import type { FetchSnapshotResponse } from '../../wire/generated/messages/fetch-snapshot-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { askCore } from './quorum-common.js';
import { specVersions } from './versions.js';

export const fetchSnapshot = defineHandler<FetchSnapshotRequest, FetchSnapshotResponse, ControllerServices>({
  apiKey: ApiKey.FetchSnapshot,
  name: 'FetchSnapshot',
  ...specVersions(ApiKey.FetchSnapshot),
  async handle(ctx, req) {
    const s = ctx.services;
    return fetchSnapshotResponseToWire(await askCore(ctx, inboundFetchSnapshot(req, s.clusterId), 'FetchSnapshotResponse', s.requestTimeoutMs));
  },
  errorResponse(_req, errorCode) {
    return fetchSnapshotResponseToWire({ errorCode });
  },
});
