// Issue 8, graceful shutdown: SIGTERM (and SIGINT) of a broker of a 3-node cluster while a raw
// client has produce requests pipelined on it:
// - every request the broker read before the signal is answered (the connection ends with FIN
//   after the last response, never a reset), correlation ids in order;
// - leadership moves away first: another node's Metadata shows no partition led by it while
//   its process is still running (controlled shutdown);
// - it exits 0, and the next start needs no recovery: every "loaded log" line says
//   cleanShutdown=true and recoveredSegments=0 (partition logs; the metadata log always scans).
import { describe, expect, it, beforeAll } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { decodeResponseHeader, encodeRequestFrame } from '../../wire/header.js';
import { API_SPECS } from '../../wire/generated/api.js';
import { Reader } from '../../wire/primitives.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';
import { startCluster, type ClusterHandle } from '../support/cluster.js';
import { RawConnection } from '../support/raw-client.js';
import { createReplicatedTopic, partitionStates } from '../support/replication.js';
import { sleep, topicName, waitFor } from '../support/util.js';

const PIPELINED = 200;
const PARTITIONS = 6;

describe('SIGTERM / SIGINT: in-flight requests answered, leadership moved first, clean next start', () => {
  let cluster: ClusterHandle;
  const TOPIC = topicName('graceful');

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, env: { KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '500' } });
    await createReplicatedTopic(cluster, 1, TOPIC, { partitions: PARTITIONS, replicationFactor: 3 });
  });

  for (const [signal, id, observer] of [
    ['SIGTERM', 2, 1],
    ['SIGINT', 3, 1],
  ] as const) {
    it(`${signal} of node ${id}`, async () => {
      const node = cluster.node(id);
      const led = (await partitionStates(cluster, observer, TOPIC)).filter((p) => p.leader === id).map((p) => p.partition);
      const target = led[0] ?? 0;
      // Pipeline produce requests (acks=-1) without waiting for answers.
      const conn = await RawConnection.connect(node.clientPort);
      const frames: Buffer[] = [];
      for (let i = 1; i <= PIPELINED; i++) {
        const records = encodeRecordBatch({ records: [{ value: Buffer.from(`${signal}-${i}-${'z'.repeat(200)}`) }] });
        frames.push(encodeRequestFrame(ApiKey.Produce, 9, i, 'e2e-graceful', { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: target, records }] }] }));
      }
      await conn.write(Buffer.concat(frames));
      // The broker is reading them (first answer), then the signal.
      const first = await conn.readFrame(10_000);
      const pid = node.broker.pid!;
      // Watch leadership from another node while the process runs.
      let sawNoLeadershipWhileRunning = false;
      let exited = false;
      const watcher = (async () => {
        for (let i = 0; i < 400 && !exited; i++) {
          try {
            const st = await partitionStates(cluster, observer, TOPIC);
            const running = node.broker.exitStatus() === undefined;
            if (running && st.every((p) => p.leader !== id)) sawNoLeadershipWhileRunning = true;
          } catch {
            // transient
          }
          await sleep(25);
        }
      })();
      process.kill(pid, signal);
      const payloads = [first];
      for (let i = 0; i < PIPELINED + 1; i++) {
        const r = await conn.read(15_000);
        if (r.kind !== 'frame') {
          expect(r.kind, `how the connection ended after ${payloads.length} answers`).toBe('closed');
          expect((r as { error?: string }).error, 'the connection ends with FIN, not a reset').toBeUndefined();
          break;
        }
        payloads.push(r.payload);
      }
      const codes = new Map<number, number>();
      payloads.forEach((payload, k) => {
        const rd = new Reader(payload);
        expect(decodeResponseHeader(rd, ApiKey.Produce, 9), 'answers in request order').toBe(k + 1);
        const resp = API_SPECS[ApiKey.Produce]!.decodeResponse(rd, 9) as { responses: Array<{ partitionResponses: Array<{ errorCode: number }> }> };
        const code = resp.responses[0]!.partitionResponses[0]!.errorCode;
        codes.set(code, (codes.get(code) ?? 0) + 1);
      });
      console.info(`${signal}: ${payloads.length} of ${PIPELINED} pipelined requests answered; error codes ${JSON.stringify(Object.fromEntries(codes))}`);
      // Every request was read before the signal (one 45 KB write, answered from the first): all answered.
      expect(payloads.length).toBe(PIPELINED);
      await waitFor(`node ${id} exited`, () => node.broker.exitStatus() !== undefined, { timeoutMs: 20_000 });
      exited = true;
      await watcher;
      conn.destroy();
      expect(node.broker.exitStatus()?.code, 'exit code').toBe(0);
      expect(sawNoLeadershipWhileRunning, `node ${observer}'s Metadata showed no partition led by ${id} before it exited`).toBe(true);
      const out = node.broker.output();
      expect(out.indexOf('controlled shutdown complete')).toBeGreaterThan(-1);

      // The next start recovers nothing.
      const runsBefore = out.split('[e2e harness]').length;
      await cluster.restart(id);
      const fresh = node.broker.output().split('\n').slice(out.split('\n').length - 1);
      // The KRaft metadata log is scanned in full at every start by design (kraft/metadata-log.ts,
      // as Kafka's KafkaMetadataLog opens with recovery point 0); the partition logs must not be.
      const loaded = fresh.filter((l) => l.includes('"msg":"loaded log"') && !l.includes('"topic":"__cluster_metadata"'));
      expect(loaded.length, 'logs loaded after the restart').toBeGreaterThan(0);
      for (const l of loaded) {
        const j = JSON.parse(l) as { cleanShutdown: boolean; recoveredSegments: number; topic?: string };
        expect({ topic: j.topic, cleanShutdown: j.cleanShutdown, recoveredSegments: j.recoveredSegments }).toEqual({ topic: j.topic, cleanShutdown: true, recoveredSegments: 0 });
      }
      expect(runsBefore).toBeGreaterThan(0);
      await waitFor('node back in every ISR', async () => (await partitionStates(cluster, observer, TOPIC)).every((p) => p.isr.includes(id)), { timeoutMs: 30_000 });
    });
  }
});
