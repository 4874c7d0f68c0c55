// Issue #6, the basic path: on a 3-node cluster a topic with replication factor 3 is written by
// kafkajs with acks=-1 and every replica ends up with the same bytes: the followers fetch from
// the leader, the high watermark waits for them, and the segment files are identical on all
// three nodes. A follower that stops fetching (SIGSTOP) leaves the ISR after
// replica.lag.time.max.ms and joins again once it catches up (SIGCONT).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { withClient } from '../support/kafka-client.js';
import { topicName, waitFor } from '../support/util.js';

const LAG_MS = 3_000;
let cluster: ClusterHandle;

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 3,
    env: {
      KAFKA_REPLICA_LAG_TIME_MAX_MS: String(LAG_MS),
      KAFKA_BROKER_SESSION_TIMEOUT_MS: '6000',
      KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    },
  });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

async function partitionState(topic: string, partition: number, from = 1): Promise<{ leader: number; isr: number[]; replicas: number[] }> {
  const md = await cluster.metadata(from, [topic]);
  const p = md.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition);
  if (!p) throw new Error(`no ${topic}-${partition} in metadata`);
  return { leader: p.leaderId, isr: [...p.isrNodes].sort(), replicas: [...p.replicaNodes] };
}

/** The concatenated .log files of a partition on one node. */
async function logBytes(nodeId: number, topic: string, partition: number): Promise<Buffer> {
  const dir = path.join(cluster.node(nodeId).spec.dataDir, `${topic}-${partition}`);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
  return Buffer.concat(await Promise.all(files.map((f) => readFile(path.join(dir, f)))));
}

async function highWatermark(topic: string, partition: number): Promise<number> {
  const { leader } = await partitionState(topic, partition);
  const r = await withClient(cluster.node(leader).clientPort, (c) =>
    c.send(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }] }, 5_000),
  );
  const p = r.topics[0]!.partitions[0]!;
  if (p.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets error ${p.errorCode}`);
  return Number(p.offset);
}

describe('replication on 3 nodes', () => {
  const topic = topicName('repl-basic');

  it('acks=-1 writes reach every replica, byte for byte', async () => {
    const kafka = kafkajs(cluster.bootstraps, 'repl-basic');
    await withAdmin(kafka, (admin) =>
      admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true }),
    );
    await withProducer(
      kafka,
      async (producer) => {
        for (let i = 0; i < 20; i++) {
          await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, j) => ({ key: `k${i}-${j}`, value: `v${i}-${j}` })) });
        }
      },
      { idempotent: true },
    );
    for (const partition of [0, 1]) {
      const hw = await highWatermark(topic, partition);
      expect(hw).toBeGreaterThan(0);
      // Followers learn the high watermark one fetch later; the bytes are there already.
      await waitFor(`${topic}-${partition} identical on every node`, async () => {
        const logs = await Promise.all([1, 2, 3].map((id) => logBytes(id, topic, partition)));
        return logs.every((b) => b.length > 0 && b.equals(logs[0]!));
      }, { timeoutMs: 10_000, intervalMs: 200 });
      expect((await partitionState(topic, partition)).isr).toEqual([1, 2, 3]);
    }
  });

  it('a follower that stops fetching leaves the ISR and rejoins once caught up', async () => {
    const { leader, replicas } = await partitionState(topic, 0);
    const follower = replicas.find((r) => r !== leader)!;
    const observer = leader;
    const proc = cluster.node(follower).broker;
    process.kill(proc.pid!, 'SIGSTOP');
    try {
      await waitFor(`node ${follower} out of the ISR`, async () => !(await partitionState(topic, 0, observer)).isr.includes(follower), { timeoutMs: 20_000, intervalMs: 250 });
      // Writes go on with the two others (min.insync.replicas=2).
      const kafka = kafkajs(cluster.node(leader).bootstrap, 'repl-basic-2');
      await withProducer(kafka, (p) => p.send({ topic, acks: -1, messages: [{ partition: 0, value: 'while one follower sleeps' }] }).then(() => undefined));
    } finally {
      process.kill(proc.pid!, 'SIGCONT');
    }
    await waitFor(`node ${follower} back in the ISR`, async () => (await partitionState(topic, 0, observer)).isr.includes(follower), { timeoutMs: 30_000, intervalMs: 250 });
  });
});
