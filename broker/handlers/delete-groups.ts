// DeleteGroups (key 42): v0–v2
// Behaviour: deletes Empty groups: tombstones for the group and all its offsets in
// `__consumer_offsets`. Per group: NON_EMPTY_GROUP (members remain), GROUP_ID_NOT_FOUND,
// NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS. Duplicate ids are answered once.
import { ApiKey } from '../../wire/generated/api.js';
import type { DeleteGroupsRequest } from '../../wire/generated/messages/delete-groups-request.js';
import type { DeleteGroupsResponse } from '../../wire/generated/messages/delete-groups-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const deleteGroups = defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  ...specVersions(ApiKey.DeleteGroups),
  async handle(ctx, req) {
    const results = await ctx.services.groupCoordinator.coordinator.deleteGroups(req.groupsNames);
    return { throttleTimeMs: 0, results };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, results: [...new Set(req.groupsNames)].map((groupId) => ({ groupId, errorCode })) };
  },
});
