// Consumer groups with librdkafka (kcat's balanced consumer, `kcat -G`), unmodified:
// - two members with the cooperative-sticky assignor split a 4-partition topic 2/2 (KIP-429
//   incremental rebalance), read every record exactly once between them, auto-commit, and a
//   later member resumes from those commits;
// - static membership (KIP-345): a member with group.instance.id killed with SIGKILL and started
//   again within session.timeout.ms gets its partitions back without a rebalance: the group's
//   generation is unchanged (probed with Heartbeat: only the current generation answers NONE),
//   the other member's librdkafka debug log shows no revoke/assign/rejoin, the broker logged no
//   rebalance; the restarted member resumes from the committed offsets.
import { AssignerProtocol, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { committedOffsets, createTopics, kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { withClient } from '../support/kafka-client.js';
import { kcatPath, startKcat, type KcatProcess } from '../support/kcat.js';
import { sleep, topicName, waitFor } from '../support/util.js';

const PARTITIONS = 4;

interface Line {
  partition: number;
  offset: number;
  value: string;
}

/** kcat -f '%p %o %s\n' output. */
function parseLines(out: Buffer): Line[] {
  const text = out.toString('utf8');
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline: empty, or a line still being written
  return lines.map((l) => {
    const m = /^(\d+) (\d+) (.*)$/.exec(l);
    if (!m) throw new Error(`kcat output: unexpected line ${JSON.stringify(l)}`);
    return { partition: Number(m[1]), offset: Number(m[2]), value: m[3]! };
  });
}

/** A balanced consumer: `kcat -G group topic`, one line per record. */
function groupConsumer(bootstrap: string, group: string, topic: string, props: Record<string, string>, debug = false): KcatProcess {
  const args = ['-b', bootstrap, '-G', group, '-u', '-f', '%p %o %s\\n'];
  const all: Record<string, string> = {
    'auto.offset.reset': 'earliest',
    'enable.auto.commit': 'true',
    'auto.commit.interval.ms': '300',
    'session.timeout.ms': '10000',
    'heartbeat.interval.ms': '500',
    'topic.metadata.refresh.interval.ms': '60000',
    ...props,
  };
  for (const [k, v] of Object.entries(all)) args.push('-X', `${k}=${v}`);
  if (debug) args.push('-d', 'cgrp');
  args.push(topic);
  return startKcat(args, { maxLifeMs: 90_000 });
}

async function produce(kafka: Kafka, topic: string, tag: string, perPartition: number): Promise<string[]> {
  const values: string[] = [];
  await withProducer(kafka, async (p) => {
    const messages = [];
    for (let part = 0; part < PARTITIONS; part++) {
      for (let i = 0; i < perPartition; i++) {
        const value = `${tag}-${part}-${i}`;
        values.push(value);
        messages.push({ partition: part, value });
      }
    }
    await p.send({ topic, acks: -1, messages });
  });
  return values;
}

/** The group's members (DescribeGroups v5: with group instance ids) and decoded assignments, once Stable with `n` members of equal share. */
async function waitStableSplit(port: number, groupId: string, topic: string, n: number, accept: (members: Array<{ memberId: string; instanceId: string | null }>) => boolean = () => true) {
  return waitFor(
    `group ${groupId} Stable, ${n} members of ${PARTITIONS / n} partitions`,
    () =>
      withClient(port, async (c) => {
        const r = await c.send(ApiKey.DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
        const g = r.groups[0]!;
        if (g.groupState !== 'Stable' || g.members.length !== n) return false;
        const members = g.members.map((m) => ({
          memberId: m.memberId,
          instanceId: m.groupInstanceId ?? null,
          clientId: m.clientId,
          partitions: (AssignerProtocol.MemberAssignment.decode(Buffer.from(m.memberAssignment))?.assignment[topic] ?? []).slice().sort((a, b) => a - b),
        }));
        if (members.some((m) => m.partitions.length !== PARTITIONS / n) || !accept(members)) return false;
        return { protocol: g.protocolData, members };
      }),
    { timeoutMs: 40_000, intervalMs: 200 },
  );
}

/** The group's current generation: the only one a member's Heartbeat is answered NONE for. */
async function currentGeneration(port: number, groupId: string, memberId: string, instanceId: string | null): Promise<number> {
  return withClient(port, async (c) => {
    for (let g = 1; g <= 100; g++) {
      const r = await c.send(ApiKey.Heartbeat, 4, { groupId, generationId: g, memberId, groupInstanceId: instanceId });
      if (r.errorCode === ErrorCode.NONE) return g;
      if (r.errorCode !== ErrorCode.ILLEGAL_GENERATION) throw new Error(`Heartbeat of ${memberId} at generation ${g}: error ${r.errorCode}`);
    }
    throw new Error(`no generation of ${groupId} in 1..100 accepts ${memberId}`);
  });
}

describe('consumer groups with librdkafka (kcat -G)', () => {
  let broker: BrokerHandle;
  let kafka: Kafka;
  const procs: KcatProcess[] = [];

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({ env: { KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' } });
    kafka = kafkajs(broker.bootstrap, 'e2e-rdk');
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL').catch(() => {})));
    await broker?.stop();
  });

  function consumer(group: string, topic: string, props: Record<string, string>, debug = false): KcatProcess {
    const p = groupConsumer(broker.bootstrap, group, topic, props, debug);
    procs.push(p);
    return p;
  }

  function explain(ps: KcatProcess[]): string {
    return ps.map((p, i) => `--- kcat #${i} ${p.args.join(' ')} exit=${JSON.stringify(p.exited())}\n${p.stderr().split('\n').filter((l) => !l.startsWith('%7')).slice(-30).join('\n')}`).join('\n');
  }

  it('cooperative-sticky: two members split 2/2, every record consumed exactly once, commits resume a later member', async () => {
    const topic = topicName('grp-rdk');
    const group = `${topic}-g`;
    await createTopics(kafka, [{ topic, numPartitions: PARTITIONS }]);
    const coop = { 'partition.assignment.strategy': 'cooperative-sticky' };
    const k1 = consumer(group, topic, { ...coop, 'client.id': 'rdk-1' });
    const k2 = consumer(group, topic, { ...coop, 'client.id': 'rdk-2' });

    const split = await waitStableSplit(broker.port, group, topic, 2).catch((e: Error) => {
      throw new Error(`${e.message}\n${explain([k1, k2])}`);
    });
    expect(split.protocol).toBe('cooperative-sticky');
    const owner = new Map<number, string>();
    for (const m of split.members) for (const p of m.partitions) owner.set(p, m.clientId);
    expect([...owner.keys()].sort()).toEqual([0, 1, 2, 3]);

    const values = [...(await produce(kafka, topic, 'a', 100)), ...(await produce(kafka, topic, 'b', 50))];
    const read = () => [...parseLines(k1.stdout()).map((l) => ({ ...l, by: 'rdk-1' })), ...parseLines(k2.stdout()).map((l) => ({ ...l, by: 'rdk-2' }))];
    await waitFor('every record read', () => read().length >= values.length, { timeoutMs: 30_000, intervalMs: 100 }).catch((e: Error) => {
      throw new Error(`${e.message}: ${read().length}/${values.length}\n${explain([k1, k2])}`);
    });
    await withAdmin(kafka, async (admin) => {
      await waitFor('auto-commits up to the end', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 150), { timeoutMs: 20_000 });
    });
    await Promise.all([k1.stop(), k2.stop()]);
    expect([k1.exited()?.code, k2.exited()?.code]).toEqual([0, 0]);

    // Exactly once each, at the offset it was written, by the member owning its partition.
    const all = read();
    const keys = all.map((l) => `${l.partition}/${l.offset}`);
    expect(new Set(keys).size, 'a record read twice').toBe(keys.length);
    expect(all.map((l) => l.value).sort()).toEqual([...values].sort());
    for (const l of all) {
      const [tag, p, i] = l.value.split('-');
      expect([l.partition, l.offset]).toEqual([Number(p), tag === 'a' ? Number(i) : 100 + Number(i)]);
      expect(l.by, `${l.value} read by the partition's owner`).toBe(owner.get(l.partition));
    }
    expect(new Set(all.map((l) => l.by))).toEqual(new Set(['rdk-1', 'rdk-2']));

    // A later member of the group resumes from the commits: reads only what came after.
    const more = await produce(kafka, topic, 'c', 5);
    const k3 = consumer(group, topic, { ...coop, 'client.id': 'rdk-3' });
    await waitFor('the later records', () => parseLines(k3.stdout()).length >= more.length, { timeoutMs: 30_000, intervalMs: 100 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${explain([k3])}`);
    });
    await sleep(300);
    await k3.stop();
    expect(parseLines(k3.stdout()).map((l) => l.value).sort()).toEqual([...more].sort());
  });

  it('a static member restarted within the session timeout gets its partitions back without a rebalance', async () => {
    const topic = topicName('grp-rdk-static');
    const group = `${topic}-g`;
    await createTopics(kafka, [{ topic, numPartitions: PARTITIONS }]);
    const props = (id: string) => ({ 'group.instance.id': id, 'client.id': `rdk-${id}`, 'partition.assignment.strategy': 'range' });
    const s1 = consumer(group, topic, props('s1'));
    const s2 = consumer(group, topic, props('s2'), true);
    const before = await waitStableSplit(broker.port, group, topic, 2).catch((e: Error) => {
      throw new Error(`${e.message}\n${explain([s1, s2])}`);
    });
    const m1 = before.members.find((m) => m.instanceId === 's1')!;
    const m2 = before.members.find((m) => m.instanceId === 's2')!;
    expect(m1.memberId).toMatch(/^s1-/);
    const generation = await currentGeneration(broker.port, group, m2.memberId, 's2');

    // Records read and committed by both.
    const first = await produce(kafka, topic, 'first', 25);
    await waitFor('the first records', () => parseLines(s1.stdout()).length + parseLines(s2.stdout()).length >= first.length, { timeoutMs: 30_000, intervalMs: 100 });
    await withAdmin(kafka, async (admin) => {
      await waitFor('auto-commits', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 25), { timeoutMs: 20_000 });
    });

    // s1 crashes (no LeaveGroup) and comes back within session.timeout.ms (10 s).
    const s2LogMark = s2.stderr().length;
    const brokerLogMark = broker.output().length;
    await s1.stop('SIGKILL');
    const second = await produce(kafka, topic, 'second', 25);
    const s1b = consumer(group, topic, props('s1'));
    const after = await waitStableSplit(broker.port, group, topic, 2, (ms) => ms.some((m) => m.instanceId === 's1' && m.memberId !== m1.memberId)).catch((e: Error) => {
      throw new Error(`${e.message}\n${explain([s1b, s2])}`);
    });
    const n1 = after.members.find((m) => m.instanceId === 's1')!;
    const n2 = after.members.find((m) => m.instanceId === 's2')!;
    const done = () => parseLines(s1b.stdout()).length >= 25 * m1.partitions.length && parseLines(s2.stdout()).length >= 50 * m2.partitions.length;
    await waitFor('the second records', done, { timeoutMs: 30_000, intervalMs: 100 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${explain([s1b, s2])}`);
    });
    await withAdmin(kafka, async (admin) => {
      await waitFor('auto-commits after the restart', async () => (await committedOffsets(admin, group, topic, PARTITIONS)).every((o) => o === 50), { timeoutMs: 20_000 });
    });

    // No rebalance: same generation, same partitions, s2 untouched (same member id, no revoke,
    // no rejoin in its librdkafka log), nothing logged by the broker about rebalancing it.
    expect(await currentGeneration(broker.port, group, n2.memberId, 's2')).toBe(generation);
    expect(n1.memberId).not.toBe(m1.memberId);
    expect(n1.memberId).toMatch(/^s1-/);
    expect([n1.partitions, n2.memberId, n2.partitions]).toEqual([m1.partitions, m2.memberId, m2.partitions]);
    const isRebalanceLine = (l: string) => /revoked|assigned:|JoinGroup|REBALANCE_IN_PROGRESS|rebalance in progress|ILLEGAL_GENERATION|rejoin/i.test(l) && !/rebalance rejoin=false/.test(l);
    // (The same filter does see the joins that formed the group.)
    expect(s2.stderr().slice(0, s2LogMark).split('\n').filter(isRebalanceLine).length).toBeGreaterThan(2);
    const s2Log = s2.stderr().slice(s2LogMark).split('\n');
    expect(s2Log.filter(isRebalanceLine), 's2 saw a rebalance').toEqual([]);
    expect(s2Log.some((l) => l.includes(`generation id ${generation}`)), 's2 kept heartbeating its generation').toBe(true);
    const rebalanceLog = (l: string) => l.includes(group) && /preparing to rebalance|stabilized group/.test(l);
    expect(broker.output().slice(0, brokerLogMark).split('\n').filter(rebalanceLog).length, 'the broker logs rebalances').toBeGreaterThan(0);
    const brokerLog = broker.output().slice(brokerLogMark).split('\n').filter((l) => l.includes(group));
    expect(brokerLog.filter(rebalanceLog), 'broker rebalanced the group').toEqual([]);
    expect(brokerLog.some((l) => l.includes('static member rejoins with a new member id'))).toBe(true);

    // The restarted member resumed from the commits on its partitions: only the second records.
    const readByS1b = parseLines(s1b.stdout());
    expect(readByS1b.every((l) => l.value.startsWith('second-') && m1.partitions.includes(l.partition) && l.offset >= 25)).toBe(true);
    expect(readByS1b).toHaveLength(25 * m1.partitions.length);
    const everything = [...parseLines(s1.stdout()), ...readByS1b, ...parseLines(s2.stdout())].map((l) => l.value);
    expect(everything.sort()).toEqual([...first, ...second].sort());
    await Promise.all([s1b.stop(), s2.stop()]);
  });
});
