// AlterPartitionReassignments (key 45, v0), on the broker listeners: forwarded to the active
// controller (broker/controller-client.ts), which starts, changes or cancels each partition's
// reassignment (broker/controller/reassignment.ts) and answers once the change is committed;
// this broker answers once its own image has it. A reassignment that adds replicas completes
// later, when the new replicas have caught up and joined the ISR (ListPartitionReassignments
// shows it until then). Authorisation (ALTER on the cluster) is not implemented in this project.
import { ApiKey } from '../../wire/generated/api.js';
import type { AlterPartitionReassignmentsRequest } from '../../wire/generated/messages/alter-partition-reassignments-request.js';
import type { AlterPartitionReassignmentsResponse } from '../../wire/generated/messages/alter-partition-reassignments-response.js';
import { alterReassignmentsErrorResponse } from '../controller/reassignment.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const alterPartitionReassignments = defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>({
  apiKey: ApiKey.AlterPartitionReassignments,
  name: 'AlterPartitionReassignments',
  ...specVersions(ApiKey.AlterPartitionReassignments),
  handle(ctx, req) {
    return ctx.services.controller.alterPartitionReassignments(req.topics, req.timeoutMs);
  },
  errorResponse(req, errorCode) {
    return alterReassignmentsErrorResponse(req, errorCode);
  },
});
