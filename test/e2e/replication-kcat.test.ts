// Issue #6 (replication), "must show": librdkafka (kcat) produces and consumes on the cluster while
// a broker restarts.
//
// 3 combined nodes, a topic with 3 partitions, replication factor 3 and min.insync.replicas=2.
// One kcat producer (`-P -X acks=all -X enable.idempotence=true`, keyed lines, stdin streamed
// over time) feeds N lines while the test
// 1. SIGTERMs (graceful, controlled shutdown) the leader of partition 0, waits a moment and
//    restarts it, waits for ISR 3 again;
// 2. kill -9s the leader of partition 1, waits past the session timeout, restarts it, waits for
//    ISR 3 again;
// then closes kcat's stdin: kcat flushes, every delivery succeeds (exit 0, no "Delivery failed").
// A kcat consumer (`-C -o beginning -e`) then reads all N lines exactly once, each key's lines in
// the order they were fed (a key always maps to one partition; idempotence keeps the order
// across retries).
//

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { kcatConsume, kcatPath, startKcat, type KcatProcess } from '../support/kcat.js';
import { createReplicatedTopic, partitionStates, showStates, waitForPartitions } from '../support/replication.js';
import { sleep, topicName, withTimeout } from '../support/util.js';

const NODES = 3;
const PARTITIONS = 3;
const N = 6_000;
const KEYS = 12;
const CHUNK = 50;
const CHUNK_PAUSE_MS = 100;
const SESSION_TIMEOUT_MS = 6_000;
const REJOIN_BOUND_MS = 60_000;
const TOPIC = topicName('repl-kcat');

describe('replication: kcat (librdkafka) produces and consumes while brokers restart', { timeout: 240_000 }, () => {
  let cluster: ClusterHandle;
  const timings: Record<string, number | string> = {};

  beforeAll(async () => {
    kcatPath();
    const t0 = Date.now();
    cluster = await startCluster({
      nodes: NODES,
      env: {
        KAFKA_BROKER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
        KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
        KAFKA_REPLICA_LAG_TIME_MAX_MS: '5000',
        KAFKA_REQUEST_TIMEOUT_MS: '10000',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      },
    });
    timings['cluster start'] = Date.now() - t0;
  }, 90_000);

  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log(`replication-kcat timings: ${JSON.stringify(timings, null, 1)}`);
  });

  const line = (i: number) => `k${i % KEYS}:line-${String(i).padStart(6, '0')}`;

  async function waitIsr3(what: string): Promise<void> {
    const t0 = Date.now();
    const ps = await waitForPartitions(cluster, TOPIC, (x) => x.length === PARTITIONS && x.every((p) => p.isr.length === 3 && p.leader > 0), { what, timeoutMs: REJOIN_BOUND_MS });
    timings[`${what} (ms)`] = `${Date.now() - t0}: ${showStates(ps)}`;
  }

  it('N keyed lines fed over time through a SIGTERM+restart and a kill -9+restart: all delivered, then read back exactly once and in order per key', async () => {
    await createReplicatedTopic(cluster, 1, TOPIC, { partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const producer: KcatProcess = startKcat(
      [
        '-P',
        '-b',
        cluster.bootstraps,
        '-t',
        TOPIC,
        '-K',
        ':',
        '-X',
        'acks=all',
        '-X',
        'enable.idempotence=true',
        '-X',
        'message.timeout.ms=120000',
        '-X',
        'socket.timeout.ms=10000',
        '-X',
        'topic.metadata.refresh.interval.ms=2000',
      ],
      { stdin: true, maxLifeMs: 220_000 },
    );
    let fed = 0;
    const feedUntil = async (target: number) => {
      for (let guard = 0; fed < Math.min(target, N) && guard < N; guard++) {
        const end = Math.min(fed + CHUNK, target, N);
        let chunk = '';
        for (let i = fed; i < end; i++) chunk += `${line(i)}\n`;
        await withTimeout(producer.write(chunk), 10_000, 'write to kcat stdin');
        fed = end;
        await sleep(CHUNK_PAUSE_MS);
      }
    };
    const t0 = Date.now();
    try {
      await feedUntil(N / 4);

      // 1. graceful stop of partition 0's leader while lines keep coming, then restart.
      const graceful = (await partitionStates(cluster, 1, TOPIC))[0]!.leader;
      timings['SIGTERM node (leader of partition 0)'] = graceful;
      const stopping = cluster.stopNode(graceful);
      await feedUntil(N / 4 + 500);
      await withTimeout(stopping, 30_000, `SIGTERM of node ${graceful}`);
      await feedUntil(N / 4 + 1_000);
      await cluster.restart(graceful);
      await feedUntil(N / 2);
      await waitIsr3('ISR 3 after the graceful restart');

      // 2. kill -9 of partition 1's current leader, restart after the session timeout.
      const victim = (await partitionStates(cluster, graceful === 1 ? 2 : 1, TOPIC))[1]!.leader;
      timings['kill -9 node (leader of partition 1)'] = victim;
      await cluster.kill9(victim);
      const killedAt = Date.now();
      await feedUntil((N * 3) / 4);
      await sleep(Math.max(0, SESSION_TIMEOUT_MS + 2_000 - (Date.now() - killedAt)));
      await cluster.restart(victim);
      await feedUntil(N);
      await waitIsr3('ISR 3 after the kill -9 and restart');
    } finally {
      producer.endInput();
    }
    const status = await producer.wait(150_000);
    timings['kcat producer: feeding + delivery of all lines (ms)'] = Date.now() - t0;
    const stderr = producer.stderr();
    const failed = stderr.split('\n').filter((l) => /Delivery failed|delivery.*fail|Fatal|fatal error/i.test(l));
    expect(failed.slice(0, 10), `kcat producer stderr:\n${stderr.slice(-4000)}`).toEqual([]);
    expect(status.code, `kcat producer exit (stderr tail:\n${stderr.slice(-4000)})`).toBe(0);
    expect(fed).toBe(N);

    const t1 = Date.now();
    const records = await kcatConsume(cluster.bootstraps, TOPIC, { timeoutMs: 90_000, strict: false });
    timings['kcat consumer read (ms)'] = Date.now() - t1;
    const values = records.map((r) => r.value!.toString('utf8'));
    timings['lines read'] = values.length;
    timings['duplicates'] = values.length - new Set(values).size;
    expect(values.length - new Set(values).size, 'no line stored twice').toBe(0);
    const expected = new Set(Array.from({ length: N }, (_, i) => line(i).slice(line(i).indexOf(':') + 1)));
    const have = new Set(values);
    const missing = [...expected].filter((v) => !have.has(v));
    expect(missing.slice(0, 20), `${missing.length} lines missing`).toEqual([]);
    expect(values.length).toBe(N);
    // Per key: one partition, lines in feeding order, offsets increasing.
    const byKey = new Map<string, Array<{ partition: number; offset: number; n: number }>>();
    for (const r of records) {
      const key = r.key!.toString('utf8');
      const n = Number(r.value!.toString('utf8').slice('line-'.length));
      const list = byKey.get(key) ?? [];
      list.push({ partition: r.partition, offset: r.offset, n });
      byKey.set(key, list);
    }
    expect(byKey.size).toBe(KEYS);
    for (const [key, list] of byKey) {
      expect(new Set(list.map((x) => x.partition)).size, `${key} in one partition`).toBe(1);
      list.sort((a, b) => a.offset - b.offset);
      const ns = list.map((x) => x.n);
      const bad = ns.findIndex((n, i) => i > 0 && n <= ns[i - 1]!);
      expect(bad, `${key}: line ${ns[bad]} after ${ns[bad - 1]} (out of feeding order)`).toBe(-1);
    }
  });
});
