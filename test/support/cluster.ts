// Starts a multi-node KRaft cluster for end-to-end tests: the node set of
// broker/cluster/nodes.ts (the same the launcher and docker-compose.yml use), every node a real
// `node dist/broker/main.js` process started through test/support/broker.ts, so output capture
// (printed when a test fails, live with BROKER_LOG=1), SIGTERM-then-SIGKILL stops and the
// never-leave-a-process-behind hooks are the same as for single brokers.
//
// Ready = every node answers ApiVersions (startBroker's readiness) AND the quorum has a leader
// (DescribeQuorum at a controller listener) AND Metadata from every node lists all N brokers,
// within a bounded time. Temp data dirs are removed in afterAll (BROKER_KEEP_DATA=1 keeps them).

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { clusterNodes, randomClusterId, type ClusterNode } from '../../broker/cluster/nodes.js';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import type { DescribeQuorumResponse } from '../../wire/generated/messages/describe-quorum-response.js';
import type { MetadataResponse } from '../../wire/generated/messages/metadata-response.js';
import { startBroker, type BrokerHandle } from './broker.js';
import { freePorts } from './ports.js';
import { FAULT_INJECTION_ENV, setIsolated } from './faults.js';
import { KafkaTestClient, withClient } from './kafka-client.js';
import { sleep, waitFor, withTimeout } from './util.js';

export const METADATA_TOPIC = '__cluster_metadata';
const CLUSTER_READY_TIMEOUT_MS = Number(process.env.CLUSTER_READY_TIMEOUT_MS ?? 45_000);

/** Env every test cluster gets unless overridden: no rebalance delay, internal topics fit N nodes. */
function defaultEnv(nodes: number): Record<string, string> {
  return {
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: String(Math.min(3, nodes)),
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: String(Math.min(3, nodes)),
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: String(Math.min(2, nodes)),
  };
}

export interface StartClusterOptions {
  nodes: number;
  /** Extra KAFKA_* variables for every node (cannot replace the cluster-shaping ones). */
  env?: Record<string, string>;
  /** Bound for the whole start (processes, leader, N brokers in every node's Metadata). */
  readyTimeoutMs?: number;
  clusterId?: string;
  /**
   * Test-only network partitions: every node gets KAFKA_FAULT_INJECTION_FILE=<dataRoot>/faults-<id>.json
   * (see test/support/faults.ts); `isolate(id)` / `heal(id)` write it.
   */
  faultInjection?: boolean;
  /** Extra variables for one node, applied last (may replace cluster-shaping ones, e.g. KAFKA_LOG_DIRS for a multi-dir node). */
  nodeEnv?: (spec: ClusterNode) => Record<string, string> | undefined;
}

export interface QuorumView {
  /** The node whose controller listener answered. */
  from: number;
  leaderId: number;
  leaderEpoch: number;
  highWatermark: bigint;
  voters: Array<{ replicaId: number; logEndOffset: bigint; lastCaughtUpTimestamp?: bigint }>;
  observers: Array<{ replicaId: number; logEndOffset: bigint }>;
}

export type QuorumStatus =
  | { from: number; kind: 'view'; view: QuorumView }
  | { from: number; kind: 'error'; errorCode: number; detail: string }
  | { from: number; kind: 'unreachable'; detail: string };

export interface ClusterNodeHandle {
  readonly id: number;
  readonly name: string;
  readonly spec: ClusterNode;
  /** The process (stop/kill9/restart/output/pid) as test/support/broker.ts manages it. */
  readonly broker: BrokerHandle;
  readonly bootstrap: string;
  readonly clientPort: number;
  readonly controllerPort: number;
  /** The process runs (it was not killed or stopped, or was restarted since). */
  readonly alive: boolean;
}

export interface ClusterHandle {
  readonly clusterId: string;
  readonly dataRoot: string;
  readonly nodes: readonly ClusterNodeHandle[];
  /** Every node's client address, comma-separated (kcat -b / kafkajs brokers). */
  readonly bootstraps: string;
  /** Node by id (1-based). */
  node(id: number): ClusterNodeHandle;
  /** Nodes whose process runs. */
  live(): ClusterNodeHandle[];
  kill9(id: number): Promise<void>;
  /** SIGTERM (SIGKILL after the grace period). */
  stopNode(id: number): Promise<void>;
  /** Starts the node again on the same ports and data (stops it first if it runs); waits for ApiVersions. */
  restart(id: number): Promise<void>;
  /** Stops every node (also done in afterAll). */
  stop(): Promise<void>;
  /** DescribeQuorum at node `id`'s controller listener; throws on an error code. */
  describeQuorum(id: number, timeoutMs?: number): Promise<QuorumView>;
  /** DescribeQuorum at node `id`'s controller listener: the view, the error code, or why it did not answer. */
  quorumStatus(id: number, timeoutMs?: number): Promise<QuorumStatus>;
  /**
   * Exactly one live node says it leads (DescribeQuorum at its controller listener), every other
   * live node that answers with a view names the same leader and epoch (others may answer
   * NOT_LEADER_OR_FOLLOWER, as Kafka's followers do), within `timeoutMs`; a leader in `exclude`
   * (e.g. a killed one) or below `minEpoch` is not accepted.
   */
  waitForLeader(opts?: { timeoutMs?: number; exclude?: number[]; minEpoch?: number }): Promise<QuorumView>;
  /** Metadata (all topics) from node `id`'s client listener. */
  metadata(id: number, topics?: string[] | null, timeoutMs?: number): Promise<MetadataResponse>;
  /** Waits until Metadata from every live node lists exactly `brokerIds`. */
  waitForBrokers(brokerIds: number[], timeoutMs?: number): Promise<void>;
  /** The fault file of node `id` (startCluster with `faultInjection: true`). */
  faultFile(id: number): string;
  /** Cuts node `id` off from its peers, both directions (clients still reach it); resolves once it read the file. */
  isolate(id: number): Promise<void>;
  /** Ends the isolation of node `id`. */
  heal(id: number): Promise<void>;
}

/** `n` distinct free ports of 127.0.0.1 (all bound at once, so no two are the same). */
export { freePorts };

const clusters = new Set<ClusterImpl>();

/** Api versions a listener serves, by key (ApiVersions v0; works on any listener). */
export async function apiVersionsAt(port: number, timeoutMs = 5_000): Promise<Map<number, { min: number; max: number }>> {
  return withClient(port, async (c) => {
    const r = await c.send(ApiKey.ApiVersions, 0, {}, timeoutMs);
    return new Map(r.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
  });
}

/** The highest version of `apiKey` both the listener at `port` and this client (≤ `clientMax`) speak. */
const servedCache = new Map<number, Map<number, { min: number; max: number }>>();

export async function negotiate(port: number, apiKey: number, clientMax: number, clientMin = 0): Promise<number> {
  let versions = servedCache.get(port);
  if (!versions) {
    versions = await apiVersionsAt(port);
    servedCache.set(port, versions);
  }
  const served = versions.get(apiKey);
  if (!served) {
    servedCache.delete(port);
    throw new Error(`the listener on port ${port} does not serve API key ${apiKey} (ApiVersions)`);
  }
  const v = Math.min(served.max, clientMax);
  if (v < Math.max(served.min, clientMin)) throw new Error(`no common version of API ${apiKey}: listener ${served.min}-${served.max}, client ${clientMin}-${clientMax}`);
  return v;
}

export async function describeQuorumAt(port: number, timeoutMs = 3_000): Promise<DescribeQuorumResponse> {
  const version = await negotiate(port, ApiKey.DescribeQuorum, 2);
  return withClient(port, (c) =>
    c.send(ApiKey.DescribeQuorum, version, { topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] }] }, timeoutMs),
  );
}

function quorumView(from: number, r: DescribeQuorumResponse): QuorumView {
  if (r.errorCode !== 0) throw new Error(`DescribeQuorum at node ${from}: error ${r.errorCode} ${r.errorMessage ?? ''}`);
  const p = r.topics.find((t) => t.topicName === METADATA_TOPIC)?.partitions[0];
  if (!p) throw new Error(`DescribeQuorum at node ${from}: no ${METADATA_TOPIC} partition in ${JSON.stringify(r.topics)}`);
  if (p.errorCode !== 0) throw new Error(`DescribeQuorum at node ${from}: partition error ${p.errorCode} ${p.errorMessage ?? ''}`);
  return {
    from,
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    highWatermark: p.highWatermark,
    voters: p.currentVoters.map((v) => ({ replicaId: v.replicaId, logEndOffset: v.logEndOffset, lastCaughtUpTimestamp: v.lastCaughtUpTimestamp })),
    observers: p.observers.map((v) => ({ replicaId: v.replicaId, logEndOffset: v.logEndOffset })),
  };
}

export async function metadataAt(port: number, topics: string[] | null = null, timeoutMs = 5_000): Promise<MetadataResponse> {
  const version = await negotiate(port, ApiKey.Metadata, 12, 1);
  return withClient(port, (c) =>
    c.send(
      ApiKey.Metadata,
      version,
      {
        topics: topics === null ? null : topics.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })),
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      },
      timeoutMs,
    ),
  );
}

class NodeImpl implements ClusterNodeHandle {
  constructor(
    readonly spec: ClusterNode,
    readonly broker: BrokerHandle,
  ) {}
  get alive(): boolean {
    return this.broker.pid !== undefined && this.broker.exitStatus() === undefined;
  }
  get id() {
    return this.spec.id;
  }
  get name() {
    return this.spec.name;
  }
  get bootstrap() {
    return this.spec.bootstrap;
  }
  get clientPort() {
    return this.spec.clientPort;
  }
  get controllerPort() {
    return this.spec.controllerPort;
  }
}

class ClusterImpl implements ClusterHandle {
  constructor(
    readonly clusterId: string,
    readonly dataRoot: string,
    readonly nodes: NodeImpl[],
    private readonly faultInjection = false,
  ) {}

  faultFile(id: number): string {
    if (!this.faultInjection) throw new Error('startCluster({ faultInjection: true }) is needed for network partitions');
    this.node(id);
    return path.join(this.dataRoot, `faults-${id}.json`);
  }

  async isolate(id: number): Promise<void> {
    await setIsolated(this.faultFile(id), true);
  }

  async heal(id: number): Promise<void> {
    await setIsolated(this.faultFile(id), false);
  }

  get bootstraps(): string {
    return this.nodes.map((n) => n.bootstrap).join(',');
  }

  node(id: number): NodeImpl {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id} (nodes ${this.nodes.map((x) => x.id).join(',')})`);
    return n;
  }

  live(): NodeImpl[] {
    return this.nodes.filter((n) => n.alive);
  }

  async kill9(id: number): Promise<void> {
    const n = this.node(id);
    await n.broker.kill9();
  }

  async stopNode(id: number): Promise<void> {
    const n = this.node(id);
    await n.broker.stop();
  }

  async restart(id: number): Promise<void> {
    const n = this.node(id);
    await n.broker.restart();
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.broker.stop()));
  }

  async describeQuorum(id: number, timeoutMs = 3_000): Promise<QuorumView> {
    return quorumView(id, await describeQuorumAt(this.node(id).controllerPort, timeoutMs));
  }

  async quorumStatus(id: number, timeoutMs = 2_000): Promise<QuorumStatus> {
    try {
      const r = await describeQuorumAt(this.node(id).controllerPort, timeoutMs);
      const p = r.topics.find((t) => t.topicName === METADATA_TOPIC)?.partitions[0];
      const errorCode = r.errorCode !== 0 ? r.errorCode : (p?.errorCode ?? -1);
      if (errorCode !== 0) return { from: id, kind: 'error', errorCode, detail: `error ${errorCode} ${r.errorMessage ?? p?.errorMessage ?? ''}`.trim() };
      return { from: id, kind: 'view', view: quorumView(id, r) };
    } catch (err) {
      return { from: id, kind: 'unreachable', detail: (err as Error).message };
    }
  }

  async waitForLeader(opts: { timeoutMs?: number; exclude?: number[]; minEpoch?: number } = {}): Promise<QuorumView> {
    const exclude = new Set(opts.exclude ?? []);
    return waitFor(
      'one quorum leader among the live nodes that every answering voter agrees on',
      async () => {
        const live = this.live();
        const all = await Promise.all(live.map((n) => this.quorumStatus(n.id)));
        const views = all.flatMap((s) => (s.kind === 'view' ? [s.view] : []));
        const describe = () =>
          all.map((s) => (s.kind === 'view' ? `node ${s.from}: leader ${s.view.leaderId} epoch ${s.view.leaderEpoch}` : `node ${s.from}: ${s.detail}`)).join('; ');
        // Kafka answers DescribeQuorum only at the leader (NOT_LEADER_OR_FOLLOWER elsewhere); a
        // follower that answers must name the same leader and epoch.
        const leaders = views.filter((v) => v.leaderId === v.from);
        if (leaders.length !== 1) throw new Error(`${leaders.length} self-declared leaders (${describe()})`);
        const leader = leaders[0]!;
        if (views.some((v) => v.leaderId !== leader.leaderId || v.leaderEpoch !== leader.leaderEpoch)) throw new Error(`voters disagree (${describe()})`);
        if (all.some((s) => s.kind === 'error' && s.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER)) throw new Error(`unexpected DescribeQuorum errors (${describe()})`);
        if (exclude.has(leader.leaderId)) throw new Error(`leader is still the excluded node ${leader.leaderId} (${describe()})`);
        if (opts.minEpoch !== undefined && leader.leaderEpoch < opts.minEpoch) throw new Error(`epoch ${leader.leaderEpoch} < ${opts.minEpoch} (${describe()})`);
        return leader;
      },
      { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 150 },
    );
  }

  async metadata(id: number, topics: string[] | null = null, timeoutMs = 5_000): Promise<MetadataResponse> {
    return metadataAt(this.node(id).clientPort, topics, timeoutMs);
  }

  async waitForBrokers(brokerIds: number[], timeoutMs = 20_000): Promise<void> {
    const want = [...brokerIds].sort((a, b) => a - b).join(',');
    await waitFor(
      `Metadata from every live node to list brokers [${want}]`,
      async () => {
        const got = await Promise.all(this.live().map(async (n) => ({ n: n.id, brokers: (await this.metadata(n.id)).brokers.map((b) => b.nodeId).sort((a, b) => a - b).join(',') })));
        const wrong = got.filter((g) => g.brokers !== want);
        if (wrong.length > 0) throw new Error(wrong.map((g) => `node ${g.n} lists [${g.brokers}]`).join('; '));
        return true;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }
}

/**
 * Starts `nodes` combined broker+controller nodes on free ports of 127.0.0.1, in parallel, with
 * fresh data dirs; resolves once the cluster is ready (see the top of this file) or throws with
 * what was missing (the nodes' output is printed by broker.ts's hooks when the test fails).
 */
export async function startCluster(opts: StartClusterOptions): Promise<ClusterHandle> {
  const started = Date.now();
  const readyTimeoutMs = opts.readyTimeoutMs ?? CLUSTER_READY_TIMEOUT_MS;
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), 'kafka-ts-cluster-'));
  const ports = await freePorts(opts.nodes * 2);
  const clusterId = opts.clusterId ?? randomClusterId();
  const specs = clusterNodes({
    nodes: opts.nodes,
    host: '127.0.0.1',
    clusterId,
    dataRoot,
    ports: Array.from({ length: opts.nodes }, (_, i) => ({ client: ports[2 * i]!, controller: ports[2 * i + 1]! })),
    env: { ...defaultEnv(opts.nodes), ...(opts.env ?? {}) },
  });
  const cluster = new ClusterImpl(clusterId, dataRoot, [], opts.faultInjection === true);
  clusters.add(cluster);
  // startBroker tracks each process the moment it spawns, so a failed start still cleans up.
  const results = await Promise.allSettled(
    specs.map((spec) =>
      startBroker({
        port: spec.clientPort,
        dataDir: spec.dataDir,
        env: {
          ...(opts.faultInjection ? { ...spec.env, [FAULT_INJECTION_ENV]: path.join(dataRoot, `faults-${spec.id}.json`) } : spec.env),
          ...(opts.nodeEnv?.(spec) ?? {}),
        },
        readyTimeoutMs,
      }).then((broker) => {
        cluster.nodes.push(new NodeImpl(spec, broker));
      }),
    ),
  );
  cluster.nodes.sort((a, b) => a.id - b.id);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    await cluster.stop();
    throw new Error(`cluster start: ${failed.length} of ${opts.nodes} nodes did not answer ApiVersions:\n${failed.map((f) => String(f.reason?.message ?? f.reason)).join('\n')}`);
  }
  const left = () => Math.max(1_000, readyTimeoutMs - (Date.now() - started));
  await cluster.waitForLeader({ timeoutMs: left() });
  await cluster.waitForBrokers(specs.map((s) => s.id), left());
  return cluster;
}

/** Milliseconds `fn` takes. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - t0 };
}

// Stop the processes first (broker.ts's own afterAll then still prints their output if the
// suite failed, and finds them stopped), then remove the data.
afterAll(async () => {
  const all = [...clusters];
  clusters.clear();
  await Promise.all(all.map((c) => withTimeout(c.stop(), 30_000, 'cluster stop').catch(() => undefined)));
  if (process.env.BROKER_KEEP_DATA !== '1') {
    await Promise.all(all.map((c) => rm(c.dataRoot, { recursive: true, force: true })));
  }
});

export { KafkaTestClient, sleep };
