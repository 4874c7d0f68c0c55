// Bad transactional and idempotent input over the raw client (the generated codecs), each with
// the error code Kafka gives it. After each case the broker still serves, the committed data of
// an earlier transaction reads back the same, and a new transaction still commits.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeControlBatch, encodeRecordBatch } from '../../wire/record-batch.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs } from '../support/clients.js';
import { withClient, type KafkaTestClient } from '../support/kafka-client.js';
import { kcatPath } from '../support/kcat.js';
import { waitFor } from '../support/util.js';
import {
  addPartitions,
  awaitTxnCoordinator,
  describeTxn,
  endTxn,
  initProducer,
  kcatRead,
  latestOffset,
  produceBatch,
  producerBatch,
  READ_COMMITTED,
  READ_UNCOMMITTED,
  values,
} from './txn-support.js';

const TOPIC = 'bad-txn';
const KEEP = 'bad-txn-keep';
const TXN = 'bad-input-txn';

/** A whole transaction over the raw client: add, produce, commit; waits until it completed. */
async function commitTransaction(c: KafkaTestClient, txnId: string, topic: string, vals: string[]): Promise<void> {
  const { producerId, producerEpoch } = await initProducer(c, txnId);
  expect(await addPartitions(c, txnId, producerId, producerEpoch, topic, [0])).toBe(ErrorCode.NONE);
  expect((await produceBatch(c, topic, 0, producerBatch(producerId, producerEpoch, 0, vals, true), txnId)).errorCode).toBe(ErrorCode.NONE);
  expect(await endTxn(c, txnId, producerId, producerEpoch, true)).toBe(ErrorCode.NONE);
  await waitFor('the commit to complete', async () => (await describeTxn(c, txnId)).transactionState === 'CompleteCommit');
}

describe('bad transactional input', () => {
  let broker: BrokerHandle;
  let keep: string[] = [];
  let round = 0;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({ env: { KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '3', KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '3' } });
    await createTopics(kafkajs(broker.bootstrap, 'e2e-txn-bad-setup'), [
      { topic: TOPIC, numPartitions: 2 },
      { topic: KEEP, numPartitions: 1 },
    ]);
    await withClient(broker.port, async (c) => {
      await awaitTxnCoordinator(c, TXN);
      await commitTransaction(c, 'keeper', KEEP, ['kept-0', 'kept-1', 'kept-2']);
    });
    keep = values(await kcatRead(broker.bootstrap, KEEP, 'read_committed'));
    expect(keep).toEqual(['kept-0', 'kept-1', 'kept-2']);
  });

  afterEach(async () => {
    // Nothing else was disturbed: the committed data reads back the same, transactions work.
    expect(values(await kcatRead(broker.bootstrap, KEEP, 'read_committed'))).toEqual(keep);
    await withClient(broker.port, (c) => commitTransaction(c, `after-${round++}`, KEEP, ['after']));
    keep.push('after');
  });

  it('EndTxn for an unknown transactional id: INVALID_PRODUCER_ID_MAPPING', async () => {
    await withClient(broker.port, async (c) => {
      expect(await endTxn(c, TXN, 12345, 0, true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      expect(await endTxn(c, '', 12345, 0, true)).toBe(ErrorCode.INVALID_REQUEST);
      expect((await describeTxn(c, TXN)).errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    });
  });

  it('AddPartitionsToTxn with a wrong epoch, producer id or partition', async () => {
    await withClient(broker.port, async (c) => {
      const { producerId, producerEpoch } = await initProducer(c, TXN);
      expect(await addPartitions(c, TXN, producerId, producerEpoch + 1, TOPIC, [0], 3)).toBe(ErrorCode.PRODUCER_FENCED);
      // Clients before v2 do not know PRODUCER_FENCED.
      expect(await addPartitions(c, TXN, producerId, producerEpoch + 1, TOPIC, [0], 1)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
      expect(await addPartitions(c, TXN, producerId + 1, producerEpoch, TOPIC, [0])).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      const r = await c.send(ApiKey.AddPartitionsToTxn, 3, {
        v3AndBelowTransactionalId: TXN,
        v3AndBelowProducerId: BigInt(producerId),
        v3AndBelowProducerEpoch: producerEpoch,
        v3AndBelowTopics: [
          { name: TOPIC, partitions: [0, 7] },
          { name: 'no-such-topic', partitions: [0] },
        ],
      });
      const codes = r.resultsByTopicV3AndBelow!.flatMap((t) => t.resultsByPartition.map((p) => `${t.name}-${p.partitionIndex}:${p.partitionErrorCode}`));
      expect(codes).toEqual([`${TOPIC}-0:${ErrorCode.OPERATION_NOT_ATTEMPTED}`, `${TOPIC}-7:${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}`, `no-such-topic-0:${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}`]);
      // None of it started a transaction.
      expect((await describeTxn(c, TXN)).transactionState).toBe('Empty');
    });
  });

  it('a transactional produce to a partition not added to the transaction: INVALID_TXN_STATE, nothing stored', async () => {
    await withClient(broker.port, async (c) => {
      const { producerId, producerEpoch } = await initProducer(c, TXN);
      const before = await latestOffset(c, TOPIC, 1, READ_UNCOMMITTED);
      // No transaction at all, then a transaction on partition 0 only.
      let r = await produceBatch(c, TOPIC, 1, producerBatch(producerId, producerEpoch, 0, ['stray'], true), TXN);
      expect(r.errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
      expect(await addPartitions(c, TXN, producerId, producerEpoch, TOPIC, [0])).toBe(ErrorCode.NONE);
      r = await produceBatch(c, TOPIC, 1, producerBatch(producerId, producerEpoch, 0, ['stray'], true), TXN);
      expect(r.errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
      // The verifyOnly form of AddPartitionsToTxn (what a partition leader asks) says the same.
      const v = await c.send(ApiKey.AddPartitionsToTxn, 5, {
        transactions: [{ transactionalId: TXN, producerId: BigInt(producerId), producerEpoch, verifyOnly: true, topics: [{ name: TOPIC, partitions: [0, 1] }] }],
      });
      expect(v.errorCode).toBe(ErrorCode.NONE);
      expect(v.resultsByTransaction![0]!.topicResults[0]!.resultsByPartition.map((p) => p.partitionErrorCode)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE]);
      // Another transactional id's producer cannot write into this transaction either.
      r = await produceBatch(c, TOPIC, 0, producerBatch(producerId, producerEpoch, 0, ['wrong-id'], true), 'keeper');
      expect(r.errorCode).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      expect(await latestOffset(c, TOPIC, 1, READ_UNCOMMITTED)).toBe(before);
      // Nothing hangs: readers of partition 1 are not held back.
      expect(await latestOffset(c, TOPIC, 1, READ_COMMITTED)).toBe(before);
      expect(await endTxn(c, TXN, producerId, producerEpoch, false)).toBe(ErrorCode.NONE);
    });
  });

  it('an idempotent batch whose sequence skips: OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    await withClient(broker.port, async (c) => {
      const { producerId } = await initProducer(c, null);
      expect((await produceBatch(c, TOPIC, 0, producerBatch(producerId, 0, 0, ['s0', 's1']))).errorCode).toBe(ErrorCode.NONE);
      const end = await latestOffset(c, TOPIC, 0, READ_UNCOMMITTED);
      expect((await produceBatch(c, TOPIC, 0, producerBatch(producerId, 0, 3, ['s3']))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      expect((await produceBatch(c, TOPIC, 0, producerBatch(producerId, 0, -1, ['neg']))).errorCode).toBe(ErrorCode.INVALID_RECORD);
      expect(await latestOffset(c, TOPIC, 0, READ_UNCOMMITTED)).toBe(end);
      expect((await produceBatch(c, TOPIC, 0, producerBatch(producerId, 0, 2, ['s2']))).errorCode).toBe(ErrorCode.NONE);
    });
  });

  it('transactional batches without a transactional id, and control batches from clients, are refused', async () => {
    await withClient(broker.port, async (c) => {
      const { producerId, producerEpoch } = await initProducer(c, TXN);
      const end = await latestOffset(c, TOPIC, 0, READ_UNCOMMITTED);
      const r = await produceBatch(c, TOPIC, 0, producerBatch(producerId, producerEpoch, 0, ['no-id'], true), null);
      expect(r.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const marker = encodeControlBatch({ producerId, producerEpoch, timestamp: Date.now(), type: 'COMMIT', coordinatorEpoch: 0 });
      expect((await produceBatch(c, TOPIC, 0, marker, TXN)).errorCode).toBe(ErrorCode.INVALID_RECORD);
      const anonymousControl = encodeRecordBatch({ isControl: true, records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }] });
      expect((await produceBatch(c, TOPIC, 0, anonymousControl)).errorCode).toBe(ErrorCode.INVALID_RECORD);
      expect(await latestOffset(c, TOPIC, 0, READ_UNCOMMITTED)).toBe(end);
    });
  });

  it('InitProducerId, EndTxn and TxnOffsetCommit out of place', async () => {
    await withClient(broker.port, async (c) => {
      const tooLong = await c.send(ApiKey.InitProducerId, 4, { transactionalId: TXN, transactionTimeoutMs: 900_001, producerId: -1n, producerEpoch: -1 });
      expect(tooLong.errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      const empty = await c.send(ApiKey.InitProducerId, 4, { transactionalId: '', transactionTimeoutMs: 1000, producerId: -1n, producerEpoch: -1 });
      expect(empty.errorCode).toBe(ErrorCode.INVALID_REQUEST);
      const { producerId, producerEpoch } = await initProducer(c, TXN);
      // A stale KIP-360 epoch is fenced.
      const stale = await c.send(ApiKey.InitProducerId, 4, { transactionalId: TXN, transactionTimeoutMs: 60_000, producerId: BigInt(producerId), producerEpoch: producerEpoch - 1 });
      expect(stale.errorCode).toBe(ErrorCode.PRODUCER_FENCED);
      // Nothing to commit.
      expect(await endTxn(c, TXN, producerId, producerEpoch, true)).toBe(ErrorCode.INVALID_TXN_STATE);
      // Offsets of a group whose partition was never added to the transaction.
      await c.send(ApiKey.FindCoordinator, 3, { key: 'bad-group', keyType: 0 });
      const t = await c.send(ApiKey.TxnOffsetCommit, 3, {
        transactionalId: TXN,
        groupId: 'bad-group',
        producerId: BigInt(producerId),
        producerEpoch,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
      expect(t.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
      const f = await c.send(ApiKey.OffsetFetch, 7, { groupId: 'bad-group', topics: [{ name: TOPIC, partitionIndexes: [0] }], requireStable: true });
      expect(f.topics![0]!.partitions[0]).toMatchObject({ committedOffset: -1n, errorCode: ErrorCode.NONE });
    });
  });
});
