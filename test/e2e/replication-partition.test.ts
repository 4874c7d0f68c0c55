// Issue #6, replication under a network partition (split brain), on 3 combined nodes with the
// test-only fault hook (broker/fault-injection.ts):
// - an RF 3 topic with min.insync.replicas=2; an idempotent kafkajs producer (acks -1, one
//   request in flight) writes continuously to its one partition, led by node L;
// - L is cut off from its peers (clients still reach it): a Produce acks=-1 sent straight to L
//   is answered with an error (REQUEST_TIMED_OUT / NOT_ENOUGH_REPLICAS(_AFTER_APPEND) /
//   NOT_LEADER_OR_FOLLOWER), never success; Metadata from the majority names a new leader within
//   a bound; the producer moves to it by itself and its writes are acknowledged again;
// - healed, L rejoins the ISR, truncating its un-replicated tail (the record only L ever
//   appended is in no replica);
// - every acknowledged record is in the final log exactly once, at the offset it was
//   acknowledged at, in send order; nothing is there twice; the three replicas' logs on disk are
//   identical up to the high watermark.
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';
import { withAdmin } from '../support/clients.js';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { withClient } from '../support/kafka-client.js';
import { clusterKafka, partitionAt, readWholePartition, replicaRecordsOnDisk, waitForPartition } from '../support/partition-views.js';
import { sleep, topicName, waitFor, withTimeout } from '../support/util.js';

const NODES = [1, 2, 3];
const SESSION_TIMEOUT_MS = 6_000;
/** From isolating L until Metadata of the majority names another leader: fencing (6 s) + election + slack. */
const NEW_LEADER_BOUND_MS = 30_000;
/** From the new leader until the producer has acknowledged writes there again. */
const PRODUCER_MOVES_BOUND_MS = 60_000;
const REJOIN_BOUND_MS = 60_000;
const ISOLATED_PRODUCE_ERRORS = new Set<number>([
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
]);
const ORPHAN = 'written-only-to-the-isolated-leader';

interface Ack {
  seq: number;
  value: string;
  offset: number;
  at: number;
}

/** Sends one record at a time (acks -1) until stopped; remembers what was acknowledged and what failed. */
class ContinuousWriter {
  readonly acked: Ack[] = [];
  readonly failed: Array<{ value: string; error: string }> = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for (let seq = 0; seq < 200_000 && !this.stopped; seq++) {
      const value = `rec-${String(seq).padStart(6, '0')}`;
      try {
        const r = await withTimeout(this.producer.send({ topic: this.topic, acks: -1, timeout: 5_000, messages: [{ partition: 0, value }] }), 200_000, `send ${value}`);
        this.acked.push({ seq, value, offset: Number(r[0]!.baseOffset), at: Date.now() });
      } catch (err) {
        this.failed.push({ value, error: (err as Error).message });
        await sleep(200);
      }
      await sleep(5);
    }
  }

  ackedSince(t: number): number {
    return this.acked.filter((a) => a.at >= t).length;
  }

  requestStop(): void {
    this.stopped = true;
  }

  async stop(timeoutMs = 210_000): Promise<void> {
    this.stopped = true;
    await withTimeout(this.done, timeoutMs, 'the writer to stop');
  }
}

describe('replication under a network partition', { timeout: 300_000 }, () => {
  let cluster: ClusterHandle;
  let producer: Producer;
  let writer: ContinuousWriter | undefined;
  const topic = topicName('repl-split');
  let L = -1;
  let newLeader = -1;
  let isolatedAt = 0;
  let newLeaderAt = 0;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      faultInjection: true,
      env: {
        KAFKA_BROKER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
        KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
        KAFKA_REPLICA_LAG_TIME_MAX_MS: '5000',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      },
    });
  }, 90_000);

  afterAll(async () => {
    // A failed run may leave a send retrying: disconnect first so the writer ends promptly.
    writer?.requestStop();
    await producer?.disconnect().catch(() => undefined);
    await writer?.stop(20_000).catch(() => undefined);
    // eslint-disable-next-line no-console
    console.log(`replication-partition: L=${L} new leader=${newLeader} timings (ms) ${JSON.stringify(timings)}; acked ${writer?.acked.length ?? 0}, failed sends ${writer?.failed.length ?? 0}${writer?.failed.length ? ` (first: ${writer.failed[0]!.error})` : ''}`);
  });

  it('an RF 3 topic (min.insync.replicas=2) with a full ISR takes acks=-1 writes from an idempotent producer', async () => {
    const kafka = clusterKafka(cluster, 'e2e-repl-split');
    await withAdmin(kafka, async (admin) => {
      const ok = await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
        waitForLeaders: true,
        timeout: 15_000,
      });
      expect(ok).toBe(true);
    });
    const v = await waitForPartition(cluster, `${topic}-0 with 3 replicas all in the ISR on every node`, NODES, topic, 0, (p) => p.leaderId > 0 && p.replicas.length === 3 && p.isr.length === 3, 30_000);
    L = v.leaderId;
    // Seeded at a majority node: kafkajs refreshes metadata only from the brokers it is connected
    // to (its seed among them), and the isolated L keeps answering Metadata from its stale image
    // (naming itself the leader), so a producer seeded at L could stay with L the whole isolation.
    const producerKafka = clusterKafka(cluster, 'e2e-repl-split-producer', 10, NODES.filter((n) => n !== L));
    producer = producerKafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1_000 } });
    await withTimeout(producer.connect(), 30_000, 'producer connect');
    writer = new ContinuousWriter(producer, topic);
    await waitFor('50 acknowledged writes', () => writer!.acked.length >= 50, { timeoutMs: 60_000 });
    expect(writer.failed, 'failed sends with every replica up').toEqual([]);
  });

  it('isolated, L answers acks=-1 with an error; the majority elects a new leader; the producer moves to it', async () => {
    expect(L).toBeGreaterThan(0);
    const majority = NODES.filter((n) => n !== L);
    isolatedAt = Date.now();
    await cluster.isolate(L);

    // A write sent straight to L: it cannot reach min.insync.replicas, so it must not succeed.
    const raw = withClient(cluster.node(L).clientPort, async (c) => {
      const r = await c.send(
        ApiKey.Produce,
        9,
        { transactionalId: null, acks: -1, timeoutMs: 3_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: ORPHAN }] }) }] }] },
        30_000,
      );
      return r.responses[0]!.partitionResponses[0]!;
    });

    const v = await waitForPartition(cluster, `a new leader of ${topic}-0 in the Metadata of nodes ${majority}`, majority, topic, 0, (p) => p.leaderId > 0 && p.leaderId !== L, NEW_LEADER_BOUND_MS);
    newLeader = v.leaderId;
    newLeaderAt = Date.now();
    timings['isolation → new leader in majority Metadata'] = newLeaderAt - isolatedAt;
    expect(majority).toContain(newLeader);
    expect(v.isr, 'the new leader is in the ISR').toContain(newLeader);

    const answer = await raw;
    timings['raw acks=-1 produce to the isolated leader answered'] = Date.now() - isolatedAt;
    expect(
      ISOLATED_PRODUCE_ERRORS.has(answer.errorCode),
      `Produce acks=-1 at the isolated leader answered ${answer.errorCode} ${ErrorCode[answer.errorCode] ?? ''} (offset ${answer.baseOffset}); expected one of ${[...ISOLATED_PRODUCE_ERRORS].map((c) => ErrorCode[c]).join(', ')}`,
    ).toBe(true);

    // Whether L appended it before refusing (REQUEST_TIMED_OUT: appended, then the high watermark
    // never reached it) decides whether the heal below has a tail to truncate.
    const orphanAtL = (await replicaRecordsOnDisk(cluster.node(L).spec.dataDir, topic, 0, Number.MAX_SAFE_INTEGER)).find((r) => r.value === ORPHAN);
    // eslint-disable-next-line no-console
    console.log(`isolated leader ${L} answered the raw acks=-1 Produce with ${ErrorCode[answer.errorCode]}; the record is ${orphanAtL ? `in its log at offset ${orphanAtL.offset}` : 'not in its log'}`);

    // The producer finds the new leader by itself and is acknowledged there.
    await waitFor('20 writes acknowledged after the new leader was elected', () => writer!.ackedSince(newLeaderAt) >= 20, { timeoutMs: PRODUCER_MOVES_BOUND_MS });
    timings['new leader → producer acknowledged again'] = (writer!.acked.filter((a) => a.at >= newLeaderAt)[0]?.at ?? Date.now()) - newLeaderAt;
    // The majority's ISR drops L (min.insync.replicas=2 is still met by the two of them).
    const shrunk = await waitForPartition(cluster, `the ISR without ${L}`, majority, topic, 0, (p) => !p.isr.includes(L) && p.isr.length >= 2, 30_000);
    expect(shrunk.isr).toEqual(majority);
  });

  it('healed, L rejoins the ISR (its un-replicated tail truncated) and nothing acknowledged is lost, each record once, in order', async () => {
    expect(newLeader).toBeGreaterThan(0);
    const healedAt = Date.now();
    await cluster.heal(L);
    await cluster.waitForBrokers(NODES, 30_000);
    await waitForPartition(cluster, `${L} back in the ISR of ${topic}-0 on every node`, NODES, topic, 0, (p) => p.isr.length === 3 && p.leaderId > 0, REJOIN_BOUND_MS);
    timings['heal → L back in the ISR'] = Date.now() - healedAt;
    const ackedAtHeal = writer!.acked.length;
    await waitFor('20 more acknowledged writes after the heal', () => writer!.acked.length >= ackedAtHeal + 20, { timeoutMs: 60_000 });
    await writer!.stop();

    const leader = (await partitionAt(cluster, NODES.find((n) => n !== L)!, topic, 0))!.leaderId;
    const { records, highWatermark } = await readWholePartition(cluster.node(leader).clientPort, topic, 0);
    const acked = writer!.acked;
    const byValue = new Map<string, number[]>();
    for (const r of records) byValue.set(r.value, [...(byValue.get(r.value) ?? []), r.offset]);

    // Every acknowledged record is there, once, at the offset it was acknowledged at.
    const lost = acked.filter((a) => !byValue.has(a.value));
    expect(lost.map((a) => a.value), `acknowledged but lost (of ${acked.length})`).toEqual([]);
    const moved = acked.filter((a) => byValue.get(a.value)![0] !== a.offset);
    expect(moved.map((a) => `${a.value}: acked at ${a.offset}, stored at ${byValue.get(a.value)}`)).toEqual([]);
    // Nothing twice (idempotence across the leader change), in send order.
    const dup = [...byValue].filter(([, offs]) => offs.length > 1);
    expect(dup.map(([v, o]) => `${v}@${o}`), 'records stored more than once').toEqual([]);
    const dataValues = records.map((r) => r.value).filter((v) => v.startsWith('rec-'));
    expect(dataValues, 'stored in send order').toEqual([...dataValues].sort());
    // The write only the isolated leader ever had was truncated away.
    expect(byValue.has(ORPHAN), 'the record written only to the isolated leader').toBe(false);
    expect(records.map((r) => r.offset), 'contiguous offsets').toEqual(records.map((_, i) => records[0]!.offset + i));

    // Every replica's log on disk holds the same records up to the high watermark.
    await waitFor(
      'every replica\'s log identical to the leader\'s up to the high watermark',
      async () => {
        for (const n of cluster.nodes) {
          const onDisk = await replicaRecordsOnDisk(n.spec.dataDir, topic, 0, highWatermark);
          if (JSON.stringify(onDisk) !== JSON.stringify(records)) {
            const i = onDisk.findIndex((r, k) => records[k]?.offset !== r.offset || records[k]?.value !== r.value);
            throw new Error(`node ${n.id}: ${onDisk.length} records vs ${records.length}; first difference at ${i}: ${JSON.stringify(onDisk[i])} vs ${JSON.stringify(records[i])}`);
          }
          const all = await replicaRecordsOnDisk(n.spec.dataDir, topic, 0, Number.MAX_SAFE_INTEGER);
          if (all.some((r) => r.value === ORPHAN)) throw new Error(`node ${n.id} still has the record only the isolated leader had`);
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
  });
});
