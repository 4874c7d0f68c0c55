// DescribeQuorum (key 55): v0–v2 (controller listener)
// Behaviour: the leader reports the leader id and epoch, the high watermark, and each voter's
// and observer's log end offset, last fetch and last caught-up time (entry offsets); a
// non-leader answers NOT_LEADER_OR_FOLLOWER with the leader it knows, and (v2) the voters'
// controller endpoints. Anything but __cluster_metadata-0 ⇒ INVALID_REQUEST.
import { ApiKey } from '../../wire/generated/api.js';
import type { DescribeQuorumRequest } from '../../wire/generated/messages/describe-quorum-request.js';
import type { DescribeQuorumResponse } from '../../wire/generated/messages/describe-quorum-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const describeQuorum = defineHandler<DescribeQuorumRequest, DescribeQuorumResponse, ControllerServices>({
  apiKey: ApiKey.DescribeQuorum,
  name: 'DescribeQuorum',
  ...specVersions(ApiKey.DescribeQuorum),
  handle(ctx, req) {
    return ctx.services.controller.describeQuorum(req);
  },
  errorResponse(_req, errorCode) {
    return { errorCode, errorMessage: null, topics: [], nodes: [] };
  },
});
