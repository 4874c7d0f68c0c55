// DescribeCluster (key 60): v0–v1
// Behaviour: cluster id, controller id and the unfenced brokers on the request's listener;
// endpoint type 1 (brokers) only; asking for controllers (2) ⇒ UNSUPPORTED_ENDPOINT_TYPE.
import { ApiKey } from '../../wire/generated/api.js';
import type { DescribeClusterRequest } from '../../wire/generated/messages/describe-cluster-request.js';
import type { DescribeClusterResponse } from '../../wire/generated/messages/describe-cluster-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { advertisedBrokers } from './common.js';
import { specVersions } from './versions.js';

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
const BROKER_ENDPOINT_TYPE = 1;

export const describeCluster = defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  apiKey: ApiKey.DescribeCluster,
  name: 'DescribeCluster',
  ...specVersions(ApiKey.DescribeCluster),
  handle(ctx, req) {
    const { services } = ctx;
    const endpointType = req.endpointType ?? BROKER_ENDPOINT_TYPE;
    const base = { throttleTimeMs: 0, endpointType, clusterId: services.clusterId, controllerId: services.controllerId(), clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
    if (endpointType !== BROKER_ENDPOINT_TYPE) {
      return { ...base, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `Unsupported endpoint type ${endpointType}`, brokers: [] };
    }
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      brokers: advertisedBrokers(services.image(), ctx.listenerName).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    };
  },
});
