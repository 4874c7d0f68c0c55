// Issue #5: three combined broker+controller processes form one KRaft cluster.
//
// In order, on one cluster (each step builds on the previous one):
// 1. one quorum leader, voters 1..3, every node's Metadata lists the 3 brokers as advertised;
// 2. topics created through each node (kafkajs admin bootstrapped at the node, and a raw
//    CreateTopics sent to the node itself, which forwards to the active controller when it is not
//    it), visible with the same leaders everywhere;
// 3. kcat -L -J against every node: all 3 brokers and all topics with the same leaders;
// 4. kill -9 the active controller: a new leader within 15 s, topic creation through each
//    survivor works again, the dead broker is fenced (dropped from Metadata) and new partitions
//    avoid it;
// 5. kill -9 the new leader too: the lone survivor never leads, refuses CreateTopics with a
//    timeout / not-controller error within a bound, and still serves reads;
// 6. restart both: a leader again, all 3 brokers unfenced, every node's image holds every
//    acknowledged topic (and not the refused one), logs converge, creation works again.
// Timings are printed at the end.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import type { CreateTopicsResponse } from '../../wire/generated/messages/create-topics-response.js';
import type { MetadataResponse } from '../../wire/generated/messages/metadata-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { kafkajs, withAdmin } from '../support/clients.js';
import { negotiate, startCluster, type ClusterHandle } from '../support/cluster.js';
import { withClient } from '../support/kafka-client.js';
import { kcatList, kcatMetadata } from '../support/kcat.js';
import { sleep, topicName, waitFor, withTimeout } from '../support/util.js';

const NODES = 3;
const PARTITIONS = 3;
const ELECTION_BOUND_MS = 15_000;
/** Kafka fences a broker broker.session.timeout.ms (9 s) after its last heartbeat; set lower here. */
const SESSION_TIMEOUT_MS = 6_000;
const FENCE_BOUND_MS = 25_000;
/** How long the minority may take to answer CreateTopics (request timeout 5 s; forwarding bounded by request.timeout.ms). */
const MINORITY_ANSWER_BOUND_MS = 40_000;

/** Errors a broker answers when no controller can commit: timeout / not-controller / unavailable. */
const UNAVAILABLE = new Set<number>([
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NETWORK_EXCEPTION,
]);

let cluster: ClusterHandle;
/** Topics whose creation was acknowledged, with their partition counts. */
const acknowledged = new Map<string, number>();
const refusedTopic = topicName('kraft-refused');
const timings: Record<string, number> = {};
let firstLeader = -1;
let secondLeader = -1;

beforeAll(async () => {
  const t0 = Date.now();
  cluster = await startCluster({
    nodes: NODES,
    env: {
      KAFKA_BROKER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_REQUEST_TIMEOUT_MS: '10000',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    },
  });
  timings['cluster start (3 processes, leader, 3 brokers in Metadata)'] = Date.now() - t0;
}, 60_000);

afterAll(() => {
  // eslint-disable-next-line no-console
  console.log(`kraft-cluster timings (ms): ${JSON.stringify(timings, null, 1)}`);
});

/** A raw CreateTopics sent to node `id`'s client listener (so that node forwards it if needed). */
async function createTopicAt(id: number, name: string, partitions: number, timeoutMs = 5_000, waitMs = 30_000): Promise<CreateTopicsResponse['topics'][number]> {
  const port = cluster.node(id).clientPort;
  const version = await negotiate(port, ApiKey.CreateTopics, 7);
  const r = await withClient(port, (c) =>
    c.send(
      ApiKey.CreateTopics,
      version,
      { topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs, validateOnly: false },
      waitMs,
    ),
  );
  const t = r.topics.find((x) => x.name === name);
  if (!t) throw new Error(`CreateTopics answer from node ${id} does not mention ${name}: ${JSON.stringify(r)}`);
  return t;
}

/** Creates through node `id`, retrying retriable errors for up to `timeoutMs`; TOPIC_ALREADY_EXISTS after a retry counts (an earlier try committed). */
async function createTopicThrough(id: number, name: string, partitions: number, timeoutMs = 20_000): Promise<void> {
  let tries = 0;
  await waitFor(
    `CreateTopics ${name} through node ${id}`,
    async () => {
      tries++;
      const t = await createTopicAt(id, name, partitions);
      if (t.errorCode === ErrorCode.NONE) return true;
      if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && tries > 1) return true;
      throw new Error(`error ${t.errorCode} ${ErrorCode[t.errorCode] ?? ''} ${t.errorMessage ?? ''}`);
    },
    { timeoutMs, intervalMs: 500 },
  );
  acknowledged.set(name, partitions);
}

type LeaderMap = Map<string, number>;

function leadersOf(md: MetadataResponse, topics: Iterable<string>): LeaderMap {
  const out: LeaderMap = new Map();
  for (const name of topics) {
    const t = md.topics.find((x) => x.name === name);
    if (!t) throw new Error(`topic ${name} missing`);
    if (t.errorCode !== 0) throw new Error(`topic ${name}: error ${t.errorCode}`);
    for (const p of t.partitions) out.set(`${name}/${p.partitionIndex}`, p.leaderId);
  }
  return out;
}

/** Every live node's Metadata lists every acknowledged topic with its partition count, all with the same leaders (each a live broker when `liveLeaders`). */
async function waitForTopicsEverywhere(what: string, opts: { timeoutMs?: number; liveLeaders?: boolean } = {}): Promise<LeaderMap> {
  return waitFor(
    what,
    async () => {
      const live = cluster.live();
      const liveIds = new Set(live.map((n) => n.id));
      let reference: LeaderMap | undefined;
      for (const n of live) {
        const md = await cluster.metadata(n.id);
        for (const [name, count] of acknowledged) {
          const t = md.topics.find((x) => x.name === name);
          if (!t) throw new Error(`node ${n.id}: topic ${name} missing`);
          if (t.partitions.length !== count) throw new Error(`node ${n.id}: ${name} has ${t.partitions.length} partitions, expected ${count}`);
        }
        const leaders = leadersOf(md, acknowledged.keys());
        for (const [tp, leader] of leaders) {
          if (leader < 0) throw new Error(`node ${n.id}: ${tp} has no leader`);
          if (opts.liveLeaders && !liveIds.has(leader)) throw new Error(`node ${n.id}: ${tp} led by ${leader}, not a live broker`);
        }
        if (reference === undefined) reference = leaders;
        else {
          const diff = [...leaders].filter(([tp, l]) => reference!.get(tp) !== l);
          if (diff.length > 0) throw new Error(`node ${n.id} disagrees on leaders: ${diff.map(([tp, l]) => `${tp}=${l} vs ${reference!.get(tp)}`).join(', ')}`);
        }
      }
      return reference!;
    },
    { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 250 },
  );
}

describe('three combined KRaft nodes', { timeout: 90_000 }, () => {
  it('have one quorum leader with voters 1..3, and every node lists the 3 brokers as advertised', async () => {
    const q = await cluster.waitForLeader();
    firstLeader = q.leaderId;
    expect(q.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3]);
    expect(q.leaderEpoch).toBeGreaterThan(0);
    for (const n of cluster.nodes) {
      const md = await cluster.metadata(n.id);
      expect(md.clusterId, `node ${n.id} cluster id`).toBe(cluster.clusterId);
      expect(md.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort()).toEqual(cluster.nodes.map((x) => `${x.id}@127.0.0.1:${x.clientPort}`).sort());
      // In KRaft, Metadata's controller id is some live broker (clients cannot reach controllers).
      expect([1, 2, 3], `node ${n.id} controllerId`).toContain(md.controllerId);
    }
  });

  it('create topics through each node (kafkajs admin bootstrapped there, and a raw CreateTopics sent to the node itself)', async () => {
    const t0 = Date.now();
    for (const n of cluster.nodes) {
      const viaKafkajs = topicName(`kraft-kjs-${n.id}`);
      await withAdmin(kafkajs(n.bootstrap, `kraft-admin-${n.id}`, { retries: 5, initialRetryTime: 300, maxRetryTime: 3_000 }), async (admin) => {
        const created = await admin.createTopics({ topics: [{ topic: viaKafkajs, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true, timeout: 10_000 });
        expect(created, `kafkajs createTopics through node ${n.id}`).toBe(true);
      });
      acknowledged.set(viaKafkajs, PARTITIONS);
      const raw = topicName(`kraft-raw-${n.id}`);
      const t = await createTopicAt(n.id, raw, PARTITIONS);
      expect(t.errorCode, `raw CreateTopics at node ${n.id} (${n.id === firstLeader ? 'the controller' : 'forwarded'}): ${t.errorMessage}`).toBe(ErrorCode.NONE);
      expect(t.numPartitions).toBe(PARTITIONS);
      acknowledged.set(raw, PARTITIONS);
    }
    timings['6 topics created through the 3 nodes'] = Date.now() - t0;
    const t1 = Date.now();
    const leaders = await waitForTopicsEverywhere('every topic on every node with the same leaders');
    timings['all topics visible on every node'] = Date.now() - t1;
    // RF 1 over 3 brokers: placement spreads the 18 partitions over every broker.
    expect(new Set(leaders.values())).toEqual(new Set([1, 2, 3]));
  });

  it('kcat -L -J against every node lists all 3 brokers and all topics with the same leaders', async () => {
    const expectBrokers = cluster.nodes.map((n) => `${n.id}=127.0.0.1:${n.clientPort}`).sort();
    const perNode = new Map<number, Map<string, number>>();
    for (const n of cluster.nodes) {
      const md = await kcatMetadata(n.bootstrap);
      expect(md.brokers.map((b) => `${b.id}=${b.name}`).sort(), `kcat -L -b ${n.bootstrap}`).toEqual(expectBrokers);
      const leaders = new Map<string, number>();
      for (const [name, count] of acknowledged) {
        const t = md.topics.find((x) => x.topic === name);
        expect(t, `kcat -L -b ${n.bootstrap}: topic ${name}`).toBeDefined();
        expect(t!.error, `${name} error`).toBeUndefined();
        expect(t!.partitions.length).toBe(count);
        for (const p of t!.partitions) {
          expect(p.error, `${name}/${p.partition} error`).toBeUndefined();
          leaders.set(`${name}/${p.partition}`, p.leader);
        }
      }
      perNode.set(n.id, leaders);
    }
    const [first, ...rest] = [...perNode.values()];
    for (const other of rest) expect(Object.fromEntries(other)).toEqual(Object.fromEntries(first!));
    const text = await kcatList(cluster.node(1).bootstrap);
    expect(text).toMatch(/3 brokers:/);
    for (const n of cluster.nodes) expect(text).toContain(`broker ${n.id} at 127.0.0.1:${n.clientPort}`);
  });

  it('kill -9 of the active controller: a new leader within 15 s, creation through the survivors works, the dead broker is fenced', async () => {
    const before = await cluster.waitForLeader();
    const dead = before.leaderId;
    const killedAt = Date.now();
    await cluster.kill9(dead);
    const after = await cluster.waitForLeader({ exclude: [dead], minEpoch: before.leaderEpoch + 1, timeoutMs: ELECTION_BOUND_MS });
    timings['election after kill -9 of the leader'] = Date.now() - killedAt;
    secondLeader = after.leaderId;
    expect(after.leaderId).not.toBe(dead);
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);

    const t0 = Date.now();
    for (const n of cluster.live()) await createTopicThrough(n.id, topicName(`kraft-after-failover-${n.id}`), PARTITIONS);
    timings['creation through both survivors after the failover'] = Date.now() - t0;
    // The new controller stops hearing from the dead broker and fences it: Metadata drops it.
    const survivors = cluster.live().map((n) => n.id);
    await cluster.waitForBrokers(survivors, Math.max(1_000, FENCE_BOUND_MS - (Date.now() - killedAt)));
    timings['dead broker fenced (gone from Metadata) after the kill'] = Date.now() - killedAt;

    // Placement only uses unfenced brokers now.
    const placed = topicName('kraft-after-fence');
    await createTopicThrough(survivors[0]!, placed, 4);
    const md = await cluster.metadata(survivors[1]!, null);
    await waitFor(`${placed} visible at node ${survivors[1]}`, async () => (await cluster.metadata(survivors[1]!, [placed])).topics[0]?.errorCode === 0, { timeoutMs: 10_000 });
    const leaders = leadersOf(await cluster.metadata(survivors[1]!, [placed]), [placed]);
    for (const [tp, leader] of leaders) expect(survivors, `${tp} leader (all: ${JSON.stringify([...leaders])})`).toContain(leader);
    expect(md.brokers.map((b) => b.nodeId).sort()).toEqual(survivors);

    // No kafkajs here: its admin parses Metadata of every topic and gives up (non-retriable) on
    // any partition answering LEADER_NOT_AVAILABLE, which the dead broker's RF-1 partitions now
    // rightly do; before the fencing it may pick the dead broker as controller (Metadata's
    // controller id is a random unfenced broker in KRaft). kafkajs creates again after recovery.

  });

  it('kill -9 of a second node: the lone survivor never leads and refuses metadata changes with a timeout / not-controller error, but still serves reads', async () => {
    const q = await cluster.waitForLeader();
    await cluster.kill9(q.leaderId);
    const lone = cluster.live();
    expect(lone).toHaveLength(1);
    const id = lone[0]!.id;

    const t0 = Date.now();
    const answer = await withTimeout(createTopicAt(id, refusedTopic, 1, 5_000, MINORITY_ANSWER_BOUND_MS), MINORITY_ANSWER_BOUND_MS + 2_000, `CreateTopics at the lone node ${id}`);
    const ms = Date.now() - t0;
    timings['minority CreateTopics answered'] = ms;
    // eslint-disable-next-line no-console
    console.log(`minority CreateTopics at node ${id}: ${answer.errorCode} ${ErrorCode[answer.errorCode]} "${answer.errorMessage}" after ${ms} ms`);
    expect(UNAVAILABLE.has(answer.errorCode), `CreateTopics at the minority answered ${answer.errorCode} ${ErrorCode[answer.errorCode] ?? ''} (${answer.errorMessage}); expected one of ${[...UNAVAILABLE].map((c) => ErrorCode[c]).join(', ')}`).toBe(true);
    expect(ms).toBeLessThan(MINORITY_ANSWER_BOUND_MS);

    // It cannot elect itself: it never says it leads.
    for (let i = 0; i < 5; i++) {
      const s = await cluster.quorumStatus(id);
      if (s.kind === 'view') expect(s.view.leaderId, `lone node ${id} DescribeQuorum`).not.toBe(id);
      await sleep(200);
    }
    // Reads from its last image still work; the refused topic is not there.
    const md = await cluster.metadata(id);
    expect(md.topics.map((t) => t.name)).not.toContain(refusedTopic);
    for (const name of acknowledged.keys()) expect(md.topics.map((t) => t.name), `lone node ${id} still knows ${name}`).toContain(name);
  });

  it('restart both killed nodes: the cluster recovers, every node holds every acknowledged topic and never the refused one', async () => {
    const down = cluster.nodes.filter((n) => !n.alive).map((n) => n.id);
    expect(down).toHaveLength(2);
    const t0 = Date.now();
    await Promise.all(down.map((id) => cluster.restart(id)));
    const q = await cluster.waitForLeader({ timeoutMs: 30_000 });
    timings['restart of 2 nodes until a leader'] = Date.now() - t0;
    expect(q.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3]);
    await cluster.waitForBrokers([1, 2, 3], 30_000);
    timings['restart of 2 nodes until all 3 brokers unfenced'] = Date.now() - t0;

    await waitForTopicsEverywhere('every acknowledged topic on every node after recovery, same leaders, all live', { timeoutMs: 30_000, liveLeaders: true });
    timings['restart until every image holds every topic'] = Date.now() - t0;
    for (const n of cluster.nodes) {
      const md = await cluster.metadata(n.id);
      expect(md.topics.map((t) => t.name), `node ${n.id}`).not.toContain(refusedTopic);
    }
    // Every voter's log caught up with the leader's high watermark.
    await waitFor(
      'every voter caught up to the high watermark',
      async () => {
        const view = await cluster.waitForLeader({ timeoutMs: 5_000 });
        const behind = view.voters.filter((v) => v.logEndOffset < view.highWatermark);
        if (behind.length > 0) throw new Error(`behind ${view.highWatermark}: ${behind.map((v) => `${v.replicaId}@${v.logEndOffset}`).join(', ')}`);
        return true;
      },
      { timeoutMs: 15_000 },
    );
    // And the recovered cluster accepts changes again: through a restarted node, and kafkajs.
    await createTopicThrough(down[0]!, topicName('kraft-after-recovery'), 2);
    const kjs = topicName('kraft-kjs-after-recovery');
    await withAdmin(kafkajs(cluster.node(down[1]!).bootstrap, 'kraft-admin-recovered', { retries: 5, initialRetryTime: 300, maxRetryTime: 3_000 }), async (admin) => {
      expect(await admin.createTopics({ topics: [{ topic: kjs, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true, timeout: 10_000 })).toBe(true);
    });
    acknowledged.set(kjs, PARTITIONS);
    await waitForTopicsEverywhere('the topic created after recovery on every node', { timeoutMs: 15_000, liveLeaders: true });
    expect(firstLeader).toBeGreaterThan(0);
    expect(secondLeader).toBeGreaterThan(0);
  });
});
