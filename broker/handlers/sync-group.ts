// SyncGroup (key 14): v0–v5
// Behaviour: the classic group protocol's sync phase. Followers' requests are parked until the
// leader's assignment (missing members get an empty one) is stored in `__consumer_offsets`;
// then everyone gets its assignment and the group is Stable. In a Stable group the current
// assignment is answered at once. Errors: UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
// ILLEGAL_GENERATION, INCONSISTENT_GROUP_PROTOCOL (v5 protocol type/name checks),
// REBALANCE_IN_PROGRESS (a new rebalance started, or the coordinator was reloading),
// NOT_COORDINATOR, INVALID_GROUP_ID.
import { ApiKey } from '../../wire/generated/api.js';
import type { SyncGroupRequest } from '../../wire/generated/messages/sync-group-request.js';
import type { SyncGroupResponse } from '../../wire/generated/messages/sync-group-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

const EMPTY = Buffer.alloc(0);

export const syncGroup = defineHandler<SyncGroupRequest, SyncGroupResponse>({
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  ...specVersions(ApiKey.SyncGroup),
  async handle(ctx, req) {
    const r = await ctx.services.groupCoordinator.coordinator.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      protocolType: req.protocolType ?? null,
      protocolName: req.protocolName ?? null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    });
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
  },
});
