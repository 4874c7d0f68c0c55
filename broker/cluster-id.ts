// The cluster id of this node's data. Kafka requires `kafka-storage format` first; this server
// formats on first start instead: the configured cluster.id (CLUSTER_ID) if any, else the one
// already stored in meta.properties, else a new random one.
import { ensureMetaProperties, readMetaProperties, writeMetaProperties } from '../log/meta-properties.js';
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

/**
 * KIP-858: each log dir's `directory.id` (a UUID in meta.properties, written on first use), the
 * ids this broker registers with (BrokerRegistration.logDirs) and reports offline
 * (BrokerHeartbeat.offlineLogDirs). Path → id.
 */
export async function ensureDirectoryIds(logDirs: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const dir of logDirs) {
    const meta = await readMetaProperties(dir);
    if (meta === null) throw new ClusterIdError(`${dir}: no meta.properties`);
    let id = meta.extra?.['directory.id'];
    if (id === undefined || id === '') {
      id = randomUuid();
      await writeMetaProperties(dir, { nodeId: meta.nodeId, clusterId: meta.clusterId, extra: { ...meta.extra, 'directory.id': id } });
    }
    out.set(dir, id);
  }
  return out;
}
