// Helpers of the network-partition and cluster group/transaction tests (replication-partition,
// groups-cluster, txn-cluster): a partition's leader/ISR as each node's Metadata reports it, reads of
// a whole partition from its leader, and a replica's log read straight from its data dir.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { ClusterHandle } from './cluster.js';
import { withClient } from './kafka-client.js';
import { waitFor } from './util.js';
import { decodeBatches, fetchPartition, READ_UNCOMMITTED, type FetchedBatch } from '../e2e/txn-support.js';

export interface PartitionView {
  from: number;
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

/** Partition `partition` of `topic` as node `from`'s Metadata reports it (null when the topic is unknown there). */
export async function partitionAt(cluster: ClusterHandle, from: number, topic: string, partition = 0): Promise<PartitionView | null> {
  const md = await cluster.metadata(from, [topic]);
  const t = md.topics.find((x) => x.name === topic);
  const p = t?.partitions.find((x) => x.partitionIndex === partition);
  if (!t || !p) return null;
  return {
    from,
    errorCode: p.errorCode,
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch ?? -1,
    replicas: [...p.replicaNodes].sort((a, b) => a - b),
    isr: [...p.isrNodes].sort((a, b) => a - b),
  };
}

/** Waits until every node in `from` reports the partition with a leader satisfying `ok`; returns the last view. */
export async function waitForPartition(
  cluster: ClusterHandle,
  what: string,
  from: number[],
  topic: string,
  partition: number,
  ok: (v: PartitionView) => boolean,
  timeoutMs = 30_000,
): Promise<PartitionView> {
  return waitFor(
    what,
    async () => {
      let last: PartitionView | null = null;
      for (const id of from) {
        const v = await partitionAt(cluster, id, topic, partition);
        if (v === null) throw new Error(`node ${id} does not know ${topic}-${partition}`);
        if (!ok(v)) throw new Error(`node ${id}: leader ${v.leaderId} epoch ${v.leaderEpoch} isr [${v.isr}] replicas [${v.replicas}] error ${v.errorCode}`);
        last = v;
      }
      return last!;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export interface StoredRecord {
  offset: number;
  value: string;
}

/** Every data record of the partition, read from the leader at `port` from offset 0 to the high watermark. */
export async function readWholePartition(port: number, topic: string, partition = 0): Promise<{ records: StoredRecord[]; highWatermark: number }> {
  return withClient(port, async (c) => {
    const records: StoredRecord[] = [];
    let offset = 0;
    let hw = -1;
    for (let i = 0; i < 10_000; i++) {
      const f = await fetchPartition(c, topic, partition, offset, READ_UNCOMMITTED);
      if (f.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition}@${offset} at port ${port}: error ${f.errorCode}`);
      hw = f.highWatermark;
      if (f.batches.length === 0) break;
      for (const b of f.batches) {
        if (!b.control) b.values.forEach((value, k) => records.push({ offset: b.baseOffset + k, value }));
        offset = b.lastOffset + 1;
      }
      if (offset >= hw) break;
    }
    return { records, highWatermark: hw };
  });
}

/**
 * The batches of a replica's log straight from `<dataDir>/<topic>-<partition>/*.log` (segments in
 * offset order, a torn last batch ignored). For comparing replicas once they are quiet.
 */
export async function replicaBatchesOnDisk(dataDir: string, topic: string, partition = 0): Promise<FetchedBatch[]> {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  const segments = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
  const out: FetchedBatch[] = [];
  for (const s of segments) out.push(...decodeBatches(await readFile(path.join(dir, s))));
  return out;
}

/** Data records (offset, value) of a replica's log on disk, below `endOffset`. */
export async function replicaRecordsOnDisk(dataDir: string, topic: string, partition: number, endOffset: number): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for (const b of await replicaBatchesOnDisk(dataDir, topic, partition)) {
    if (b.control) continue;
    b.values.forEach((value, k) => {
      if (b.baseOffset + k < endOffset) out.push({ offset: b.baseOffset + k, value });
    });
  }
  return out;
}

/**
 * A kafkajs client that knows every node of the cluster (so it can move between leaders).
 * `first` puts those nodes first in the bootstrap list: kafkajs keeps its first (seed) broker
 * connected and refreshes metadata from connected brokers only, so a client seeded at a node that
 * is later isolated keeps reading that node's stale metadata.
 */
export function clusterKafka(cluster: ClusterHandle, clientId: string, retries = 10, first: number[] = []): Kafka {
  const ordered = [...cluster.nodes].sort((a, b) => Number(!first.includes(a.id)) - Number(!first.includes(b.id)) || a.id - b.id);
  return new Kafka({
    clientId,
    brokers: ordered.map((n) => n.bootstrap),
    logLevel: process.env.KAFKAJS_LOG === '1' ? logLevel.INFO : logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
}
