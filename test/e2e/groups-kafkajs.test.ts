// Consumer groups with kafkajs 2.2.4, unmodified, against a real broker process:
// - three consumers share a 6-partition topic 2/2/2; when one leaves, the other two take its
//   partitions over; every record produced before and after is consumed (none lost, no record
//   committed before the leave read again); offsets are committed; after a broker restart a new
//   member resumes from the committed offsets;
// - the admin API: listGroups, describeGroups (Stable, members, decodable assignments),
//   fetchOffsets, consumer lag from fetchTopicOffsets, setOffsets / resetOffsets on a stopped
//   group (refused on a running one), deleteGroups (refused while members remain).
import { AssignerProtocol, type Admin, type Consumer, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { committedOffsets, createTopics, kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { topicName, waitFor, withTimeout } from '../support/util.js';

const PARTITIONS = 6;

interface Consumed {
  consumer: string;
  partition: number;
  offset: number;
  value: string;
}

interface RunningConsumer {
  name: string;
  consumer: Consumer;
  /** The assignment of each GROUP_JOIN event, in order. */
  joins: Array<{ memberId: string; assignment: Record<string, number[]> }>;
  stop(): Promise<void>;
}

/** Starts a kafkajs consumer in `groupId` on `topic`, appending every record it reads to `sink`. */
async function startConsumer(kafka: Kafka, name: string, groupId: string, topic: string, sink: Consumed[], fromBeginning = true): Promise<RunningConsumer> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 10_000,
    maxWaitTimeInMs: 250,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const joins: RunningConsumer['joins'] = [];
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joins.push({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment as Record<string, number[]> });
  });
  await withTimeout(consumer.connect(), 30_000, `${name} connect`);
  await consumer.subscribe({ topics: [topic], fromBeginning });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      sink.push({ consumer: name, partition, offset: Number(message.offset), value: message.value!.toString('utf8') });
    },
  });
  let stopped = false;
  return {
    name,
    consumer,
    joins,
    async stop() {
      if (stopped) return;
      stopped = true;
      await withTimeout(consumer.disconnect(), 20_000, `${name} disconnect`);
    },
  };
}

/** Produces `count` records per partition, values `${tag}-${partition}-${i}`. */
async function produce(kafka: Kafka, topic: string, tag: string, perPartition: number): Promise<string[]> {
  const values: string[] = [];
  await withProducer(kafka, async (p) => {
    const messages = [];
    for (let part = 0; part < PARTITIONS; part++) {
      for (let i = 0; i < perPartition; i++) {
        const value = `${tag}-${part}-${i}`;
        values.push(value);
        messages.push({ partition: part, key: value, value });
      }
    }
    await p.send({ topic, acks: -1, messages });
  });
  return values;
}

async function highWatermarks(admin: Admin, topic: string): Promise<number[]> {
  const out = new Array<number>(PARTITIONS).fill(-9);
  for (const p of await admin.fetchTopicOffsets(topic)) out[p.partition] = Number(p.high);
  return out;
}

/** describeGroups, with each member's assignment decoded. */
async function describe1(admin: Admin, groupId: string) {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0]!;
  return {
    ...g,
    decoded: g.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      assignment: m.memberAssignment.length === 0 ? {} : AssignerProtocol.MemberAssignment.decode(m.memberAssignment)!.assignment,
      subscription: m.memberMetadata.length === 0 ? [] : AssignerProtocol.MemberMetadata.decode(m.memberMetadata)!.topics,
    })),
  };
}

/** Waits until the group is Stable with `members` members holding `perMember` partitions each, covering all. */
async function waitBalanced(admin: Admin, groupId: string, topic: string, members: number, timeoutMs = 40_000) {
  return waitFor(
    `group ${groupId} Stable with ${members} members of ${PARTITIONS / members} partitions`,
    async () => {
      const d = await describe1(admin, groupId);
      if (d.state !== 'Stable' || d.decoded.length !== members) return false;
      const counts = d.decoded.map((m) => (m.assignment[topic] ?? []).length);
      const all = d.decoded.flatMap((m) => m.assignment[topic] ?? []).sort((a, b) => a - b);
      if (counts.some((n) => n !== PARTITIONS / members) || all.join() !== [...Array(PARTITIONS).keys()].join()) return false;
      return d;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

describe('consumer groups with kafkajs 2.2.4', () => {
  let broker: BrokerHandle;
  let kafka: Kafka;
  const running: RunningConsumer[] = [];

  beforeAll(async () => {
    broker = await startBroker({ env: { KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' } });
    kafka = kafkajs(broker.bootstrap, 'e2e-groups');
  });
  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop().catch(() => {})));
    await broker?.stop();
  });

  async function start(name: string, groupId: string, topic: string, sink: Consumed[], fromBeginning = true) {
    const c = await startConsumer(kafka, name, groupId, topic, sink, fromBeginning);
    running.push(c);
    return c;
  }

  it('3 consumers get 2/2/2 of 6 partitions; one leaves, the others take over; nothing lost; offsets committed and resumed after a broker restart', async () => {
    const topic = topicName('grp-kjs');
    const group = `${topic}-g`;
    await createTopics(kafka, [{ topic, numPartitions: PARTITIONS }]);
    const before = await produce(kafka, topic, 'before', 50);

    const sink: Consumed[] = [];
    const a = await start('A', group, topic, sink);
    const b = await start('B', group, topic, sink);
    const c = await start('C', group, topic, sink);

    await withAdmin(kafka, async (admin) => {
      // 2, 2, 2 — per the coordinator and per each consumer's last GROUP_JOIN.
      const d = await waitBalanced(admin, group, topic, 3);
      expect(d.protocolType).toBe('consumer');
      expect(d.protocol).toBe('RoundRobinAssigner');
      for (const m of d.decoded) expect(m.subscription).toEqual([topic]);
      await waitFor('each consumer\'s GROUP_JOIN to match the coordinator', () =>
        [a, b, c].every((x) => {
          const last = x.joins.at(-1);
          const m = last && d.decoded.find((dm) => dm.memberId === last.memberId);
          return m !== undefined && JSON.stringify([...(last!.assignment[topic] ?? [])].sort()) === JSON.stringify([...(m.assignment[topic] ?? [])].sort());
        }), { timeoutMs: 10_000 });
      const cPartitions = [...c.joins.at(-1)!.assignment[topic]!].sort();
      expect(cPartitions).toHaveLength(2);

      // Everything produced before is read and committed.
      await waitFor('the first records consumed', () => new Set(sink.map((r) => r.value)).size === before.length, { timeoutMs: 30_000 });
      await waitFor('offsets committed up to the end', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 50), { timeoutMs: 20_000 });
      const readBeforeLeave = sink.length;

      // C leaves; records produced right away and after the rebalance.
      await c.stop();
      const during = await produce(kafka, topic, 'during', 10);
      const d2 = await waitBalanced(admin, group, topic, 2);
      expect(d2.decoded.map((m) => m.memberId).sort()).toEqual([a.joins.at(-1)!.memberId, b.joins.at(-1)!.memberId].sort());
      const after = await produce(kafka, topic, 'after', 40);
      const expected = [...before, ...during, ...after];
      await waitFor('every record consumed', () => new Set(sink.map((r) => r.value)).size === expected.length, { timeoutMs: 30_000 });
      await waitFor('offsets committed up to the end again', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 100), { timeoutMs: 20_000 });

      // Exactly the set produced; records committed before the leave were read once.
      const counts = new Map<string, number>();
      for (const r of sink) counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([...expected].sort());
      const dupBefore = before.filter((v) => counts.get(v) !== 1);
      expect(dupBefore, 'records committed before the leave read more than once').toEqual([]);
      // Each record's (partition, offset) is the one it was written at.
      for (const r of sink) expect(r.value.split('-')[1], `${r.value} at ${r.partition}/${r.offset}`).toBe(String(r.partition));
      // C's partitions were taken over by A and B.
      const newReaders = new Set(sink.slice(readBeforeLeave).filter((r) => cPartitions.includes(r.partition)).map((r) => r.consumer));
      expect([...newReaders].every((n) => n === 'A' || n === 'B')).toBe(true);
      expect(newReaders.size).toBeGreaterThan(0);
      expect(sink.slice(readBeforeLeave).some((r) => r.consumer === 'C')).toBe(false);

      // Everyone stops; the group is Empty with its offsets.
      await a.stop();
      await b.stop();
      const empty = await describe1(admin, group);
      expect([empty.state, empty.members.length]).toEqual(['Empty', 0]);
    });

    const later = await produce(kafka, topic, 'later', 5);
    await broker.restart();

    // A new member resumes from the committed offsets: reads only what came after.
    const sink2: Consumed[] = [];
    await start('D', group, topic, sink2);
    await waitFor('the records produced after the commits', () => new Set(sink2.map((r) => r.value)).size === later.length, { timeoutMs: 40_000 });
    await withAdmin(kafka, async (admin) => {
      await waitFor('offsets committed after the restart', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 105), { timeoutMs: 20_000 });
    });
    expect(sink2.map((r) => r.value).sort()).toEqual([...later].sort());
    expect(sink2.every((r) => r.offset >= 100)).toBe(true);
    await running.at(-1)!.stop();
  });

  it('admin: listGroups, describeGroups, fetchOffsets, lag, setOffsets / resetOffsets on a stopped group, deleteGroups', async () => {
    const topic = topicName('grp-adm');
    const group = `${topic}-g`;
    const other = `${topic}-other`;
    await createTopics(kafka, [{ topic, numPartitions: PARTITIONS }]);
    await produce(kafka, topic, 'first', 20);

    await withAdmin(kafka, async (admin) => {
      const sink: Consumed[] = [];
      const x = await start('X', group, topic, sink);
      const y = await start('Y', group, topic, sink);
      const otherSink: Consumed[] = [];
      const z = await start('Z', other, topic, otherSink);
      await waitBalanced(admin, group, topic, 2);
      await waitFor('the first records consumed', () => sink.length >= 20 * PARTITIONS && otherSink.length >= 20 * PARTITIONS, { timeoutMs: 30_000 });
      await waitFor('offsets committed', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 20), { timeoutMs: 20_000 });

      // listGroups: both groups, consumer protocol.
      const listed = await admin.listGroups();
      expect(listed.groups.filter((g) => g.groupId === group || g.groupId === other).sort((p, q) => p.groupId.localeCompare(q.groupId))).toEqual(
        [group, other].sort().map((groupId) => ({ groupId, protocolType: 'consumer' })),
      );

      // describeGroups: Stable, two members with the client's metadata, assignments decodable and complete.
      const d = await describe1(admin, group);
      expect(d.state).toBe('Stable');
      expect(d.protocolType).toBe('consumer');
      expect(d.members).toHaveLength(2);
      for (const m of d.members) {
        expect(m.clientId).toBe('e2e-groups');
        expect(m.clientHost).toMatch(/127\.0\.0\.1/);
      }
      const assigned = d.decoded.flatMap((m) => m.assignment[topic] ?? []).sort((p, q) => p - q);
      expect(assigned).toEqual([...Array(PARTITIONS).keys()]);
      expect(d.decoded.map((m) => m.memberId).sort()).toEqual([x.joins.at(-1)!.memberId, y.joins.at(-1)!.memberId].sort());
      const { groups: both } = await admin.describeGroups([group, other, 'never-existed']);
      expect(both.map((g) => [g.groupId, g.state])).toEqual([[group, 'Stable'], [other, 'Stable'], ['never-existed', 'Dead']]);

      // Lag = log end offset - committed: 0 now; 7 per partition once more records arrive and the group is stopped.
      const lag = async (g: string) => {
        const [high, committed] = [await highWatermarks(admin, topic), await committedOffsets(admin, g, topic, PARTITIONS)];
        return high.map((h, i) => h - committed[i]!);
      };
      expect(await lag(group)).toEqual(new Array(PARTITIONS).fill(0));
      await x.stop();
      await y.stop();
      await produce(kafka, topic, 'second', 7);
      expect(await lag(group)).toEqual(new Array(PARTITIONS).fill(7));
      await waitFor('the still running group to catch up', async () => (await lag(other)).every((l) => l === 0), { timeoutMs: 20_000 });

      // setOffsets: refused while the group has members (kafkajs checks describeGroups); on the stopped group it
      // joins as a member, seeks and commits (each takes ~5 s: kafkajs waits out its default maxWaitTime).
      await expect(admin.setOffsets({ groupId: other, topic, partitions: [{ partition: 0, offset: '0' }] })).rejects.toThrow(/no running instances/);
      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '5' }, { partition: 3, offset: '26' }] });
      expect(await committedOffsets(admin, group, topic, PARTITIONS)).toEqual([5, 20, 20, 26, 20, 20]);
      expect(await lag(group)).toEqual([22, 7, 7, 1, 7, 7]);

      // A member of the stopped group resumes from there.
      const resumed: Consumed[] = [];
      const w = await start('W', group, topic, resumed, false);
      await waitFor('the resumed consumer to catch up', () => resumed.length >= 22 + 7 * 4 + 1, { timeoutMs: 30_000 });
      await waitFor('resumed offsets committed', async () => (await lag(group)).every((l) => l === 0), { timeoutMs: 20_000 });
      const firstOffset = (p: number) => Math.min(...resumed.filter((r) => r.partition === p).map((r) => r.offset));
      expect([0, 1, 2, 3, 4, 5].map(firstOffset)).toEqual([5, 20, 20, 26, 20, 20]);
      expect(resumed).toHaveLength(22 + 7 * 4 + 1);
      await w.stop();

      // resetOffsets to the earliest (kafkajs commits -2; fetchOffsets resolveOffsets turns it into the log start): 0 everywhere.
      await admin.resetOffsets({ groupId: group, topic, earliest: true });
      const resolved = await admin.fetchOffsets({ groupId: group, topics: [topic], resolveOffsets: true });
      expect(resolved[0]!.partitions.map((p) => [p.partition, p.offset]).sort((p, q) => Number(p[0]) - Number(q[0]))).toEqual([...Array(PARTITIONS).keys()].map((p) => [p, '0']));
      expect(await committedOffsets(admin, group, topic, PARTITIONS)).toEqual(new Array(PARTITIONS).fill(0));
      expect(await lag(group)).toEqual(new Array(PARTITIONS).fill(27));

      // deleteGroups: refused while members remain; removes an Empty group and its offsets.
      await expect(admin.deleteGroups([other])).rejects.toMatchObject({ groups: [expect.objectContaining({ groupId: other, errorCode: 68 })] });
      const deleted = await admin.deleteGroups([group]);
      expect(deleted).toEqual([expect.objectContaining({ groupId: group, errorCode: 0 })]);
      expect(await committedOffsets(admin, group, topic, PARTITIONS)).toEqual(new Array(PARTITIONS).fill(-1));
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(group);
      expect((await describe1(admin, group)).state).toBe('Dead');
      await z.stop();
      // Once stopped, the other group can be deleted too.
      expect(await admin.deleteGroups([other])).toEqual([expect.objectContaining({ groupId: other, errorCode: 0 })]);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(other);
    });
  });
});
