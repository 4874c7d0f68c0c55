// DescribeGroups (key 15): v0–v5
// Behaviour: per group: state, protocol type, and members (client id, host, v4+ group instance
// id); a Stable group also shows the selected protocol and each member's metadata and
// assignment. Unknown groups are described as Dead with no error; NOT_COORDINATOR /
// COORDINATOR_LOAD_IN_PROGRESS per group. v3+ authorized operations when asked (no authorizer:
// everything a group allows).
import { ApiKey } from '../../wire/generated/api.js';
import type { DescribeGroupsRequest } from '../../wire/generated/messages/describe-groups-request.js';
import type { DescribeGroupsResponse } from '../../wire/generated/messages/describe-groups-response.js';
import { AUTHORIZED_OPERATIONS_OMITTED, GROUP_AUTHORIZED_OPERATIONS } from '../group/request-support.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const describeGroups = defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  ...specVersions(ApiKey.DescribeGroups),
  handle(ctx, req) {
    const coordinator = ctx.services.groupCoordinator.coordinator;
    const ops = req.includeAuthorizedOperations ? GROUP_AUTHORIZED_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) => {
        const g = coordinator.describeGroup(groupId);
        return { ...g, authorizedOperations: ops };
      }),
    };
  },
  errorResponse(req, errorCode) {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) => ({ errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED })),
    };
  },
});
