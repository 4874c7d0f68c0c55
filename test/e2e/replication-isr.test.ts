// Issue #6 (replication): the leader itself shrinks the ISR after replica.lag.time.max.ms and
// expands it again through AlterPartition once the follower has caught up.
//
// 3 combined nodes with a short replica.lag.time.max.ms (3 s) and a long broker session timeout
// (30 s), so a stalled follower is dropped from the ISR by its leader's lag check long before the
// controller would fence it. A topic on nodes 1,2,3 (RF 3, min.insync.replicas=2):
// 1. acks=-1 works with ISR 3; the high watermark follows;
// 2. one follower (not the partition leader, not the quorum leader) is SIGSTOPped: an acks=-1
//    produce waits for it, then succeeds once the leader has shrunk the ISR to 2 (= min ISR),
//    in about replica.lag.time.max.ms; Metadata shows ISR 2 while the stopped broker is still
//    registered and unfenced (the shrink came from the leader, not from fencing); records written
//    meanwhile are readable;
// 3. SIGCONT: the follower catches up and is back in the ISR within a bound (AlterPartition);
//    acks=-1 works; the replicas on disk are identical up to the high watermark.
//

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../wire/errors.js';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { kcatConsume, kcatPath } from '../support/kcat.js';
import { waitForReplicasCaughtUp } from '../support/log-checker.js';
import { createReplicatedTopic, errorName, listLatest, rawProduce, showStates, stableHighWatermarks, waitForPartitions } from '../support/replication.js';
import { topicName } from '../support/util.js';

const LAG_MS = 3_000;
const SESSION_TIMEOUT_MS = 30_000;
const ASSIGNMENT = [1, 2, 3];
const TOPIC = topicName('repl-isr');

describe('replication: ISR shrink by the leader after replica.lag.time.max.ms, expansion after catch-up', { timeout: 120_000 }, () => {
  let cluster: ClusterHandle;
  const timings: Record<string, number | string> = {};
  let leader = -1;
  let stalled = -1;
  let stoppedPid: number | undefined;
  const acked: string[] = [];

  beforeAll(async () => {
    kcatPath();
    cluster = await startCluster({
      nodes: 3,
      env: {
        KAFKA_BROKER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
        KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
        KAFKA_REPLICA_LAG_TIME_MAX_MS: String(LAG_MS),
        KAFKA_REQUEST_TIMEOUT_MS: '10000',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      },
    });
  }, 90_000);

  afterAll(() => {
    if (stoppedPid) {
      try {
        process.kill(stoppedPid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    // eslint-disable-next-line no-console
    console.log(`replication-isr timings: ${JSON.stringify(timings, null, 1)}`);
  });

  async function produce(values: string[], timeoutMs = 20_000): Promise<{ ms: number; baseOffset: number }> {
    const t0 = Date.now();
    const r = await rawProduce(cluster, leader, TOPIC, 0, values, -1, { timeoutMs });
    expect(r.errorCode, `acks=-1 produce of ${values[0]}: ${errorName(r.errorCode)} ${r.errorMessage ?? ''}`).toBe(ErrorCode.NONE);
    acked.push(...values);
    return { ms: Date.now() - t0, baseOffset: r.baseOffset };
  }

  it('ISR 3: acks=-1 answers and the high watermark follows', async () => {
    const ps = await createReplicatedTopic(cluster, 1, TOPIC, { partitions: 1, replicationFactor: 3, assignments: [ASSIGNMENT], configs: { 'min.insync.replicas': '2' } });
    leader = ps[0]!.leader;
    for (let i = 0; i < 5; i++) expect((await produce([`a${i}`, `b${i}`])).baseOffset).toBe(2 * i);
    expect((await listLatest(cluster, leader, TOPIC, 0)).offset).toBe(10);
  });

  it('a SIGSTOPped follower is dropped from the ISR by the leader after replica.lag.time.max.ms (not fenced); acks=-1 then succeeds', async () => {
    const quorumLeader = (await cluster.waitForLeader()).leaderId;
    stalled = ASSIGNMENT.find((id) => id !== leader && id !== quorumLeader)!;
    timings['partition leader / quorum leader / stalled follower'] = `${leader} / ${quorumLeader} / ${stalled}`;
    stoppedPid = cluster.node(stalled).broker.pid!;
    const t0 = Date.now();
    process.kill(stoppedPid, 'SIGSTOP');
    const { ms } = await produce(['while-stalled'], 30_000);
    timings['acks=-1 with a stalled follower answered after (ms)'] = ms;
    // It had to wait for the shrink (Kafka's leader checks every lag/2): not before ~lag, well before the session timeout.
    expect(ms, 'acks=-1 waited for the ISR shrink (HW = min over the ISR)').toBeGreaterThanOrEqual(LAG_MS / 2);
    expect(ms).toBeLessThan(SESSION_TIMEOUT_MS - 5_000);
    const ps = await waitForPartitions(cluster, TOPIC, (x) => !x[0]!.isr.includes(stalled) && x[0]!.isr.length === 2 && x[0]!.leader === leader, {
      what: `ISR without the stalled ${stalled}`,
      timeoutMs: 10_000,
      nodes: ASSIGNMENT.filter((id) => id !== stalled),
    });
    timings['SIGSTOP until Metadata shows ISR 2 (ms)'] = Date.now() - t0;
    timings['state with the follower stalled'] = showStates(ps);
    expect(Date.now() - t0, 'the shrink came before any fencing could').toBeLessThan(SESSION_TIMEOUT_MS);
    // Not fenced: the controller still lists it as a live broker.
    const md = await cluster.metadata(leader);
    expect(md.brokers.map((b) => b.nodeId).sort(), 'the stalled broker is still registered (not fenced)').toEqual([1, 2, 3]);
    for (let i = 0; i < 5; i++) await produce([`isr2-${i}`]);
  });

  it('SIGCONT: the follower catches up and rejoins the ISR; acks=-1 works; replicas identical on disk up to the HW', async () => {
    const t0 = Date.now();
    process.kill(stoppedPid!, 'SIGCONT');
    stoppedPid = undefined;
    await waitForPartitions(cluster, TOPIC, (x) => JSON.stringify(x[0]!.isr) === JSON.stringify(ASSIGNMENT), { what: 'ISR back to 3 after SIGCONT', timeoutMs: 30_000 });
    timings['SIGCONT until ISR 3 (ms)'] = Date.now() - t0;
    await produce(['rejoined']);
    const upTo = (await stableHighWatermarks(cluster, leader, TOPIC, { timeoutMs: 20_000 })).get(0)!;
    expect(upTo).toBe(acked.length);
    const dirs = ASSIGNMENT.map((id) => cluster.node(id).spec.dataDir);
    await waitForReplicasCaughtUp(dirs, TOPIC, 0, upTo);
    const values = (await kcatConsume(cluster.node(leader).bootstrap, TOPIC, { strict: false, timeoutMs: 30_000 })).map((x) => x.value!.toString('utf8'));
    expect(values).toEqual(acked);
  });
});
