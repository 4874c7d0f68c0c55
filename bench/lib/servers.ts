// The two servers a scenario runs against, as child processes on the broker core:
// - the real broker (`node dist/broker/main.js`, a fresh data directory each time, optionally
//   with `--cpu-prof`),
// - the null broker (`node dist/bench/null-broker.js`).
// Plus the admin calls the harness needs (over the generated codecs): topic creation with
// configs, topic ids, log end offsets.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ApiKey } from '../../wire/generated/api.js';
import { ClientConn } from './client.js';
import { spawnNode, stopChild } from './proc.js';

export interface ServerHandle {
  readonly kind: 'broker' | 'null';
  readonly port: number;
  readonly pid: number;
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

/** Creates a topic (replication factor 1) with topic configs; returns its id. */
export async function createTopic(port: number, name: string, partitions: number, configs: Record<string, string> = {}, timeoutMs = 120_000): Promise<string> {
  const c = await ClientConn.connect(port);
  try {
    const res = await c.request(
      ApiKey.CreateTopics,
      7,
      {
        topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
        timeoutMs,
        validateOnly: false,
      },
      timeoutMs + 5_000,
    );
    const t = res.topics[0];
    if (!t || t.errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${t?.errorCode} ${t?.errorMessage ?? ''}`);
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

export function repoPaths(distBenchDir: string): { root: string; brokerMain: string; nullMain: string; genMain: string } {
  const root = path.resolve(distBenchDir, '..', '..');
  return {
    root,
    brokerMain: path.join(root, 'dist', 'broker', 'main.js'),
    nullMain: path.join(distBenchDir, 'null-broker.js'),
    genMain: path.join(distBenchDir, 'gen.js'),
  };
}
