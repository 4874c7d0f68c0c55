// The admin and discovery APIs as the controller listener serves them (Kafka's ControllerApis):
// brokers forward CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs,
// IncrementalAlterConfigs, ElectLeaders, AlterPartitionReassignments and
// ListPartitionReassignments here (broker/controller-client.ts); the active controller decides and
// answers once the records are committed, any other controller answers NOT_CONTROLLER per item.
// ApiVersions lists the controller listener's APIs; DescribeCluster describes the controllers
// (endpoint type 2, as `--bootstrap-controller` tools ask) or the registered brokers (type 1).
import { ApiKey } from '../../wire/generated/api.js';
import type { AlterConfigsRequest } from '../../wire/generated/messages/alter-configs-request.js';
import type { AlterConfigsResponse } from '../../wire/generated/messages/alter-configs-response.js';
import type { AlterPartitionReassignmentsRequest } from '../../wire/generated/messages/alter-partition-reassignments-request.js';
import type { AlterPartitionReassignmentsResponse } from '../../wire/generated/messages/alter-partition-reassignments-response.js';
import type { ApiVersionsRequest } from '../../wire/generated/messages/api-versions-request.js';
import type { ApiVersionsResponse } from '../../wire/generated/messages/api-versions-response.js';
import type { CreatePartitionsRequest } from '../../wire/generated/messages/create-partitions-request.js';
import type { CreatePartitionsResponse } from '../../wire/generated/messages/create-partitions-response.js';
import type { CreateTopicsRequest } from '../../wire/generated/messages/create-topics-request.js';
import type { CreateTopicsResponse } from '../../wire/generated/messages/create-topics-response.js';
import type { DeleteTopicsRequest } from '../../wire/generated/messages/delete-topics-request.js';
import type { DeleteTopicsResponse } from '../../wire/generated/messages/delete-topics-response.js';
import type { DescribeClusterRequest } from '../../wire/generated/messages/describe-cluster-request.js';
import type { DescribeClusterResponse } from '../../wire/generated/messages/describe-cluster-response.js';
import type { ElectLeadersRequest } from '../../wire/generated/messages/elect-leaders-request.js';
import type { ElectLeadersResponse } from '../../wire/generated/messages/elect-leaders-response.js';
import type { IncrementalAlterConfigsRequest } from '../../wire/generated/messages/incremental-alter-configs-request.js';
import type { IncrementalAlterConfigsResponse } from '../../wire/generated/messages/incremental-alter-configs-response.js';
import type { ListPartitionReassignmentsRequest } from '../../wire/generated/messages/list-partition-reassignments-request.js';
import type { ListPartitionReassignmentsResponse } from '../../wire/generated/messages/list-partition-reassignments-response.js';
import { ZERO_UUID } from '../../wire/primitives.js';
import { ErrorCode } from '../../wire/errors.js';
import { electLeadersErrorResponse } from '../controller/elect-leaders.js';
import { alterReassignmentsErrorResponse, listReassignmentsErrorResponse } from '../controller/reassignment.js';
import type { ControllerServices } from '../controller/services.js';
import { defineHandler } from '../handler.js';
import { apiVersionRanges } from '../router.js';
import { advertisedBrokers } from './common.js';
import { specVersions } from './versions.js';

/** metadata.version of Kafka 3.9 (3.9-IV0). */
const METADATA_VERSION_LEVEL = 21;
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
const BROKER_ENDPOINT_TYPE = 1;
const CONTROLLER_ENDPOINT_TYPE = 2;

export const controllerApiVersions = defineHandler<ApiVersionsRequest, ApiVersionsResponse, ControllerServices>({
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  ...specVersions(ApiKey.ApiVersions),
  handle(ctx) {
    const image = ctx.services.quorum.image;
    const level = image.metadataVersion;
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: apiVersionRanges(ctx.services.handlers),
      throttleTimeMs: 0,
      supportedFeatures: [{ name: 'metadata.version', minVersion: 1, maxVersion: METADATA_VERSION_LEVEL }],
      finalizedFeaturesEpoch: BigInt(image.offset),
      finalizedFeatures: level > 0 ? [{ name: 'metadata.version', minVersionLevel: level, maxVersionLevel: level }] : [],
      zkMigrationReady: false,
    };
  },
  errorResponse(_req, errorCode) {
    return { errorCode, apiKeys: [], throttleTimeMs: 0 };
  },
});

export const controllerCreateTopics = defineHandler<CreateTopicsRequest, CreateTopicsResponse, ControllerServices>({
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  ...specVersions(ApiKey.CreateTopics),
  handle(ctx, req) {
    return ctx.services.controller.createTopics(req);
  },
  errorResponse(req, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ name: t.name, topicId: ZERO_UUID, errorCode, errorMessage: null, numPartitions: -1, replicationFactor: -1, configs: null })),
    };
  },
});

export const controllerDeleteTopics = defineHandler<DeleteTopicsRequest, DeleteTopicsResponse, ControllerServices>({
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  ...specVersions(ApiKey.DeleteTopics),
  handle(ctx, req) {
    return ctx.services.controller.deleteTopics(req, ctx.apiVersion);
  },
  errorResponse(req, errorCode) {
    const names = req.topicNames ?? (req.topics ?? []).map((t) => t.name ?? '');
    return { throttleTimeMs: 0, responses: names.map((name) => ({ name, topicId: ZERO_UUID, errorCode, errorMessage: null })) };
  },
});

export const controllerCreatePartitions = defineHandler<CreatePartitionsRequest, CreatePartitionsResponse, ControllerServices>({
  apiKey: ApiKey.CreatePartitions,
  name: 'CreatePartitions',
  ...specVersions(ApiKey.CreatePartitions),
  handle(ctx, req) {
    return ctx.services.controller.createPartitions(req);
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, results: req.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) };
  },
});

export const controllerElectLeaders = defineHandler<ElectLeadersRequest, ElectLeadersResponse, ControllerServices>({
  apiKey: ApiKey.ElectLeaders,
  name: 'ElectLeaders',
  ...specVersions(ApiKey.ElectLeaders),
  handle(ctx, req) {
    return ctx.services.controller.electLeaders(req, ctx.apiVersion);
  },
  errorResponse(req, errorCode) {
    return electLeadersErrorResponse(req, errorCode);
  },
});

export const controllerAlterPartitionReassignments = defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ControllerServices>({
  apiKey: ApiKey.AlterPartitionReassignments,
  name: 'AlterPartitionReassignments',
  ...specVersions(ApiKey.AlterPartitionReassignments),
  handle(ctx, req) {
    return ctx.services.controller.alterPartitionReassignments(req);
  },
  errorResponse(req, errorCode) {
    return alterReassignmentsErrorResponse(req, errorCode);
  },
});

export const controllerListPartitionReassignments = defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, ControllerServices>({
  apiKey: ApiKey.ListPartitionReassignments,
  name: 'ListPartitionReassignments',
  ...specVersions(ApiKey.ListPartitionReassignments),
  handle(ctx, req) {
    return ctx.services.controller.listPartitionReassignments(req);
  },
  errorResponse(_req, errorCode) {
    return listReassignmentsErrorResponse(errorCode);
  },
});

export const controllerAlterConfigs = defineHandler<AlterConfigsRequest, AlterConfigsResponse, ControllerServices>({
  apiKey: ApiKey.AlterConfigs,
  name: 'AlterConfigs',
  ...specVersions(ApiKey.AlterConfigs),
  handle(ctx, req) {
    return ctx.services.controller.alterConfigs(req);
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, responses: req.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })) };
  },
});

export const controllerIncrementalAlterConfigs = defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ControllerServices>({
  apiKey: ApiKey.IncrementalAlterConfigs,
  name: 'IncrementalAlterConfigs',
  ...specVersions(ApiKey.IncrementalAlterConfigs),
  handle(ctx, req) {
    return ctx.services.controller.incrementalAlterConfigs(req);
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, responses: req.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })) };
  },
});

export const controllerDescribeCluster = defineHandler<DescribeClusterRequest, DescribeClusterResponse, ControllerServices>({
  apiKey: ApiKey.DescribeCluster,
  name: 'DescribeCluster',
  ...specVersions(ApiKey.DescribeCluster),
  handle(ctx, req) {
    const s = ctx.services;
    const endpointType = req.endpointType ?? BROKER_ENDPOINT_TYPE;
    const base = { throttleTimeMs: 0, endpointType, clusterId: s.clusterId, clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED, errorCode: ErrorCode.NONE, errorMessage: null };
    if (endpointType === CONTROLLER_ENDPOINT_TYPE) {
      return {
        ...base,
        controllerId: s.quorum.leaderId() ?? -1,
        brokers: s.voters.filter((v) => v.address !== null).map((v) => ({ brokerId: v.id, host: v.address!.host, port: v.address!.port, rack: null })),
      };
    }
    if (endpointType !== BROKER_ENDPOINT_TYPE) {
      return { ...base, controllerId: -1, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `Unsupported endpoint type ${endpointType}`, brokers: [] };
    }
    const brokers = advertisedBrokers(s.quorum.image, '');
    return { ...base, controllerId: s.quorum.leaderId() ?? -1, brokers: brokers.map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })) };
  },
});
