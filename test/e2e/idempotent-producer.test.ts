// Idempotent producers against a real broker process:
// - kafkajs 2.2.4 with idempotent: true and maxInFlightRequests 5 sends 1,000 records from many
//   concurrent send() calls: exactly 1,000 are stored, in order per key;
// - on the wire: a replayed batch (same producer id, epoch, sequence) answers success with the
//   original offset and stores nothing; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER;
// - kcat (librdkafka) with enable.idempotence=true produces and every line is stored once;
// - producer ids come from blocks recorded in the metadata log: after a restart the broker
//   hands out ids from a new block, never one it gave before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../wire/errors.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs, withProducer } from '../support/clients.js';
import { withClient } from '../support/kafka-client.js';
import { kcatConsume, kcatPath, kcatProduce } from '../support/kcat.js';
import { groupBy } from '../support/util.js';
import { initProducer, latestOffset, produceBatch, producerBatch, READ_UNCOMMITTED, values } from './txn-support.js';

describe('idempotent producers', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker();
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('kafkajs (idempotent, 5 in flight) stores 1,000 concurrently sent records exactly once, in order per key', async () => {
    const topic = 'idem-kafkajs';
    const kafka = kafkajs(broker.bootstrap, 'e2e-idempotent');
    await createTopics(kafka, [{ topic, numPartitions: 3 }]);
    const KEYS = 10;
    const PER_SEND = 5;
    const SENDS = 200;
    await withProducer(
      kafka,
      async (producer) => {
        const seq = new Array<number>(KEYS).fill(0);
        const sends = [];
        for (let s = 0; s < SENDS; s++) {
          const messages = [];
          for (let i = 0; i < PER_SEND; i++) {
            const k = (s * PER_SEND + i) % KEYS;
            messages.push({ key: `k${k}`, value: `k${k}:${seq[k]!++}` });
          }
          sends.push(producer.send({ topic, acks: -1, messages }));
        }
        await Promise.all(sends);
      },
      { idempotent: true, maxInFlightRequests: 5 },
    );
    const records = await kcatConsume(broker.bootstrap, topic);
    expect(records).toHaveLength(SENDS * PER_SEND);
    expect(new Set(values(records)).size).toBe(SENDS * PER_SEND);
    for (const [key, recs] of groupBy(records, (r) => r.key!.toString())) {
      const order = recs.sort((a, b) => a.offset - b.offset).map((r) => Number(r.value!.toString().split(':')[1]));
      expect(order, `order of ${key}`).toEqual(order.map((_, i) => i));
      expect(new Set(recs.map((r) => r.partition)).size, `${key} lives in one partition`).toBe(1);
    }
  });

  it('a replayed batch answers the original offset and stores nothing; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    const topic = 'idem-wire';
    await createTopics(kafkajs(broker.bootstrap, 'e2e-idempotent-wire'), [{ topic, numPartitions: 1 }]);
    await withClient(broker.port, async (c) => {
      const { producerId, producerEpoch } = await initProducer(c, null);
      expect(producerEpoch).toBe(0);
      const first = producerBatch(producerId, producerEpoch, 0, ['a', 'b', 'c']);
      const second = producerBatch(producerId, producerEpoch, 3, ['d', 'e']);
      expect(await produceBatch(c, topic, 0, Buffer.from(first))).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 0 });
      expect(await produceBatch(c, topic, 0, Buffer.from(second))).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 3 });
      // Retries of both (the client never saw the answers): success with the original offsets.
      expect(await produceBatch(c, topic, 0, Buffer.from(first))).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 0 });
      expect(await produceBatch(c, topic, 0, Buffer.from(second))).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 3 });
      expect(await latestOffset(c, topic, 0, READ_UNCOMMITTED)).toBe(5);
      // A gap (sequence 10 after 4) is refused, and so is a batch overlapping the stored ones.
      expect((await produceBatch(c, topic, 0, producerBatch(producerId, producerEpoch, 10, ['x']))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      expect((await produceBatch(c, topic, 0, producerBatch(producerId, producerEpoch, 4, ['y', 'z']))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      expect(await latestOffset(c, topic, 0, READ_UNCOMMITTED)).toBe(5);
      // The next in-order batch is fine.
      expect(await produceBatch(c, topic, 0, producerBatch(producerId, producerEpoch, 5, ['f']))).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 5 });
    });
    expect(values(await kcatConsume(broker.bootstrap, topic))).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('kcat with enable.idempotence=true stores every line once', async () => {
    const topic = 'idem-kcat';
    await createTopics(kafkajs(broker.bootstrap, 'e2e-idempotent-kcat'), [{ topic, numPartitions: 2 }]);
    const lines = Array.from({ length: 2_000 }, (_, i) => `line-${i}`);
    await kcatProduce(broker.bootstrap, topic, lines, { props: { 'enable.idempotence': 'true', acks: 'all' } });
    const got = values(await kcatConsume(broker.bootstrap, topic));
    expect(got.sort()).toEqual([...lines].sort());
  });

  it('hands out producer ids from a new block after a restart', async () => {
    const before = await withClient(broker.port, async (c) => [await initProducer(c, null), await initProducer(c, null)]);
    expect(before[1]!.producerId).toBeGreaterThan(before[0]!.producerId);
    await broker.restart();
    const after = await withClient(broker.port, (c) => initProducer(c, null));
    // The first block was [0, 1000); the restarted broker got the next one.
    expect(before[1]!.producerId).toBeLessThan(1000);
    expect(after.producerId).toBeGreaterThanOrEqual(1000);
  });
});
