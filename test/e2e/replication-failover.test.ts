// Issue #6 (replication), "must show": a leader dies under a running acks=-1 idempotent producer
// and nothing acknowledged is lost or duplicated.
//
// One 3-node cluster (combined broker+controller nodes), a topic with 3 partitions, replication
// factor 3 and min.insync.replicas=2 (topic config). In order:
// 1. the topic: a leader and ISR = all 3 replicas for every partition, on every node;
// 2. a kafkajs idempotent producer (acks -1, 1 in flight, generous retries) writes numbered
//    records to every partition (one sequential send loop per partition, key = a global sequence,
//    value = a unique id), remembering each acknowledged record; kill -9 of the leader of
//    partition 0 while it writes: every partition keeps being acknowledged within a bound, no send
//    fails, partition 0 gets a new leader (higher epoch) from the survivors, the dead broker leaves
//    every ISR; producing stops;
// 3. read back from the beginning (kcat, librdkafka): every acknowledged record exactly once, per
//    partition in send order, nothing that was not acknowledged, no duplicate at all;
// 4. restart the killed node: it truncates whatever it had beyond the new leader's log, catches
//    up and rejoins: `kcat -L -J` against every node shows ISR = 3 for every partition in a bound;
// 5. with producing stopped and the high watermarks stable: every replica's log on disk
//    (test/support/log-checker.ts) is sound (CRCs, contiguous offsets, index, leader-epoch
//    checkpoint agreeing with the batches), ends exactly at the high watermark (ListOffsets latest
//    at the leader) and is batch for batch identical to the others (offsets, epochs, CRCs).
// 6. a divergent tail, made deterministic: on a second topic both followers are SIGSTOPped (after
//    their parked fetches were answered), the leader appends acks=1 records nobody fetches and is
//    killed; the followers resume, one becomes leader (higher epoch) and takes acks=-1 writes at
//    the same offsets; the old leader, restarted, truncates its tail (diverging epoch) and ends up
//    with the new leader's batches: identical replicas, and the acks=1 tail is never readable.
// Timings (recovery, records acknowledged, duplicates) are printed at the end.
//

import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { kcatConsume, kcatMetadata, kcatPath } from '../support/kcat.js';
import { ErrorCode } from '../../wire/errors.js';
import { compareReplicas, expectReplicasCaughtUp, readPartitionLog } from '../support/log-checker.js';
import { createReplicatedTopic, dataDirs, errorName, listLatest, partitionStates, rawProduce, showStates, stableHighWatermarks, waitForPartitions, type PartitionState } from '../support/replication.js';
import { sleep, topicName, waitFor, withTimeout } from '../support/util.js';

const NODES = 3;
const PARTITIONS = 3;
const SESSION_TIMEOUT_MS = 6_000;
const REPLICA_LAG_TIME_MAX_MS = 5_000;
/** Kill → every partition acknowledged again: fencing (session timeout) + election + client backoff. */
const RECOVERY_BOUND_MS = 30_000;
/** Restart → ISR back to 3 everywhere. */
const REJOIN_BOUND_MS = 60_000;
const PER_SEND = 10;
const MAX_SENDS_PER_PARTITION = 3_000;
const SEND_PAUSE_MS = 15;
const REPLICA_FETCH_WAIT_MAX_MS = 500;

const TOPIC = topicName('repl-failover');

interface Rec {
  seq: number;
  partition: number;
  value: string;
}

let cluster: ClusterHandle;
const timings: Record<string, number | string> = {};
let initial: PartitionState[] = [];
let killed = -1;

/** High watermarks asked at each partition's (live) leader. */
async function highWatermarksOfLive(): Promise<Map<number, number>> {
  const via = cluster.live()[0]!.id;
  const out = new Map<number, number>();
  for (const p of await partitionStates(cluster, via, TOPIC)) out.set(p.partition, (await listLatest(cluster, p.leader, TOPIC, p.partition)).offset);
  return out;
}

/** The producer side: one sequential send loop per partition; what was acknowledged, in order. */
class Load {
  readonly acked = new Map<number, Rec[]>();
  /** Records of sends that failed (maybe written, maybe not): allowed at most once, never required. */
  readonly unknown = new Map<number, Rec[]>();
  readonly failures: string[] = [];
  readonly lastAckAt = new Map<number, number>();
  readonly ackTimes = new Map<number, number[]>();
  private seq = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly producer: Producer) {
    for (let p = 0; p < PARTITIONS; p++) {
      this.acked.set(p, []);
      this.unknown.set(p, []);
      this.ackTimes.set(p, []);
    }
  }

  start(): void {
    this.loops = Array.from({ length: PARTITIONS }, (_, p) => this.loop(p));
  }

  private async loop(p: number): Promise<void> {
    for (let s = 0; s < MAX_SENDS_PER_PARTITION && !this.stopping; s++) {
      const batch: Rec[] = Array.from({ length: PER_SEND }, () => {
        const seq = this.seq++;
        return { seq, partition: p, value: `v-${seq}-p${p}` };
      });
      try {
        await this.producer.send({ topic: TOPIC, acks: -1, timeout: 10_000, messages: batch.map((r) => ({ partition: p, key: String(r.seq), value: r.value })) });
        this.acked.get(p)!.push(...batch);
        const now = Date.now();
        this.lastAckAt.set(p, now);
        this.ackTimes.get(p)!.push(now);
      } catch (err) {
        // kafkajs gave up: the batch may or may not be stored. Its sequence numbers were not
        // consumed, so a later send would reuse them: stop this partition's loop.
        this.unknown.get(p)!.push(...batch);
        this.failures.push(`partition ${p} at ${new Date().toISOString()}: ${(err as Error).name}: ${(err as Error).message}`);
        return;
      }
      await sleep(SEND_PAUSE_MS);
    }
  }

  ackedCount(p?: number): number {
    if (p !== undefined) return this.acked.get(p)!.length;
    return [...this.acked.values()].reduce((s, a) => s + a.length, 0);
  }

  /** First acknowledgement on partition p at or after `t`. */
  firstAckAfter(p: number, t: number): number | undefined {
    return this.ackTimes.get(p)!.find((x) => x >= t);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await withTimeout(Promise.all(this.loops), 60_000, 'send loops to finish');
  }
}

describe('replication: kill -9 of a partition leader under an idempotent acks=-1 producer', { timeout: 180_000 }, () => {
  let load: Load;
  let producer: Producer;
  let killedAt = 0;

  beforeAll(async () => {
    kcatPath();
    const t0 = Date.now();
    cluster = await startCluster({
      nodes: NODES,
      env: {
        KAFKA_BROKER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
        KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
        KAFKA_REPLICA_LAG_TIME_MAX_MS: String(REPLICA_LAG_TIME_MAX_MS),
        KAFKA_REQUEST_TIMEOUT_MS: '10000',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      },
    });
    timings['cluster start'] = Date.now() - t0;
  }, 90_000);

  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log(`replication-failover timings and counts: ${JSON.stringify(timings, null, 1)}`);
  });

  it('creates a topic with RF 3 and min.insync.replicas=2: a leader and ISR of 3 for every partition on every node', async () => {
    const t0 = Date.now();
    initial = await createReplicatedTopic(cluster, 1, TOPIC, { partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' }, timeoutMs: 30_000 });
    timings['topic created, ISR 3 everywhere'] = Date.now() - t0;
    for (const p of initial) {
      expect(p.replicas).toEqual([1, 2, 3]);
      expect(p.isr).toEqual([1, 2, 3]);
      expect(p.leaderEpoch).toBeGreaterThanOrEqual(0);
    }
    // Placement spreads the leaders (striped): not every partition on one node.
    expect(new Set(initial.map((p) => p.leader)).size).toBeGreaterThan(1);
  });

  it('kill -9 of partition 0\'s leader while the producer writes: every partition keeps being acknowledged, leadership moves, the dead broker leaves the ISRs', async () => {
    const kafka = new Kafka({
      clientId: 'e2e-repl-failover',
      brokers: cluster.nodes.map((n) => n.bootstrap),
      logLevel: process.env.KAFKAJS_LOG === '1' ? logLevel.INFO : logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await withTimeout(producer.connect(), 30_000, 'producer.connect');
    load = new Load(producer);
    load.start();
    try {
      // Everything flows before the kill.
      await waitFor('every partition acknowledged 50+ records before the kill', () => [0, 1, 2].every((p) => load.ackedCount(p) >= 50) || (load.failures.length > 0 ? Promise.reject(new Error(load.failures.join('; '))) : false), {
        timeoutMs: 30_000,
      });
      const before = await partitionStates(cluster, 1, TOPIC);
      killed = before[0]!.leader;
      expect(killed).toBeGreaterThan(0);
      const ackedBeforeKill = load.ackedCount();
      killedAt = Date.now();
      await cluster.kill9(killed);
      timings['killed node (leader of partition 0)'] = `${killed} (${showStates(before)})`;
      timings['records acked before the kill'] = ackedBeforeKill;

      // The producer recovers by itself: each partition acknowledged again after the kill.
      await waitFor(
        'every partition acknowledged 30+ more records after the kill',
        () => {
          if (load.failures.length > 0) throw Object.assign(new Error(`sends failed: ${load.failures.join('; ')}`), { fatal: true });
          return [0, 1, 2].every((p) => (load.ackTimes.get(p)!.filter((t) => t > killedAt).length * PER_SEND >= 30));
        },
        { timeoutMs: RECOVERY_BOUND_MS, intervalMs: 100 },
      );
      for (let p = 0; p < PARTITIONS; p++) {
        const first = load.firstAckAfter(p, killedAt);
        timings[`partition ${p} (leader ${before[p]!.leader}): first ack after the kill (ms)`] = first === undefined ? 'none' : first - killedAt;
      }
      const recovered = Math.max(...[0, 1, 2].map((p) => load.firstAckAfter(p, killedAt)! - killedAt));
      timings['kill -9 until every partition acknowledged again (ms)'] = recovered;
      expect(recovered).toBeLessThan(RECOVERY_BOUND_MS);

      // Leadership of partition 0 moved to a survivor with a higher epoch; the dead broker is out of every ISR.
      const after = await waitForPartitions(cluster, TOPIC, (ps) => ps.every((p) => p.leader !== killed && p.leader > 0 && !p.isr.includes(killed) && p.isr.length === 2), {
        what: `every partition led by a survivor, ISR = the 2 survivors (killed ${killed})`,
        timeoutMs: 20_000,
      });
      timings['kill -9 until Metadata shows ISR 2 everywhere (ms)'] = Date.now() - killedAt;
      expect(after[0]!.leaderEpoch, `partition 0 epoch ${showStates(after)}`).toBeGreaterThan(before[0]!.leaderEpoch);
      for (const p of after) expect(p.replicas, 'the assignment does not change').toEqual([1, 2, 3]);

      // A little more traffic on the 2-replica ISR (still ≥ min.insync.replicas), then stop.
      const mark = load.ackedCount();
      await waitFor('200 more records acknowledged with ISR 2', () => load.ackedCount() >= mark + 200, { timeoutMs: 20_000 });
    } finally {
      await load.stop();
      await withTimeout(producer.disconnect(), 10_000, 'producer.disconnect').catch(() => undefined);
    }
    timings['records acked in total'] = load.ackedCount();
    timings['failed sends'] = load.failures.length;
    expect(load.failures, 'no send failed: the idempotent producer recovers by itself').toEqual([]);
    // The longest pause of each partition's acknowledgements.
    for (let p = 0; p < PARTITIONS; p++) {
      const ts = load.ackTimes.get(p)!;
      timings[`partition ${p}: longest gap between acks (ms)`] = ts.slice(1).reduce((m, t, i) => Math.max(m, t - ts[i]!), 0);
    }
  });

  it('reads back every acknowledged record exactly once, per partition in send order (kcat from the survivors)', async () => {
    const survivors = cluster.live().map((n) => n.bootstrap).join(',');
    const t0 = Date.now();
    const records = await kcatConsume(survivors, TOPIC, { timeoutMs: 90_000, strict: false });
    timings['read back (kcat) ms'] = Date.now() - t0;
    const values = records.map((r) => r.value!.toString('utf8'));
    const duplicates = values.length - new Set(values).size;
    timings['records read'] = records.length;
    timings['duplicates'] = duplicates;
    expect(duplicates, 'no record stored twice').toBe(0);
    for (let p = 0; p < PARTITIONS; p++) {
      const stored = records.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
      // Contiguous offsets from 0.
      expect(stored.map((r) => r.offset)).toEqual(stored.map((_, i) => i));
      const acked = load.acked.get(p)!.map((r) => r.value);
      const unknown = new Set(load.unknown.get(p)!.map((r) => r.value));
      const storedValues = stored.map((r) => r.value!.toString('utf8')).filter((v) => !unknown.has(v));
      const storedSet = new Set(storedValues);
      const missing = acked.filter((v) => !storedSet.has(v));
      expect(missing.slice(0, 20), `partition ${p}: ${missing.length} acknowledged records missing`).toEqual([]);
      // Exactly the acknowledged records, in send order (nothing extra, nothing reordered).
      expect(storedValues.length, `partition ${p}: stored beyond the acknowledged (and the ${unknown.size} unknown) records`).toBe(acked.length);
      const firstDiff = storedValues.findIndex((v, i) => v !== acked[i]);
      expect(firstDiff, `partition ${p}: first out-of-order record at position ${firstDiff}: ${storedValues[firstDiff]} vs sent ${acked[firstDiff]}`).toBe(-1);
      // Keys carry the global sequence: increasing within the partition.
      const keys = stored.map((r) => Number(r.key!.toString('utf8')));
      expect(keys.every((k, i) => i === 0 || k > keys[i - 1]!), `partition ${p}: keys increase`).toBe(true);
    }
  });

  it('the killed node restarts, truncates, catches up and rejoins: kcat -L -J shows ISR 3 for every partition on every node', async () => {
    // What the dead node holds beyond the survivors' high watermarks (it must drop that on restart).
    const hwsBefore = await highWatermarksOfLive();
    for (let p = 0; p < PARTITIONS; p++) {
      const r = await readPartitionLog(cluster.node(killed).spec.dataDir, TOPIC, p, { allowTornTail: true });
      timings[`killed node, partition ${p}: log end before restart / survivors' HW`] = `${r.logEndOffset} / ${hwsBefore.get(p)}`;
    }
    const t0 = Date.now();
    await cluster.restart(killed);
    timings['restart: ApiVersions answered (ms)'] = Date.now() - t0;
    await waitFor(
      'kcat -L -J against every node: 3 brokers, every partition with a leader and ISR of 3',
      async () => {
        for (const n of cluster.nodes) {
          const md = await kcatMetadata(n.bootstrap, TOPIC, 15_000);
          if (md.brokers.length !== NODES) throw new Error(`node ${n.id}: ${md.brokers.length} brokers`);
          const t = md.topics.find((x) => x.topic === TOPIC);
          if (!t || t.error) throw new Error(`node ${n.id}: topic ${t?.error ?? 'missing'}`);
          if (t.partitions.length !== PARTITIONS) throw new Error(`node ${n.id}: ${t.partitions.length} partitions`);
          for (const p of t.partitions) {
            if (p.error) throw new Error(`node ${n.id}: partition ${p.partition} error ${p.error}`);
            if (p.isrs.length !== 3) throw new Error(`node ${n.id}: partition ${p.partition} leader ${p.leader} isr [${p.isrs.map((r) => r.id)}]`);
          }
        }
        return true;
      },
      { timeoutMs: REJOIN_BOUND_MS, intervalMs: 500 },
    );
    timings['restart until ISR 3 everywhere (kcat -L -J) ms'] = Date.now() - t0;
    const ps = await waitForPartitions(cluster, TOPIC, (x) => x.every((p) => p.isr.length === 3 && p.leader > 0), { what: 'raw Metadata agrees: ISR 3', timeoutMs: 10_000 });
    timings['final partition states'] = showStates(ps);
  });

  it('with producing stopped: every replica on disk is sound, ends at the high watermark and holds identical batches', async () => {
    const hws = await stableHighWatermarks(cluster, 1, TOPIC, { settleMs: 1_000, timeoutMs: 20_000 });
    timings['high watermarks'] = JSON.stringify(Object.fromEntries(hws));
    // A replica in the ISR has everything below the HW; with no writes the logs end there too
    // (in particular the killed node dropped whatever it had written beyond the new leader's log).
    const dirs = dataDirs(cluster);
    let total = 0;
    await waitFor(
      'every replica identical up to the high watermark and ending there',
      async () => {
        const problems: string[] = [];
        total = 0;
        for (let p = 0; p < PARTITIONS; p++) {
          const hw = hws.get(p)!;
          const c = await compareReplicas(dirs, TOPIC, p, hw, { requireEpochCache: true });
          problems.push(...c.problems.map((x) => `partition ${p}: ${x}`));
          for (const r of c.reports) if (r.logEndOffset !== hw) problems.push(`partition ${p}: ${r.dir} ends at ${r.logEndOffset}, high watermark ${hw}`);
          total += c.records;
        }
        if (problems.length > 0) throw new Error(problems.slice(0, 20).join('\n'));
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 1_000 },
    );
    expect(total).toBe([...hws.values()].reduce((s, x) => s + x, 0));
    expect(total, 'every acknowledged record is below the high watermark').toBeGreaterThanOrEqual(load.ackedCount());
    timings['records compared on disk per replica'] = total;
  });
  it('a divergent tail: the old leader\'s acks=1 records that no follower fetched are truncated on its restart (diverging epoch); the new leader\'s log wins', async () => {
    const topic = topicName('repl-diverge');
    const ps = await createReplicatedTopic(cluster, cluster.live()[0]!.id, topic, { partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const old = ps[0]!;
    const followers = old.replicas.filter((id) => id !== old.leader);
    const produce = async (id: number, values: string[], acks: number) => {
      const r = await rawProduce(cluster, id, topic, 0, values, acks, { timeoutMs: 15_000 });
      expect(r.errorCode, `acks=${acks} at node ${id}: ${errorName(r.errorCode)} ${r.errorMessage ?? ''}`).toBe(ErrorCode.NONE);
      return r.baseOffset;
    };
    for (let i = 0; i < 5; i++) expect(await produce(old.leader, [`base-${2 * i}`, `base-${2 * i + 1}`], -1)).toBe(2 * i);
    const pids = followers.map((id) => cluster.node(id).broker.pid!);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      // Parked follower fetches are answered (empty) within replica.fetch.wait.max.ms; the stopped
      // followers send no new ones, so nothing appended from now on reaches them.
      await sleep(REPLICA_FETCH_WAIT_MAX_MS * 3);
      for (let i = 0; i < 5; i++) expect(await produce(old.leader, [`tail-${i}`], 1)).toBe(10 + i);
      await cluster.kill9(old.leader);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    const dead = await readPartitionLog(cluster.node(old.leader).spec.dataDir, topic, 0, { allowTornTail: true });
    expect(dead.logEndOffset, 'the dead leader holds the acks=1 tail').toBe(15);
    const t0 = Date.now();
    const moved = await waitForPartitions(cluster, topic, (x) => followers.includes(x[0]!.leader) && !x[0]!.isr.includes(old.leader), {
      what: `a new leader among ${followers} for ${topic}`,
      timeoutMs: 40_000,
    });
    timings['divergent tail: kill until a new leader (ms)'] = Date.now() - t0;
    const nu = moved[0]!;
    expect(nu.leaderEpoch).toBeGreaterThan(old.leaderEpoch);
    // The new leader's HW reaches its log end (10: it never had the tail) once the other follower fetches.
    const hwNew = await waitFor('the new leader\'s high watermark at 10', async () => {
      const o = (await listLatest(cluster, nu.leader, topic, 0)).offset;
      if (o > 10) throw Object.assign(new Error(`HW ${o} > 10`), { hw: o });
      return o === 10 ? o : undefined;
    }, { timeoutMs: 10_000 });
    expect(hwNew, 'the new leader never had the tail').toBe(10);
    for (let i = 0; i < 3; i++) expect(await produce(nu.leader, [`new-${i}`], -1)).toBe(10 + i);

    await cluster.restart(old.leader);
    await waitForPartitions(cluster, topic, (x) => x[0]!.isr.length === 3, { what: `${topic}: the old leader back in the ISR`, timeoutMs: REJOIN_BOUND_MS });
    timings['divergent tail: kill until the old leader rejoined (ms)'] = Date.now() - t0;
    const upTo = (await stableHighWatermarks(cluster, nu.leader, topic)).get(0)!;
    expect(upTo).toBe(13);
    await waitFor(
      'the 3 replicas of the diverged partition identical, ending at 13',
      async () => {
        const c = await expectReplicasCaughtUp(dataDirs(cluster), topic, 0, upTo);
        const epochs = c.reports[0]!.batches.map((b) => b.partitionLeaderEpoch);
        if (epochs.slice(-3).some((e) => e !== nu.leaderEpoch)) throw new Error(`the last 3 batches carry epochs ${epochs.slice(-3)}, expected ${nu.leaderEpoch}`);
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 1_000 },
    );
    const values = (await kcatConsume(cluster.bootstraps, topic, { strict: false, timeoutMs: 30_000 })).map((r) => r.value!.toString('utf8'));
    expect(values).toEqual([...Array.from({ length: 10 }, (_, i) => `base-${i}`), 'new-0', 'new-1', 'new-2']);
  });
});
