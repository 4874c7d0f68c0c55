// LeaveGroup (key 13): v0–v5
// Behaviour: removes members (v3+: a batch, each by member id or, with an empty member id, by
// group instance id) and starts a rebalance for the rest; pending members (MEMBER_ID_REQUIRED)
// are just forgotten. Per-member errors: UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID. v0–v2 carry
// one member and report its error at the top level.
import { ApiKey } from '../../wire/generated/api.js';
import type { LeaveGroupRequest } from '../../wire/generated/messages/leave-group-request.js';
import type { LeaveGroupResponse } from '../../wire/generated/messages/leave-group-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const leaveGroup = defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  ...specVersions(ApiKey.LeaveGroup),
  handle(ctx, req) {
    const v = ctx.apiVersion;
    const members = v >= 3
      ? (req.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, reason: m.reason ?? null }))
      : [{ memberId: req.memberId ?? '', groupInstanceId: null, reason: null }];
    const r = ctx.services.groupCoordinator.coordinator.leaveGroup(req.groupId, members);
    if (v >= 3) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
    // Older versions: the top-level error, else the member's.
    const memberError = r.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: r.errorCode !== ErrorCode.NONE ? r.errorCode : memberError };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, members: [] };
  },
});
