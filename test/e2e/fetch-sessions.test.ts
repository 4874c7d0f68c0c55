// Fetch as the Java client uses it: incremental fetch sessions (KIP-227) and long polls.
// Sent with the project's generated codecs at Fetch v12 (names) and v13 (topic ids).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import type { FetchRequest } from '../../wire/generated/messages/fetch-request.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { KafkaTestClient } from '../support/kafka-client.js';

const TOPIC = 'sessions';

describe('fetch sessions and long polls', () => {
  let broker: BrokerHandle;
  let client: KafkaTestClient;
  let topicId = '';

  beforeAll(async () => {
    broker = await startBroker();
    client = await KafkaTestClient.connect(broker.port);
    const r = await client.send(ApiKey.CreateTopics, 7, {
      topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(r.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    topicId = r.topics[0]!.topicId!;
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  async function produce(partition: number, value: string): Promise<void> {
    const r = await client.send(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: TOPIC, partitionData: [{ index: partition, records: encodeRecordBatch({ records: [{ value }] }) }] }],
    });
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
  }

  function fetchRequest(sessionId: number, sessionEpoch: number, partitions: Array<{ p: number; offset: number }>, extra: Partial<FetchRequest> = {}): FetchRequest {
    return {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId,
      sessionEpoch,
      topics: partitions.length === 0 ? [] : [{
        topic: TOPIC,
        topicId,
        partitions: partitions.map(({ p, offset }) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })),
      }],
      forgottenTopicsData: [],
      rackId: '',
      ...extra,
    };
  }

  it('epoch 0 opens a session; incremental fetches carry only partitions with news', async () => {
    await produce(0, 'a0');
    await produce(1, 'b0');
    const full = await client.send(ApiKey.Fetch, 13, fetchRequest(0, 0, [{ p: 0, offset: 0 }, { p: 1, offset: 0 }]));
    expect(full.errorCode).toBe(ErrorCode.NONE);
    expect(full.sessionId).toBeGreaterThan(0);
    expect(full.responses[0]!.topicId).toBe(topicId);
    expect(full.responses[0]!.partitions.map((p) => p.partitionIndex).sort()).toEqual([0, 1]);

    // The client moved both fetch offsets past what it got; nothing new arrived: the incremental
    // response carries no partition.
    const quiet = await client.send(ApiKey.Fetch, 13, fetchRequest(full.sessionId!, 1, [{ p: 0, offset: 1 }, { p: 1, offset: 1 }]));
    expect(quiet.errorCode).toBe(ErrorCode.NONE);
    expect(quiet.responses).toEqual([]);

    // New data on partition 1 only; the request names no partition (offsets unchanged), the
    // session remembers them, and only partition 1 comes back.
    await produce(1, 'b1');
    const inc = await client.send(ApiKey.Fetch, 13, fetchRequest(full.sessionId!, 2, []));
    expect(inc.responses.flatMap((t) => t.partitions.map((p) => p.partitionIndex))).toEqual([1]);
    expect(inc.responses[0]!.partitions[0]!.records!.length).toBeGreaterThan(0);

    // A wrong epoch and an unknown session id are refused with Kafka's codes.
    const stale = await client.send(ApiKey.Fetch, 13, fetchRequest(full.sessionId!, 1, []));
    expect(stale.errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const unknown = await client.send(ApiKey.Fetch, 13, fetchRequest(987654, 1, []));
    expect(unknown.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);

    // Epoch -1 closes the session: sessionless full fetch.
    const closed = await client.send(ApiKey.Fetch, 13, fetchRequest(full.sessionId!, -1, [{ p: 0, offset: 0 }]));
    expect(closed.sessionId).toBe(0);
    const gone = await client.send(ApiKey.Fetch, 13, fetchRequest(full.sessionId!, 3, []));
    expect(gone.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('an unknown topic id answers UNKNOWN_TOPIC_ID for that partition', async () => {
    const r = await client.send(ApiKey.Fetch, 13, {
      ...fetchRequest(0, -1, []),
      topics: [{ topic: '', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1000 }] }],
    });
    expect(r.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('a long poll waits for min_bytes and returns as soon as data arrives', async () => {
    const other = await KafkaTestClient.connect(broker.port);
    try {
      const lso = await client.send(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
      const end = Number(lso.topics[0]!.partitions[0]!.offset);
      const started = Date.now();
      const pending = other.send(ApiKey.Fetch, 12, fetchRequest(0, -1, [{ p: 0, offset: end }], { maxWaitMs: 10_000, minBytes: 1 }));
      await new Promise((r) => setTimeout(r, 300));
      await produce(0, 'wake-up');
      const r = await pending;
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(9_000);
      expect(r.responses[0]!.partitions[0]!.records!.length).toBeGreaterThan(0);

      // With nothing arriving, it answers empty after max_wait_ms.
      const t0 = Date.now();
      const empty = await other.send(ApiKey.Fetch, 12, fetchRequest(0, -1, [{ p: 0, offset: end + 1 }], { maxWaitMs: 400, minBytes: 1 }));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
      expect(empty.responses[0]!.partitions[0]!.records!.length).toBe(0);
    } finally {
      other.close();
    }
  });
});
