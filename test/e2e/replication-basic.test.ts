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

describe('leader failover', () => {
  const topic = topicName('repl-failover');

  it('kill -9 of the leader: acknowledged records survive, the old leader truncates and rejoins', async () => {
    const kafka = kafkajs(cluster.bootstraps, 'repl-failover', { retries: 20, initialRetryTime: 200, maxRetryTime: 2_000 });
    await withAdmin(kafka, (admin) =>
      admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true }),
    );
    const { leader } = await partitionState(topic, 0);
    const observer = [1, 2, 3].find((id) => id !== leader)!;
    const acked: string[] = [];
    await withProducer(
      kafka,
      async (producer) => {
        for (let i = 0; i < 60; i++) {
          if (i === 20) await cluster.kill9(leader);
          await producer.send({ topic, acks: -1, messages: [{ value: `r${i}` }] });
          acked.push(`r${i}`);
        }
      },
      { idempotent: true, maxInFlightRequests: 1 },
    );
    expect(acked).toHaveLength(60);
    await cluster.restart(leader);
    await waitFor(`node ${leader} back in the ISR`, async () => (await partitionState(topic, 0, observer)).isr.length === 3, { timeoutMs: 45_000, intervalMs: 500 });
    const hw = await highWatermark(topic, 0);
    expect(hw).toBe(60);
    await waitFor(`${topic}-0 identical on every node`, async () => {
      const logs = await Promise.all([1, 2, 3].map((id) => logBytes(id, topic, 0)));
      return logs.every((b) => b.equals(logs[0]!));
    }, { timeoutMs: 15_000, intervalMs: 300 });
  });
});

describe('requests that reach the wrong replica', () => {
  const topic = topicName('repl-hints');

  it('a follower answers NOT_LEADER_OR_FOLLOWER with the current leader and its endpoint (Produce v10+, Fetch v16+)', async () => {
    const kafka = kafkajs(cluster.bootstraps, 'repl-hints');
    await withAdmin(kafka, (admin) => admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true }));
    const { leader } = await partitionState(topic, 0);
    const follower = [1, 2, 3].find((id) => id !== leader && cluster.node(id).alive)!;
    const topicId = (await cluster.metadata(leader, [topic])).topics.find((t) => t.name === topic)!.topicId;
    const leaderPort = cluster.node(leader).clientPort;
    await withClient(cluster.node(follower).clientPort, async (c) => {
      const produced = await c.send(ApiKey.Produce, 11, { transactionalId: null, acks: 1, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: null }] }] }, 5_000);
      const pr = produced.responses[0]!.partitionResponses[0]!;
      expect(pr.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      expect(pr.currentLeader?.leaderId).toBe(leader);
      expect(produced.nodeEndpoints?.map((e) => e.port)).toEqual([leaderPort]);
      const fetched = await c.send(
        ApiKey.Fetch,
        16,
        { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' },
        5_000,
      );
      const fp = fetched.responses[0]!.partitions[0]!;
      expect(fp.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      expect(fp.currentLeader?.leaderId).toBe(leader);
      expect(fetched.nodeEndpoints?.map((e) => e.port)).toEqual([leaderPort]);
    });
  });

  it('a fetch claiming to be a replica that is not assigned is refused; a diverging one gets the epoch to truncate to', async () => {
    const { leader } = await partitionState(topic, 0);
    const topicId = (await cluster.metadata(leader, [topic])).topics.find((t) => t.name === topic)!.topicId;
    const fetchAs = (replicaId: number, fetchOffset: bigint, lastFetchedEpoch: number) =>
      withClient(cluster.node(leader).clientPort, (c) =>
        c.send(
          ApiKey.Fetch,
          15,
          { replicaState: { replicaId, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' },
          5_000,
        ),
      );
    expect((await fetchAs(99, 0n, -1)).responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // A replica whose log claims offsets of the current epoch the leader never wrote.
    const epoch = (await cluster.metadata(leader, [topic])).topics.find((t) => t.name === topic)!.partitions[0]!.leaderEpoch ?? -1;
    const other = [1, 2, 3].find((id) => id !== leader)!;
    const diverging = (await fetchAs(other, 1_000n, epoch)).responses[0]!.partitions[0]!;
    expect(diverging.errorCode).toBe(ErrorCode.NONE);
    expect(diverging.divergingEpoch?.epoch).toBe(epoch);
    expect(Number(diverging.divergingEpoch?.endOffset)).toBe(0);
    expect(diverging.records?.length ?? 0).toBe(0);
  });
});
