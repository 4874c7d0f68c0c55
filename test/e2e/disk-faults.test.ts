// Issue 8, disk faults: a log dir that fills up (a real tmpfs mounted by this test, so the
// broker gets a real ENOSPC) goes offline as a whole:
// - node 1 has log.dirs=<healthy dir>,<2 MiB tmpfs>: once the tmpfs is full its partitions answer
//   KAFKA_STORAGE_ERROR at node 1, the controller (told by the heartbeat's offlineLogDirs) moves
//   their leadership and takes node 1 out of their ISR, an acks=-1 kafkajs producer keeps working
//   through the new leaders, and node 1 still serves the partitions of its healthy dir;
// - no torn batch is left in the failed dir (log-checker), and after the tmpfs is grown and node 1
//   restarted it catches up and rejoins every ISR;
// - node 3 has a single log dir (another tmpfs; its metadata log elsewhere): when that fills up,
//   it shuts itself down (exit code 1) and leads nothing.
// Needs root (mount -t tmpfs); skipped otherwise. The mounts are removed in afterAll.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { kafkajs, withProducer } from '../support/clients.js';
import { checkPartitionLog } from '../support/log-checker.js';
import { createReplicatedTopic, errorName, partitionStates, rawProduce, showStates, waitForPartitions } from '../support/replication.js';
import { sleep, topicName, waitFor, withTimeout } from '../support/util.js';

const KAFKA_STORAGE_ERROR = 56;
const PARTITIONS = 8;

function tryMount(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const mounts: string[] = [];
let canMount = false;
{
  // Probe once (synchronously, at collection time) whether tmpfs mounts are allowed here.
  const probe = path.join(os.tmpdir(), `kafka-ts-tmpfs-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    canMount = tryMount(probe, '64k');
    if (canMount) execFileSync('umount', [probe]);
    execFileSync('rmdir', [probe]);
  } catch {
    canMount = false;
  }
}

describe.skipIf(!canMount)('a full log dir (tmpfs): KAFKA_STORAGE_ERROR, leadership moves, the broker serves the rest', () => {
  let cluster: ClusterHandle;
  let small: string; // node 1's second log dir
  let single: string; // node 3's only log dir
  const TOPIC = topicName('diskfault');

  beforeAll(async () => {
    small = await mkdtemp(path.join(os.tmpdir(), 'kafka-ts-tmpfs-a-'));
    single = await mkdtemp(path.join(os.tmpdir(), 'kafka-ts-tmpfs-c-'));
    expect(tryMount(small, '2m')).toBe(true);
    mounts.push(small);
    expect(tryMount(single, '12m')).toBe(true);
    mounts.push(single);
    cluster = await startCluster({
      nodes: 3,
      env: { KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '500', KAFKA_REPLICA_LAG_TIME_MAX_MS: '10000' },
      nodeEnv: (spec): Record<string, string> | undefined =>
        spec.id === 1
          ? { KAFKA_LOG_DIRS: `${spec.dataDir},${small}` }
          : spec.id === 3
            ? { KAFKA_LOG_DIRS: single, KAFKA_METADATA_LOG_DIR: spec.dataDir }
            : undefined,
    });
  });

  afterAll(async () => {
    await withTimeout(cluster?.stop() ?? Promise.resolve(), 30_000, 'cluster stop').catch(() => undefined);
    for (const m of mounts) {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      } catch {
        // already unmounted
      }
      await rm(m, { recursive: true, force: true });
    }
  });

  it('node 1: the full dir goes offline, its partitions move, the other dir is still served, no torn batch', async () => {
    await createReplicatedTopic(cluster, 2, TOPIC, { partitions: PARTITIONS, replicationFactor: 3 });
    // Which partitions node 1 keeps on the tmpfs (the controller assigned their directory).
    const onSmall = await waitFor('node 1 logs in both dirs', async () => {
      const names = (await readdir(small)).filter((n) => n.startsWith(`${TOPIC}-`));
      const ps = names.map((n) => Number(n.slice(TOPIC.length + 1))).sort((a, b) => a - b);
      const healthy = (await readdir(cluster.node(1).spec.dataDir)).filter((n) => n.startsWith(`${TOPIC}-`));
      return ps.length + healthy.length === PARTITIONS ? ps : false;
    });
    const onHealthy = [...Array(PARTITIONS).keys()].filter((p) => !onSmall.includes(p));
    console.info(`node 1: partitions ${onSmall} on the tmpfs, ${onHealthy} on the healthy dir`);
    expect(onSmall.length).toBeGreaterThan(0);
    expect(onHealthy.length).toBeGreaterThan(0);

    // Fill the tmpfs: 64 KiB records to its partitions (acks=-1, kafkajs retries through the failover).
    const big = 'x'.repeat(64 * 1024);
    const kafka = kafkajs(cluster.bootstraps, 'e2e-diskfault', { retries: 20, initialRetryTime: 200, maxRetryTime: 1_000 });
    let sent = 0;
    await withProducer(kafka, async (producer) => {
      for (let round = 0; round < 60; round++) {
        const st = await partitionStates(cluster, 2, TOPIC);
        if (onSmall.every((p) => !st[p]!.isr.includes(1) && st[p]!.leader !== 1)) break;
        await producer.send({ topic: TOPIC, acks: -1, timeout: 15_000, messages: onSmall.flatMap((p) => [0, 1, 2].map(() => ({ partition: p, value: big }))) });
        sent += onSmall.length * 3;
      }
    });
    console.info(`sent ${sent} records of 64 KiB to the tmpfs partitions`);
    const out = cluster.node(1).broker.output();
    expect(out).toMatch(/log dir failed; its logs are offline/);

    // The controller moved them: node 1 out of their ISR and leadership, everywhere.
    const states = await waitForPartitions(cluster, TOPIC, (ps) => onSmall.every((p) => !ps[p]!.isr.includes(1) && ps[p]!.leader !== 1 && ps[p]!.leader >= 0), {
      what: 'tmpfs partitions led elsewhere without node 1 in their ISR',
      timeoutMs: 30_000,
    });
    console.info(`after the failure: ${showStates(states)}`);

    // At node 1 they answer KAFKA_STORAGE_ERROR.
    for (const p of onSmall) {
      const a = await rawProduce(cluster, 1, TOPIC, p, ['to an offline partition'], 1);
      expect(errorName(a.errorCode), `produce to offline p${p} at node 1`).toBe(errorName(KAFKA_STORAGE_ERROR));
    }

    // acks=-1 producing to every partition keeps working (new leaders), also to node 1's healthy dir.
    await withProducer(kafkajs(cluster.bootstraps, 'e2e-diskfault-after', { retries: 10, initialRetryTime: 200, maxRetryTime: 1_000 }), async (producer) => {
      for (let i = 0; i < 5; i++) {
        await producer.send({ topic: TOPIC, acks: -1, timeout: 15_000, messages: [...Array(PARTITIONS).keys()].map((p) => ({ partition: p, value: `after-${i}-${p}` })) });
      }
    });
    // Node 1 still replicates (stays in the ISR of) every partition of its healthy dir, and answers those it leads.
    const now = await waitForPartitions(cluster, TOPIC, (ps) => onHealthy.every((p) => ps[p]!.isr.includes(1)), { what: 'node 1 in the ISR of its healthy-dir partitions', timeoutMs: 20_000 });
    for (const p of onHealthy.filter((q) => now[q]!.leader === 1)) {
      const a = await rawProduce(cluster, 1, TOPIC, p, ['healthy dir'], -1);
      expect(errorName(a.errorCode), `produce to healthy p${p} led by node 1`).toBe(errorName(0));
    }
    expect(cluster.node(1).alive).toBe(true);

    // No torn batch in the failed dir: the failed write was cut off (checked with node 1 stopped).
    await cluster.stopNode(1);
    for (const p of onSmall) {
      const r = await checkPartitionLog(small, TOPIC, p);
      console.info(`tmpfs p${p}: ${r.batches.length} batches, log end ${r.logEndOffset}, segments ${r.segments.map((s) => `${s.baseOffset}:${s.bytes}B`).join(',')}`);
    }
    // Grown and restarted, node 1 recovers the dir and rejoins every ISR.
    execFileSync('mount', ['-o', 'remount,size=64m', small]);
    await cluster.restart(1);
    await waitForPartitions(cluster, TOPIC, (ps) => ps.every((p) => p.isr.includes(1)), { what: 'node 1 back in every ISR', timeoutMs: 45_000 });
  });

  it('node 3 (one log dir) shuts itself down when it fails; leadership moves', async () => {
    const before = await partitionStates(cluster, 2, TOPIC);
    console.info(`before filling node 3: ${showStates(before)}`);
    const big = 'y'.repeat(64 * 1024);
    const kafka = kafkajs(cluster.bootstraps, 'e2e-diskfault-3', { retries: 20, initialRetryTime: 200, maxRetryTime: 1_000 });
    await withProducer(kafka, async (producer) => {
      for (let round = 0; round < 100 && cluster.node(3).alive; round++) {
        await producer.send({ topic: TOPIC, acks: -1, timeout: 15_000, messages: [...Array(PARTITIONS).keys()].map((p) => ({ partition: p, value: big })) });
      }
    });
    await waitFor('node 3 exited', () => !cluster.node(3).alive, { timeoutMs: 30_000 });
    expect(cluster.node(3).broker.exitStatus()?.code).toBe(1);
    expect(cluster.node(3).broker.output()).toMatch(/every log dir has failed; shutting down/);
    const after = await waitForPartitions(cluster, TOPIC, (ps) => ps.every((p) => p.leader !== 3 && p.leader >= 0), { what: 'no partition led by node 3', timeoutMs: 30_000, nodes: [1, 2] });
    console.info(`after node 3 stopped: ${showStates(after)}`);
    // Still writable through nodes 1 and 2.
    const a = await rawProduce(cluster, after[0]!.leader, TOPIC, 0, ['after node 3'], 1);
    expect(errorName(a.errorCode)).toBe(errorName(0));
    await sleep(10);
  });
});
