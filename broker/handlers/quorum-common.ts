// Shared by the handlers of Kafka's quorum APIs on the controller listener (Vote,
// BeginQuorumEpoch, EndQuorumEpoch, Fetch of __cluster_metadata, FetchSnapshot): a request that
// the wire layer refused (wrong cluster id, wrong partition, wrong addressee) is answered with
// that top-level error without reaching the Raft core; otherwise the core's answer is returned
// once it may leave (after the state it depends on is durable).
import type { Inbound } from '../../kraft/raft-wire.js';
import type { ResponseBody } from '../../kraft/raft/index.js';
import { ErrorCode } from '../../wire/errors.js';
import type { ControllerServices } from '../controller/services.js';
import type { RequestContext } from '../handler.js';

export async function askCore<T extends ResponseBody['type']>(
  ctx: RequestContext<ControllerServices>,
  inbound: Inbound<Parameters<ControllerServices['quorum']['handleRequest']>[1]>,
  responseType: T,
  timeoutMs: number,
): Promise<Extract<ResponseBody, { type: T }> | { errorCode: ErrorCode }> {
  if (!inbound.ok) {
    ctx.logger.warn({ api: ctx.request.apiKey, errorCode: inbound.errorCode, reason: inbound.message, client: ctx.request.clientId }, 'refused a quorum request');
    return { errorCode: inbound.errorCode };
  }
  const res = await ctx.services.quorum.handleRequest(inbound.from, inbound.body, timeoutMs);
  if (res === null || res.type !== responseType) return { errorCode: ErrorCode.REQUEST_TIMED_OUT };
  return res as Extract<ResponseBody, { type: T }>;
}
