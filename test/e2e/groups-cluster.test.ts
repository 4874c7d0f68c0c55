// Issue #6, consumer groups on a 3-node cluster with `__consumer_offsets` at RF 3 (the flow of
// groups-kafkajs.test.ts, kafkajs 2.2.4 unmodified):
// - three consumers share an RF 3, 6-partition topic 2/2/2, consume and commit everything;
// - the group coordinator's node (FindCoordinator says which) is killed with SIGKILL: the group
//   moves to a new coordinator (FindCoordinator names a survivor; describeGroups answers Stable
//   there), the committed offsets are still there (fetchOffsets), the consumers keep consuming
//   what is produced after the kill, and no record below an offset committed before the kill
//   is delivered again. Kafka's guarantee is at-least-once: records above the last commit may
//   be delivered twice, committed ones never;
// - the consumers stop (their last commits), the killed node restarts, records are produced; a
//   new member of the group resumes exactly at the committed offsets: it reads only the new
//   records, each once, and nothing below a committed offset.
// A consumer that crashes (its heartbeats to the killed coordinator run out of retries) is started
// again by this test, not by kafkajs: kafkajs's own restart can fire after `disconnect()`, and a
// stopped member coming back took half of the new member's partitions (the records it consumed
// are checked: none after the stop).
import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { committedOffsets, withAdmin, withProducer } from '../support/clients.js';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { withClient } from '../support/kafka-client.js';
import { RestartingConsumer } from '../support/kafkajs-consumer.js';
import { clusterKafka, waitForPartition } from '../support/partition-views.js';
import { topicName, waitFor, withTimeout } from '../support/util.js';

const PARTITIONS = 6;
const NODES = [1, 2, 3];

interface Consumed {
  consumer: string;
  partition: number;
  offset: number;
  value: string;
  at: number;
}

interface RunningConsumer {
  name: string;
  /** How many times it was started again after a crash. */
  restarts(): number;
  stop(): Promise<void>;
}

/**
 * A group member that kafkajs crashes and this test restarts (after a retriable crash, e.g. its
 * heartbeats to a killed coordinator running out of retries, as kafkajs's own restart would), and
 * that stays stopped once stopped: kafkajs's own restart can fire after `disconnect()` and bring a
 * stopped member back (test/support/kafkajs-consumer.ts).
 */
async function startConsumer(kafka: Kafka, name: string, groupId: string, topic: string, sink: Consumed[]): Promise<RunningConsumer> {
  const member = new RestartingConsumer({
    kafka,
    config: {
      groupId,
      sessionTimeout: 15_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 15_000,
      maxWaitTimeInMs: 250,
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 },
    },
    restartDelayMs: 2_000,
    start: async (consumer) => {
      await withTimeout(consumer.connect(), 30_000, `${name} connect`);
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          sink.push({ consumer: name, partition, offset: Number(message.offset), value: message.value!.toString('utf8'), at: Date.now() });
        },
      });
    },
    // eslint-disable-next-line no-console
    log: (line) => console.log(`groups-cluster: consumer ${name} ${line}`),
  });
  await member.start();
  return {
    name,
    restarts: () => member.restarts,
    stop: () => withTimeout(member.stop(), 30_000, `${name} stop`),
  };
}

async function produce(kafka: Kafka, topic: string, tag: string, perPartition: number): Promise<string[]> {
  const values: string[] = [];
  await withProducer(
    kafka,
    async (p) => {
      const messages = [];
      for (let part = 0; part < PARTITIONS; part++) {
        for (let i = 0; i < perPartition; i++) {
          const value = `${tag}-${part}-${i}`;
          values.push(value);
          messages.push({ partition: part, key: value, value });
        }
      }
      await withTimeout(p.send({ topic, acks: -1, timeout: 10_000, messages }), 120_000, `produce ${tag}`);
    },
    { idempotent: true, maxInFlightRequests: 1, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } },
  );
  return values;
}

async function groupState(admin: Admin, groupId: string, topic: string) {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0]!;
  const assigned = g.members.flatMap((m) => (m.memberAssignment.length === 0 ? [] : (AssignerProtocol.MemberAssignment.decode(m.memberAssignment)!.assignment[topic] ?? [])));
  return { state: g.state, members: g.members.length, assigned: assigned.sort((a, b) => a - b) };
}

/** The group coordinator's node id as node `via` answers FindCoordinator (retrying retriable errors). */
async function findCoordinator(cluster: ClusterHandle, via: number, groupId: string): Promise<number> {
  return waitFor(
    `FindCoordinator(${groupId}) at node ${via}`,
    () =>
      withClient(cluster.node(via).clientPort, async (c) => {
        const r = await c.send(ApiKey.FindCoordinator, 3, { key: groupId, keyType: 0 });
        const code = r.errorCode ?? ErrorCode.NONE;
        if (code !== ErrorCode.NONE) throw new Error(`error ${code} ${ErrorCode[code] ?? ''}`);
        return r.nodeId;
      }),
    { timeoutMs: 30_000, intervalMs: 300 },
  );
}

describe('consumer groups on a 3-node cluster (__consumer_offsets RF 3)', { timeout: 300_000 }, () => {
  let cluster: ClusterHandle;
  let kafka: Kafka;
  const running: RunningConsumer[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      env: {
        KAFKA_BROKER_SESSION_TIMEOUT_MS: '6000',
        KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '6',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      },
    });
    kafka = clusterKafka(cluster, 'e2e-groups-cluster', 10);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop().catch(() => {})));
  });

  it('the group survives a kill -9 of its coordinator: offsets kept, consumption goes on, nothing committed is read again; a new member resumes at the commits after the restart', async () => {
    const topic = topicName('grp-cluster');
    const group = `${topic}-g`;
    await withAdmin(kafka, async (admin) => {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true, timeout: 15_000 })).toBe(true);
    });
    for (let p = 0; p < PARTITIONS; p++) await waitForPartition(cluster, `${topic}-${p} fully in sync`, NODES, topic, p, (v) => v.leaderId > 0 && v.isr.length === 3);
    const before = await produce(kafka, topic, 'before', 50);

    const sink: Consumed[] = [];
    for (const name of ['A', 'B', 'C']) running.push(await startConsumer(kafka, name, group, topic, sink));

    let committedAtKill: number[] = [];
    let killed = -1;
    let killedAt = 0;
    await withAdmin(kafka, async (admin) => {
      await waitFor('the group Stable with 3 members over all 6 partitions', async () => {
        const s = await groupState(admin, group, topic);
        return s.state === 'Stable' && s.members === 3 && s.assigned.join() === [0, 1, 2, 3, 4, 5].join();
      }, { timeoutMs: 60_000, intervalMs: 300 });
      await waitFor('the first records consumed', () => new Set(sink.map((r) => r.value)).size === before.length, { timeoutMs: 60_000 });
      await waitFor('offsets committed up to the end', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 50), { timeoutMs: 30_000 });
      committedAtKill = await committedOffsets(admin, group, topic, PARTITIONS);
    });

    // The coordinator's node goes down hard; the offsets partition has two in-sync replicas left.
    killed = await findCoordinator(cluster, 1, group);
    for (const id of NODES) expect(await findCoordinator(cluster, id, group), `FindCoordinator at node ${id}`).toBe(killed);
    killedAt = Date.now();
    await cluster.kill9(killed);
    const survivors = NODES.filter((n) => n !== killed);

    const during = await produce(kafka, topic, 'during', 10);
    const newCoordinator = await findCoordinator(cluster, survivors[0]!, group);
    expect(newCoordinator, 'the new coordinator').not.toBe(killed);
    expect(survivors).toContain(newCoordinator);
    await waitFor('every record produced after the kill consumed', () => during.every((v) => sink.some((r) => r.value === v)), { timeoutMs: 90_000 });

    await withAdmin(clusterKafka(cluster, 'e2e-groups-cluster-admin', 10), async (admin) => {
      // The offsets committed before the kill survive on the new coordinator (never lower), then move on.
      const first = await waitFor('fetchOffsets answered after the failover', () => committedOffsets(admin, group, topic, PARTITIONS), { timeoutMs: 60_000, intervalMs: 500 });
      for (let p = 0; p < PARTITIONS; p++) expect(first[p], `partition ${p} committed offset after the failover (was ${committedAtKill[p]})`).toBeGreaterThanOrEqual(committedAtKill[p]!);
      await waitFor('offsets committed up to the end after the failover', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 60), { timeoutMs: 60_000 });
      await waitFor('the group Stable on the new coordinator, all 6 partitions assigned', async () => {
        const s = await groupState(admin, group, topic);
        return s.state === 'Stable' && s.members >= 1 && s.assigned.join() === [0, 1, 2, 3, 4, 5].join();
      }, { timeoutMs: 60_000, intervalMs: 300 });
    });
    // At-least-once: nothing below an offset committed before the kill is delivered after it.
    const redelivered = sink.filter((r) => r.at > killedAt && r.offset < committedAtKill[r.partition]!);
    expect(redelivered.map((r) => `${r.consumer}: ${r.partition}/${r.offset} ${r.value}`), 'records committed before the kill delivered again').toEqual([]);
    // Each record consumed at the offset it was produced at (value names its partition).
    for (const r of sink) expect(r.value.split('-')[1], `${r.value} at ${r.partition}/${r.offset}`).toBe(String(r.partition));
    const distinct = new Set(sink.map((r) => r.value));
    expect([...distinct].sort()).toEqual([...before, ...during].sort());
    // eslint-disable-next-line no-console
    console.log(`groups-cluster: coordinator ${killed} killed, new coordinator ${newCoordinator}; ${sink.length} deliveries of ${distinct.size} records (${sink.length - distinct.size} re-deliveries of uncommitted records)`);

    // Everyone stops (last commits); the node comes back; more records; a new member resumes at the commits.
    const restarts = running.map((c) => `${c.name} ${c.restarts()}`).join(', ');
    for (const c of running.splice(0)) await c.stop();
    const stoppedAt = Date.now();
    // A stopped member must stay gone: one that came back would take partitions from D.
    const lateDeliveries = () => sink.filter((r) => r.at > stoppedAt).map((r) => `${r.consumer}: ${r.partition}/${r.offset} ${r.value}`);
    let committed: number[] = [];
    await withAdmin(clusterKafka(cluster, 'e2e-groups-cluster-admin2', 10), async (admin) => {
      committed = await committedOffsets(admin, group, topic, PARTITIONS);
      expect(committed).toEqual(new Array(PARTITIONS).fill(60));
    });
    await cluster.restart(killed);
    await cluster.waitForBrokers(NODES, 30_000);
    const later = await produce(kafka, topic, 'later', 5);

    const sink2: Consumed[] = [];
    running.push(await startConsumer(kafka, 'D', group, topic, sink2));
    await waitFor('the records produced after the commits', () => lateDeliveries().length > 0 || new Set(sink2.map((r) => r.value)).size === later.length, { timeoutMs: 60_000 });
    expect(lateDeliveries(), `records delivered to A, B, C after they were stopped (restarts before the stop: ${restarts})`).toEqual([]);
    await withAdmin(clusterKafka(cluster, 'e2e-groups-cluster-admin3', 10), async (admin) => {
      await waitFor('offsets committed after the restart', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 65), { timeoutMs: 30_000 });
    });
    expect(sink2.map((r) => r.value).sort()).toEqual([...later].sort());
    expect(sink2.filter((r) => r.offset < committed[r.partition]!), 'records below the committed offsets').toEqual([]);
    await running.pop()!.stop();
  });
});
