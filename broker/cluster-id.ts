// The cluster id of this node's data. Kafka requires `kafka-storage format` first; this server
// formats on first start instead: the configured cluster.id (CLUSTER_ID) if any, else the one
// already stored in meta.properties, else a new random one.
import { ensureMetaProperties, readMetaProperties } from '../log/meta-properties.js';
import { randomUuid } from '../wire/primitives.js';

export class ClusterIdError extends Error {}

export async function ensureClusterId(logDirs: readonly string[], nodeId: number, configured: string | null): Promise<string> {
  let clusterId = configured;
  if (!clusterId) {
    for (const dir of logDirs) {
      const meta = await readMetaProperties(dir);
      if (meta) {
        clusterId = meta.clusterId;
        break;
      }
    }
  }
  clusterId ??= randomUuid();
  const problem = await ensureMetaProperties(logDirs, { nodeId, clusterId });
  if (problem) throw new ClusterIdError(problem);
  return clusterId;
}
