// Every API this broker serves. ApiVersions advertises exactly these, with these ranges.
import type { HandlerDef } from '../handler.js';
import { alterConfigs } from './alter-configs.js';
import { apiVersions } from './api-versions.js';
import { createPartitions } from './create-partitions.js';
import { createTopics } from './create-topics.js';
import { deleteRecords } from './delete-records.js';
import { deleteTopics } from './delete-topics.js';
import { describeCluster } from './describe-cluster.js';
import { describeConfigs } from './describe-configs.js';
import { describeLogDirs } from './describe-log-dirs.js';
import { fetch } from './fetch.js';
import { incrementalAlterConfigs } from './incremental-alter-configs.js';
import { listOffsets } from './list-offsets.js';
import { metadata } from './metadata.js';
import { produce } from './produce.js';

const ALL: readonly HandlerDef[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  describeConfigs,
  alterConfigs,
  describeLogDirs,
  createPartitions,
  incrementalAlterConfigs,
  describeCluster,
];

export function brokerHandlers(): ReadonlyMap<number, HandlerDef> {
  const map = new Map<number, HandlerDef>();
  for (const h of ALL) {
    if (map.has(h.apiKey)) throw new Error(`two handlers for API key ${h.apiKey}`);
    map.set(h.apiKey, h);
  }
  return map;
}
