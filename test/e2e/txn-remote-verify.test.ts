// KIP-890 verification when the transaction coordinator is another broker: a partition leader
// (here an in-process TransactionCoordinatorRuntime of "node 9", whose metadata image says node
// 1 leads every `__transaction_state` partition) asks the coordinator with AddPartitionsToTxn
// v4 verifyOnly over a PeerConnection to node 1's listener — a real broker process — and gets
// NONE for a partition of the open transaction, INVALID_TXN_STATE for another, and the
// coordinator's errors (PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING) as they are.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerClient } from '../../broker/controller-client.js';
import { BrokerConfig } from '../../broker/config.js';
import type { ReplicaManager } from '../../broker/replica-manager.js';
import { TransactionCoordinatorRuntime } from '../../broker/txn/runtime.js';
import type { MetadataImage } from '../../kraft/image.js';
import { ErrorCode } from '../../wire/errors.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs } from '../support/clients.js';
import { withClient } from '../support/kafka-client.js';
import { addPartitions, awaitTxnCoordinator, initProducer } from './txn-support.js';

const TXN_PARTITIONS = 3;

/** Just enough of a metadata image: node 1 (the real broker) leads every `__transaction_state` partition. */
function imageWithCoordinatorAt(port: number): MetadataImage {
  const partitions = new Map(Array.from({ length: TXN_PARTITIONS }, (_, i) => [i, { leader: 1, replicas: [1], isr: [1], leaderEpoch: 0, partitionEpoch: 0 }]));
  const image = {
    topicByName: (name: string) => (name === '__transaction_state' ? { name, id: 'x', partitions } : undefined),
    broker: (id: number) =>
      id === 1 ? { id: 1, epoch: 1, fenced: false, listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port, securityProtocol: 0 }] } : undefined,
  };
  return image as unknown as MetadataImage;
}

describe('transaction verification against a remote coordinator', () => {
  let broker: BrokerHandle;
  let runtime: TransactionCoordinatorRuntime;

  beforeAll(async () => {
    broker = await startBroker({ env: { KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: String(TXN_PARTITIONS) } });
    runtime = new TransactionCoordinatorRuntime({
      config: new BrokerConfig(new Map()),
      nodeId: 9,
      replicaManager: {} as ReplicaManager,
      controller: {} as ControllerClient,
      image: () => imageWithCoordinatorAt(broker.port),
      nowMs: () => Date.now(),
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    runtime?.stop();
    await broker?.stop();
  });

  it('asks with AddPartitionsToTxn v4 verifyOnly and reports the answer per partition', async () => {
    await createTopics(kafkajs(broker.bootstrap, 'e2e-remote-verify'), [{ topic: 'remote-verify', numPartitions: 2 }]);
    const { producerId, producerEpoch } = await withClient(broker.port, async (c) => {
      await awaitTxnCoordinator(c, 'remote-txn');
      const p = await initProducer(c, 'remote-txn');
      expect(await addPartitions(c, 'remote-txn', p.producerId, p.producerEpoch, 'remote-verify', [0])).toBe(ErrorCode.NONE);
      return p;
    });
    expect(await runtime.verifyPartition('remote-txn', producerId, producerEpoch, 'remote-verify', 0)).toBe(ErrorCode.NONE);
    expect(await runtime.verifyPartition('remote-txn', producerId, producerEpoch, 'remote-verify', 1)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await runtime.verifyPartition('remote-txn', producerId, producerEpoch + 1, 'remote-verify', 0)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await runtime.verifyPartition('remote-txn', producerId + 1, producerEpoch, 'remote-verify', 0)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await runtime.verifyPartition('nobody', producerId, producerEpoch, 'remote-verify', 0)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  });
});
