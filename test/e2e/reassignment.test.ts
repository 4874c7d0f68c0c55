// Partition reassignment (AlterPartitionReassignments key 45, ListPartitionReassignments key 46)
// on a four-node KRaft cluster (combined broker+controller processes):
// 1. kafkajs (the third-party client) moves a partition with data from brokers [1,2] to [3,4]:
//    the new brokers create the log and catch up, the reassignment completes (nothing listed,
//    Metadata on every node shows replicas and ISR [3,4] and a new leader among them), every
//    acknowledged record reads back from the new leader, and brokers 1 and 2 delete their
//    partition directories;
// 2. a reassignment that cannot complete (the added broker is stopped with SIGSTOP) is listed
//    (kafkajs and raw, through any node), cancelled (replicas back, nothing listed), started
//    again and completes once the broker runs again;
// 3. bad input: unknown topic/partition, duplicate replicas, an unknown broker id, a cancel with
//    nothing in progress (kafkajs and raw); the controller listeners (active controller answers,
//    others NOT_CONTROLLER); malformed frames close only their connection; every process stays up.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import type { AlterPartitionReassignmentsResponse } from '../../wire/generated/messages/alter-partition-reassignments-response.js';
import type { ListPartitionReassignmentsResponse } from '../../wire/generated/messages/list-partition-reassignments-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRequestFrame } from '../../wire/header.js';
import { batchSize, decodeRecordBatch } from '../../wire/record-batch.js';
import { kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { withClient } from '../support/kafka-client.js';
import { sendRawBytes } from '../support/raw-client.js';
import { sleep, topicName, waitFor } from '../support/util.js';
import { recordsBuffer } from '../../wire/primitives.js';

const NODES = [1, 2, 3, 4];
let cluster: ClusterHandle;

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 4,
    env: {
      KAFKA_REPLICA_LAG_TIME_MAX_MS: '3000',
      KAFKA_BROKER_SESSION_TIMEOUT_MS: '6000',
      KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      // Leadership stays where reassignment puts it.
      KAFKA_AUTO_LEADER_REBALANCE_ENABLE: 'false',
    },
  });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

interface PartitionView {
  leader: number;
  replicas: number[];
  isr: number[];
}

async function partitionAt(from: number, topic: string, partition: number): Promise<PartitionView> {
  const md = await cluster.metadata(from, [topic]);
  const p = md.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition);
  if (!p) throw new Error(`node ${from}: no ${topic}-${partition} in metadata`);
  return { leader: p.leaderId, replicas: [...p.replicaNodes], isr: [...p.isrNodes].sort((a, b) => a - b) };
}

const partitionDir = (node: number, topic: string, partition: number) => path.join(cluster.node(node).spec.dataDir, `${topic}-${partition}`);
const exists = (p: string) => access(p).then(() => true, () => false);

async function alterRaw(port: number, topics: Array<[string, Array<[number, number[] | null]>]>): Promise<AlterPartitionReassignmentsResponse> {
  return withClient(port, (c) =>
    c.send(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 10_000, topics: topics.map(([name, parts]) => ({ name, partitions: parts.map(([partitionIndex, replicas]) => ({ partitionIndex, replicas })) })) }, 20_000),
  );
}

async function listRaw(port: number, topics: Array<[string, number[]]> | null): Promise<ListPartitionReassignmentsResponse> {
  return withClient(port, (c) =>
    c.send(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 10_000, topics: topics === null ? null : topics.map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }, 20_000),
  );
}

const codes = (r: AlterPartitionReassignmentsResponse) => r.responses.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]);

/** Every record value of `topic`-`partition` read from `node` (a consumer fetch, up to the high watermark). */
async function readAll(node: number, topic: string, partition: number, expected: number): Promise<string[]> {
  const values: string[] = [];
  let offset = 0n;
  await withClient(cluster.node(node).clientPort, async (c) => {
    for (let round = 0; round < 200 && values.length < expected; round++) {
      const r = await c.send(
        ApiKey.Fetch,
        12,
        { replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' },
        10_000,
      );
      const p = r.responses[0]!.partitions[0]!;
      if (p.errorCode !== ErrorCode.NONE) throw new Error(`Fetch from node ${node}: error ${p.errorCode}`);
      const buf = recordsBuffer(p.records) ?? Buffer.alloc(0);
      let pos = 0;
      while (pos + 61 <= buf.length) {
        const size = batchSize(buf, pos);
        if (pos + size > buf.length) break;
        const batch = decodeRecordBatch(buf, pos);
        for (const rec of batch.records) {
          if (BigInt(rec.offset) < offset) continue;
          values.push(rec.value?.toString() ?? '');
        }
        offset = BigInt(batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
        pos += size;
      }
    }
  });
  return values;
}

function expectAllUp(what: string): void {
  for (const n of cluster.live()) {
    expect(n.broker.exitStatus(), `${n.name} still runs after ${what}`).toBeUndefined();
    expect(n.broker.output(), `${n.name} logged no fatal error after ${what}`).not.toMatch(/"level":60|uncaught|unhandled/i);
  }
}

describe('moving a partition with data to other brokers (kafkajs)', { timeout: 120_000 }, () => {
  const topic = topicName('reassign-move');
  const COUNT = 600;

  it('[1,2] → [3,4]: completes, every node shows the new replicas and ISR, every record reads back from the new leader, the old replicas delete the log', async () => {
    const kafka = kafkajs(cluster.bootstraps, 'reassign-move', { retries: 10, initialRetryTime: 200, maxRetryTime: 2_000 });
    await withAdmin(kafka, (admin) => admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true }));
    await waitFor(`${topic}-0 on [1,2] with ISR [1,2]`, async () => {
      const p = await partitionAt(1, topic, 0);
      return p.isr.length === 2 && p.leader === 1 ? p : false;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    const sent: string[] = [];
    await withProducer(
      kafka,
      async (producer) => {
        for (let i = 0; i < 12; i++) {
          const messages = Array.from({ length: COUNT / 12 }, (_, j) => ({ partition: 0, key: `k${i}`, value: `v${i}-${j}` }));
          await producer.send({ topic, acks: -1, messages });
          sent.push(...messages.map((m) => m.value));
        }
      },
      { idempotent: true },
    );
    expect(await exists(partitionDir(3, topic, 0))).toBe(false);

    await withAdmin(kafka, (admin) => admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [3, 4] }] }] }));

    await waitFor(`the reassignment of ${topic}-0 completes`, async () => {
      const listed = await withAdmin(kafka, (admin) => admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] }));
      if (listed.topics.length !== 0) return false;
      for (const id of NODES) {
        const p = await partitionAt(id, topic, 0);
        if (JSON.stringify(p.replicas) !== '[3,4]' || JSON.stringify(p.isr) !== '[3,4]' || ![3, 4].includes(p.leader)) throw new Error(`node ${id}: ${JSON.stringify(p)}`);
      }
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const { leader } = await partitionAt(1, topic, 0);
    // Nothing listed for the whole cluster either.
    expect((await withAdmin(kafka, (admin) => admin.listPartitionReassignments({}))).topics).toEqual([]);

    expect(await readAll(leader, topic, 0, sent.length)).toEqual(sent);

    await waitFor(`brokers 1 and 2 deleted ${topic}-0`, async () => !(await exists(partitionDir(1, topic, 0))) && !(await exists(partitionDir(2, topic, 0))), { timeoutMs: 20_000, intervalMs: 250 });
    expect(await exists(partitionDir(3, topic, 0))).toBe(true);
    expect(await exists(partitionDir(4, topic, 0))).toBe(true);

    // Writes go on at the new leader, with both new replicas acknowledging.
    await withProducer(kafka, (p) => p.send({ topic, acks: -1, messages: [{ partition: 0, value: 'after the move' }] }).then(() => undefined));
    expect((await readAll(leader, topic, 0, sent.length + 1)).at(-1)).toBe('after the move');
    expectAllUp('the move');
  });
});

describe('a reassignment in progress: list, cancel, complete', { timeout: 120_000 }, () => {
  const topic = topicName('reassign-cancel');

  it('listed while the added broker is stopped, cancelled back to the original replicas, then completed once it runs', async () => {
    const controller = (await cluster.waitForLeader()).leaderId;
    // A broker to add that is neither a replica nor the active controller.
    const added = [3, 4].find((id) => id !== controller)!;
    const kafka = kafkajs(cluster.bootstraps, 'reassign-cancel', { retries: 10, initialRetryTime: 200, maxRetryTime: 2_000 });
    await withAdmin(kafka, (admin) => admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true }));
    await withProducer(kafka, (p) => p.send({ topic, acks: -1, messages: [{ partition: 0, value: 'one' }, { partition: 0, value: 'two' }] }).then(() => undefined));
    const via = NODES.find((id) => id !== added)!;
    const port = cluster.node(via).clientPort;
    const proc = cluster.node(added).broker;
    process.kill(proc.pid!, 'SIGSTOP');
    try {
      expect(codes(await alterRaw(port, [[topic, [[0, [1, 2, added]]]]]))).toEqual([[topic, [[0, ErrorCode.NONE]]]]);
      const ongoing = { partitionIndex: 0, replicas: [1, 2, added], addingReplicas: [added], removingReplicas: [] };
      const listed = await listRaw(port, [[topic, [0, 1]]]);
      expect(listed).toMatchObject({ errorCode: ErrorCode.NONE, topics: [{ name: topic, partitions: [ongoing] }] });
      expect((await listRaw(port, null)).topics.find((t) => t.name === topic)).toEqual({ name: topic, partitions: [ongoing] });
      // kafkajs sees the same.
      const viaKafkajs = await withAdmin(kafkajs(cluster.node(via).bootstrap, 'reassign-list'), (admin) => admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] }));
      expect(viaKafkajs.topics).toEqual([{ name: topic, partitions: [{ partition: 0, replicas: [1, 2, added], addingReplicas: [added], removingReplicas: [] }] }]);
      // Cancel: back to [1,2], nothing listed; a second cancel has nothing to cancel.
      expect(codes(await alterRaw(port, [[topic, [[0, null]]]]))).toEqual([[topic, [[0, ErrorCode.NONE]]]]);
      expect((await listRaw(port, [[topic, [0]]])).topics).toEqual([]);
      expect(await partitionAt(via, topic, 0)).toMatchObject({ replicas: [1, 2], isr: [1, 2] });
      expect(codes(await alterRaw(port, [[topic, [[0, null]]]]))).toEqual([[topic, [[0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]]]]);
      // Again, and let the broker run.
      expect(codes(await alterRaw(port, [[topic, [[0, [added, 2]]]]]))).toEqual([[topic, [[0, ErrorCode.NONE]]]]);
      expect((await listRaw(port, [[topic, [0]]])).topics[0]!.partitions).toEqual([{ partitionIndex: 0, replicas: [added, 2, 1], addingReplicas: [added], removingReplicas: [1] }]);
    } finally {
      process.kill(proc.pid!, 'SIGCONT');
    }
    await waitFor(`the reassignment of ${topic}-0 to [${added},2] completes`, async () => {
      if ((await listRaw(port, null)).topics.some((t) => t.name === topic)) return false;
      const p = await partitionAt(via, topic, 0);
      return JSON.stringify(p.replicas) === JSON.stringify([added, 2]) && p.isr.length === 2 ? p : false;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const { leader } = await partitionAt(via, topic, 0);
    expect([added, 2]).toContain(leader);
    expect(await readAll(leader, topic, 0, 2)).toEqual(['one', 'two']);
    await waitFor(`broker 1 deleted ${topic}-0`, async () => !(await exists(partitionDir(1, topic, 0))), { timeoutMs: 20_000, intervalMs: 250 });
    expectAllUp('cancel and complete');
  });
});

describe('bad input', { timeout: 60_000 }, () => {
  const topic = topicName('reassign-bad');

  beforeAll(async () => {
    const kafka = kafkajs(cluster.bootstraps, 'reassign-bad');
    await withAdmin(kafka, (admin) => admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true }));
  });

  it('unknown topic or partition, duplicate replicas, an unknown broker, an empty list, a cancel with nothing in progress: per-partition errors, nothing changes', async () => {
    const r = await alterRaw(cluster.node(2).clientPort, [
      ['no-such-topic', [[0, [1, 2]]]],
      [topic, [[5, [1, 2]], [0, [3, 3]], [0, [1, 99]], [0, []], [0, null]]],
    ]);
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(codes(r)).toEqual([
      ['no-such-topic', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      [topic, [[5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [0, ErrorCode.INVALID_REPLICA_ASSIGNMENT], [0, ErrorCode.INVALID_REPLICA_ASSIGNMENT], [0, ErrorCode.INVALID_REPLICA_ASSIGNMENT], [0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]]],
    ]);
    expect(r.responses[1]!.partitions[1]!.errorMessage).toMatch(/more than once/);
    expect(r.responses[1]!.partitions[2]!.errorMessage).toMatch(/broker 99/);
    expect(await partitionAt(3, topic, 0)).toMatchObject({ replicas: [1, 2] });
    // Listing unknown topics and partitions lists nothing.
    expect(await listRaw(cluster.node(4).clientPort, [['no-such-topic', [0]], [topic, [0, 9]]])).toMatchObject({ errorCode: ErrorCode.NONE, topics: [] });
  });

  it('kafkajs gets the errors per partition', async () => {
    const kafka = kafkajs(cluster.bootstraps, 'reassign-bad-kafkajs');
    const typeOf = async (topics: Array<{ topic: string; partitionAssignment: Array<{ partition: number; replicas: number[] }> }>) => {
      try {
        await withAdmin(kafka, (admin) => admin.alterPartitionReassignments({ topics }));
        return 'no error';
      } catch (err) {
        const e = err as { errors?: Array<{ type?: string }>; type?: string };
        return e.errors?.map((x) => x.type).join(',') ?? e.type ?? String(err);
      }
    };
    expect(await typeOf([{ topic: 'no-such-topic', partitionAssignment: [{ partition: 0, replicas: [1, 2] }] }])).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await typeOf([{ topic, partitionAssignment: [{ partition: 0, replicas: [2, 2] }] }])).toBe('INVALID_REPLICA_ASSIGNMENT');
    expect(await typeOf([{ topic, partitionAssignment: [{ partition: 0, replicas: [1, 77] }] }])).toBe('INVALID_REPLICA_ASSIGNMENT');
    expect(await partitionAt(1, topic, 0)).toMatchObject({ replicas: [1, 2] });
  });

  it('at the controller listeners: the active controller answers, the others NOT_CONTROLLER', async () => {
    const leader = (await cluster.waitForLeader()).leaderId;
    for (const id of NODES) {
      const port = cluster.node(id).controllerPort;
      const alter = await alterRaw(port, [[topic, [[0, null]]]]);
      const list = await listRaw(port, null);
      if (id === leader) {
        expect(codes(alter), `active controller ${id}`).toEqual([[topic, [[0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]]]]);
        expect(list.errorCode).toBe(ErrorCode.NONE);
      } else {
        expect(alter.errorCode, `controller ${id}`).toBe(ErrorCode.NOT_CONTROLLER);
        expect(codes(alter)).toEqual([[topic, [[0, ErrorCode.NOT_CONTROLLER]]]]);
        expect(list.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
      }
    }
  });

  it('malformed frames close the connection; every process stays up and serves', async () => {
    const alterFrame = Buffer.from(encodeRequestFrame(ApiKey.AlterPartitionReassignments, 0, 7, 'bad', { timeoutMs: 5_000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas: [1, 2] }] }] }));
    const truncated = (() => {
      const cut = Buffer.from(alterFrame.subarray(0, alterFrame.length - 7));
      cut.writeInt32BE(cut.length - 4, 0);
      return cut;
    })();
    const hugeReplicas = (() => {
      // The replicas compact array (length+1 = 3) claims far more int32s than the frame holds.
      const f = Buffer.from(alterFrame);
      const i = f.lastIndexOf(Buffer.from([3, 0, 0, 0, 1, 0, 0, 0, 2]));
      if (i < 0) throw new Error('replicas array not found');
      f[i] = 0x7f;
      return f;
    })();
    const hugeTopics = (() => {
      // ListPartitionReassignments v0: timeoutMs (int32), then the topics compact array; an
      // empty list whose count says 2^28.
      const f = Buffer.from(encodeRequestFrame(ApiKey.ListPartitionReassignments, 0, 9, 'bad', { timeoutMs: 5_000, topics: [] }));
      const body = Buffer.concat([f.subarray(0, f.length - 2), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01, 0])]);
      body.writeInt32BE(body.length - 4, 0);
      return body;
    })();
    for (const [what, frame] of [['truncated alter', truncated], ['alter replicas count too large', hugeReplicas], ['list topics count 2^28', hugeTopics]] as const) {
      for (const port of [cluster.node(1).clientPort, cluster.node(3).controllerPort]) {
        expect((await sendRawBytes(port, frame)).kind, `${what} at port ${port}`).toBe('closed');
      }
    }
    await sleep(200);
    expectAllUp('malformed reassignment frames');
    expect(codes(await alterRaw(cluster.node(1).clientPort, [[topic, [[0, null]]]]))).toEqual([[topic, [[0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]]]]);
  });
});
