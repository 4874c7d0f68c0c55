// Transactions with kafkajs 2.2.4, unmodified, against a real broker process:
// - committed records are visible to read_committed readers (kcat, a kafkajs consumer), aborted
//   ones are not, while read_uncommitted readers see both;
// - an open transaction holds read_committed readers at the last stable offset (Fetch and
//   ListOffsets), a long poll parked there wakes when the commit moves the LSO, and then the
//   whole transaction is visible;
// - sendOffsets commits the consumer offsets atomically with the output: nothing of an aborted
//   transaction, both of a committed one, nothing visible before the commit;
// - a second producer with the same transactional.id fences the first (its open transaction is
//   aborted, its commit refused);
// - DescribeTransactions / ListTransactions report the coordinator's view.
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { KafkaTestClient, withClient } from '../support/kafka-client.js';
import { kcatPath } from '../support/kcat.js';
import { waitFor, withTimeout } from '../support/util.js';
import { describeTxn, fetchPartition, kcatRead, latestOffset, READ_COMMITTED, READ_UNCOMMITTED, values } from './txn-support.js';

async function txnProducer(kafka: Kafka, transactionalId: string): Promise<Producer> {
  const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await withTimeout(p.connect(), 30_000, `${transactionalId} connect`);
  return p;
}

describe('transactions with kafkajs', () => {
  let broker: BrokerHandle;
  let kafka: Kafka;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({ env: { KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '5', KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '5', KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } });
    kafka = kafkajs(broker.bootstrap, 'e2e-txn', { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('read_committed sees committed transactions only; read_uncommitted sees aborted ones too', async () => {
    const topic = 'txn-visibility';
    await createTopics(kafka, [{ topic, numPartitions: 2 }]);
    const p = await txnProducer(kafka, 'visibility');
    try {
      for (const [i, outcome] of (['commit', 'abort', 'commit', 'abort', 'commit'] as const).entries()) {
        const t = await p.transaction();
        await t.send({ topic, messages: [0, 1, 2, 3].map((k) => ({ key: `k${k}`, value: `${outcome}-${i}-${k}` })) });
        if (outcome === 'commit') await t.commit();
        else await t.abort();
      }
    } finally {
      await p.disconnect();
    }
    const committed = values(await kcatRead(broker.bootstrap, topic, 'read_committed')).sort();
    const all = values(await kcatRead(broker.bootstrap, topic, 'read_uncommitted')).sort();
    expect(committed).toHaveLength(12);
    expect(committed.every((v) => v.startsWith('commit-'))).toBe(true);
    expect(all).toHaveLength(20);
    expect(all.filter((v) => v.startsWith('abort-'))).toHaveLength(8);

    // A kafkajs consumer (read_committed is its default) agrees with kcat.
    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: 'visibility-reader', maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      await waitFor('the kafkajs consumer to read 12 records', () => seen.length >= 12, { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await consumer.disconnect();
    }
    expect(seen.sort()).toEqual(committed);

    // The aborted transactions are listed to read_committed fetches.
    await withClient(broker.port, async (c) => {
      const f = await fetchPartition(c, topic, 0, 0, READ_COMMITTED);
      expect(f.abortedTransactions?.length ?? 0).toBeGreaterThan(0);
      expect(f.batches.filter((b) => b.control).every((b) => b.marker === 'COMMIT' || b.marker === 'ABORT')).toBe(true);
      expect(f.lastStableOffset).toBe(f.highWatermark);
      const u = await fetchPartition(c, topic, 0, 0, READ_UNCOMMITTED);
      expect(u.abortedTransactions).toBeNull();
    });
  });

  it('an open transaction holds read_committed readers at the LSO until it commits', async () => {
    const topic = 'txn-lso';
    await createTopics(kafka, [{ topic, numPartitions: 1 }]);
    await withProducer(kafka, (p) => p.send({ topic, messages: [{ value: 'before-0' }, { value: 'before-1' }] }));
    const p = await txnProducer(kafka, 'lso');
    const c = await KafkaTestClient.connect(broker.port);
    const poller = await KafkaTestClient.connect(broker.port);
    try {
      const t = await p.transaction();
      await t.send({ topic, messages: [{ value: 'txn-0' }, { value: 'txn-1' }, { value: 'txn-2' }] });
      // Written after the transaction started, by a plain producer.
      await withProducer(kafka, (q) => q.send({ topic, messages: [{ value: 'after-0' }] }));

      expect(await latestOffset(c, topic, 0, READ_UNCOMMITTED)).toBe(6);
      expect(await latestOffset(c, topic, 0, READ_COMMITTED)).toBe(2);
      const held = await fetchPartition(c, topic, 0, 0, READ_COMMITTED);
      expect(held).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 6, lastStableOffset: 2 });
      expect(held.batches.flatMap((b) => b.values)).toEqual(['before-0', 'before-1']);
      const uncommitted = await fetchPartition(c, topic, 0, 0, READ_UNCOMMITTED);
      expect(uncommitted.lastStableOffset).toBe(2);
      expect(uncommitted.batches.flatMap((b) => b.values)).toEqual(['before-0', 'before-1', 'txn-0', 'txn-1', 'txn-2', 'after-0']);
      expect(values(await kcatRead(broker.bootstrap, topic, 'read_committed'))).toEqual(['before-0', 'before-1']);

      // A long poll at the LSO wakes when the commit's marker moves it.
      const started = Date.now();
      const parked = fetchPartition(poller, topic, 0, 2, READ_COMMITTED, { maxWaitMs: 20_000, minBytes: 1 });
      await new Promise((r) => setTimeout(r, 300));
      await t.commit();
      const woke = await parked;
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(woke.batches.flatMap((b) => b.values)).toEqual(['txn-0', 'txn-1', 'txn-2', 'after-0']);
      expect(woke.lastStableOffset).toBe(woke.highWatermark);
      expect(await latestOffset(c, topic, 0, READ_COMMITTED)).toBe(7);
      expect(values(await kcatRead(broker.bootstrap, topic, 'read_committed'))).toEqual(['before-0', 'before-1', 'txn-0', 'txn-1', 'txn-2', 'after-0']);
    } finally {
      c.close();
      poller.close();
      await p.disconnect();
    }
  });

  it('sendOffsets commits consumer offsets atomically with the output', async () => {
    const input = 'txn-offsets-in';
    const output = 'txn-offsets-out';
    const group = 'txn-offsets-group';
    await createTopics(kafka, [
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const committedOffset = () =>
      withAdmin(kafka, async (a) => Number((await a.fetchOffsets({ groupId: group, topics: [input] }))[0]!.partitions[0]!.offset));
    const p = await txnProducer(kafka, 'offsets');
    try {
      // Aborted: neither the output nor the offset.
      let t = await p.transaction();
      await t.send({ topic: output, messages: [{ value: 'aborted-out' }] });
      await t.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }] });
      expect(await committedOffset()).toBe(-1);
      await withClient(broker.port, async (c) => {
        const r = await c.send(ApiKey.OffsetFetch, 7, { groupId: group, topics: [{ name: input, partitionIndexes: [0] }], requireStable: true });
        expect(r.topics![0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
      });
      await t.abort();
      expect(await committedOffset()).toBe(-1);
      // Committed: both.
      t = await p.transaction();
      await t.send({ topic: output, messages: [{ value: 'committed-out' }] });
      await t.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: '7' }] }] });
      expect(await committedOffset()).toBe(-1);
      await t.commit();
      await waitFor('the committed offset', async () => (await committedOffset()) === 7, { timeoutMs: 10_000 });
    } finally {
      await p.disconnect();
    }
    expect(values(await kcatRead(broker.bootstrap, output, 'read_committed'))).toEqual(['committed-out']);
  });

  it('a second producer with the same transactional.id fences the first', async () => {
    const topic = 'txn-fencing';
    await createTopics(kafka, [{ topic, numPartitions: 1 }]);
    const first = await txnProducer(kafka, 'fenced-id');
    const firstTxn = await first.transaction();
    await firstTxn.send({ topic, messages: [{ value: 'zombie' }] });
    const second = await txnProducer(kafka, 'fenced-id');
    try {
      // kafkajs initializes the transactional id with the first transaction: that fences the
      // first producer and aborts its open transaction.
      const t = await second.transaction();
      const err = await firstTxn.commit().then(
        () => null,
        (e: unknown) => e as { type?: string; name?: string },
      );
      expect(err, 'the fenced producer must not commit').not.toBeNull();
      expect(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']).toContain(err!.type);
      await t.send({ topic, messages: [{ value: 'successor' }] });
      await t.commit();
    } finally {
      await first.disconnect().catch(() => {});
      await second.disconnect();
    }
    expect(values(await kcatRead(broker.bootstrap, topic, 'read_committed'))).toEqual(['successor']);
    expect(values(await kcatRead(broker.bootstrap, topic, 'read_uncommitted'))).toEqual(['zombie', 'successor']);
    await withClient(broker.port, async (c) => {
      const d = await waitFor('CompleteCommit', async () => {
        const s = await describeTxn(c, 'fenced-id');
        return s.transactionState === 'CompleteCommit' ? s : undefined;
      });
      // Epoch 0 was fenced by the abort (1), the retried InitProducerId bumped it again (2).
      expect(d).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 2, topics: [] });
      const l = await c.send(ApiKey.ListTransactions, 1, { stateFilters: ['CompleteCommit'], producerIdFilters: [d.producerId], durationFilter: -1n });
      expect(l.errorCode).toBe(ErrorCode.NONE);
      expect(l.transactionStates.map((s) => s.transactionalId)).toEqual(['fenced-id']);
      const unknown = await c.send(ApiKey.ListTransactions, 0, { stateFilters: ['Nonsense'], producerIdFilters: [] });
      expect(unknown.unknownStateFilters).toEqual(['Nonsense']);
    });
  });
});
