// JoinGroup (key 11): v0–v9
// Behaviour: the classic group protocol's join phase (broker/group/coordinator.ts): a new member
// gets MEMBER_ID_REQUIRED with its id first (v4+, dynamic members), the response is parked until
// the rebalance's join phase completes (everyone rejoined, rebalance timeout, or the initial
// delay group.initial.rebalance.delay.ms of a new group), the protocol every member supports is
// chosen by the members' preference votes, and the leader gets every member's metadata. Static
// members (group.instance.id, v5+) rejoin after a restart without a rebalance; v9 tells a
// rejoining static leader to skip the assignment. Errors: INVALID_GROUP_ID,
// INVALID_SESSION_TIMEOUT (group.min/max.session.timeout.ms), INCONSISTENT_GROUP_PROTOCOL,
// UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS. v0 has no rebalance timeout: the session timeout is used.
import { ApiKey } from '../../wire/generated/api.js';
import type { JoinGroupRequest } from '../../wire/generated/messages/join-group-request.js';
import type { JoinGroupResponse } from '../../wire/generated/messages/join-group-response.js';
import type { JoinResult } from '../group/group.js';
import { clientHost, clientId } from '../group/request-support.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

function toResponse(r: JoinResult, version: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Before v7 the protocol name is not nullable: "" stands for none.
    protocolName: version >= 7 ? r.protocolName : (r.protocolName ?? ''),
    leader: r.leader,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
}

export const joinGroup = defineHandler<JoinGroupRequest, JoinGroupResponse>({
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  ...specVersions(ApiKey.JoinGroup),
  async handle(ctx, req) {
    const v = ctx.apiVersion;
    const groupInstanceId = req.groupInstanceId ?? null;
    const seen = new Set<string>();
    const protocols = req.protocols.filter((p) => !seen.has(p.name) && seen.add(p.name)).map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
    const result = await ctx.services.groupCoordinator.coordinator.joinGroup({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v === 0 || req.rebalanceTimeoutMs === undefined || req.rebalanceTimeoutMs < 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols,
      clientId: clientId(ctx),
      clientHost: clientHost(ctx),
      requireKnownMemberId: v >= 4 && groupInstanceId === null,
      supportSkippingAssignment: v >= 9,
      reason: req.reason ?? null,
    });
    return toResponse(result, v);
  },
  errorResponse(req, errorCode, version) {
    return toResponse(
      { errorCode, memberId: req.memberId, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, members: [] },
      version,
    );
  },
});
