// FindCoordinator (key 10): v0–v6
// Behaviour: key type 0 (group) → the leader of the group's `__consumer_offsets` partition,
// key type 1 (transaction) → the leader of the transactional id's `__transaction_state`
// partition (partition = abs(javaHashCode(key)) % partitions). A missing internal topic is
// created on the first request (`offsets.topic.*` / `transaction.state.log.*`, RF capped at the
// live brokers), and the answer waits for it instead of answering COORDINATOR_NOT_AVAILABLE
// first as Kafka does. v4+ answers a batch of keys. No leader or no endpoint on this listener:
// COORDINATOR_NOT_AVAILABLE; other key types: INVALID_REQUEST.
// Not implemented: key type 2 (share groups).
import { ApiKey } from '../../wire/generated/api.js';
import type { FindCoordinatorRequest } from '../../wire/generated/messages/find-coordinator-request.js';
import type { FindCoordinatorResponse, FindCoordinatorResponseCoordinator } from '../../wire/generated/messages/find-coordinator-response.js';
import { ErrorCode, errorMessage } from '../../wire/errors.js';
import { GROUP_METADATA_TOPIC, partitionFor, TRANSACTION_STATE_TOPIC } from '../group/offsets-topic.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { advertisedBrokers } from './common.js';
import { specVersions } from './versions.js';

const GROUP_KEY_TYPE = 0;
const TRANSACTION_KEY_TYPE = 1;

function failed(key: string, errorCode: number): FindCoordinatorResponseCoordinator {
  return { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: errorMessage(errorCode) };
}

async function findOne(ctx: RequestContext, key: string, keyType: number): Promise<FindCoordinatorResponseCoordinator> {
  const topic = keyType === GROUP_KEY_TYPE ? GROUP_METADATA_TOPIC : keyType === TRANSACTION_KEY_TYPE ? TRANSACTION_STATE_TOPIC : null;
  if (topic === null) return failed(key, ErrorCode.INVALID_REQUEST);
  const { services } = ctx;
  if (!services.image().topicByName(topic)) {
    const created = await services.internalTopics.ensure(topic);
    if (created !== ErrorCode.NONE) return failed(key, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }
  const image = services.image();
  const t = image.topicByName(topic);
  if (!t || t.partitions.size === 0) return failed(key, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const reg = t.partitions.get(partitionFor(key, t.partitions.size));
  if (!reg || reg.leader < 0) return failed(key, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const node = advertisedBrokers(image, ctx.listenerName).find((b) => b.nodeId === reg.leader);
  if (!node) return failed(key, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  return { key, nodeId: node.nodeId, host: node.host, port: node.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

export const findCoordinator = defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  ...specVersions(ApiKey.FindCoordinator),
  async handle(ctx, req) {
    const keyType = req.keyType ?? GROUP_KEY_TYPE;
    if (ctx.apiVersion >= 4) {
      const keys = req.coordinatorKeys ?? [];
      return { throttleTimeMs: 0, coordinators: await Promise.all(keys.map((k) => findOne(ctx, k, keyType))) };
    }
    const c = await findOne(ctx, req.key ?? '', keyType);
    return { throttleTimeMs: 0, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port };
  },
  errorResponse(req, errorCode, version) {
    if (version >= 4) return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys ?? []).map((k) => failed(k, errorCode)) };
    return { throttleTimeMs: 0, errorCode, errorMessage: errorMessage(errorCode), nodeId: -1, host: '', port: -1 };
  },
});
