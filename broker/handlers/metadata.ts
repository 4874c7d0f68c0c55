// Metadata (key 3): v0–v12
// Behaviour: brokers (as advertised on the listener the request came in on), topics by name or
// (v10+) id, all topics for a null list (v0: empty list), auto-creation when the request allows
// it (v4+) and auto.create.topics.enable is true. Read only from the metadata image.
import { ApiKey } from '../../wire/generated/api.js';
import type { MetadataRequest } from '../../wire/generated/messages/metadata-request.js';
import type { MetadataResponse } from '../../wire/generated/messages/metadata-response.js';
import { ZERO_UUID } from '../../wire/primitives.js';
import { ErrorCode } from '../../wire/errors.js';
import type { MetadataImage } from '../../kraft/image.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { advertisedBrokers, isInternalTopic, validTopicName } from './common.js';
import { specVersions } from './versions.js';

type TopicResponse = MetadataResponse['topics'][number];
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export function describeTopic(image: MetadataImage, name: string): TopicResponse | null {
  const topic = image.topicByName(name);
  if (!topic) return null;
  const live = new Set([...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.id));
  const partitions = [...topic.partitions.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, p]) => ({
      errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: index,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: p.replicas.filter((r) => !live.has(r)),
    }));
  return {
    errorCode: ErrorCode.NONE,
    name,
    topicId: topic.id,
    isInternal: isInternalTopic(name),
    partitions,
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function topicError(name: string | null, errorCode: number, topicId = ZERO_UUID): TopicResponse {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
}

async function resolveByName(ctx: RequestContext, name: string, allowAutoCreate: boolean): Promise<TopicResponse> {
  const { services } = ctx;
  const found = describeTopic(services.image(), name);
  if (found) return found;
  if (!validTopicName(name)) return topicError(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
  if (!allowAutoCreate || !services.config.bool('auto.create.topics.enable') || isInternalTopic(name)) {
    return topicError(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const [created] = await services.controller.createTopics([{ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] }], false);
  if (created && created.errorCode !== ErrorCode.NONE && created.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
    ctx.logger.warn({ topic: name, errorCode: created.errorCode, msg: created.errorMessage }, 'auto topic creation failed');
    return topicError(name, ErrorCode.LEADER_NOT_AVAILABLE);
  }
  return describeTopic(services.image(), name) ?? topicError(name, ErrorCode.LEADER_NOT_AVAILABLE);
}

export const metadata = defineHandler<MetadataRequest, MetadataResponse>({
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  ...specVersions(ApiKey.Metadata),
  async handle(ctx, req) {
    const { services } = ctx;
    const allowAutoCreate = ctx.apiVersion < 4 ? true : req.allowAutoTopicCreation !== false;
    let topics: TopicResponse[];
    const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
    if (all) {
      const image = services.image();
      topics = [...image.topicsByName.values()].map((t) => describeTopic(image, t.name)!).sort((a, b) => (a.name! < b.name! ? -1 : 1));
    } else {
      topics = await Promise.all(
        req.topics!.map(async (t) => {
          if (t.name !== null && t.name !== undefined) return resolveByName(ctx, t.name, allowAutoCreate);
          const id = t.topicId ?? ZERO_UUID;
          const byId = id === ZERO_UUID ? undefined : services.image().topicById(id);
          if (!byId) return topicError(null, ErrorCode.UNKNOWN_TOPIC_ID, id);
          return describeTopic(services.image(), byId.name)!;
        }),
      );
    }
    const image = services.image();
    return {
      throttleTimeMs: 0,
      brokers: advertisedBrokers(image, ctx.listenerName).map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: services.clusterId,
      controllerId: services.controllerId(),
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
