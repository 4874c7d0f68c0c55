// A broker restarted in the middle of transactions: the transaction coordinator recovers its
// state from `__transaction_state` (and the partitions their producer state from their logs),
// and every transaction either completes or times out and aborts. A read_committed reader
// polling throughout never sees part of a transaction in a partition, nor an aborted one.
// - kafkajs: a transaction open across a restart (SIGTERM) goes on and commits;
// - SIGKILL mid-transaction, the producer gone: the transaction times out after the restart,
//   is aborted with the producer fenced, and readers move past it;
// - SIGKILL right after EndTxn(commit): the restarted coordinator finishes the commit (markers
//   and CompleteCommit), whatever had been written before the kill.
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../wire/errors.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs, withProducer } from '../support/clients.js';
import { KafkaTestClient, withClient } from '../support/kafka-client.js';
import { kcatPath } from '../support/kcat.js';
import { sleep, waitFor, withTimeout } from '../support/util.js';
import {
  addPartitions,
  awaitTxnCoordinator,
  describeTxn,
  endTxn,
  fetchPartition,
  initProducer,
  kcatRead,
  latestOffset,
  produceBatch,
  producerBatch,
  READ_COMMITTED,
  READ_UNCOMMITTED,
  values,
} from './txn-support.js';

/**
 * Polls read_committed fetches of some partitions while a test runs. Afterwards, `violations`
 * checks each observation against the final committed state: per partition, a transaction's
 * records (by value prefix) are seen either not at all or all of them; an aborted transaction's
 * never. (Kafka writes the markers partition by partition, so a reader of several partitions may
 * see a committed transaction in one before another: that is not a partial transaction.)
 */
class CommittedWatcher {
  private stopped = false;
  private readonly done: Promise<void>;
  /** Per observation: partition → prefix → records seen. */
  private readonly observations: Array<Map<number, Map<string, number>>> = [];

  constructor(
    port: () => number,
    private readonly topic: string,
    private readonly partitions: number[],
    private readonly prefixes: string[],
  ) {
    this.done = (async () => {
      while (!this.stopped) {
        try {
          await withClient(port(), async (c) => {
            for (let i = 0; i < 1000 && !this.stopped; i++) {
              this.observations.push(await this.observe(c));
              await sleep(30);
            }
          });
        } catch {
          await sleep(100); // the broker is restarting
        }
      }
    })();
  }

  private async observe(c: KafkaTestClient): Promise<Map<number, Map<string, number>>> {
    const seen = new Map<number, Map<string, number>>();
    for (const p of this.partitions) {
      const vals = (await fetchPartition(c, this.topic, p, 0, READ_COMMITTED)).batches.flatMap((b) => b.values);
      seen.set(p, new Map(this.prefixes.map((x) => [x, vals.filter((v) => v.startsWith(x)).length])));
    }
    return seen;
  }

  get count(): number {
    return this.observations.length;
  }

  /** Stops polling; compares every observation with the final committed state. */
  async violations(port: number): Promise<string[]> {
    this.stopped = true;
    await this.done;
    const final = await withClient(port, (c) => this.observe(c));
    const out: string[] = [];
    this.observations.forEach((o, i) => {
      for (const [p, byPrefix] of o) {
        for (const [prefix, n] of byPrefix) {
          const all = final.get(p)!.get(prefix)!;
          if (n !== 0 && n !== all) out.push(`observation ${i}: partition ${p} showed ${n} of the ${all} records of ${prefix}*`);
        }
      }
    });
    return out;
  }
}

describe('transactions across broker restarts', () => {
  let broker: BrokerHandle;
  let kafka: Kafka;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({
      env: {
        KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '4',
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '4',
        KAFKA_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS: '300',
      },
    });
    kafka = kafkajs(broker.bootstrap, 'e2e-txn-restart', { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('kafkajs: a transaction open across a restart goes on and commits', async () => {
    const topic = 'txn-restart-commit';
    await createTopics(kafka, [{ topic, numPartitions: 2 }]);
    const watcher = new CommittedWatcher(() => broker.port, topic, [0, 1], ['span-']);
    const p = kafka.producer({ transactionalId: 'span', idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await withTimeout(p.connect(), 30_000, 'connect');
    try {
      const t = await p.transaction();
      await t.send({ topic, messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `span-${i}` })) });
      await withProducer(kafka, (q) => q.send({ topic, messages: [{ key: 'k0', value: 'plain-before-restart' }] }));
      await broker.restart();
      await withClient(broker.port, async (c) => {
        await waitFor('the coordinator to reload', async () => (await describeTxn(c, 'span')).errorCode === ErrorCode.NONE);
        const d = await describeTxn(c, 'span');
        expect(d.transactionState).toBe('Ongoing');
        // The restarted partitions still hold read_committed readers at the transaction.
        let held = 0;
        for (const part of [0, 1]) if ((await latestOffset(c, topic, part, READ_COMMITTED)) < (await latestOffset(c, topic, part, READ_UNCOMMITTED))) held++;
        expect(held).toBeGreaterThan(0);
      });
      await t.send({ topic, messages: [3, 4, 5].map((i) => ({ key: `k${i}`, value: `span-${i}` })) });
      await t.commit();
    } finally {
      await p.disconnect();
    }
    await withClient(broker.port, (c) => waitFor('CompleteCommit', async () => (await describeTxn(c, 'span')).transactionState === 'CompleteCommit'));
    await sleep(200);
    expect(await watcher.violations(broker.port)).toEqual([]);
    expect(watcher.count).toBeGreaterThan(5);
    const committed = values(await kcatRead(broker.bootstrap, topic, 'read_committed')).sort();
    expect(committed).toEqual(['plain-before-restart', 'span-0', 'span-1', 'span-2', 'span-3', 'span-4', 'span-5']);
  });

  it('SIGKILL mid-transaction, producer gone: the transaction times out after the restart and aborts', async () => {
    const topic = 'txn-restart-timeout';
    await createTopics(kafka, [{ topic, numPartitions: 1 }]);
    const watcher = new CommittedWatcher(() => broker.port, topic, [0], ['lost-']);
    const producer = await withClient(broker.port, async (c) => {
      await awaitTxnCoordinator(c, 'lost');
      const { producerId, producerEpoch } = await initProducer(c, 'lost', 3_000);
      expect(await addPartitions(c, 'lost', producerId, producerEpoch, topic, [0])).toBe(ErrorCode.NONE);
      expect((await produceBatch(c, topic, 0, producerBatch(producerId, producerEpoch, 0, ['lost-0', 'lost-1'], true), 'lost')).errorCode).toBe(ErrorCode.NONE);
      expect((await produceBatch(c, topic, 0, producerBatch(producerId, producerEpoch, 2, ['lost-2', 'lost-3'], true), 'lost')).errorCode).toBe(ErrorCode.NONE);
      expect((await produceBatch(c, topic, 0, producerBatch(-1, -1, -1, ['plain-after']))).errorCode).toBe(ErrorCode.NONE);
      expect(await latestOffset(c, topic, 0, READ_COMMITTED)).toBe(0);
      return { producerId, producerEpoch };
    });
    await broker.kill9();
    await broker.restart();
    await withClient(broker.port, async (c) => {
      const d = await waitFor(
        'the timed out transaction to be aborted',
        async () => {
          const s = await describeTxn(c, 'lost');
          return s.transactionState === 'CompleteAbort' ? s : undefined;
        },
        { timeoutMs: 30_000 },
      );
      // Aborted with the producer fenced (epoch + 1).
      expect(d.producerEpoch).toBe(producer.producerEpoch + 1);
      expect(await endTxn(c, 'lost', producer.producerId, producer.producerEpoch, true)).toBe(ErrorCode.PRODUCER_FENCED);
      const late = await produceBatch(c, topic, 0, producerBatch(producer.producerId, producer.producerEpoch, 4, ['lost-late'], true), 'lost');
      expect(late.errorCode).not.toBe(ErrorCode.NONE);
      // Readers move past it: the LSO is the high watermark again.
      const hw = await latestOffset(c, topic, 0, READ_UNCOMMITTED);
      expect(await latestOffset(c, topic, 0, READ_COMMITTED)).toBe(hw);
      const f = await fetchPartition(c, topic, 0, 0, READ_COMMITTED);
      expect(f.abortedTransactions).toEqual([{ producerId: producer.producerId, firstOffset: 0 }]);
    });
    expect(await watcher.violations(broker.port)).toEqual([]);
    expect(values(await kcatRead(broker.bootstrap, topic, 'read_committed'))).toEqual(['plain-after']);
    expect(values(await kcatRead(broker.bootstrap, topic, 'read_uncommitted'))).toEqual(['lost-0', 'lost-1', 'lost-2', 'lost-3', 'plain-after']);
  });

  it('SIGKILL right after EndTxn(commit): the restarted coordinator finishes the commit', async () => {
    const topic = 'txn-restart-prepare';
    await createTopics(kafka, [{ topic, numPartitions: 3 }]);
    const watcher = new CommittedWatcher(() => broker.port, topic, [0, 1, 2], ['done-']);
    const c = await KafkaTestClient.connect(broker.port);
    try {
      await awaitTxnCoordinator(c, 'dying');
      const { producerId, producerEpoch } = await initProducer(c, 'dying');
      expect(await addPartitions(c, 'dying', producerId, producerEpoch, topic, [0, 1, 2])).toBe(ErrorCode.NONE);
      for (const part of [0, 1, 2]) {
        const vals = [0, 1, 2].map((i) => `done-${part}-${i}`);
        expect((await produceBatch(c, topic, part, producerBatch(producerId, producerEpoch, 0, vals, true), 'dying')).errorCode).toBe(ErrorCode.NONE);
      }
      expect(await endTxn(c, 'dying', producerId, producerEpoch, true)).toBe(ErrorCode.NONE);
      await broker.kill9();
    } finally {
      c.close();
    }
    await broker.restart();
    await withClient(broker.port, (c2) =>
      waitFor('CompleteCommit after the restart', async () => (await describeTxn(c2, 'dying')).transactionState === 'CompleteCommit', { timeoutMs: 30_000 }),
    );
    await sleep(200);
    expect(await watcher.violations(broker.port)).toEqual([]);
    expect(values(await kcatRead(broker.bootstrap, topic, 'read_committed')).sort()).toEqual(
      [0, 1, 2].flatMap((p) => [0, 1, 2].map((i) => `done-${p}-${i}`)).sort(),
    );
  });
});
