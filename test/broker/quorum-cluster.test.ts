// Three metadata quorums in one process, talking Kafka's quorum APIs over real sockets (each has
// a controller listener served by the controller handlers): one active controller is elected,
// decisions commit on every node, a follower refuses decisions, a resigning leader is replaced,
// and a node that fell behind the leader's snapshot catches up by FetchSnapshot.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopics } from '../../kraft/controller.js';
import type { MetadataImage } from '../../kraft/image.js';
import { NotControllerError, RaftMetadataQuorum } from '../../kraft/raft-quorum.js';
import { registerBrokerRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { listSnapshotFiles } from '../../kraft/snapshot.js';
import type { Voter } from '../../kraft/voters.js';
import { BrokerConfig } from '../../broker/config.js';
import { QuorumController } from '../../broker/controller/quorum-controller.js';
import { VoterTransport } from '../../broker/controller/raft-transport.js';
import type { ControllerServices } from '../../broker/controller/services.js';
import { controllerHandlers } from '../../broker/handlers/controller-index.js';
import { PeerConnection } from '../../broker/network/client.js';
import { NetworkServer } from '../../broker/network/server.js';
import { ApiKey } from '../../wire/generated/api.js';
import { Router } from '../../broker/router.js';
import { cleanupTempDirs, logger, tempDir, uuid, uuidSequence } from '../kraft/helpers.js';

const CLUSTER = 'quorum-test-cluster00';
const TIMING = { tickMs: 20, electionTimeoutMs: 300, fetchTimeoutMs: 600, requestTimeoutMs: 600, retryBackoffMs: 20, fetchMaxWaitMs: 100 };

interface Node {
  id: number;
  dir: string;
  server: NetworkServer;
  port: number;
  quorum: RaftMetadataQuorum | null;
  controller: QuorumController | null;
}

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await stopNode(n);
  cleanupTempDirs();
});

/** A controller listener on `port` (0: any) whose handlers reach the node's quorum once it exists. */
async function bind(id: number, dir: string, port = 0): Promise<Node> {
  const node: Node = { id, dir, server: null as unknown as NetworkServer, port, quorum: null, controller: null };
  const handlers = controllerHandlers();
  let router: Router<ControllerServices> | null = null;
  const ready = async (): Promise<Router<ControllerServices>> => {
    while (node.quorum === null || node.controller === null) await new Promise((r) => setTimeout(r, 10));
    router ??= new Router<ControllerServices>(
      {
        nodeId: id,
        clusterId: CLUSTER,
        logger,
        config: BrokerConfig.load({}),
        quorum: node.quorum,
        controller: node.controller,
        voters: [],
        listenerName: 'CONTROLLER',
        handlers,
        requestTimeoutMs: TIMING.requestTimeoutMs,
      },
      handlers,
      'CONTROLLER',
      logger,
    );
    return router;
  };
  node.server = new NetworkServer(
    () => ({ dispatch: (conn, frame) => ready().then((r) => r.dispatch(conn, frame)) }),
    { maxRequestBytes: 1 << 26, maxInFlightRequests: 100, maxPendingWriteBytes: 1 << 26, maxConnections: 1000, maxConnectionsPerIp: 1000 },
    logger,
  );
  await node.server.listen([{ name: 'CONTROLLER', host: '127.0.0.1', port }]);
  node.port = node.server.boundPorts.get('CONTROLLER')!;
  return node;
}

async function startQuorum(node: Node, voters: Voter[], snapshotBytes = 1 << 30): Promise<void> {
  node.quorum = await RaftMetadataQuorum.open({
    dir: node.dir,
    nodeId: node.id,
    clusterId: CLUSTER,
    voterIds: voters.map((v) => v.id),
    transport: new VoterTransport(voters, `test-${node.id}`, logger),
    logger,
    clock: { nowMs: () => Date.now() },
    timing: TIMING,
    endpoint: { name: 'CONTROLLER', host: '127.0.0.1', port: node.port },
    snapshotBytes,
    onFatal: (err) => {
      throw err;
    },
  });
  node.controller = new QuorumController({
    nodeId: node.id,
    clusterId: CLUSTER,
    quorum: node.quorum,
    config: BrokerConfig.load({}),
    voters,
    controllerListenerName: 'CONTROLLER',
    logger,
    nowMs: () => Date.now(),
  });
  node.quorum.start();
}

async function stopNode(n: Node): Promise<void> {
  n.controller?.stop();
  await n.quorum?.close();
  n.quorum = null;
  n.controller = null;
  await n.server.close();
}

async function cluster(count: number, snapshotBytes?: number): Promise<{ voters: Voter[] }> {
  for (let i = 1; i <= count; i++) nodes.push(await bind(i, tempDir('quorum-')));
  const voters = nodes.map((n) => ({ id: n.id, address: { host: '127.0.0.1', port: n.port } }));
  for (const n of nodes) await startQuorum(n, voters, snapshotBytes);
  return { voters };
}

async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const active = () => waitFor('an active controller', () => nodes.find((n) => n.quorum?.isActive()));

function topicDecision(name: string, ids = uuidSequence()) {
  return (image: MetadataImage) => {
    const r = createTopics(image, [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], {
      defaultNumPartitions: 1,
      defaultReplicationFactor: 1,
      validateConfig: () => null,
      randomUuid: ids,
      validateOnly: false,
    });
    return { records: r.records, result: r.results[0]! };
  };
}

const brokerReg = (id: number): ApiMessageAndVersion =>
  registerBrokerRecord({
    brokerId: id,
    incarnationId: uuid(100 + id),
    brokerEpoch: 0n,
    endPoints: [{ name: 'PLAINTEXT', host: 'h', port: 9000 + id, securityProtocol: 0 }],
    features: [],
    rack: null,
    fenced: false,
  });

describe('a three-voter metadata quorum over the quorum APIs', { timeout: 60_000 }, () => {
  it('elects one active controller; its decisions are committed and applied on every node; followers refuse decisions', async () => {
    await cluster(3);
    const leader = await active();
    expect(nodes.filter((n) => n.quorum!.isActive())).toHaveLength(1);
    // The active controller bootstraps metadata.version; then a broker and a topic.
    await leader.quorum!.commit([brokerReg(1)]);
    const created = await leader.quorum!.runExclusive(topicDecision('orders'));
    expect(created.errorCode).toBe(0);
    const offset = leader.quorum!.image.offset;
    for (const n of nodes) {
      await waitFor(`node ${n.id} applies offset ${offset}`, () => n.quorum!.image.offset >= offset);
      expect(n.quorum!.image.topicByName('orders')?.partitions.size).toBe(2);
      expect(n.quorum!.image.metadataVersion).toBe(21);
    }
    const follower = nodes.find((n) => n !== leader)!;
    await expect(follower.quorum!.runExclusive(topicDecision('nope'))).rejects.toBeInstanceOf(NotControllerError);
    expect(follower.quorum!.leaderId()).toBe(leader.id);
  });

  it('a message that breaks the protocol (a second leader named for the current epoch) is refused; nothing changes', async () => {
    await cluster(3);
    const leader = await active();
    await leader.quorum!.commit([brokerReg(1)]);
    const follower = nodes.find((n) => n !== leader)!;
    const impostor = nodes.find((n) => n !== leader && n !== follower)!;
    const epoch = leader.quorum!.epoch();
    const conn = new PeerConnection({ host: '127.0.0.1', port: follower.port }, 'impostor', logger);
    try {
      const res = await conn.send(
        ApiKey.BeginQuorumEpoch,
        1,
        { clusterId: CLUSTER, voterId: follower.id, topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0, leaderId: impostor.id, leaderEpoch: epoch }] }], leaderEndpoints: [] },
        5_000,
      );
      expect(res.errorCode).not.toBe(0);
    } finally {
      conn.close();
    }
    expect(follower.quorum!.leaderId()).toBe(leader.id);
    expect(follower.quorum!.epoch()).toBe(epoch);
    await leader.quorum!.runExclusive(topicDecision('still-works'));
    await waitFor('the topic on the follower', () => follower.quorum!.image.topicByName('still-works'));
    expect(leader.quorum!.epoch()).toBe(epoch);
  });

  it('a leader that stops resigns; another voter becomes the active controller and decides', async () => {
    await cluster(3);
    const first = await active();
    await first.quorum!.commit([brokerReg(1)]);
    const epoch = first.quorum!.epoch();
    const t0 = Date.now();
    await stopNode(first);
    const second = await waitFor('a new active controller', () => nodes.find((n) => n !== first && n.quorum?.isActive()), 5_000);
    expect(second.quorum!.epoch()).toBeGreaterThan(epoch);
    expect(Date.now() - t0).toBeLessThan(3_000);
    await second.quorum!.runExclusive(topicDecision('after'));
    const other = nodes.find((n) => n !== first && n !== second)!;
    await waitFor('the topic on the third node', () => other.quorum!.image.topicByName('after'));
  });

  it('a node far behind installs the leader\'s snapshot with FetchSnapshot', async () => {
    const { voters } = await cluster(3, 2_000);
    const leader = await active();
    const lagging = nodes.find((n) => n !== leader)!;
    await stopNode(lagging);
    await fsp.rm(lagging.dir, { recursive: true, force: true });
    await fsp.mkdir(lagging.dir, { recursive: true });
    await leader.quorum!.commit([brokerReg(1)]);
    for (let i = 0; i < 40; i++) await leader.quorum!.runExclusive(topicDecision(`t${i}`, uuidSequence(10_000 + i * 10)));
    const leaderDir = path.join(leader.dir, '__cluster_metadata-0');
    const snaps = await waitFor('a snapshot on the leader', async () => (await listSnapshotFiles(leaderDir)).length > 0 || undefined);
    expect(snaps).toBe(true);
    // Restart the wiped node on its voter port.
    const again = await bind(lagging.id, lagging.dir, lagging.port);
    nodes.splice(nodes.indexOf(lagging), 1, again);
    await startQuorum(again, voters);
    const target = leader.quorum!.image.offset;
    await waitFor('the wiped node catches up', () => again.quorum!.image.offset >= target, 15_000);
    expect(again.quorum!.image.topicByName('t39')?.partitions.size).toBe(2);
    const own = await listSnapshotFiles(path.join(again.dir, '__cluster_metadata-0'));
    expect(own.length).toBeGreaterThan(0);
  });
});
