// Issue #6, transactions on a 3-node cluster with `__transaction_state` at RF 3 (kafkajs 2.2.4):
// - a transactional producer commits and aborts transactions spanning 3 partitions led by 3
//   different brokers; read_committed readers (kcat/librdkafka) see exactly the committed
//   records, each once; read_uncommitted sees the aborted ones too;
// - mid-transaction (records sent to every partition, no EndTxn yet) the transaction
//   coordinator's node (FindCoordinator key type 1) is killed with SIGKILL; a new producer with
//   the same transactional.id initialises on the new coordinator, which fences the old epoch and
//   aborts the open transaction, and commits a transaction of its own; the old producer's commit
//   is refused (or it is the same outcome: never visible);
// - afterwards, and again after the killed node restarted, read_committed sees every committed
//   transaction exactly once and nothing of the aborted or interrupted ones.
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { withAdmin } from '../support/clients.js';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { withClient } from '../support/kafka-client.js';
import { kcatPath } from '../support/kcat.js';
import { clusterKafka, waitForPartition } from '../support/partition-views.js';
import { topicName, waitFor, withTimeout } from '../support/util.js';
import { kcatRead, values } from './txn-support.js';

const NODES = [1, 2, 3];
const PARTITIONS = 3;
const TXN_ID = 'txn-cluster-producer';

async function txnProducer(kafka: Kafka, transactionalId: string): Promise<Producer> {
  const p = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    transactionTimeout: 60_000,
    retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  await withTimeout(p.connect(), 60_000, `${transactionalId} connect`);
  return p;
}

/** One record per partition, values `${tag}-<partition>`. */
function messagesOf(tag: string) {
  return Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, key: `${tag}-${p}`, value: `${tag}-${p}` }));
}

async function findTxnCoordinator(cluster: ClusterHandle, via: number, transactionalId: string): Promise<number> {
  return waitFor(
    `FindCoordinator(${transactionalId}, transaction) at node ${via}`,
    () =>
      withClient(cluster.node(via).clientPort, async (c) => {
        const r = await c.send(ApiKey.FindCoordinator, 3, { key: transactionalId, keyType: 1 });
        const code = r.errorCode ?? ErrorCode.NONE;
        if (code !== ErrorCode.NONE) throw new Error(`error ${code} ${ErrorCode[code] ?? ''}`);
        return r.nodeId;
      }),
    { timeoutMs: 30_000, intervalMs: 300 },
  );
}

/** read_committed through node `via` (kcat finds the leaders); values sorted. */
async function committedValues(cluster: ClusterHandle, via: number, topic: string): Promise<string[]> {
  return values(await kcatRead(cluster.node(via).bootstrap, topic, 'read_committed')).sort();
}

describe('transactions on a 3-node cluster (__transaction_state RF 3)', { timeout: 300_000 }, () => {
  let cluster: ClusterHandle;
  let kafka: Kafka;
  const topic = topicName('txn-cluster');
  const committed: string[] = [];
  const aborted: string[] = [];
  const producers: Producer[] = [];

  beforeAll(async () => {
    kcatPath();
    cluster = await startCluster({
      nodes: 3,
      env: {
        KAFKA_BROKER_SESSION_TIMEOUT_MS: '6000',
        KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
        KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '5',
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '5',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      },
    });
    kafka = clusterKafka(cluster, 'e2e-txn-cluster', 10);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(producers.map((p) => p.disconnect().catch(() => {})));
  });

  /**
   * Reads read_committed through node `via` until it shows exactly the committed records (kcat
   * may fail while a partition has no leader); every read that succeeds is also checked for
   * records of aborted or interrupted transactions, which must never show.
   */
  async function expectCommittedThrough(via: number, what: string, timeoutMs = 90_000): Promise<void> {
    const bad = new Set(aborted);
    const leaks: string[] = [];
    await waitFor(
      `${what}: read_committed through node ${via} shows every committed record once`,
      async () => {
        const got = await committedValues(cluster, via, topic);
        leaks.push(...got.filter((v) => bad.has(v)));
        if (JSON.stringify(got) !== JSON.stringify([...committed].sort())) throw new Error(`got ${JSON.stringify(got)}`);
        return true;
      },
      { timeoutMs, intervalMs: 1_000 },
    );
    expect(leaks, `${what}: aborted or interrupted records seen by read_committed`).toEqual([]);
  }

  it('commits and aborts across partitions led by different brokers; read_committed sees the committed records only, each once', async () => {
    await withAdmin(kafka, async (admin) => {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true, timeout: 15_000 })).toBe(true);
    });
    const leaders: number[] = [];
    for (let p = 0; p < PARTITIONS; p++) leaders.push((await waitForPartition(cluster, `${topic}-${p} fully in sync`, NODES, topic, p, (v) => v.leaderId > 0 && v.isr.length === 3)).leaderId);
    expect(new Set(leaders).size, `leaders of the ${PARTITIONS} partitions: ${leaders}`).toBe(3);

    const p = await txnProducer(kafka, TXN_ID);
    producers.push(p);
    for (const [i, outcome] of (['commit', 'abort', 'commit', 'commit', 'abort', 'commit'] as const).entries()) {
      const t = await p.transaction();
      const tag = `${outcome}-${i}`;
      await t.send({ topic, acks: -1, messages: messagesOf(tag) });
      if (outcome === 'commit') {
        await t.commit();
        committed.push(...messagesOf(tag).map((m) => m.value));
      } else {
        await t.abort();
        aborted.push(...messagesOf(tag).map((m) => m.value));
      }
    }
    for (const id of NODES) expect(await committedValues(cluster, id, topic), `read_committed through node ${id}`).toEqual([...committed].sort());
    const all = values(await kcatRead(cluster.node(1).bootstrap, topic, 'read_uncommitted')).sort();
    expect(all).toEqual([...committed, ...aborted].sort());
  });

  it('kill -9 of the transaction coordinator mid-transaction: the new coordinator aborts it when the producer re-initialises; committed transactions exactly once, the interrupted one never', async () => {
    const old = producers[0]!;
    const coordinator = await findTxnCoordinator(cluster, 1, TXN_ID);
    for (const id of NODES) expect(await findTxnCoordinator(cluster, id, TXN_ID), `FindCoordinator at node ${id}`).toBe(coordinator);

    const t = await old.transaction();
    await t.send({ topic, acks: -1, messages: messagesOf('interrupted') });
    aborted.push(...messagesOf('interrupted').map((m) => m.value));
    const killedAt = Date.now();
    await cluster.kill9(coordinator);
    const survivors = NODES.filter((n) => n !== coordinator);

    // Readers never see the open transaction, before or after the failover.
    await expectCommittedThrough(survivors[0]!, 'right after the kill');

    // The same transactional.id initialises on the new coordinator: the old epoch is fenced, the
    // open transaction aborted; then it commits a transaction of its own.
    const fresh = await txnProducer(kafka, TXN_ID);
    producers.push(fresh);
    const newCoordinator = await findTxnCoordinator(cluster, survivors[0]!, TXN_ID);
    expect(survivors).toContain(newCoordinator);
    const t2 = await fresh.transaction();
    await t2.send({ topic, acks: -1, messages: messagesOf('after-failover') });
    await t2.commit();
    committed.push(...messagesOf('after-failover').map((m) => m.value));
    // eslint-disable-next-line no-console
    console.log(`txn-cluster: coordinator ${coordinator} killed, new coordinator ${newCoordinator}; re-initialised and committed ${Date.now() - killedAt} ms after the kill`);

    // The old producer is fenced: its commit does not go through.
    await expect(withTimeout(t.commit(), 120_000, 'the fenced producer\'s commit')).rejects.toThrow();

    for (const id of survivors) await expectCommittedThrough(id, 'after the new producer committed');
    const all = values(await kcatRead(cluster.node(survivors[0]!).bootstrap, topic, 'read_uncommitted')).sort();
    expect(all, 'read_uncommitted: every record written, once').toEqual([...committed, ...aborted].sort());

    // The killed node comes back and catches up; the picture is the same through every node.
    await cluster.restart(coordinator);
    await cluster.waitForBrokers(NODES, 30_000);
    for (let p = 0; p < PARTITIONS; p++) await waitForPartition(cluster, `${topic}-${p} back to a full ISR`, NODES, topic, p, (v) => v.leaderId > 0 && v.isr.length === 3, 60_000);
    for (const id of NODES) await expectCommittedThrough(id, 'after the restart', 30_000);
    // And the producer keeps working.
    const t3 = await fresh.transaction();
    await t3.send({ topic, acks: -1, messages: messagesOf('after-restart') });
    await t3.commit();
    committed.push(...messagesOf('after-restart').map((m) => m.value));
    await expectCommittedThrough(coordinator, 'a transaction after the restart', 30_000);
  });
});
