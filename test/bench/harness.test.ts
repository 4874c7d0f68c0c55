// Keeps the benchmark harness honest (the benchmark itself is `npm run bench`, not part of
// `npm test`): the load generator runs for about a second against the in-process null broker
// and its counts must add up exactly; the histogram math, the request templates and the
// target evaluation are checked on known inputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { decodeRequestHeader } from '../../wire/header.js';
import { Reader, recordsBuffer } from '../../wire/primitives.js';
import { batchCrcValid, readBatchHeader } from '../../wire/record-batch.js';
import { API_SPECS } from '../../wire/generated/api.js';
import type { FetchRequest } from '../../wire/generated/messages/fetch-request.js';
import type { ProduceRequest } from '../../wire/generated/messages/produce-request.js';
import { LatencyHistogram } from '../../bench/lib/histogram.js';
import { countRecords, runLoad } from '../../bench/lib/load.js';
import { NullBroker, nullTopicId } from '../../bench/lib/null-broker.js';
import { benchClusterNodes, logEndOffsets } from '../../bench/lib/servers.js';
import { REPLICATION, SCENARIOS } from '../../bench/scenarios.js';
import { CLUSTER_SHAPING_VARS } from '../../broker/cluster/nodes.js';
import {
  batchBytes,
  buildBatch,
  buildFetchTemplate,
  buildProduceTemplate,
  patchFetch,
  patchProduce,
  recordsPerBatchFor,
} from '../../bench/lib/templates.js';
import { evaluateTargets, replicationRows } from '../../bench/lib/report.js';
import { renderChart } from '../../bench/lib/chart.js';
import type { ScenarioResult, SideResult } from '../../bench/lib/runner.js';
import { brokerSide, scenarioResult } from './results-fixtures.js';

const BATCH = { recordBytes: 1024, recordsPerBatch: recordsPerBatchFor(1024, 16 * 1024) };
const BATCH_BYTES = batchBytes(BATCH.recordBytes, BATCH.recordsPerBatch);

describe('LatencyHistogram', () => {
  it('gives percentiles of a known distribution within HdrHistogram precision (3 digits)', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 10_000; v++) h.recordMicros(v);
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.min).toBe(1);
    expect(Math.abs(s.p50 - 5000)).toBeLessThanOrEqual(5);
    expect(Math.abs(s.p90 - 9000)).toBeLessThanOrEqual(9);
    expect(Math.abs(s.p99 - 9900)).toBeLessThanOrEqual(10);
    expect(Math.abs(s.p999 - 9990)).toBeLessThanOrEqual(10);
    expect(Math.abs(s.max - 10_000)).toBeLessThanOrEqual(10);
    expect(Math.abs(s.mean - 5000.5)).toBeLessThan(5);
  });

  it('records milliseconds as microseconds, clamps out-of-range values, survives encode/decode and merges', () => {
    const a = new LatencyHistogram();
    a.recordMillis(2.5); // 2500 µs
    a.recordMicros(0); // clamped to 1 µs
    a.recordMicros(Number.NaN); // clamped to 1 µs
    a.recordMicros(1e12); // clamped to 60 s
    expect(a.count).toBe(4);
    expect(a.summary().min).toBe(1);
    expect(a.summary().max).toBeGreaterThanOrEqual(59_000_000);
    const b = LatencyHistogram.decode(a.encode());
    expect(b.summary()).toEqual(a.summary());
    const c = new LatencyHistogram();
    for (let i = 0; i < 96; i++) c.recordMicros(100);
    c.add(a);
    expect(c.count).toBe(100);
    expect(c.percentile(50)).toBe(100);
    expect(c.percentile(99)).toBeGreaterThanOrEqual(2497);
    c.reset();
    expect(c.count).toBe(0);
    expect(c.summary().p99).toBe(0);
  });

  it('reports a stall in a fixed-rate schedule in every request it delayed (no coordinated omission)', () => {
    // 1000 requests due every 1 ms, served in 0.1 ms, except a 100 ms stall at request 500:
    // measured from the intended time, the ~100 requests due during the stall all wait.
    const h = new LatencyHistogram();
    let free = 0;
    for (let i = 0; i < 1000; i++) {
      const intended = i;
      const start = Math.max(intended, free);
      const service = i === 500 ? 100 : 0.1;
      free = start + service;
      h.recordMillis(free - intended);
    }
    expect(h.percentile(50)).toBeLessThan(200);
    expect(h.percentile(95)).toBeGreaterThan(10_000);
  });
});

describe('request templates', () => {
  it('sizes batches to the request size', () => {
    expect(BATCH_BYTES).toBeLessThanOrEqual(16 * 1024);
    expect(batchBytes(1024, BATCH.recordsPerBatch + 1)).toBeGreaterThan(16 * 1024);
    expect(recordsPerBatchFor(100, 16 * 1024)).toBeGreaterThan(100);
    expect(batchBytes(1024, recordsPerBatchFor(1024, 1024 * 1024))).toBeLessThanOrEqual(1024 * 1024);
  });

  it('patches correlation id, partition and the send-time marker, keeping the batch CRC valid', () => {
    const built = buildBatch(BATCH);
    expect(built.markerPos).toBeGreaterThan(61);
    const t = buildProduceTemplate({ version: 9, topic: 'tpl', acks: 1, batch: built });
    const frame = Buffer.from(t.frame);
    patchProduce(t, frame, 4242, 7, 123456.75);
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const r = new Reader(frame, 4);
    const h = decodeRequestHeader(r);
    expect([h.apiKey, h.apiVersion, h.correlationId]).toEqual([ApiKey.Produce, 9, 4242]);
    const req = API_SPECS[ApiKey.Produce]!.decodeRequest(r, 9) as ProduceRequest;
    const p = req.topicData[0]!.partitionData[0]!;
    const records = recordsBuffer(p.records)!;
    expect([req.acks, req.topicData[0]!.name, p.index]).toEqual([1, 'tpl', 7]);
    expect(batchCrcValid(records, 0)).toBe(true);
    expect(readBatchHeader(records).recordCount).toBe(BATCH.recordsPerBatch);
    expect(records.readDoubleBE(built.markerPos)).toBe(123456.75);
    expect(countRecords(Buffer.concat([records, records]))).toBe(2 * BATCH.recordsPerBatch);
  });

  it('patches the fetch offset beyond 2^32', () => {
    const t = buildFetchTemplate({ version: 12, topic: 'tpl', topicId: nullTopicId('tpl'), maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, partitionMaxBytes: 1 << 20 });
    const frame = Buffer.from(t.frame);
    patchFetch(t, frame, 9, 3, 2 ** 40 + 5);
    const r = new Reader(frame, 4);
    expect(decodeRequestHeader(r).correlationId).toBe(9);
    const req = API_SPECS[ApiKey.Fetch]!.decodeRequest(r, 12) as FetchRequest;
    const p = req.topics[0]!.partitions[0]!;
    expect([req.topics[0]!.topic, p.partition, p.fetchOffset]).toEqual(['tpl', 3, 2n ** 40n + 5n]);
  });
});

describe('load generator against the null broker', () => {
  let nb: NullBroker;
  let port: number;
  beforeAll(async () => {
    nb = new NullBroker({ partitions: 3, fetchBatch: BATCH });
    port = await nb.start();
  });
  afterAll(async () => {
    await nb?.stop();
  });

  it('max throughput: every acknowledged request is counted once, with exact bytes and records', async () => {
    const r = await runLoad({ kind: 'produce', port, topic: 'max', partitions: 3, connections: 2, inFlight: 4, acks: 1, batch: BATCH, warmupMs: 200, durationMs: 800 });
    expect(r.errors).toBe(0);
    expect(r.abandoned).toBe(0);
    expect(r.connectionErrors).toEqual([]);
    expect(r.requests).toBeGreaterThan(50);
    expect(r.records).toBe(r.requests * BATCH.recordsPerBatch);
    expect(r.bytes).toBe(r.requests * BATCH_BYTES);
    expect(r.latency.count).toBe(r.requests);
    expect(r.totalRequests).toBeGreaterThanOrEqual(r.requests);
    expect(r.totalRecords).toBe(r.totalRequests * BATCH.recordsPerBatch);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(790);
    expect(r.elapsedMs).toBeLessThan(1500);
    // The null broker saw every request, spread round-robin over the 3 partitions.
    expect(nb.served.get(ApiKey.Produce)).toBe(r.totalRequests);
    expect(await logEndOffsets(port, 'max', 3)).toBe(r.totalRecords);
  });

  it('acks=0: requests are counted when written, and all reach the server', async () => {
    const before = nb.served.get(ApiKey.Produce) ?? 0;
    const r = await runLoad({ kind: 'produce', port, topic: 'acks0', partitions: 1, connections: 1, inFlight: 4, acks: 0, batch: BATCH, warmupMs: 100, durationMs: 400 });
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThan(10);
    let stored = 0;
    for (let i = 0; i < 40 && stored < r.totalRecords; i++) {
      stored = await logEndOffsets(port, 'acks0', 1);
      if (stored < r.totalRecords) await new Promise((res) => setTimeout(res, 25));
    }
    expect(stored).toBe(r.totalRecords);
    expect((nb.served.get(ApiKey.Produce) ?? 0) - before).toBe(r.totalRequests);
  });

  it('fixed rate: sends at the asked rate and measures from the intended send time', async () => {
    const r = await runLoad({ kind: 'produce', port, topic: 'rate', partitions: 1, connections: 1, inFlight: 16, acks: 1, batch: BATCH, rate: 400, warmupMs: 100, durationMs: 1000 });
    expect(r.mode).toBe('rate');
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThanOrEqual(360);
    expect(r.requests).toBeLessThanOrEqual(440);
    expect(r.latency.count).toBe(r.requests);
    expect(r.sendLag!.count).toBeGreaterThan(0);
    // Latency from the intended time is never below the lag of the send itself.
    expect(r.latency.p99).toBeGreaterThanOrEqual(r.sendLag!.p50);
  });

  it('fetch: counts the pre-built batches of each response', async () => {
    const perResponse = Math.floor((1 << 20) / BATCH_BYTES);
    const r = await runLoad({
      kind: 'fetch',
      port,
      topic: 'f',
      topicId: nullTopicId('f'),
      partition: 0,
      connections: 1,
      inFlight: 2,
      partitionMaxBytes: 1 << 20,
      maxBytes: 1 << 20,
      offsets: { first: 0, step: perResponse * BATCH.recordsPerBatch, count: 5 },
      warmupMs: 100,
      durationMs: 500,
    });
    expect(r.errors).toBe(0);
    expect(r.emptyResponses).toBe(0);
    expect(r.requests).toBeGreaterThan(5);
    expect(r.bytes).toBe(r.requests * perResponse * BATCH_BYTES);
    expect(r.records).toBe(r.requests * perResponse * BATCH.recordsPerBatch);
  });
});

describe('report', () => {
  it('evaluates targets with their margins', () => {
    const side = brokerSide;
    const r = scenarioResult;
    const results = new Map<string, ScenarioResult>([
      ['produce-16k-acks1', r('produce-16k-acks1', { broker: side(300), null: { ...side(1000), server: 'null' }, ratio: 0.3 })],
      ['produce-1rec-1k', r('produce-1rec-1k', { broker: side(40, { requestsPerSec: 33_000 }) })],
    ]);
    const t = evaluateTargets(results);
    const byName = new Map(t.map((x) => [x.name, x]));
    const mbps = byName.get('16 KiB requests, 4 conns, acks=1: ≥ 400 MB/s')!;
    expect([mbps.value, mbps.met, mbps.margin]).toEqual([300, false, -0.25]);
    const ratio = byName.get('16 KiB requests, 4 conns, acks=1: ≥ 40 % of null')!;
    expect(ratio.met).toBe(false);
    expect(ratio.margin).toBeCloseTo(-0.25, 6);
    const req = byName.get('one 1 KiB record per request: ≥ 30,000 requests/s')!;
    expect(req.met).toBe(true);
    expect(req.margin).toBeCloseTo(0.1, 6);
    expect(t).toHaveLength(3);
    const svg = renderChart({ title: 't <&>', subtitle: 's', ratios: [{ label: 'a', ratio: 0.3, brokerText: '300', nullText: '1000', target: 0.4 }], latency: [{ label: 'l', p50: 0.2, p99: 2, p999: 20 }], scaling: [{ partitions: 1000, peakRssMB: 350, cpuSecPerGB: 2, mbps: 100 }], rssTargetMB: 300 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('t &lt;&amp;&gt;');
    expect(svg).toContain('30 %');
  });
});

describe('replication scenarios (config only: no cluster is started here)', () => {
  it('are listed, full-run only, and their cluster can hold the topic', () => {
    for (const name of ['produce-16k-rf3-acksall', 'produce-1m-rf3-acksall']) {
      const s = SCENARIOS.find((x) => x.name === name);
      expect(s, name).toBeDefined();
      expect(s!.group).toBe('replication');
      expect(s!.quick).toBe(false);
    }
    expect(SCENARIOS.some((x) => x.name === 'cluster-3node-rf3')).toBe(false);
    expect(new Set(SCENARIOS.map((x) => x.name)).size).toBe(SCENARIOS.length);
    expect(REPLICATION.nodes).toBe(3);
    expect(REPLICATION.replicationFactor).toBeLessThanOrEqual(REPLICATION.nodes);
    expect(REPLICATION.minInsyncReplicas).toBeGreaterThan(1);
    expect(REPLICATION.minInsyncReplicas).toBeLessThanOrEqual(REPLICATION.replicationFactor);
  });

  it("uses broker/cluster/nodes.ts's node set on distinct free loopback ports", async () => {
    const nodes = await benchClusterNodes(REPLICATION.nodes, '/tmp/kbench-nodes-test', { KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' });
    expect(nodes.map((n) => n.id)).toEqual([1, 2, 3]);
    const ports = nodes.flatMap((n) => [n.clientPort, n.controllerPort]);
    expect(new Set(ports).size).toBe(6);
    const voters = nodes[0]!.env.KAFKA_CONTROLLER_QUORUM_VOTERS;
    expect(voters).toBe(nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(','));
    for (const n of nodes) {
      for (const k of CLUSTER_SHAPING_VARS) expect(n.env[k], `${n.name} ${k}`).toBeTruthy();
      expect(n.env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(voters);
      expect(n.env.CLUSTER_ID).toBe(nodes[0]!.env.CLUSTER_ID);
      expect(n.env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
      expect(n.env.KAFKA_LISTENERS).toBe(`PLAINTEXT://127.0.0.1:${n.clientPort},CONTROLLER://127.0.0.1:${n.controllerPort}`);
      expect(n.dataDir.startsWith('/tmp/kbench-nodes-test/')).toBe(true);
    }
  });

  it('reports the cluster against one node, with CPU per node and peak RSS per node', () => {
    const side = (server: 'null' | 'broker', mbps: number, cpuSecPerGB: number | null, extra: Partial<SideResult> = {}): SideResult => ({
      server,
      mbps,
      recordsPerSec: mbps * 1000,
      requestsPerSec: 0,
      cpuSeconds: null,
      cpuSecPerGB,
      peakRssMB: null,
      rssMB: null,
      ...extra,
    });
    const r: ScenarioResult = {
      name: 'produce-16k-rf3-acksall',
      title: 't',
      group: 'replication',
      params: {},
      status: 'ok',
      notes: [],
      seconds: 0,
      null: side('null', 1000, 0.5),
      single: side('broker', 200, 5, { stored: { expected: 1, stored: 1, ok: true } }),
      broker: side('broker', 40, 25, {
        stored: { expected: 2, stored: 2, ok: true },
        nodes: [
          { id: 1, name: 'kafka-1', leader: false, cpuSeconds: 1.25, peakRssMB: 120.4 },
          { id: 2, name: 'kafka-2', leader: true, cpuSeconds: 2.5, peakRssMB: 131.6 },
          { id: 3, name: 'kafka-3', leader: false, cpuSeconds: 1.3, peakRssMB: 121 },
        ],
      }),
    };
    const rows = replicationRows([r])!;
    const row = Object.fromEntries(rows[0]!.map((h, i) => [h, rows[1]![i]]));
    expect(row['1 node MB/s']).toBe('200');
    expect(row['cluster MB/s']).toBe('40.0');
    expect(row['cluster % of 1 node']).toBe('20 %');
    expect(row['cluster CPU-s/GB (sum)']).toBe('25.00');
    expect(row['cluster CPU-s per node']).toBe('1:1.25 2L:2.50 3:1.30');
    expect(row['peak RSS MB per node']).toBe('1:120 2L:132 3:121');
    expect(row.stored).toBe('yes/yes');
    expect(replicationRows([{ ...r, group: 'produce' }])).toBeNull();
  });
});
