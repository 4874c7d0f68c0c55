// The two servers a scenario runs against, as child processes on the broker core:
// - the real broker (`node dist/broker/main.js`, a fresh data directory each time, optionally
//   with `--cpu-prof`),
// - the null broker (`node dist/bench/null-broker.js`),
// - a local KRaft cluster: the node set of broker/cluster/nodes.ts (combined broker+controller
//   nodes, each a `node dist/broker/main.js` process with its KAFKA_* env), data in a temp dir.
// Plus the admin calls the harness needs (over the generated codecs): topic creation with
// configs, topic ids, log end offsets.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { clusterNodes, randomClusterId, type ClusterNode } from '../../broker/cluster/nodes.js';
import { ApiKey } from '../../wire/generated/api.js';
import { ClientConn } from './client.js';
import { spawnNode, stopChild } from './proc.js';

export interface ServerHandle {
  readonly kind: 'broker' | 'null';
  readonly port: number;
  readonly pid: number;
  /**
   * A cluster: every node's process (`pid` is the node the generator talks to). CPU time is
   * summed over all of them, and each one's peak RSS is reported.
   */
  readonly nodes?: ReadonlyArray<{ readonly id: number; readonly name: string; readonly port: number; readonly pid: number }>;
  stop(): Promise<void>;
  /** Last lines the process printed (for error reports). */
  output(): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1' }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function keepOutput(child: ChildProcess): () => string {
  const lines: string[] = [];
  const take = (b: Buffer) => {
    for (const l of b.toString('utf8').split('\n')) if (l) lines.push(l);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return () => lines.join('\n');
}

async function waitReady(port: number, child: ChildProcess, out: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${out()}`);
    try {
      const c = await ClientConn.connect(port, '127.0.0.1', 1_000);
      try {
        await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'kafka-ts-bench', clientSoftwareVersion: '1' }, 2_000);
        return;
      } finally {
        c.close();
      }
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`server on port ${port} not ready after ${timeoutMs} ms (${last}):\n${out()}`);
}

export interface BrokerStartOptions {
  root: string;
  brokerMain: string;
  dataDir: string;
  cpu: number | null;
  env?: Record<string, string>;
  /** Directory for `--cpu-prof` output; no profiling when undefined. */
  profileDir?: string;
}

export async function startBroker(o: BrokerStartOptions): Promise<ServerHandle> {
  const port = await freePort();
  rmSync(o.dataDir, { recursive: true, force: true });
  mkdirSync(o.dataDir, { recursive: true });
  const args: string[] = [];
  if (o.profileDir) {
    mkdirSync(o.profileDir, { recursive: true });
    args.push('--cpu-prof', '--cpu-prof-dir', o.profileDir);
  }
  args.push(o.brokerMain);
  const child = spawnNode(args, o.cpu, {
    cwd: o.root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      LOG_LEVEL: process.env.BENCH_BROKER_LOG_LEVEL ?? 'warn',
      KAFKA_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_LOG_DIRS: o.dataDir,
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      ...o.env,
    },
  });
  const out = keepOutput(child);
  try {
    await waitReady(port, child, out, 30_000);
  } catch (e) {
    await stopChild(child, 2_000);
    throw e;
  }
  return {
    kind: 'broker',
    port,
    pid: child.pid!,
    output: out,
    async stop() {
      // With --cpu-prof the profile is written at exit: give it time.
      await stopChild(child, o.profileDir ? 60_000 : 15_000);
      rmSync(o.dataDir, { recursive: true, force: true });
    },
  };
}

export async function startNullBroker(o: { nullMain: string; cpu: number | null; partitions: number; recordBytes?: number; recordsPerBatch?: number }): Promise<ServerHandle> {
  const args = [o.nullMain, '--partitions', String(o.partitions)];
  if (o.recordBytes) args.push('--record-bytes', String(o.recordBytes), '--records-per-batch', String(o.recordsPerBatch ?? 1));
  const child = spawnNode(args, o.cpu, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = keepOutput(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`null broker did not start:\n${out()}`)), 15_000);
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`null broker exited (${code}):\n${out()}`));
    });
  });
  await waitReady(port, child, out, 10_000);
  return { kind: 'null', port, pid: child.pid!, output: out, stop: () => stopChild(child, 5_000) };
}

const PARTITIONS_PER_REQUEST = 5_000;

/** Creates a topic (replication factor 1 unless given) with topic configs; returns its id. */
export async function createTopic(port: number, name: string, partitions: number, configs: Record<string, string> = {}, timeoutMs = 120_000, replicationFactor = 1): Promise<string> {
  const c = await ClientConn.connect(port);
  try {
    // One request may write at most 10,000 metadata records (Kafka's limit per user operation):
    // more partitions are added by CreatePartitions in steps.
    const first = Math.min(partitions, PARTITIONS_PER_REQUEST);
    const res = await c.request(
      ApiKey.CreateTopics,
      7,
      {
        topics: [{ name, numPartitions: first, replicationFactor, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
        timeoutMs,
        validateOnly: false,
      },
      timeoutMs + 5_000,
    );
    const t = res.topics[0];
    if (!t || t.errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${t?.errorCode} ${t?.errorMessage ?? ''}`);
    for (let count = first; count < partitions; ) {
      count = Math.min(partitions, count + PARTITIONS_PER_REQUEST);
      const grown = await c.request(ApiKey.CreatePartitions, 3, { topics: [{ name, count, assignments: null }], timeoutMs, validateOnly: false }, timeoutMs + 5_000);
      const g = grown.results[0];
      if (!g || g.errorCode !== 0) throw new Error(`CreatePartitions ${name} to ${count}: error ${g?.errorCode} ${g?.errorMessage ?? ''}`);
    }
    return t.topicId ?? (await topicId(port, name));
  } finally {
    c.close();
  }
}

/** The topic's id and partition count from Metadata v12. */
export async function topicId(port: number, name: string): Promise<string> {
  const c = await ClientConn.connect(port);
  try {
    const md = await c.request(ApiKey.Metadata, 12, { topics: [{ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const t = md.topics[0];
    if (!t || t.errorCode !== 0) throw new Error(`Metadata ${name}: error ${t?.errorCode}`);
    return t.topicId ?? 'AAAAAAAAAAAAAAAAAAAAAA';
  } finally {
    c.close();
  }
}

/** Latest offsets of partitions [0, n) of a topic, summed (= records stored). */
export async function logEndOffsets(port: number, name: string, partitions: number): Promise<number> {
  const c = await ClientConn.connect(port);
  try {
    let sum = 0;
    for (let start = 0; start < partitions; start += 1000) {
      const idx = Array.from({ length: Math.min(1000, partitions - start) }, (_, i) => start + i);
      const res = await c.request(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name, partitions: idx.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n })) }],
      });
      for (const p of res.topics[0]?.partitions ?? []) {
        if (p.errorCode !== 0) throw new Error(`ListOffsets ${name}/${p.partitionIndex}: error ${p.errorCode}`);
        sum += Number(p.offset ?? 0n);
      }
    }
    return sum;
  } finally {
    c.close();
  }
}

export interface ClusterStartOptions {
  brokerMain: string;
  root: string;
  /** Every node is pinned to this CPU (null: unpinned). */
  cpu: number | null;
  nodes: number;
  /** Extra KAFKA_* variables for every node (not the cluster-shaping ones). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

/** The node set (broker/cluster/nodes.ts) on free loopback ports, data under `dataRoot`. */
export async function benchClusterNodes(nodes: number, dataRoot: string, env: Record<string, string> = {}): Promise<ClusterNode[]> {
  const ports: Array<{ client: number; controller: number }> = [];
  const used = new Set<number>();
  while (ports.length < nodes) {
    const client = await freePort();
    const controller = await freePort();
    if (client === controller || used.has(client) || used.has(controller)) continue;
    used.add(client).add(controller);
    ports.push({ client, controller });
  }
  return clusterNodes({ nodes, host: '127.0.0.1', ports, clusterId: randomClusterId(), dataRoot, env });
}

/** Metadata v12 from a node (all topics when `topics` is null). */
export async function metadata(port: number, topics: string[] | null = null, timeoutMs = 5_000) {
  const c = await ClientConn.connect(port, '127.0.0.1', timeoutMs);
  try {
    return await c.request(
      ApiKey.Metadata,
      12,
      { topics: topics === null ? null : topics.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
      timeoutMs,
    );
  } finally {
    c.close();
  }
}

/**
 * Starts a local cluster: the node set of broker/cluster/nodes.ts, each node a broker process
 * (combined broker+controller) pinned to `cpu`, data in a fresh temp dir. Ready = every node
 * answers ApiVersions and Metadata from every node lists all N brokers and a controller. On a
 * failure to start, every node started so far is stopped and the data removed. The handle's
 * `port`/`pid` are node 1's until `lead(id)` picks another node.
 */
export async function startCluster(o: ClusterStartOptions): Promise<ServerHandle & { nodes: NonNullable<ServerHandle['nodes']>; lead(id: number): ServerHandle & { nodes: NonNullable<ServerHandle['nodes']> }; dataRoot: string }> {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'kbench-cluster-'));
  // Like the launcher: no KAFKA_* / CLUSTER_ID from this environment leaks into the nodes.
  const baseEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KAFKA_') && k !== 'CLUSTER_ID') baseEnv[k] = v;
  const running: Array<{ spec: ClusterNode; child: ChildProcess; out: () => string }> = [];
  const outputs = () => running.map((r) => `--- ${r.spec.name} (pid ${r.child.pid}) ---\n${r.out()}`).join('\n');
  let stopped = false;
  // On Ctrl-C or an exit without stop() (the harness kills every child then), still remove the data.
  const removeData = () => rmSync(dataRoot, { recursive: true, force: true });
  process.on('exit', removeData);
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(running.map((r) => stopChild(r.child, 15_000)));
    removeData();
    process.off('exit', removeData);
  };
  try {
    const specs = await benchClusterNodes(o.nodes, dataRoot, { KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false', ...o.env });
    for (const spec of specs) {
      mkdirSync(spec.dataDir, { recursive: true });
      const child = spawnNode([o.brokerMain], o.cpu, {
        cwd: o.root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...baseEnv, LOG_LEVEL: process.env.BENCH_BROKER_LOG_LEVEL ?? 'warn', ...spec.env },
      });
      running.push({ spec, child, out: keepOutput(child) });
    }
    const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
    const left = () => Math.max(1_000, deadline - Date.now());
    for (const r of running) await waitReady(r.spec.clientPort, r.child, r.out, left());
    let last = '';
    for (;;) {
      try {
        const views = await Promise.all(running.map((r) => metadata(r.spec.clientPort, [], 2_000)));
        const bad = views.findIndex((m) => m.brokers.length !== o.nodes || m.controllerId === undefined || m.controllerId < 0);
        if (bad < 0) break;
        last = `node ${running[bad]!.spec.id} lists brokers [${views[bad]!.brokers.map((b) => b.nodeId).join(',')}], controller ${views[bad]!.controllerId}`;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      for (const r of running) if (r.child.exitCode !== null || r.child.signalCode !== null) throw new Error(`${r.spec.name} exited (${r.child.exitCode ?? r.child.signalCode}):\n${outputs()}`);
      if (Date.now() >= deadline) throw new Error(`cluster not ready within ${o.readyTimeoutMs ?? 60_000} ms (${last}):\n${outputs()}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  const nodes = running.map((r) => ({ id: r.spec.id, name: r.spec.name, port: r.spec.clientPort, pid: r.child.pid! }));
  const handle = (id: number) => {
    const n = nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id} in the cluster`);
    return {
      kind: 'broker' as const,
      port: n.port,
      pid: n.pid,
      nodes,
      dataRoot,
      output: outputs,
      stop: stopAll,
      lead: handle,
    };
  };
  return handle(nodes[0]!.id);
}

/**
 * Waits until every node's Metadata shows each of the topic's `partitions` partitions with a
 * leader and exactly `isr` in-sync replicas, the same leader on every node. Returns the leader
 * of each partition.
 */
export async function waitForIsr(ports: readonly number[], topic: string, partitions: number, isr: number, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const views = await Promise.all(ports.map((p) => metadata(p, [topic], 2_000)));
      const leaders: number[] = [];
      let ok = true;
      for (const [i, md] of views.entries()) {
        const t = md.topics.find((x) => x.name === topic);
        if (!t || t.errorCode !== 0 || t.partitions.length !== partitions) {
          ok = false;
          last = `port ${ports[i]}: topic error ${t?.errorCode}, ${t?.partitions.length ?? 0} partitions`;
          break;
        }
        for (const p of t.partitions) {
          const want = leaders[p.partitionIndex];
          if (p.errorCode !== 0 || p.leaderId < 0 || p.isrNodes.length !== isr || (want !== undefined && want !== p.leaderId)) {
            ok = false;
            last = `port ${ports[i]}: ${topic}-${p.partitionIndex} error ${p.errorCode}, leader ${p.leaderId}, replicas [${p.replicaNodes.join(',')}], isr [${p.isrNodes.join(',')}]`;
            break;
          }
          leaders[p.partitionIndex] = p.leaderId;
        }
        if (!ok) break;
      }
      if (ok) return leaders;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() >= deadline) throw new Error(`${topic}: ISR of ${isr} not reached on every node within ${timeoutMs} ms (${last})`);
    await new Promise((res) => setTimeout(res, 200));
  }
}


export function repoPaths(distBenchDir: string): { root: string; brokerMain: string; nullMain: string; genMain: string } {
  const root = path.resolve(distBenchDir, '..', '..');
  return {
    root,
    brokerMain: path.join(root, 'dist', 'broker', 'main.js'),
    nullMain: path.join(distBenchDir, 'null-broker.js'),
    genMain: path.join(distBenchDir, 'gen.js'),
  };
}
