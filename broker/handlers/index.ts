// Every API this broker serves. ApiVersions advertises exactly these, with these ranges.
import type { HandlerDef } from '../handler.js';
import { addOffsetsToTxn } from './add-offsets-to-txn.js';
import { addPartitionsToTxn } from './add-partitions-to-txn.js';
import { alterClientQuotas } from './alter-client-quotas.js';
import { alterConfigs } from './alter-configs.js';
import { alterPartitionReassignments } from './alter-partition-reassignments.js';
import { apiVersions } from './api-versions.js';
import { createPartitions } from './create-partitions.js';
import { createTopics } from './create-topics.js';
import { deleteRecords } from './delete-records.js';
import { deleteTopics } from './delete-topics.js';
import { describeClientQuotas } from './describe-client-quotas.js';
import { describeCluster } from './describe-cluster.js';
import { describeConfigs } from './describe-configs.js';
import { deleteGroups } from './delete-groups.js';
import { describeGroups } from './describe-groups.js';
import { describeLogDirs } from './describe-log-dirs.js';
import { describeTransactions } from './describe-transactions.js';
import { electLeaders } from './elect-leaders.js';
import { endTxn } from './end-txn.js';
import { fetch } from './fetch.js';
import { findCoordinator } from './find-coordinator.js';
import { heartbeat } from './heartbeat.js';
import { initProducerId } from './init-producer-id.js';
import { incrementalAlterConfigs } from './incremental-alter-configs.js';
import { joinGroup } from './join-group.js';
import { leaveGroup } from './leave-group.js';
import { listGroups } from './list-groups.js';
import { listOffsets } from './list-offsets.js';
import { listPartitionReassignments } from './list-partition-reassignments.js';
import { listTransactions } from './list-transactions.js';
import { metadata } from './metadata.js';
import { offsetCommit } from './offset-commit.js';
import { offsetDelete } from './offset-delete.js';
import { offsetFetch } from './offset-fetch.js';
import { offsetForLeaderEpoch } from './offset-for-leader-epoch.js';
import { produce } from './produce.js';
import { syncGroup } from './sync-group.js';
import { txnOffsetCommit } from './txn-offset-commit.js';
import { writeTxnMarkers } from './write-txn-markers.js';

const ALL: readonly HandlerDef[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  describeConfigs,
  alterConfigs,
  initProducerId,
  offsetForLeaderEpoch,
  addPartitionsToTxn,
  addOffsetsToTxn,
  endTxn,
  writeTxnMarkers,
  txnOffsetCommit,
  describeLogDirs,
  createPartitions,
  electLeaders,
  incrementalAlterConfigs,
  alterPartitionReassignments,
  listPartitionReassignments,
  describeCluster,
  deleteGroups,
  offsetDelete,
  describeTransactions,
  listTransactions,
  describeClientQuotas,
  alterClientQuotas,
];

export function brokerHandlers(): ReadonlyMap<number, HandlerDef> {
  const map = new Map<number, HandlerDef>();
  for (const h of ALL) {
    if (map.has(h.apiKey)) throw new Error(`two handlers for API key ${h.apiKey}`);
    map.set(h.apiKey, h);
  }
  return map;
}
