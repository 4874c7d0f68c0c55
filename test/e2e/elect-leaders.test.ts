// ElectLeaders (key 43) on a three-node KRaft cluster (combined broker+controller processes),
// over the raw typed client:
// 1. a topic with replication factor 3 whose leaders are the preferred replicas: PREFERRED (v0,
//    v1, v2, through every node, which forwards to the active controller) answers
//    ELECTION_NOT_NEEDED per partition; UNCLEAN likewise (they have leaders); all partitions
//    (null) lists no partition; unknown topics and partitions get UNKNOWN_TOPIC_OR_PARTITION;
// 2. at the controller listeners: the active controller answers, the others NOT_CONTROLLER;
// 3. bad input: an unknown election type is INVALID_REQUEST (top level and per partition, the
//    connection stays open); malformed ElectLeaders frames close the connection; every process
//    stays up;
// 4. kill -9 the (non-controller) leader of a partition: once it is fenced, leadership moved
//    and PREFERRED answers PREFERRED_LEADER_NOT_AVAILABLE (UNCLEAN: ELECTION_NOT_NEEDED); it is
//    restarted and registers again.
// With replication (followers rejoining the ISR):
// 5. the restarted preferred replica is back in the ISR, and within ~10 s automatic rebalancing
//    (leader.imbalance.check.interval.seconds=2) makes it lead again;
// 6. with auto.leader.rebalance.enable=false it does not, and ElectLeaders PREFERRED does.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import type { ElectLeadersRequest } from '../../wire/generated/messages/elect-leaders-request.js';
import type { ElectLeadersResponse } from '../../wire/generated/messages/elect-leaders-response.js';
import type { MetadataResponse } from '../../wire/generated/messages/metadata-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRequestFrame } from '../../wire/header.js';
import { negotiate, startCluster, type ClusterHandle } from '../support/cluster.js';
import { withClient } from '../support/kafka-client.js';
import { sendRawBytes } from '../support/raw-client.js';
import { sleep, topicName, waitFor } from '../support/util.js';

const PARTITIONS = 3;
const SESSION_TIMEOUT_MS = 6_000;
const baseEnv = {
  KAFKA_BROKER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
  KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
  KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
  KAFKA_REQUEST_TIMEOUT_MS: '10000',
};

let cluster: ClusterHandle;
const topic = topicName('elect');

type Results = Array<[string, Array<[number, number]>]>;
const results = (r: ElectLeadersResponse): Results => r.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => [p.partitionId, p.errorCode])]);
const all = (code: number, n = PARTITIONS): Array<[number, number]> => Array.from({ length: n }, (_, i) => [i, code]);

async function electAt(port: number, version: number, electionType: number, topicPartitions: Array<[string, number[]]> | null, timeoutMs = 20_000): Promise<ElectLeadersResponse> {
  const body: ElectLeadersRequest = {
    electionType,
    topicPartitions: topicPartitions === null ? null : topicPartitions.map(([t, partitions]) => ({ topic: t, partitions })),
    timeoutMs: 10_000,
  };
  return withClient(port, (c) => c.send(ApiKey.ElectLeaders, version, body, timeoutMs));
}

/** ElectLeaders through node `id`'s client listener. */
const elect = (id: number, version: number, electionType: number, tps: Array<[string, number[]]> | null) => electAt(cluster.node(id).clientPort, version, electionType, tps);

async function createTopic(c: ClusterHandle, id: number, name: string): Promise<void> {
  await waitFor(
    `CreateTopics ${name} (replication factor 3) through node ${id}`,
    async () => {
      const r = await withClient(c.node(id).clientPort, (k) =>
        k.send(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false }, 20_000),
      );
      const code = r.topics[0]!.errorCode;
      if (code === ErrorCode.NONE || code === ErrorCode.TOPIC_ALREADY_EXISTS) return true;
      throw new Error(`CreateTopics: error ${code} ${r.topics[0]!.errorMessage ?? ''}`);
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

type Partition = MetadataResponse['topics'][number]['partitions'][number];

/** The topic's partitions as node `id` sees them, by index. */
async function partitionsAt(c: ClusterHandle, id: number, name: string): Promise<Partition[]> {
  const md = await c.metadata(id, [name]);
  const t = md.topics.find((x) => x.name === name);
  if (!t || t.errorCode !== ErrorCode.NONE) throw new Error(`node ${id}: topic ${name} ${t ? `error ${t.errorCode}` : 'missing'}`);
  return [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
}

/** Waits until every live node sees each partition led by its first replica (3 replicas each). */
async function waitForPreferredLeaders(c: ClusterHandle, name: string, timeoutMs = 20_000): Promise<Partition[]> {
  return waitFor(
    `every partition of ${name} led by its preferred replica on every live node`,
    async () => {
      let seen: Partition[] = [];
      for (const n of c.live()) {
        seen = await partitionsAt(c, n.id, name);
        if (seen.length !== PARTITIONS) throw new Error(`node ${n.id}: ${seen.length} partitions`);
        for (const p of seen) {
          if (p.replicaNodes.length !== 3) throw new Error(`node ${n.id}: ${name}-${p.partitionIndex} replicas ${p.replicaNodes}`);
          if (p.leaderId !== p.replicaNodes[0]) throw new Error(`node ${n.id}: ${name}-${p.partitionIndex} led by ${p.leaderId}, replicas ${p.replicaNodes}`);
        }
      }
      return seen;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** The partition of `name` that `leader` leads as its preferred replica. */
function partitionLedBy(parts: Partition[], leader: number): Partition {
  const p = parts.find((x) => x.leaderId === leader && x.replicaNodes[0] === leader);
  if (!p) throw new Error(`no partition led by its preferred replica ${leader}: ${JSON.stringify(parts.map((x) => [x.partitionIndex, x.leaderId, x.replicaNodes]))}`);
  return p;
}

function expectAllUp(c: ClusterHandle, what: string): void {
  for (const n of c.live()) {
    expect(n.broker.exitStatus(), `${n.name} still runs after ${what}`).toBeUndefined();
    expect(n.broker.output(), `${n.name} logged no fatal error after ${what}`).not.toMatch(/"level":60|uncaught|unhandled/i);
  }
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, env: { ...baseEnv, KAFKA_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS: '2' } });
  await cluster.waitForLeader();
  await createTopic(cluster, 1, topic);
  await waitForPreferredLeaders(cluster, topic);
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('ElectLeaders on a three-node cluster', { timeout: 60_000 }, () => {
  it('PREFERRED when the preferred replicas lead: ELECTION_NOT_NEEDED per partition, through every node and every version', async () => {
    for (const n of cluster.nodes) {
      const version = await negotiate(n.clientPort, ApiKey.ElectLeaders, 2);
      expect(version).toBe(2);
      for (const v of [0, 1, 2]) {
        const r = await elect(n.id, v, 0, [[topic, [0, 1, 2]]]);
        expect(results(r), `node ${n.id} v${v}`).toEqual([[topic, all(ErrorCode.ELECTION_NOT_NEEDED)]]);
        if (v >= 1) expect(r.errorCode).toBe(ErrorCode.NONE);
        expect(r.replicaElectionResults[0]!.partitionResult[0]!.errorMessage).toMatch(/not needed/i);
      }
    }
    // Nothing moved.
    await waitForPreferredLeaders(cluster, topic, 5_000);
  });

  it('UNCLEAN when every partition has a leader: ELECTION_NOT_NEEDED; all partitions (null) lists none of them', async () => {
    expect(results(await elect(2, 2, 1, [[topic, [0, 1, 2]]]))).toEqual([[topic, all(ErrorCode.ELECTION_NOT_NEEDED)]]);
    for (const type of [0, 1]) {
      const r = await elect(3, 2, type, null);
      expect(r.errorCode).toBe(ErrorCode.NONE);
      const mine = r.replicaElectionResults.find((t) => t.topic === topic);
      expect(mine, `type ${type}: the topic is listed`).toBeDefined();
      expect(mine!.partitionResult, `type ${type}: no partition needed an election`).toEqual([]);
    }
  });

  it('unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION, known ones still answered', async () => {
    const r = await elect(1, 2, 0, [['no-such-topic', [0]], [topic, [99, 1]]]);
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(results(r)).toEqual([
      ['no-such-topic', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      [topic, [[99, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [1, ErrorCode.ELECTION_NOT_NEEDED]]],
    ]);
    // v0 has no top-level error code: the same answer per partition.
    expect(results(await elect(2, 0, 0, [['no-such-topic', [0]]]))).toEqual([['no-such-topic', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]]);
  });

  it('at the controller listeners: the active controller decides, the others answer NOT_CONTROLLER', async () => {
    const leader = await cluster.waitForLeader();
    for (const n of cluster.nodes) {
      const r = await electAt(n.controllerPort, 2, 0, [[topic, [0]]]);
      if (n.id === leader.leaderId) {
        expect(results(r), `active controller ${n.id}`).toEqual([[topic, [[0, ErrorCode.ELECTION_NOT_NEEDED]]]]);
      } else {
        expect(r.errorCode, `controller ${n.id}`).toBe(ErrorCode.NOT_CONTROLLER);
        expect(results(r)).toEqual([[topic, [[0, ErrorCode.NOT_CONTROLLER]]]]);
      }
    }
  });

  it('an unknown election type: INVALID_REQUEST at the top and per partition; the connection stays open', async () => {
    await withClient(cluster.node(2).clientPort, async (c) => {
      for (const [v, type] of [[1, 2], [2, -1], [2, 127]] as const) {
        const r = await c.send(ApiKey.ElectLeaders, v, { electionType: type, topicPartitions: [{ topic, partitions: [0, 1] }, { topic: 'nope', partitions: [5] }], timeoutMs: 5_000 });
        expect(r.errorCode, `v${v} type ${type}`).toBe(ErrorCode.INVALID_REQUEST);
        expect(results(r)).toEqual([[topic, [[0, ErrorCode.INVALID_REQUEST], [1, ErrorCode.INVALID_REQUEST]]], ['nope', [[5, ErrorCode.INVALID_REQUEST]]]]);
      }
      const nullAll = await c.send(ApiKey.ElectLeaders, 2, { electionType: 9, topicPartitions: null, timeoutMs: 5_000 });
      expect(nullAll).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] });
      // Same connection, a valid request.
      expect(results(await c.send(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic, partitions: [2] }], timeoutMs: 5_000 }))).toEqual([[topic, [[2, ErrorCode.ELECTION_NOT_NEEDED]]]]);
      expect(c.conn.closed).toBe(false);
    });
    await waitForPreferredLeaders(cluster, topic, 5_000);
  });

  it('malformed ElectLeaders frames close the connection; every process stays up and serves', async () => {
    const valid = (v: number) => encodeRequestFrame(ApiKey.ElectLeaders, v, 7, 'bad', { electionType: 0, topicPartitions: [{ topic, partitions: [0] }], timeoutMs: 5_000 });
    const truncated = (() => {
      const f = valid(2);
      const cut = f.subarray(0, f.length - 6);
      cut.writeInt32BE(cut.length - 4, 0);
      return Buffer.from(cut);
    })();
    const hugeArray = (() => {
      // v1: ... topicPartitions (int32 count) timeoutMs (int32); an empty list with its count set to 2^31-1.
      const f = Buffer.from(encodeRequestFrame(ApiKey.ElectLeaders, 1, 8, 'bad', { electionType: 0, topicPartitions: [], timeoutMs: 5_000 }));
      f.writeInt32BE(0x7fffffff, f.length - 8);
      return f;
    })();
    const trailingGarbageInPartitions = (() => {
      // v2: a partitions compact array claiming far more int32s than the frame holds.
      const f = Buffer.from(valid(2));
      const i = f.lastIndexOf(Buffer.from([2, 0, 0, 0, 0]));
      if (i < 0) throw new Error('partitions array not found');
      f[i] = 0x7f;
      return f;
    })();
    for (const [what, frame] of [['truncated v2', truncated], ['v1 array count 2^31-1', hugeArray], ['v2 partitions count too large', trailingGarbageInPartitions]] as const) {
      for (const port of [cluster.node(1).clientPort, cluster.node(3).controllerPort]) {
        expect((await sendRawBytes(port, frame)).kind, `${what} at port ${port}`).toBe('closed');
      }
    }
    expectAllUp(cluster, 'malformed ElectLeaders frames');
    expect(results(await elect(1, 2, 0, [[topic, [0]]]))).toEqual([[topic, [[0, ErrorCode.ELECTION_NOT_NEEDED]]]]);
  });
});

/** State the kill test leaves for the replication-dependent one. */
let killed = -1;
let killedPartition = -1;

describe('ElectLeaders after a leader is killed', { timeout: 90_000 }, () => {
  it('kill -9 a partition leader: once fenced, leadership moved and PREFERRED is PREFERRED_LEADER_NOT_AVAILABLE; it restarts and registers', async () => {
    const quorumLeader = (await cluster.waitForLeader()).leaderId;
    const parts = await waitForPreferredLeaders(cluster, topic);
    // A broker that is not the active controller, so the quorum keeps its leader.
    killed = [1, 2, 3].find((id) => id !== quorumLeader)!;
    const p = partitionLedBy(parts, killed);
    killedPartition = p.partitionIndex;
    await cluster.kill9(killed);
    const survivor = cluster.live()[0]!.id;
    await waitFor(
      `${topic}-${killedPartition} led by another replica, ${killed} out of its ISR`,
      async () => {
        const now = (await partitionsAt(cluster, survivor, topic))[killedPartition]!;
        return now.leaderId >= 0 && now.leaderId !== killed && !now.isrNodes.includes(killed) ? now : false;
      },
      { timeoutMs: SESSION_TIMEOUT_MS + 15_000, intervalMs: 250 },
    );
    expect(results(await elect(survivor, 2, 0, [[topic, [killedPartition]]]))).toEqual([[topic, [[killedPartition, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]]]]);
    expect(results(await elect(survivor, 2, 1, [[topic, [killedPartition]]]))).toEqual([[topic, [[killedPartition, ErrorCode.ELECTION_NOT_NEEDED]]]]);
    const everything = await elect(survivor, 2, 0, null);
    expect(results(everything).find(([t]) => t === topic)).toEqual([topic, [[killedPartition, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]]]);
    // The automatic rebalance (every 2 s) cannot move it either.
    await sleep(3_000);
    expect((await partitionsAt(cluster, survivor, topic))[killedPartition]!.leaderId).not.toBe(killed);
    await cluster.restart(killed);
    await cluster.waitForBrokers([1, 2, 3], 30_000);
    expectAllUp(cluster, 'kill -9 and restart');
  });

  it('the restarted preferred replica rejoins the ISR and leads again within ~10 s (auto rebalance every 2 s)', async () => {
    expect(killed).toBeGreaterThan(0);
    const isrAt = await waitFor(
      `${killed} back in the ISR of ${topic}-${killedPartition}`,
      async () => {
        const now = (await partitionsAt(cluster, killed, topic))[killedPartition]!;
        return now.isrNodes.includes(killed) ? Date.now() : false;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const ledAt = await waitFor(
      `${killed} leads ${topic}-${killedPartition} again on every node`,
      async () => {
        for (const n of cluster.live()) if ((await partitionsAt(cluster, n.id, topic))[killedPartition]!.leaderId !== killed) return false;
        return Date.now();
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(ledAt - isrAt).toBeLessThan(10_000);
  });

  it('auto.leader.rebalance.enable=false: leadership stays moved until ElectLeaders PREFERRED moves it back', async () => {
    await cluster.stop();
    const off = await startCluster({ nodes: 3, env: { ...baseEnv, KAFKA_AUTO_LEADER_REBALANCE_ENABLE: 'false', KAFKA_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS: '1' } });
    try {
      const quorumLeader = (await off.waitForLeader()).leaderId;
      const name = topicName('elect-off');
      await createTopic(off, quorumLeader, name);
      const parts = await waitForPreferredLeaders(off, name);
      const victim = [1, 2, 3].find((id) => id !== quorumLeader)!;
      const p = partitionLedBy(parts, victim).partitionIndex;
      await off.kill9(victim);
      await waitFor(
        `${name}-${p} led by another replica`,
        async () => {
          const now = (await partitionsAt(off, quorumLeader, name))[p]!;
          return now.leaderId >= 0 && now.leaderId !== victim;
        },
        { timeoutMs: SESSION_TIMEOUT_MS + 15_000, intervalMs: 250 },
      );
      await off.restart(victim);
      await waitFor(`${victim} back in the ISR of ${name}-${p}`, async () => (await partitionsAt(off, quorumLeader, name))[p]!.isrNodes.includes(victim), { timeoutMs: 60_000, intervalMs: 250 });
      await sleep(4_000);
      expect((await partitionsAt(off, quorumLeader, name))[p]!.leaderId, 'no automatic rebalance').not.toBe(victim);
      const r = await electAt(off.node(victim).clientPort, 2, 0, [[name, [p]]]);
      expect(results(r)).toEqual([[name, [[p, ErrorCode.NONE]]]]);
      // The broker answered once its own image had the change.
      expect((await partitionsAt(off, victim, name))[p]!.leaderId).toBe(victim);
      await waitForPreferredLeaders(off, name, 10_000);
    } finally {
      await off.stop();
    }
  }, 150_000);
});
