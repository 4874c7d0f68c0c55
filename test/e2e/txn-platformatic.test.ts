// Transactions with @platformatic/kafka 1.35 (AddPartitionsToTxn v5, the batched form, InitProducerId
// v4+): a committed transaction is visible to read_committed readers, an aborted one only to
// read_uncommitted readers.
import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs } from '../support/clients.js';
import { kcatPath } from '../support/kcat.js';
import { withTimeout } from '../support/util.js';
import { kcatRead, values } from './txn-support.js';

describe('transactions with @platformatic/kafka 1.35', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({ env: { KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '3', KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '3' } });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('commits and aborts', async () => {
    const topic = 'txn-platformatic';
    await createTopics(kafkajs(broker.bootstrap, 'e2e-txn-platformatic'), [{ topic, numPartitions: 2 }]);
    const producer = new Producer({
      clientId: 'e2e-txn-platformatic',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      transactionalId: 'platformatic-txn',
      idempotent: true,
      acks: ProduceAcks.ALL,
      retries: 10,
      timeout: 30_000,
    });
    try {
      for (const outcome of ['commit', 'abort', 'commit']) {
        const t = await withTimeout(producer.beginTransaction(), 30_000, 'beginTransaction');
        await t.send({ messages: [0, 1, 2, 3].map((i) => ({ topic, key: `k${i}`, value: `${outcome}-${i}` })) });
        if (outcome === 'commit') await withTimeout(t.commit(), 30_000, 'commit');
        else await withTimeout(t.abort(), 30_000, 'abort');
      }
    } finally {
      await producer.close();
    }
    expect(values(await kcatRead(broker.bootstrap, topic, 'read_committed')).sort()).toEqual(
      ['commit-0', 'commit-0', 'commit-1', 'commit-1', 'commit-2', 'commit-2', 'commit-3', 'commit-3'],
    );
    expect(values(await kcatRead(broker.bootstrap, topic, 'read_uncommitted'))).toHaveLength(12);
  });
});
