// Issue #5: the quorum's own APIs at a controller listener, with requests a healthy voter would
// never send, over the raw client (generated codecs). Each gets Kafka's error code, nothing
// crashes, and the quorum's leader and epoch (DescribeQuorum) stay as they were. Then the CLI:
// `npm run quorum -- describe --bootstrap-controller 127.0.0.1:<port>`.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { METADATA_TOPIC_ID, ZERO_UUID } from '../../wire/primitives.js';
import { REPO_ROOT } from '../support/broker.js';
import { METADATA_TOPIC, negotiate, startCluster, type ClusterHandle, type QuorumView } from '../support/cluster.js';
import { withClient } from '../support/kafka-client.js';
import { sleep } from '../support/util.js';

const WRONG_CLUSTER_ID = 'WrongClusterIdWrongClu';

let cluster: ClusterHandle;
/** The quorum as it must stay: leader and epoch recorded once the cluster settled. */
let settled: QuorumView;
const follower = () => cluster.nodes.find((n) => n.id !== settled.leaderId)!;
const leaderNode = () => cluster.node(settled.leaderId);

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  settled = await cluster.waitForLeader();
  // A stale-but-well-formed Vote needs candidate epoch ≥ 1 with a lower last epoch: get to epoch ≥ 2.
  if (settled.leaderEpoch < 2) {
    const old = settled.leaderId;
    await cluster.stopNode(old);
    await cluster.waitForLeader({ exclude: [old], minEpoch: 2, timeoutMs: 15_000 });
    await cluster.restart(old);
  }
  await cluster.waitForBrokers([1, 2, 3]);
  settled = await cluster.waitForLeader();
}, 90_000);

/** Leader id and epoch unchanged (asked again after a short pause, so a disturbance shows). */
async function expectQuorumUnchanged(what: string): Promise<void> {
  await sleep(500);
  const now = await cluster.waitForLeader({ timeoutMs: 5_000 });
  expect({ leader: now.leaderId, epoch: now.leaderEpoch }, `quorum after ${what}`).toEqual({ leader: settled.leaderId, epoch: settled.leaderEpoch });
  for (const n of cluster.nodes) {
    expect(n.broker.exitStatus(), `${n.name} still runs after ${what}`).toBeUndefined();
    expect(n.broker.output(), `${n.name} logged no fatal error after ${what}`).not.toMatch(/"level":60|uncaught|unhandled/i);
  }
}

async function vote(port: number, body: { clusterId: string | null; voterId: number; candidateEpoch: number; candidateId: number; lastOffsetEpoch: number; lastOffset: bigint }) {
  const version = await negotiate(port, ApiKey.Vote, 1);
  return withClient(port, (c) =>
    c.send(ApiKey.Vote, version, {
      clusterId: body.clusterId,
      voterId: body.voterId,
      topics: [
        {
          topicName: METADATA_TOPIC,
          partitions: [
            {
              partitionIndex: 0,
              candidateEpoch: body.candidateEpoch,
              candidateId: body.candidateId,
              candidateDirectoryId: ZERO_UUID,
              voterDirectoryId: ZERO_UUID,
              lastOffsetEpoch: body.lastOffsetEpoch,
              lastOffset: body.lastOffset,
            },
          ],
        },
      ],
    }),
  );
}

describe('quorum APIs with bad input at a controller listener', { timeout: 30_000 }, () => {
  it('Vote from a node outside the voter set (claiming a higher epoch): INCONSISTENT_VOTER_SET, not granted, no new epoch', async () => {
    for (const target of [follower(), leaderNode()]) {
      const r = await vote(target.controllerPort, {
        clusterId: cluster.clusterId,
        voterId: target.id,
        candidateEpoch: settled.leaderEpoch + 1,
        candidateId: 99,
        lastOffsetEpoch: settled.leaderEpoch,
        lastOffset: settled.highWatermark + 1_000n,
      });
      expect(r.errorCode, `Vote to ${target.name}: top-level error`).toBe(ErrorCode.NONE);
      const p = r.topics[0]!.partitions[0]!;
      expect(p.errorCode, `Vote to ${target.name}: ${ErrorCode[p.errorCode]}`).toBe(ErrorCode.INCONSISTENT_VOTER_SET);
      expect(p.voteGranted).toBe(false);
      expect(p.leaderEpoch).toBe(settled.leaderEpoch);
    }
    await expectQuorumUnchanged('a Vote from a non-voter');
  });

  it('Vote with a stale epoch: FENCED_LEADER_EPOCH with the current leader and epoch, not granted', async () => {
    const target = follower();
    const candidate = cluster.nodes.find((n) => n.id !== target.id)!;
    const r = await vote(target.controllerPort, {
      clusterId: cluster.clusterId,
      voterId: target.id,
      candidateEpoch: settled.leaderEpoch - 1,
      candidateId: candidate.id,
      lastOffsetEpoch: settled.leaderEpoch - 2,
      lastOffset: 0n,
    });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    const p = r.topics[0]!.partitions[0]!;
    expect(p.errorCode, ErrorCode[p.errorCode]).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(p.voteGranted).toBe(false);
    expect({ leader: p.leaderId, epoch: p.leaderEpoch }).toEqual({ leader: settled.leaderId, epoch: settled.leaderEpoch });
    await expectQuorumUnchanged('a stale Vote');
  });

  it('Fetch of __cluster_metadata past the leader log end: a diverging epoch ending at the log end, no records, high watermark unmoved', async () => {
    const port = leaderNode().controllerPort;
    const version = await negotiate(port, ApiKey.Fetch, 17, 13);
    const before = await cluster.describeQuorum(settled.leaderId);
    const leaderEnd = before.voters.find((v) => v.replicaId === settled.leaderId)!.logEndOffset;
    const fetchOffset = leaderEnd + 1_000_000n;
    const r = await withClient(port, (c) =>
      c.send(ApiKey.Fetch, version, {
        clusterId: cluster.clusterId,
        replicaId: 99,
        replicaState: { replicaId: 99, replicaEpoch: -1n },
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topicId: METADATA_TOPIC_ID,
            partitions: [
              { partition: 0, currentLeaderEpoch: settled.leaderEpoch, fetchOffset, lastFetchedEpoch: settled.leaderEpoch, logStartOffset: -1n, partitionMaxBytes: 1 << 20 },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      }),
    );
    expect(r.errorCode, `top-level ${ErrorCode[r.errorCode ?? 0]}`).toBe(ErrorCode.NONE);
    const p = r.responses[0]!.partitions[0]!;
    expect(p.errorCode, `partition ${ErrorCode[p.errorCode]}`).toBe(ErrorCode.NONE);
    expect(p.divergingEpoch?.epoch, 'diverging epoch').toBe(settled.leaderEpoch);
    expect(p.divergingEpoch!.endOffset).toBeLessThan(fetchOffset);
    expect(p.divergingEpoch!.endOffset).toBeGreaterThanOrEqual(leaderEnd);
    expect(p.records === null || p.records.length === 0, 'no records').toBe(true);
    const after = await cluster.describeQuorum(settled.leaderId);
    expect(after.highWatermark).toBeLessThan(fetchOffset);
    expect(after.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3]);
    await expectQuorumUnchanged('a Fetch past the log end');
  });

  it('BeginQuorumEpoch and Vote with a wrong cluster id: INCONSISTENT_CLUSTER_ID, no state change', async () => {
    const target = follower();
    const port = target.controllerPort;
    const bqeVersion = await negotiate(port, ApiKey.BeginQuorumEpoch, 1);
    const bqe = await withClient(port, (c) =>
      c.send(ApiKey.BeginQuorumEpoch, bqeVersion, {
        clusterId: WRONG_CLUSTER_ID,
        voterId: target.id,
        topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0, voterDirectoryId: ZERO_UUID, leaderId: target.id === 1 ? 2 : 1, leaderEpoch: settled.leaderEpoch + 1 }] }],
        leaderEndpoints: [],
      }),
    );
    expect(bqe.errorCode, `BeginQuorumEpoch: ${ErrorCode[bqe.errorCode]}`).toBe(ErrorCode.INCONSISTENT_CLUSTER_ID);

    const v = await vote(port, {
      clusterId: WRONG_CLUSTER_ID,
      voterId: target.id,
      candidateEpoch: settled.leaderEpoch + 1,
      candidateId: settled.leaderId,
      lastOffsetEpoch: settled.leaderEpoch,
      lastOffset: settled.highWatermark + 1_000n,
    });
    expect(v.errorCode, `Vote: ${ErrorCode[v.errorCode]}`).toBe(ErrorCode.INCONSISTENT_CLUSTER_ID);
    await expectQuorumUnchanged('requests with a wrong cluster id');
  });

  it('the cluster still works: topic creation through a follower, visible on every node', async () => {
    const port = follower().clientPort;
    const version = await negotiate(port, ApiKey.CreateTopics, 7);
    const name = `kraft-bad-input-after-${Date.now().toString(36)}`;
    const r = await withClient(port, (c) =>
      c.send(ApiKey.CreateTopics, version, { topics: [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false }, 20_000),
    );
    expect(r.topics[0]!.errorCode, `${ErrorCode[r.topics[0]!.errorCode]} ${r.topics[0]!.errorMessage}`).toBe(ErrorCode.NONE);
    for (const n of cluster.nodes) {
      let seen = false;
      for (let i = 0; i < 50 && !seen; i++) {
        seen = (await cluster.metadata(n.id, [name])).topics[0]?.errorCode === 0;
        if (!seen) await sleep(200);
      }
      expect(seen, `${name} on ${n.name}`).toBe(true);
    }
    await expectQuorumUnchanged('a topic creation');
  });
});

/** The `quorum` npm script's command without its build step (the suite runs after `npm run build`). */
function quorumCommand(): { script: string; argv: string[] } {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const name = ['quorum', 'metadata-quorum', 'kafka-metadata-quorum'].find((n) => pkg.scripts[n] !== undefined);
  if (!name) throw new Error(`package.json has no quorum CLI script (scripts: ${Object.keys(pkg.scripts).join(', ')})`);
  const cmd = pkg.scripts[name]!.split('&&').map((s) => s.trim()).filter((s) => !/^npm run build/.test(s)).join(' && ');
  const m = /^node\s+(\S+)(.*)$/.exec(cmd);
  if (!m) throw new Error(`cannot run the "${name}" script directly: ${pkg.scripts[name]}`);
  return { script: path.join(REPO_ROOT, m[1]!), argv: m[2]!.trim() === '' ? [] : m[2]!.trim().split(/\s+/) };
}

function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; out: string }> {
  const { script, argv } = quorumCommand();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...argv, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => {
      out += `\n[e2e] killed after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('quorum CLI', () => {
  it('`npm run quorum -- describe --bootstrap-controller` prints the leader, epoch, high watermark and every voter with its lag', async () => {
    const q = await cluster.waitForLeader();
    const target = follower();
    const args = ['describe', '--bootstrap-controller', `127.0.0.1:${target.controllerPort}`];
    const r = await runCli(args);
    expect(r.code, `quorum ${args.join(' ')}\n${r.out}`).toBe(0);
    const text = r.out;
    // Kafka's `kafka-metadata-quorum describe --status --replication` layout: LeaderId, LeaderEpoch,
    // HighWatermark, then a table with one row per voter: NodeId, LogEndOffset, Lag, ..., Status.
    expect(text, 'leader id').toMatch(new RegExp(`^\\s*LeaderId:\\s*${q.leaderId}\\s*$`, 'mi'));
    expect(text, 'leader epoch').toMatch(new RegExp(`^\\s*LeaderEpoch:\\s*${q.leaderEpoch}\\s*$`, 'mi'));
    const hw = /^\s*HighWatermark:\s*(\d+)\s*$/im.exec(text);
    expect(hw, 'high watermark line').not.toBeNull();
    expect(Number(hw![1])).toBeGreaterThan(0);
    const lines = text.split('\n');
    const header = lines.findIndex((l) => /NodeId\s+LogEndOffset\s+Lag\b/i.test(l));
    expect(header, 'a NodeId / LogEndOffset / Lag table').toBeGreaterThanOrEqual(0);
    const rows = lines.slice(header + 1).map((l) => /^\s*(\d+)\s+(-?\d+)\s+(-?\d+)\b.*\b(Leader|Follower|Observer)\s*$/i.exec(l)).filter((m) => m !== null);
    const voters = rows.filter((m) => !/observer/i.test(m![4]!));
    expect(voters.map((m) => Number(m![1])).sort(), `one row per voter\n${text}`).toEqual([1, 2, 3]);
    for (const m of voters) {
      expect(Number(m![3]), `voter ${m![1]} lag`).toBeGreaterThanOrEqual(0);
      expect(/leader/i.test(m![4]!), `voter ${m![1]} status`).toBe(Number(m![1]) === q.leaderId);
    }
  });
});
