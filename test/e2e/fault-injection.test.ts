// The test-only fault-injection hook (broker/fault-injection.ts, KAFKA_FAULT_INJECTION_FILE) on
// real broker processes: the network partitions the replication tests rely on.
// - One node: with `{"isolated": true}` clients are still served (ApiVersions, Metadata, create,
//   produce, fetch), a request whose client id names a peer broker (`broker-<id>-txn`,
//   `node-<id>-raft`, `broker-<id>-replica-fetcher`, ...) is dropped by closing the connection,
//   the node's own id is not a peer; malformed files are ignored with a log line (the state
//   stays, the process lives); a removed file heals.
// - Three nodes: the isolated quorum leader loses its role (the other two elect a new leader at
//   a higher epoch), its controller listener drops every request, the new controller fences it
//   (Metadata of the majority lists 2 brokers) while its own client listener still answers; once
//   healed it follows the leader again, is unfenced and its metadata log catches up.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { METADATA_TOPIC, startCluster, type ClusterHandle } from '../support/cluster.js';
import { FAULT_INJECTION_ENV, clearFaults, requestAs, setIsolated, writeFaultFile } from '../support/faults.js';
import { withClient } from '../support/kafka-client.js';
import { topicName, waitFor } from '../support/util.js';
import { fetchPartition, READ_UNCOMMITTED } from './txn-support.js';

const PEER_IDS = ['broker-2-txn', 'node-3-raft', 'broker-2-controller-channel', 'broker-3-replica-fetcher'];

async function apiVersionsAs(port: number, clientId: string) {
  return requestAs(port, clientId, ApiKey.ApiVersions, 0, {} as never);
}

describe('fault injection on one node', { timeout: 60_000 }, () => {
  let broker: BrokerHandle;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'faults-e2e-'));
    file = path.join(dir, 'faults.json');
    broker = await startBroker({ env: { [FAULT_INJECTION_ENV]: file, KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' } });
  });
  afterAll(async () => {
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('no file: peers and clients are both served, and the broker says fault injection is on', async () => {
    for (const id of [...PEER_IDS, 'test-client']) expect((await apiVersionsAs(broker.port, id)).kind, id).toBe('response');
    expect(broker.output()).toMatch(/fault injection is ON/);
  });

  it('isolated: clients are served (metadata, create, produce, fetch), requests from peers are dropped, its own id is not a peer', async () => {
    await setIsolated(file, true);
    expect(broker.output()).toMatch(/ISOLATED from every peer/);
    for (const id of PEER_IDS) expect((await apiVersionsAs(broker.port, id)).kind, `client id ${id}`).toBe('closed');
    for (const id of ['test-client', 'broker-1-txn', 'node-1-raft', 'rdkafka', 'brokerX-2-txn', '']) expect((await apiVersionsAs(broker.port, id)).kind, `client id "${id}"`).toBe('response');
    const kafka = kafkajs(broker.bootstrap, 'e2e-faults');
    const topic = topicName('faults-single');
    await withAdmin(kafka, async (admin) => {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true, timeout: 10_000 })).toBe(true);
    });
    await withProducer(kafka, (p) => p.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }] }));
    await withClient(broker.port, async (c) => {
      const f = await fetchPartition(c, topic, 0, 0, READ_UNCOMMITTED);
      expect(f.batches.flatMap((b) => b.values)).toEqual(['a', 'b']);
    });
  });

  it('malformed fault files are ignored with a log line: the state stays, the broker lives', async () => {
    for (const bad of ['{not json', '{"isolated": "yes"}', '[true]', 'null', '\u0000\u00ff']) {
      const before = (broker.output().match(/malformed fault file ignored/g) ?? []).length;
      await writeFaultFile(file, bad);
      await waitFor(`a log line about ${JSON.stringify(bad)}`, () => (broker.output().match(/malformed fault file ignored/g) ?? []).length === before + 1, { timeoutMs: 5_000, intervalMs: 100 });
      expect(broker.exitStatus(), 'the broker process is still running').toBeUndefined();
      expect((await apiVersionsAs(broker.port, 'broker-2-txn')).kind, 'still isolated').toBe('closed');
      expect((await apiVersionsAs(broker.port, 'test-client')).kind).toBe('response');
    }
  });

  it('healed by {"isolated": false}, and by removing the file', async () => {
    await setIsolated(file, false);
    for (const id of PEER_IDS) expect((await apiVersionsAs(broker.port, id)).kind, id).toBe('response');
    await setIsolated(file, true);
    expect((await apiVersionsAs(broker.port, 'broker-2-txn')).kind).toBe('closed');
    await clearFaults(file);
    expect((await apiVersionsAs(broker.port, 'broker-2-txn')).kind).toBe('response');
    expect(broker.exitStatus()).toBeUndefined();
  });
});

describe('fault injection on a 3-node cluster', { timeout: 120_000 }, () => {
  let cluster: ClusterHandle;

  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      faultInjection: true,
      env: { KAFKA_BROKER_SESSION_TIMEOUT_MS: '6000', KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' },
    });
  }, 90_000);

  it('the isolated quorum leader loses its role and is fenced; clients still reach it; healed, it rejoins', async () => {
    const before = await cluster.waitForLeader();
    const L = before.leaderId;
    const others = cluster.nodes.map((n) => n.id).filter((id) => id !== L);
    const isolatedAt = Date.now();
    await cluster.isolate(L);

    // Its controller listener drops every request (DescribeQuorum from a test client too).
    const dq = await requestAs(cluster.node(L).controllerPort, 'test-client', ApiKey.DescribeQuorum, 0, {
      topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] }],
    } as never);
    expect(dq.kind).toBe('closed');

    // The majority elects a new leader at a higher epoch (the isolated node cannot answer).
    const after = await cluster.waitForLeader({ exclude: [L], minEpoch: before.leaderEpoch + 1, timeoutMs: 20_000 });
    expect(others).toContain(after.leaderId);
    for (const id of others) {
      const s = await cluster.quorumStatus(id);
      if (s.kind === 'view') expect(s.view.leaderId, `DescribeQuorum at ${id}`).toBe(after.leaderId);
      else expect(s.kind === 'error' && s.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER, `DescribeQuorum at ${id}: ${s.detail}`).toBe(true);
    }
    // eslint-disable-next-line no-console
    console.log(`isolated leader ${L}: new leader ${after.leaderId} (epoch ${after.leaderEpoch}) after ${Date.now() - isolatedAt} ms`);

    // The new controller stops hearing L's heartbeats and fences it.
    await waitFor(
      `Metadata from nodes ${others.join(',')} to list brokers ${others.join(',')} only`,
      async () => {
        for (const id of others) {
          const b = (await cluster.metadata(id)).brokers.map((x) => x.nodeId).sort();
          if (b.join() !== others.join()) throw new Error(`node ${id} lists [${b}]`);
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // eslint-disable-next-line no-console
    console.log(`isolated node ${L} fenced after ${Date.now() - isolatedAt} ms`);

    // Clients still reach L (its last image), and the majority keeps working.
    expect((await apiVersionsAs(cluster.node(L).clientPort, 'test-client')).kind).toBe('response');
    const md = await cluster.metadata(L);
    expect(md.brokers.length).toBeGreaterThan(0);
    const topic = topicName('faults-majority');
    await withAdmin(kafkajs(cluster.node(others[0]!).bootstrap, 'e2e-faults-majority', { retries: 5, initialRetryTime: 300, maxRetryTime: 3_000 }), async (admin) => {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true, timeout: 10_000 })).toBe(true);
    });
    // L never learns of it while isolated.
    const atL = (await cluster.metadata(L, [topic])).topics[0];
    expect(atL?.errorCode, `topic ${topic} at the isolated node`).not.toBe(ErrorCode.NONE);

    // Heal: L follows the leader again, is unfenced, catches up.
    const healedAt = Date.now();
    await cluster.heal(L);
    await cluster.waitForLeader({ timeoutMs: 20_000 });
    await cluster.waitForBrokers([1, 2, 3], 30_000);
    await waitFor(
      `node ${L} sees ${topic}`,
      async () => (await cluster.metadata(L, [topic])).topics[0]?.errorCode === ErrorCode.NONE,
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    await waitFor(
      'every voter caught up to the high watermark',
      async () => {
        const view = await cluster.waitForLeader({ timeoutMs: 5_000 });
        const behind = view.voters.filter((v) => v.logEndOffset < view.highWatermark);
        if (behind.length > 0) throw new Error(`behind ${view.highWatermark}: ${behind.map((v) => `${v.replicaId}@${v.logEndOffset}`).join(', ')}`);
        return true;
      },
      { timeoutMs: 20_000 },
    );
    // eslint-disable-next-line no-console
    console.log(`healed node ${L} unfenced and caught up after ${Date.now() - healedAt} ms`);
    for (const n of cluster.nodes) expect(n.alive, `node ${n.id} still running`).toBe(true);
  });
});
