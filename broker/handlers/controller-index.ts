// Every API the controller listener serves (controller.listener.names): Kafka's quorum APIs,
// the broker lifecycle APIs, AlterPartition, AllocateProducerIds, the forwarded admin APIs,
// ApiVersions and DescribeCluster. ApiVersions on this listener advertises exactly these.
import type { ControllerServices } from '../controller/services.js';
import type { HandlerDef } from '../handler.js';
import { allocateProducerIds } from './allocate-producer-ids.js';
import { alterPartition } from './alter-partition.js';
import { beginQuorumEpoch } from './begin-quorum-epoch.js';
import { brokerHeartbeat } from './broker-heartbeat.js';
import { brokerRegistration } from './broker-registration.js';
import {
  controllerAlterConfigs,
  controllerAlterPartitionReassignments,
  controllerApiVersions,
  controllerCreatePartitions,
  controllerCreateTopics,
  controllerDeleteTopics,
  controllerDescribeCluster,
  controllerElectLeaders,
  controllerIncrementalAlterConfigs,
  controllerListPartitionReassignments,
} from './controller-admin.js';
import { controllerAlterClientQuotas, controllerDescribeClientQuotas } from './controller-client-quotas.js';
import { describeQuorum } from './describe-quorum.js';
import { endQuorumEpoch } from './end-quorum-epoch.js';
import { fetchSnapshot } from './fetch-snapshot.js';
import { metadataFetch } from './metadata-fetch.js';
import { vote } from './vote.js';

const ALL: ReadonlyArray<HandlerDef<any, any, ControllerServices>> = [
  metadataFetch,
  controllerCreateTopics,
  controllerDeleteTopics,
  controllerApiVersions,
  controllerAlterConfigs,
  controllerCreatePartitions,
  controllerIncrementalAlterConfigs,
  controllerElectLeaders,
  controllerAlterPartitionReassignments,
  controllerListPartitionReassignments,
  vote,
  beginQuorumEpoch,
  endQuorumEpoch,
  describeQuorum,
  alterPartition,
  fetchSnapshot,
  controllerDescribeCluster,
  brokerRegistration,
  brokerHeartbeat,
  allocateProducerIds,
  controllerDescribeClientQuotas,
  controllerAlterClientQuotas,
];

export function controllerHandlers(): ReadonlyMap<number, HandlerDef<any, any, ControllerServices>> {
  const map = new Map<number, HandlerDef<any, any, ControllerServices>>();
  for (const h of ALL) {
    if (map.has(h.apiKey)) throw new Error(`two controller handlers for API key ${h.apiKey}`);
    map.set(h.apiKey, h);
  }
  return map;
}
