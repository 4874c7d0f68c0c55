// OffsetForLeaderEpoch (key 23) against a real broker, over the generated codecs. A single node
// moves to a new leader epoch when it restarts (fenced: no leader, epoch +1; unfenced: leader
// again, epoch +1), so a restart gives the partition an old epoch with data and a new one.
// Asserted as Kafka answers: the latest epoch ends at the log end offset; an older epoch where
// the next one with data starts (the largest epoch ≤ the requested one); an epoch above the
// latest (or -1) -1/-1; currentLeaderEpoch fencing; unknown partitions; the epochs survive a
// SIGKILL (leader-epoch-checkpoint); malformed requests close only their connection. Of the
// third-party clients here only @platformatic/kafka exposes the API (its v4 request function,
// called directly); kafkajs never sends it and librdkafka only from 2.1 (kcat has 2.0.2).
import { readFileSync } from 'node:fs';
import { Connection, offsetForLeaderEpochV4 } from '@platformatic/kafka';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import type { OffsetForLeaderEpochRequest } from '../../wire/generated/messages/offset-for-leader-epoch-request.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRequestFrame } from '../../wire/header.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { KafkaTestClient, withClient } from '../support/kafka-client.js';
import { probeApiVersions, RawConnection } from '../support/raw-client.js';
import { topicName, waitFor } from '../support/util.js';

const TOPIC = topicName('ofle');
const MAX_VERSION = 4;

type PartitionAsk = OffsetForLeaderEpochRequest['topics'][number]['partitions'][number];

async function leaderEpochOf(c: KafkaTestClient, topic: string): Promise<number> {
  const m = await c.send(ApiKey.Metadata, 9, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  const p = m.topics[0]?.partitions[0];
  return p !== undefined && p.errorCode === ErrorCode.NONE && p.leaderId >= 0 ? (p.leaderEpoch ?? -1) : -1;
}

/** Waits until the partition has a leader at an epoch above `above`; returns the epoch. */
async function waitForLeaderEpoch(port: number, above: number): Promise<number> {
  return withClient(port, async (c) => {
    let epoch = -1;
    await waitFor(`a leader epoch above ${above}`, async () => (epoch = await leaderEpochOf(c, TOPIC)) > above);
    return epoch;
  });
}

async function produce(port: number, count: number): Promise<void> {
  await withClient(port, async (c) => {
    const r = await c.send(ApiKey.Produce, 8, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ value: `v${i}` })) }) }] }],
    });
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
  });
}

/** One OffsetForLeaderEpoch for partitions of TOPIC (or `topic`); the partition answers in order. */
async function ask(port: number, partitions: PartitionAsk[], version = MAX_VERSION, topic = TOPIC) {
  return withClient(port, async (c) => {
    const r = await c.send(ApiKey.OffsetForLeaderEpoch, version, { replicaId: -1, topics: [{ topic, partitions }] });
    expect(r.topics).toHaveLength(1);
    expect(r.topics[0]!.topic).toBe(topic);
    return r.topics[0]!.partitions.map((p) => ({ partition: p.partition, errorCode: p.errorCode, leaderEpoch: p.leaderEpoch, endOffset: Number(p.endOffset) }));
  });
}

const one = async (leaderEpoch: number, currentLeaderEpoch = -1, version = MAX_VERSION) =>
  (await ask(broker.port, [{ partition: 0, currentLeaderEpoch, leaderEpoch }], version))[0]!;

let broker: BrokerHandle;
/** The epoch the topic was created with, and the one after the restart. */
let firstEpoch = -1;
let secondEpoch = -1;

describe('OffsetForLeaderEpoch', () => {
  beforeAll(async () => {
    broker = await startBroker();
    await withClient(broker.port, async (c) => {
      const r = await c.send(ApiKey.CreateTopics, 7, {
        topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 10_000,
        validateOnly: false,
      });
      expect(r.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    });
    firstEpoch = await waitForLeaderEpoch(broker.port, -1);
    await produce(broker.port, 5); // offsets 0–4 in the first epoch
    await broker.restart();
    secondEpoch = await waitForLeaderEpoch(broker.port, firstEpoch);
    await produce(broker.port, 3); // offsets 5–7 in the second epoch
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('the current epoch ends at the log end offset', async () => {
    expect(await one(secondEpoch)).toEqual({ partition: 0, errorCode: ErrorCode.NONE, leaderEpoch: secondEpoch, endOffset: 8 });
  });

  it('an old epoch ends where the next epoch with data starts', async () => {
    expect(await one(firstEpoch)).toEqual({ partition: 0, errorCode: ErrorCode.NONE, leaderEpoch: firstEpoch, endOffset: 5 });
    // Epochs in between had no data: the answer is the largest epoch below with data.
    for (let e = firstEpoch + 1; e < secondEpoch; e++) {
      expect(await one(e)).toEqual({ partition: 0, errorCode: ErrorCode.NONE, leaderEpoch: firstEpoch, endOffset: 5 });
    }
  });

  it('an epoch above the latest, or -1, is undefined: -1/-1 without an error', async () => {
    expect(await one(secondEpoch + 1)).toEqual({ partition: 0, errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1 });
    expect(await one(-1)).toEqual({ partition: 0, errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1 });
  });

  it('currentLeaderEpoch fences: older ⇒ FENCED_LEADER_EPOCH, newer ⇒ UNKNOWN_LEADER_EPOCH, equal answers', async () => {
    expect(await one(firstEpoch, secondEpoch - 1)).toMatchObject({ errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1 });
    expect(await one(firstEpoch, secondEpoch + 1)).toMatchObject({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1 });
    expect(await one(firstEpoch, secondEpoch)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: firstEpoch, endOffset: 5 });
    // v0/v1 have no currentLeaderEpoch: never fenced.
    expect(await one(firstEpoch, secondEpoch - 1, 1)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: firstEpoch, endOffset: 5 });
  });

  it('answers every version v0–v4 (v0 without an epoch)', async () => {
    for (let v = 0; v <= MAX_VERSION; v++) {
      const r = await one(firstEpoch, -1, v);
      expect(r, `v${v}`).toEqual({ partition: 0, errorCode: ErrorCode.NONE, leaderEpoch: v === 0 ? -1 : firstEpoch, endOffset: 5 });
    }
  });

  it('unknown topics and partitions are UNKNOWN_TOPIC_OR_PARTITION, each partition on its own', async () => {
    const mixed = await ask(broker.port, [
      { partition: 7, currentLeaderEpoch: -1, leaderEpoch: 0 },
      { partition: 0, currentLeaderEpoch: -1, leaderEpoch: secondEpoch },
      { partition: -1, currentLeaderEpoch: -1, leaderEpoch: 0 },
    ]);
    expect(mixed.map((p) => [p.partition, p.errorCode])).toEqual([
      [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [0, ErrorCode.NONE],
      [-1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(mixed[1]!.endOffset).toBe(8);
    const missing = await ask(broker.port, [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }], MAX_VERSION, 'no-such-topic');
    expect(missing).toEqual([{ partition: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1 }]);
  });

  it('keeps the epochs in leader-epoch-checkpoint, and across a SIGKILL', async () => {
    const file = path.join(broker.dataDir, `${TOPIC}-0`, 'leader-epoch-checkpoint');
    expect(readFileSync(file, 'utf8')).toBe(`0\n2\n${firstEpoch} 0\n${secondEpoch} 5\n`);
    await broker.kill9();
    await broker.restart();
    // No controlled shutdown: the quorum of one may lead again at the same epoch.
    const now = await waitForLeaderEpoch(broker.port, secondEpoch - 1);
    expect(await one(firstEpoch)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: firstEpoch, endOffset: 5 });
    expect(await one(secondEpoch)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: secondEpoch, endOffset: 8 });
    await produce(broker.port, 2);
    expect(await one(now)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: now, endOffset: 10 });
    secondEpoch = now;
  });

  // @platformatic/kafka 1.35's v4 response parser reads Partition before ErrorCode (Kafka's
  // definition has ErrorCode first), so only answers without an error decode right with it.
  it("@platformatic/kafka's OffsetForLeaderEpoch v4 decodes an answer", async () => {
    const conn = new Connection('e2e-ofle');
    await conn.connect('127.0.0.1', broker.port);
    try {
      const ok = await offsetForLeaderEpochV4.api.async(conn, -1, [
        { name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: secondEpoch, leaderEpoch: firstEpoch }] },
      ]);
      expect(ok.topics).toHaveLength(1);
      expect(ok.topics[0]!.partitions).toEqual([{ partition: 0, errorCode: 0, leaderEpoch: firstEpoch, endOffset: 5n }]);
    } finally {
      await conn.close();
    }
  });

  it('a truncated request closes its connection; the broker keeps serving', async () => {
    const frame = encodeRequestFrame(ApiKey.OffsetForLeaderEpoch, MAX_VERSION, 1, 'bad', {
      replicaId: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
    });
    for (const cut of [1, 6, 12]) {
      const truncated = Buffer.from(frame.subarray(0, frame.length - cut));
      truncated.writeInt32BE(truncated.length - 4, 0);
      const conn = await RawConnection.connect(broker.port);
      await conn.write(truncated);
      expect(await conn.waitClosed(5_000), `cut ${cut}`).toBe(true);
    }
    // An array length far beyond the bytes sent.
    const huge = Buffer.from(frame);
    // size, apiKey, version, correlation id, client id 'bad', header tags, replicaId: then the topics count.
    const countPos = 4 + 2 + 2 + 4 + (2 + 3) + 1 + 4;
    expect(huge[countPos]).toBe(2); // compact array: 1 topic
    huge[countPos] = 0x7f;
    const conn = await RawConnection.connect(broker.port);
    await conn.write(huge);
    expect(await conn.waitClosed(5_000)).toBe(true);

    expect((await probeApiVersions(broker.port)).errorCode).toBe(ErrorCode.NONE);
    expect(await one(secondEpoch)).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: secondEpoch, endOffset: 10 });
    expect(broker.exitStatus()).toBeUndefined();
  });
});
