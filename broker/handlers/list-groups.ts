// ListGroups (key 16): v0–v5
// Behaviour: every group of the `__consumer_offsets` partitions this broker coordinates, with
// its protocol type, state (v4+) and type "classic" (v5+); filters by state (v4+, case
// insensitive) and type (v5+). COORDINATOR_LOAD_IN_PROGRESS (with the groups already loaded)
// while a partition loads.
import { ApiKey } from '../../wire/generated/api.js';
import type { ListGroupsRequest } from '../../wire/generated/messages/list-groups-request.js';
import type { ListGroupsResponse } from '../../wire/generated/messages/list-groups-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const listGroups = defineHandler<ListGroupsRequest, ListGroupsResponse>({
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  ...specVersions(ApiKey.ListGroups),
  handle(ctx, req) {
    const r = ctx.services.groupCoordinator.coordinator.listGroups(req.statesFilter ?? [], req.typesFilter ?? []);
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      groups: r.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState, groupType: g.groupType })),
    };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, groups: [] };
  },
});
