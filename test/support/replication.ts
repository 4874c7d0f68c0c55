// Helpers of the replication end-to-end tests (test/e2e/replication-*.test.ts): replicated topics
// created with a raw CreateTopics (replication factor, explicit assignments, topic configs),
// partition states (leader, epoch, replicas, ISR) from any node's Metadata, bounded waits on them,
// high watermarks from the leaders (ListOffsets latest), raw Produce of one batch with any acks,
// and the data dirs of a cluster's nodes for test/support/log-checker.ts.

import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRecordBatch, type RecordInput } from '../../wire/record-batch.js';
import { negotiate, type ClusterHandle } from './cluster.js';
import { withClient } from './kafka-client.js';
import { waitFor } from './util.js';

export interface PartitionState {
  partition: number;
  errorCode: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
}

const RETRIABLE_CREATE = new Set<number>([
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.INVALID_REPLICATION_FACTOR, // brokers not registered/unfenced yet
]);

export interface CreateReplicatedTopicOptions {
  partitions: number;
  replicationFactor: number;
  /** Explicit replicas per partition (index = partition); replaces partitions/replicationFactor. */
  assignments?: number[][];
  configs?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * CreateTopics sent to node `via` (forwarded to the controller when needed), retried on retriable
 * errors within `timeoutMs`; TOPIC_ALREADY_EXISTS after a retry counts as created. Then waits until
 * every live node's Metadata has every partition with a leader and its full replica set in the ISR.
 */
export async function createReplicatedTopic(cluster: ClusterHandle, via: number, name: string, opts: CreateReplicatedTopicOptions): Promise<PartitionState[]> {
  const port = cluster.node(via).clientPort;
  const version = await negotiate(port, ApiKey.CreateTopics, 7);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let tries = 0;
  await waitFor(
    `CreateTopics ${name} through node ${via}`,
    async () => {
      tries++;
      const r = await withClient(port, (c) =>
        c.send(
          ApiKey.CreateTopics,
          version,
          {
            topics: [
              {
                name,
                numPartitions: opts.assignments ? -1 : opts.partitions,
                replicationFactor: opts.assignments ? -1 : opts.replicationFactor,
                assignments: (opts.assignments ?? []).map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
                configs: Object.entries(opts.configs ?? {}).map(([k, value]) => ({ name: k, value })),
              },
            ],
            timeoutMs: 10_000,
            validateOnly: false,
          },
          20_000,
        ),
      );
      const t = r.topics.find((x) => x.name === name);
      if (!t) throw new Error(`no answer for ${name}: ${JSON.stringify(r)}`);
      if (t.errorCode === ErrorCode.NONE) return true;
      if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && tries > 1) return true;
      const msg = `CreateTopics ${name}: error ${t.errorCode} ${ErrorCode[t.errorCode] ?? ''} ${t.errorMessage ?? ''}`;
      if (RETRIABLE_CREATE.has(t.errorCode)) throw new Error(msg);
      throw Object.assign(new Error(msg), { fatal: true });
    },
    { timeoutMs, intervalMs: 500 },
  );
  const count = opts.assignments?.length ?? opts.partitions;
  const rf = opts.assignments?.[0]?.length ?? opts.replicationFactor;
  const states = await waitForPartitions(cluster, name, (ps) => ps.length === count && ps.every((p) => p.leader >= 0 && p.replicas.length === rf && p.isr.length === rf), {
    what: `${name}: ${count} partitions, each with a leader and all ${rf} replicas in the ISR, on every live node`,
    timeoutMs,
  });
  // Metadata answers from the image as soon as it is published; a leader opens the partition's
  // log just after (as in Kafka). Wait until every leader serves its partition.
  await waitFor(
    `${name}: every partition served by its leader`,
    async () => {
      for (const p of states) {
        const r = await listLatest(cluster, p.leader, name, p.partition);
        if (r.errorCode !== ErrorCode.NONE) throw new Error(`partition ${p.partition} at node ${p.leader}: error ${r.errorCode}`);
      }
      return true;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return states;
}

/** The partitions of `topic` as node `id`'s Metadata says (throws on a topic error). */
export async function partitionStates(cluster: ClusterHandle, id: number, topic: string): Promise<PartitionState[]> {
  const md = await cluster.metadata(id, [topic]);
  const t = md.topics.find((x) => x.name === topic);
  if (!t) throw new Error(`node ${id}: no ${topic} in Metadata`);
  if (t.errorCode !== ErrorCode.NONE) throw new Error(`node ${id}: ${topic} error ${t.errorCode} ${ErrorCode[t.errorCode] ?? ''}`);
  return t.partitions
    .map((p) => ({
      partition: p.partitionIndex,
      errorCode: p.errorCode,
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch ?? -1,
      replicas: [...p.replicaNodes].sort((a, b) => a - b),
      isr: [...p.isrNodes].sort((a, b) => a - b),
      offline: [...(p.offlineReplicas ?? [])].sort((a, b) => a - b),
    }))
    .sort((a, b) => a.partition - b.partition);
}

export function showStates(ps: readonly PartitionState[]): string {
  return ps.map((p) => `p${p.partition}: leader ${p.leader} epoch ${p.leaderEpoch} replicas [${p.replicas}] isr [${p.isr}]${p.errorCode ? ` error ${p.errorCode}` : ''}`).join('; ');
}

/**
 * Waits until every live node (or the nodes in `nodes`) answers Metadata for `topic` such that
 * `ok` holds, and all of them agree (same leaders, epochs and ISRs); returns that state.
 */
export async function waitForPartitions(
  cluster: ClusterHandle,
  topic: string,
  ok: (ps: PartitionState[]) => boolean,
  opts: { what?: string; timeoutMs?: number; nodes?: number[] } = {},
): Promise<PartitionState[]> {
  return waitFor(
    opts.what ?? `${topic} partition states`,
    async () => {
      const ids = opts.nodes ?? cluster.live().map((n) => n.id);
      let ref: PartitionState[] | undefined;
      const seen: string[] = [];
      for (const id of ids) {
        const ps = await partitionStates(cluster, id, topic);
        seen.push(`node ${id}: ${showStates(ps)}`);
        if (!ok(ps)) throw new Error(`not yet (${seen.join(' | ')})`);
        if (ref && JSON.stringify(ref) !== JSON.stringify(ps)) throw new Error(`nodes disagree (${seen.join(' | ')})`);
        ref = ps;
      }
      return ref;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 250 },
  );
}

/** ListOffsets (latest, read_uncommitted) at node `id`: its high watermark if it leads, else the error. */
export async function listLatest(cluster: ClusterHandle, id: number, topic: string, partition: number, timestamp = -1n): Promise<{ errorCode: number; offset: number; leaderEpoch: number }> {
  const port = cluster.node(id).clientPort;
  const version = await negotiate(port, ApiKey.ListOffsets, 7, 4);
  const r = await withClient(port, (c) =>
    c.send(ApiKey.ListOffsets, version, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
    }),
  );
  const p = r.topics[0]!.partitions[0]!;
  return { errorCode: p.errorCode, offset: Number(p.offset), leaderEpoch: p.leaderEpoch ?? -1 };
}

/** The high watermark of each partition of `topic`, asked at its leader (from node `via`'s Metadata). */
export async function highWatermarks(cluster: ClusterHandle, via: number, topic: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const p of await partitionStates(cluster, via, topic)) {
    if (p.leader < 0) throw new Error(`${topic}-${p.partition} has no leader`);
    const r = await listLatest(cluster, p.leader, topic, p.partition);
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets ${topic}-${p.partition} at leader ${p.leader}: error ${r.errorCode} ${ErrorCode[r.errorCode] ?? ''}`);
    out.set(p.partition, r.offset);
  }
  return out;
}

/** Waits until the high watermarks stop moving (two reads `settleMs` apart agree). */
export async function stableHighWatermarks(cluster: ClusterHandle, via: number, topic: string, opts: { settleMs?: number; timeoutMs?: number } = {}): Promise<Map<number, number>> {
  const settleMs = opts.settleMs ?? 1_000;
  return waitFor(
    `stable high watermarks of ${topic}`,
    async () => {
      const a = await highWatermarks(cluster, via, topic);
      await new Promise((r) => setTimeout(r, settleMs));
      const b = await highWatermarks(cluster, via, topic);
      if (JSON.stringify([...a]) !== JSON.stringify([...b])) throw new Error(`moving: ${JSON.stringify([...a])} then ${JSON.stringify([...b])}`);
      return b;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100 },
  );
}

export interface ProduceAnswer {
  errorCode: number;
  baseOffset: number;
  errorMessage: string | null;
}

/** A raw Produce of one plain batch of `values` to node `id` with `acks`; the partition's answer. */
export async function rawProduce(cluster: ClusterHandle, id: number, topic: string, partition: number, values: string[], acks: number, opts: { timeoutMs?: number; version?: number } = {}): Promise<ProduceAnswer> {
  const port = cluster.node(id).clientPort;
  const version = opts.version ?? (await negotiate(port, ApiKey.Produce, 9, 3));
  const records: RecordInput[] = values.map((value) => ({ value }));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const r = await withClient(port, (c) =>
    c.send(ApiKey.Produce, version, { transactionalId: null, acks, timeoutMs, topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeRecordBatch({ records }) }] }] }, timeoutMs + 10_000),
  );
  const p = r.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset), errorMessage: p.errorMessage ?? null };
}

/** Every node's data dir (log.dirs), in node order. */
export function dataDirs(cluster: ClusterHandle): string[] {
  return cluster.nodes.map((n) => n.spec.dataDir);
}

export function errorName(code: number): string {
  return `${code} ${ErrorCode[code] ?? '?'}`;
}
