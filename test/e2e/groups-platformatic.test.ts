// Consumer groups with @platformatic/kafka 1.35, unmodified (flexible FindCoordinator v4+,
// JoinGroup v6+, SyncGroup, Heartbeat, OffsetCommit v8+, OffsetFetch v8+): two consumers of one
// group split a topic, read it to the end and commit each record explicitly; one member is
// closed (LeaveGroup) and started again as a new instance: it resumes from the committed
// offsets, and no committed record is read a second time by anyone.
import { Admin, Consumer, ProduceAcks, Producer, stringDeserializers, stringSerializers, type MessagesStream } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { kafkajs, withAdmin } from '../support/clients.js';
import { sleep, topicName, waitFor, withTimeout } from '../support/util.js';

const PARTITIONS = 4;

interface Read {
  member: string;
  partition: number;
  offset: number;
  value: string;
}

interface Member {
  name: string;
  consumer: Consumer<string, string, string, string>;
  stream: MessagesStream<string, string, string, string>;
  /** Partitions of the last 'consumer:group:join'. */
  assigned(): number[];
  /** The loop reading the stream (resolves when the stream ends). */
  loop: Promise<void>;
  errors: Error[];
  close(): Promise<void>;
}

describe('consumer groups with @platformatic/kafka 1.35', () => {
  let broker: BrokerHandle;
  const members: Member[] = [];

  beforeAll(async () => {
    broker = await startBroker({ env: { KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' } });
  });
  afterAll(async () => {
    await Promise.all(members.map((m) => m.close().catch(() => {})));
    await broker?.stop();
  });

  /** A consumer of `groupId` reading `topic` from its committed offsets, committing each record once handled. */
  async function startMember(name: string, groupId: string, topic: string, sink: Read[]): Promise<Member> {
    const consumer = new Consumer<string, string, string, string>({
      groupId,
      clientId: `e2e-plt-${name}`,
      bootstrapBrokers: [broker.bootstrap],
      deserializers: stringDeserializers,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 500,
      maxWaitTime: 200,
      retries: 10,
      retryDelay: 200,
      timeout: 10_000,
    });
    let assignment: number[] = [];
    consumer.on('consumer:group:join', (p) => {
      assignment = (p.assignments ?? []).filter((a) => a.topic === topic).flatMap((a) => a.partitions);
    });
    const stream = await withTimeout(
      consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false, sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 200 }),
      30_000,
      `${name} consume`,
    );
    const errors: Error[] = [];
    stream.on('error', (e) => errors.push(e));
    const loop = (async () => {
      for await (const m of stream) {
        sink.push({ member: name, partition: m.partition, offset: Number(m.offset), value: m.value });
        await m.commit();
      }
    })().catch((e: Error) => {
      errors.push(e);
    });
    let closed = false;
    const member: Member = {
      name,
      consumer,
      stream,
      assigned: () => [...assignment].sort((a, b) => a - b),
      loop,
      errors,
      async close() {
        if (closed) return;
        closed = true;
        await withTimeout(stream.close(), 15_000, `${name} stream.close`).catch(() => {});
        await withTimeout(consumer.close(), 15_000, `${name} consumer.close`);
        await withTimeout(loop, 5_000, `${name} read loop`).catch(() => {});
      },
    };
    members.push(member);
    return member;
  }

  async function produce(topic: string, tag: string, perPartition: number): Promise<string[]> {
    const producer = new Producer({ clientId: 'e2e-plt-producer', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, retries: 2, timeout: 30_000 });
    const values: string[] = [];
    try {
      const messages = [];
      for (let p = 0; p < PARTITIONS; p++) {
        for (let i = 0; i < perPartition; i++) {
          const value = `${tag}-${p}-${i}`;
          values.push(value);
          messages.push({ topic, partition: p, key: value, value });
        }
      }
      await withTimeout(producer.send({ messages, acks: ProduceAcks.ALL }), 30_000, `produce ${tag}`);
    } finally {
      await producer.close();
    }
    return values;
  }

  it('two members split the topic, read it to the end and commit; a restarted member resumes from the commits', async () => {
    const topic = topicName('grp-plt');
    const group = `${topic}-g`;
    const admin = new Admin({ clientId: 'e2e-plt-admin', bootstrapBrokers: [broker.bootstrap], retries: 2, timeout: 10_000 });
    try {
      await withTimeout(admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 }), 30_000, 'createTopics');
    } finally {
      await admin.close();
    }
    const kafka = kafkajs(broker.bootstrap, 'e2e-plt-check');

    const sink: Read[] = [];
    const a = await startMember('A', group, topic, sink);
    const b = await startMember('B', group, topic, sink);

    await withAdmin(kafka, async (kadmin) => {
      const committed = async () => {
        const r = await kadmin.fetchOffsets({ groupId: group, topics: [topic] });
        const out = new Array<number>(PARTITIONS).fill(-9);
        for (const p of r[0]!.partitions) out[p.partition] = Number(p.offset);
        return out;
      };
      const stableWith = (n: number) =>
        waitFor(`group Stable with ${n} members splitting ${PARTITIONS} partitions`, async () => {
          const { groups } = await kadmin.describeGroups([group]);
          const g = groups[0]!;
          return g.state === 'Stable' && g.members.length === n && g;
        }, { timeoutMs: 30_000, intervalMs: 200 });

      // Two members, 2 + 2 partitions, disjoint.
      const g = await stableWith(2);
      expect(g.protocolType).toBe('consumer');
      await waitFor('both members assigned 2 partitions', () => a.assigned().length === 2 && b.assigned().length === 2, { timeoutMs: 20_000 });
      expect([...a.assigned(), ...b.assigned()].sort()).toEqual([0, 1, 2, 3]);

      // Records produced once the group is split; read to the end; every record committed.
      const first = await produce(topic, 'first', 50);
      await waitFor('the first records', () => new Set(sink.map((r) => r.value)).size === first.length, { timeoutMs: 30_000 });
      await waitFor('commits up to the end', async () => (await committed()).every((o) => o === 50), { timeoutMs: 20_000 });
      expect(new Set(sink.filter((r) => r.member === 'A').map((r) => r.partition))).toEqual(new Set(a.assigned()));
      expect(new Set(sink.filter((r) => r.member === 'B').map((r) => r.partition))).toEqual(new Set(b.assigned()));
      expect(sink).toHaveLength(first.length);
      const firstRead = sink.length;

      // B goes away (LeaveGroup); A takes everything and reads what comes meanwhile.
      await b.close();
      await waitFor('A alone with all partitions', async () => (await stableWith(1)) && a.assigned().length === PARTITIONS, { timeoutMs: 30_000 });
      const mid = await produce(topic, 'mid', 10);
      await waitFor('the mid records', () => new Set(sink.map((r) => r.value)).size === first.length + mid.length, { timeoutMs: 30_000 });
      await waitFor('commits after mid', async () => (await committed()).every((o) => o === 60), { timeoutMs: 20_000 });

      // B restarts as a new instance: it gets partitions back and resumes at the commits.
      const b2 = await startMember('B2', group, topic, sink);
      await stableWith(2);
      await waitFor('both members assigned 2 partitions again', () => a.assigned().length === 2 && b2.assigned().length === 2, { timeoutMs: 30_000 });
      const late = await produce(topic, 'late', 15);
      const expected = [...first, ...mid, ...late];
      await waitFor('the late records', () => new Set(sink.map((r) => r.value)).size === expected.length, { timeoutMs: 30_000 });
      await waitFor('commits after late', async () => (await committed()).every((o) => o === 75), { timeoutMs: 20_000 });
      await sleep(300); // a moment for any stray re-delivery to show

      // Nothing committed was read again; B2 read only records after the commits, on its partitions.
      const afterRestart = sink.slice(firstRead);
      expect(afterRestart.filter((r) => r.value.startsWith('first-')), 'committed records read again').toEqual([]);
      const counts = new Map<string, number>();
      for (const r of sink) counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([...expected].sort());
      // Records committed before B2 joined are never read again. The 'late' ones may reach both
      // members once: @platformatic/kafka 1.35 sometimes keeps fetching a partition it has just
      // lost for one more fetch (seen in about a third of runs, on every broker version here);
      // Kafka brokers do not police which member fetches what, so this is the client's doing.
      expect([...counts].filter(([v, n]) => n !== 1 && !v.startsWith('late-')), 'committed records read twice').toEqual([]);
      expect([...counts].filter(([, n]) => n > 2), 'records read more than twice').toEqual([]);
      const byB2 = sink.filter((r) => r.member === 'B2');
      expect(byB2.length).toBeGreaterThan(0);
      expect(byB2.every((r) => r.offset >= 60 && b2.assigned().includes(r.partition))).toBe(true);
      expect(a.errors.concat(b2.errors).map((e) => e.message)).toEqual([]);
      await a.close();
      await b2.close();
      const { groups } = await kadmin.describeGroups([group]);
      expect([groups[0]!.state, groups[0]!.members.length]).toEqual(['Empty', 0]);
      expect(await committed()).toEqual(new Array(PARTITIONS).fill(75));
    });
  });
});
