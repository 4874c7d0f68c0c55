// The produce path reads only batch headers and checks the CRC: it never decodes records. Fetch
// sends the stored bytes without re-encoding. Proof: a batch whose records section is not
// decodable as records (but whose CRC is right) is accepted, and comes back from Fetch
// byte for byte, except the two fields the broker owns (base offset and leader epoch), which
// lie outside the CRC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRecordBatch, recomputeCrc, readBatchHeader, batchCrcValid } from '../../wire/record-batch.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { withClient } from '../support/kafka-client.js';
import { recordsBuffer } from '../../wire/primitives.js';

const TOPIC = 'stored-bytes';

describe('records stay bytes between produce and fetch', () => {
  let broker: BrokerHandle;

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
  });

  afterAll(async () => {
    await broker?.stop();
  });

  async function produce(batch: Buffer): Promise<{ errorCode: number; baseOffset: bigint }> {
    return withClient(broker.port, async (c) => {
      const r = await c.send(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }],
      });
      const p = r.responses[0]!.partitionResponses[0]!;
      return { errorCode: p.errorCode, baseOffset: p.baseOffset };
    });
  }

  async function fetchAll(): Promise<Buffer> {
    return withClient(broker.port, async (c) => {
      const r = await c.send(ApiKey.Fetch, 12, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
      const p = r.responses[0]!.partitions[0]!;
      expect(p.errorCode).toBe(ErrorCode.NONE);
      return recordsBuffer(p.records) ?? Buffer.alloc(0);
    });
  }

  it('accepts a batch whose records are undecodable but whose CRC is right, and serves it unchanged', async () => {
    // A real batch of 3 records, then its records section replaced by noise of the same length.
    const batch = encodeRecordBatch({ records: [{ value: 'a' }, { value: 'bb' }, { value: 'ccc' }] });
    const sent = Buffer.from(batch);
    for (let i = 61; i < sent.length; i++) sent[i] = 0xff; // varint lengths of 0xff… cannot decode
    recomputeCrc(sent, 0);
    expect(batchCrcValid(sent, 0)).toBe(true);

    const first = await produce(encodeRecordBatch({ records: [{ value: 'before' }] }));
    expect(first.errorCode).toBe(ErrorCode.NONE);
    const res = await produce(sent);
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.baseOffset).toBe(1n);

    const stored = await fetchAll();
    const firstSize = readBatchHeader(stored, 0).batchLength + 12;
    const got = stored.subarray(firstSize);
    expect(got.length).toBe(sent.length);
    expect(readBatchHeader(got, 0).baseOffset).toBe(1);
    // Everything from the magic byte on is exactly what the producer sent.
    expect(got.subarray(16).equals(sent.subarray(16))).toBe(true);
    // batchLength too; only baseOffset (0–7) and partitionLeaderEpoch (12–15) are the broker's.
    expect(got.subarray(8, 12).equals(sent.subarray(8, 12))).toBe(true);
  });

  it('refuses the same noise when the CRC does not match (CORRUPT_MESSAGE), storing nothing', async () => {
    const before = await fetchAll();
    const batch = Buffer.from(encodeRecordBatch({ records: [{ value: 'x' }] }));
    batch[batch.length - 1] ^= 0x01;
    const res = await produce(batch);
    expect(res.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await fetchAll()).equals(before)).toBe(true);
  });
});
