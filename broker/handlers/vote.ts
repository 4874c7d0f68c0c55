// Vote (key 52): v0–v2 (controller listener)
// Behaviour: a candidate's (or, v2, a prospective's pre-) vote request, decided by the Raft core;
// the grant is durable (quorum-state) before the answer leaves. v2 is Kafka 4.0's VoteRequest
// (v1 + PreVote), coded by hand in kraft/raft-wire.ts since the 3.9 schemas stop at v1.
// Refused without touching the core: another cluster id (INCONSISTENT_CLUSTER_ID), another
// partition than __cluster_metadata-0 (INVALID_REQUEST), another addressee (INVALID_VOTER_KEY).
// The core answers a candidate outside the voter set with INCONSISTENT_VOTER_SET and a stale
// epoch with FENCED_LEADER_EPOCH.
import { decodeVoteRequestV0to2, encodeVoteResponseV0to2, inboundVote, voteResponseToWire, VOTE_MAX_VERSION, type WireVoteRequest } from '../../kraft/raft-wire.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { VoteResponse } from '../../wire/generated/messages/vote-response.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { askCore } from './quorum-common.js';


export const vote = defineHandler<WireVoteRequest, VoteResponse, ControllerServices>({
  apiKey: ApiKey.Vote,
  name: 'Vote',
  minVersion: 0,
  maxVersion: VOTE_MAX_VERSION,
  codec: { decodeRequest: decodeVoteRequestV0to2, encodeResponse: encodeVoteResponseV0to2 },
  async handle(ctx, req) {
    const s = ctx.services;
    return voteResponseToWire(await askCore(ctx, inboundVote(req, s.clusterId, s.nodeId), 'VoteResponse', s.requestTimeoutMs));
  },
  errorResponse(_req, errorCode) {
    return voteResponseToWire({ errorCode });
  },
});
