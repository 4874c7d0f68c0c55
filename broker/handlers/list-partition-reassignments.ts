// ListPartitionReassignments (key 46, v0), on the broker listeners: forwarded to the active
// controller (broker/controller-client.ts), which lists the partitions being reassigned — all of
// them (topics null) or of the named partitions — with their replicas, adding and removing
// replicas (broker/controller/reassignment.ts). Authorisation (DESCRIBE on the cluster) is not
// implemented in this project.
import { ApiKey } from '../../wire/generated/api.js';
import type { ListPartitionReassignmentsRequest } from '../../wire/generated/messages/list-partition-reassignments-request.js';
import type { ListPartitionReassignmentsResponse } from '../../wire/generated/messages/list-partition-reassignments-response.js';
import { listReassignmentsErrorResponse } from '../controller/reassignment.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const listPartitionReassignments = defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>({
  apiKey: ApiKey.ListPartitionReassignments,
  name: 'ListPartitionReassignments',
  ...specVersions(ApiKey.ListPartitionReassignments),
  handle(ctx, req) {
    return ctx.services.controller.listPartitionReassignments(req.topics, req.timeoutMs);
  },
  errorResponse(_req, errorCode) {
    return listReassignmentsErrorResponse(errorCode);
  },
});
