// The benchmark's scenarios. Each runs against the null broker and then the real broker in the
// same invocation (so the ratio is measured under the same conditions), except where a null
// broker makes no sense (partition scaling, end-to-end latency) or where the broker lacks the
// feature (placeholders).
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientSpec } from './lib/clients.js';
import type { FetchSpec, LoadResult, ProduceSpec } from './lib/load.js';
import { nullTopicId } from './lib/null-broker.js';
import { memory } from './lib/proc.js';
import {
  brokerFor,
  clearProfiles,
  latestProfile,
  nullFor,
  runGen,
  sideFrom,
  withServer,
  type Ctx,
  type ScenarioResult,
  type SideResult,
} from './lib/runner.js';
import { createTopic, logEndOffsets, type ServerHandle } from './lib/servers.js';
import { batchBytes, recordsPerBatchFor, type BatchSpec } from './lib/templates.js';

export interface Scenario {
  name: string;
  title: string;
  group: 'produce' | 'fetch' | 'latency' | 'partitions' | 'clients' | 'future';
  /** Part of `--quick` (default true). */
  quick?: boolean;
  run(ctx: Ctx): Promise<ScenarioResult>;
}

const KiB = 1024;
const MiB = 1024 * 1024;
const TOPIC = 'bench';

function base(s: Scenario, params: Record<string, unknown>): ScenarioResult {
  return { name: s.name, title: s.title, group: s.group, params, status: 'ok', notes: [], seconds: 0 };
}

function batchFor(recordBytes: number, request: 'one' | number): BatchSpec {
  return { recordBytes, recordsPerBatch: request === 'one' ? 1 : recordsPerBatchFor(recordBytes, request) };
}

// ------------------------------------------------------------------------------- produce

interface ProduceDef {
  name: string;
  title: string;
  recordBytes: number;
  request: 'one' | number;
  acks: 0 | 1 | -1;
  partitions: number;
  connections: number;
  inFlight: number;
  configs?: Record<string, string>;
  quick?: boolean;
}

/** Verifies that the broker stored every acknowledged record (acks=0: every record written). */
async function verifyStored(server: ServerHandle, partitions: number, expected: number, acks: number): Promise<{ expected: number; stored: number; ok: boolean }> {
  let stored = 0;
  for (let i = 0; i < 20; i++) {
    stored = await logEndOffsets(server.port, TOPIC, partitions);
    if (stored >= expected || acks !== 0) break;
    await sleep(250); // acks=0: the broker may still be appending what was written last
  }
  return { expected, stored, ok: stored === expected };
}

function produceScenario(d: ProduceDef): Scenario {
  const s: Scenario = {
    name: d.name,
    title: d.title,
    group: 'produce',
    quick: d.quick,
    async run(ctx) {
      const batch = batchFor(d.recordBytes, d.request);
      const params = {
        recordBytes: d.recordBytes,
        recordsPerRequest: batch.recordsPerBatch,
        batchBytes: batchBytes(batch.recordBytes, batch.recordsPerBatch),
        acks: d.acks,
        partitions: d.partitions,
        connections: d.connections,
        inFlightPerConnection: d.inFlight,
        topicConfigs: d.configs ?? {},
      };
      const res = base(s, params);
      const job = (port: number): ProduceSpec => ({
        kind: 'produce',
        port,
        topic: TOPIC,
        partitions: d.partitions,
        connections: d.connections,
        inFlight: d.inFlight,
        acks: d.acks,
        batch,
        warmupMs: ctx.warmupMs,
        durationMs: ctx.durationMs,
      });
      res.null = await withServer(
        () => nullFor(ctx, d.partitions),
        async (srv) => {
          const g = await runGen(ctx, job(srv.port), srv.pid, 'null broker');
          return sideFrom('null', g.result, g.cpuSeconds, srv.pid);
        },
      );
      clearProfiles(ctx, d.name);
      res.broker = await withServer(
        () => brokerFor(ctx, d.name),
        async (srv) => {
          await createTopic(srv.port, TOPIC, d.partitions, d.configs);
          const g = await runGen(ctx, job(srv.port), srv.pid, 'broker');
          const side = sideFrom('broker', g.result, g.cpuSeconds, srv.pid);
          side.stored = await verifyStored(srv, d.partitions, (g.result as LoadResult).totalRecords, d.acks);
          return side;
        },
      );
      if (ctx.profile) res.broker.profile = latestProfile(ctx, d.name);
      res.ratio = res.null.mbps > 0 ? res.broker.mbps / res.null.mbps : null;
      return res;
    },
  };
  return s;
}

// ------------------------------------------------------------------------------- fetch

interface FetchDef {
  name: string;
  title: string;
  mode: 'tail' | 'old';
  quick?: boolean;
}

/** Produces `batches` batches (acks=1) to partition 0 with the generator; returns records stored. */
async function prefill(ctx: Ctx, srv: ServerHandle, batch: BatchSpec, batches: number): Promise<number> {
  const job: ProduceSpec = {
    kind: 'produce',
    port: srv.port,
    topic: TOPIC,
    partitions: 1,
    connections: 1,
    inFlight: 8,
    acks: 1,
    batch,
    warmupMs: 0,
    durationMs: 300_000,
    maxRequests: batches,
  };
  const g = await runGen(ctx, job, null, `prefill ${Math.round((batches * batchBytes(batch.recordBytes, batch.recordsPerBatch)) / MiB)} MiB`);
  const r = g.result as LoadResult;
  if (r.errors > 0 || r.totalRequests !== batches) throw new Error(`prefill: ${r.totalRequests}/${batches} batches stored, ${r.errors} errors ${JSON.stringify(r.errorCodes)}`);
  return r.totalRecords;
}

function fetchScenario(d: FetchDef): Scenario {
  const s: Scenario = {
    name: d.name,
    title: d.title,
    group: 'fetch',
    quick: d.quick,
    async run(ctx) {
      const batch = batchFor(1 * KiB, 16 * KiB);
      const bBytes = batchBytes(batch.recordBytes, batch.recordsPerBatch);
      const maxBytes = 1 * MiB;
      const perFetch = Math.max(1, Math.floor(maxBytes / bBytes)); // whole batches per response
      const segmentBytes = ctx.quick ? 16 * MiB : 64 * MiB;
      const oldSegments = 4;
      const prefillBytes = d.mode === 'tail' ? 8 * MiB : (oldSegments + 1) * segmentBytes;
      const prefillBatches = Math.ceil(prefillBytes / bBytes);
      const params = {
        mode: d.mode,
        recordBytes: batch.recordBytes,
        recordsPerBatch: batch.recordsPerBatch,
        batchBytes: bBytes,
        maxBytes,
        batchesPerResponse: perFetch,
        connections: 1,
        inFlightPerConnection: 4,
        prefillMiB: Math.round((prefillBatches * bBytes) / MiB),
        segmentBytes: d.mode === 'old' ? segmentBytes : undefined,
      };
      const res = base(s, params);
      const job = (port: number, topicId: string, offsets: FetchSpec['offsets']): FetchSpec => ({
        kind: 'fetch',
        port,
        topic: TOPIC,
        topicId,
        partition: 0,
        connections: 1,
        inFlight: 4,
        partitionMaxBytes: maxBytes,
        maxBytes,
        offsets,
        warmupMs: ctx.warmupMs,
        durationMs: ctx.durationMs,
      });
      res.null = await withServer(
        () => nullFor(ctx, 1, batch),
        async (srv) => {
          const g = await runGen(ctx, job(srv.port, nullTopicId(TOPIC), { first: 0, step: 0, count: 1 }), srv.pid, 'null broker');
          return sideFrom('null', g.result, g.cpuSeconds, srv.pid);
        },
      );
      clearProfiles(ctx, d.name);
      res.broker = await withServer(
        () => brokerFor(ctx, d.name),
        async (srv) => {
          const topicId = await createTopic(srv.port, TOPIC, 1, d.mode === 'old' ? { 'segment.bytes': String(segmentBytes) } : {});
          const records = await prefill(ctx, srv, batch, prefillBatches);
          const step = perFetch * batch.recordsPerBatch;
          let offsets: FetchSpec['offsets'];
          if (d.mode === 'tail') offsets = { first: records - step, step: 0, count: 1 };
          else {
            const oldBatches = Math.floor((oldSegments * segmentBytes) / bBytes) - perFetch;
            offsets = { first: 0, step, count: Math.max(1, Math.floor(oldBatches / perFetch)) };
          }
          res.params.offsets = offsets;
          const g = await runGen(ctx, job(srv.port, topicId, offsets), srv.pid, 'broker');
          return sideFrom('broker', g.result, g.cpuSeconds, srv.pid);
        },
      );
      if (ctx.profile) res.broker.profile = latestProfile(ctx, d.name);
      const nb = res.null.load!;
      const bb = res.broker.load!;
      if (nb.requests > 0 && bb.requests > 0) {
        const nPer = nb.bytes / nb.requests;
        const bPer = bb.bytes / bb.requests;
        if (Math.abs(nPer - bPer) > 1) res.notes.push(`bytes per response differ: null ${Math.round(nPer)}, broker ${Math.round(bPer)}`);
      }
      if (bb.emptyResponses > 0) res.notes.push(`${bb.emptyResponses} empty fetch responses from the broker`);
      res.ratio = res.null.mbps > 0 ? res.broker.mbps / res.null.mbps : null;
      return res;
    },
  };
  return s;
}

// ------------------------------------------------------------------------------- latency

const LATENCY_BASE = 'produce-16k-c1';

const latencyScenario: Scenario = {
  name: 'e2e-latency',
  title: 'produce and end-to-end latency at 10 / 50 / 80 % of the max rate (16 KiB requests, 1 conn, acks=1, consumer on the tail)',
  group: 'latency',
  async run(ctx) {
    const batch = batchFor(1 * KiB, 16 * KiB);
    const pcts = [10, 50, 80];
    const res = base(latencyScenario, {
      recordBytes: batch.recordBytes,
      recordsPerRequest: batch.recordsPerBatch,
      acks: 1,
      partitions: 1,
      connections: 1,
      maxInFlight: 64,
      maxRateFrom: LATENCY_BASE,
    });
    const job = (port: number, rate: number, e2e: string | null): ProduceSpec => ({
      kind: 'produce',
      port,
      topic: TOPIC,
      partitions: 1,
      connections: 1,
      inFlight: 64,
      acks: 1,
      batch,
      rate,
      endToEnd: e2e === null ? undefined : { topicId: e2e, maxBytes: 1 * MiB, maxWaitMs: 500 },
      warmupMs: ctx.warmupMs,
      durationMs: ctx.durationMs,
    });
    clearProfiles(ctx, res.name);
    let maxRate = ctx.done.get(LATENCY_BASE)?.broker?.requestsPerSec ?? 0;
    const rates: NonNullable<ScenarioResult['rates']> = [];
    res.rates = rates;
    await withServer(
      () => brokerFor(ctx, res.name),
      async (srv) => {
        const topicId = await createTopic(srv.port, TOPIC, 1);
        if (!(maxRate > 0)) {
          // Not measured in this invocation: probe the max rate with the same settings as LATENCY_BASE.
          const probe: ProduceSpec = { ...job(srv.port, 1, null), rate: undefined, inFlight: 8 };
          const g = await runGen(ctx, probe, srv.pid, 'broker max-rate probe');
          maxRate = sideFrom('broker', g.result, null, null).requestsPerSec;
          res.notes.push(`max rate probed here: ${Math.round(maxRate)} requests/s`);
        } else res.notes.push(`max rate from ${LATENCY_BASE} in this run: ${Math.round(maxRate)} requests/s`);
        res.params.maxRate = Math.round(maxRate);
        for (const pct of pcts) {
          const rate = (maxRate * pct) / 100;
          const g = await runGen(ctx, job(srv.port, rate, topicId), srv.pid, `broker at ${pct} % (${Math.round(rate)} req/s)`);
          rates.push({ pct, targetRate: rate, broker: sideFrom('broker', g.result, g.cpuSeconds, srv.pid) });
        }
      },
    );
    if (ctx.profile) res.notes.push('profile: see the produce scenarios (this one runs below saturation)');
    await withServer(
      () => nullFor(ctx, 1),
      async (srv) => {
        for (const r of rates) {
          const g = await runGen(ctx, job(srv.port, r.targetRate, null), srv.pid, `null broker at ${r.pct} %`);
          r.null = sideFrom('null', g.result, g.cpuSeconds, srv.pid);
        }
      },
    );
    return res;
  },
};

// ------------------------------------------------------------------------------- partitions

const partitionScaling: Scenario = {
  name: 'partitions-scaling',
  title: 'RSS and CPU for 1 → 100 → 1,000 → 10,000 partitions (16 KiB requests round-robin, 4 conns × 8, acks=1)',
  group: 'partitions',
  async run(ctx) {
    const counts = ctx.quick ? [1, 100, 1000] : [1, 100, 1000, 10000];
    const batch = batchFor(1 * KiB, 16 * KiB);
    const res = base(partitionScaling, { counts, recordBytes: batch.recordBytes, recordsPerRequest: batch.recordsPerBatch, connections: 4, inFlightPerConnection: 8, acks: 1 });
    res.scaling = [];
    for (const p of counts) {
      const name = `${res.name}-${p}`;
      clearProfiles(ctx, name);
      try {
        const row = await withServer(
          () => brokerFor(ctx, name),
          async (srv) => {
            const t = Date.now();
            ctx.progress.status(`${ctx.tag} · creating ${p} partitions`, true);
            await createTopic(srv.port, TOPIC, p, {}, 600_000);
            const createMs = Date.now() - t;
            const idle = memory(srv.pid);
            const job: ProduceSpec = {
              kind: 'produce',
              port: srv.port,
              topic: TOPIC,
              partitions: p,
              connections: 4,
              inFlight: 8,
              acks: 1,
              batch,
              warmupMs: ctx.warmupMs,
              durationMs: ctx.durationMs,
            };
            const g = await runGen(ctx, job, srv.pid, `broker, ${p} partitions`);
            const side = sideFrom('broker', g.result, g.cpuSeconds, srv.pid);
            side.stored = await verifyStored(srv, p, (g.result as LoadResult).totalRecords, 1);
            return { partitions: p, createMs, idleRssMB: idle ? idle.rss / 1e6 : null, side };
          },
        );
        if (ctx.profile) row.side.profile = latestProfile(ctx, name);
        res.scaling.push(row);
      } catch (e) {
        res.scaling.push({ partitions: p, createMs: null, idleRssMB: null, side: null, error: e instanceof Error ? e.message.split('\n')[0] : String(e) });
      }
    }
    return res;
  },
};

// ------------------------------------------------------------------------------- client libraries

function clientScenario(kind: ClientSpec['kind'], title: string): Scenario {
  const s: Scenario = {
    name: kind,
    title,
    group: 'clients',
    async run(ctx) {
      const recordBytes = 1 * KiB;
      const batchRecords = kind === 'platformatic-fetch' ? 0 : 100;
      const concurrency = kind === 'platformatic-fetch' ? 1 : 4;
      const res = base(s, { recordBytes, recordsPerSend: batchRecords || undefined, concurrentCalls: concurrency, acks: kind === 'platformatic-fetch' ? undefined : 1, partitions: 1, compression: 'none' });
      const fetchBatch = batchFor(recordBytes, 16 * KiB);
      const job = (port: number, endOffset?: number): ClientSpec => ({
        kind,
        port,
        topic: TOPIC,
        partitions: 1,
        recordBytes,
        batchRecords,
        concurrency,
        warmupMs: ctx.warmupMs,
        durationMs: ctx.durationMs,
        endOffset,
        fetchMaxBytes: 1 * MiB,
      });
      res.null = await withServer(
        () => nullFor(ctx, 1, fetchBatch),
        async (srv) => {
          const g = await runGen(ctx, job(srv.port), srv.pid, 'null broker');
          return sideFrom('null', g.result, g.cpuSeconds, srv.pid);
        },
      );
      clearProfiles(ctx, s.name);
      res.broker = await withServer(
        () => brokerFor(ctx, s.name),
        async (srv) => {
          await createTopic(srv.port, TOPIC, 1);
          let end: number | undefined;
          if (kind === 'platformatic-fetch') {
            const bBytes = batchBytes(fetchBatch.recordBytes, fetchBatch.recordsPerBatch);
            end = await prefill(ctx, srv, fetchBatch, Math.ceil((64 * MiB) / bBytes));
            res.params.prefillMiB = 64;
          }
          const g = await runGen(ctx, job(srv.port, end), srv.pid, 'broker');
          return sideFrom('broker', g.result, g.cpuSeconds, srv.pid);
        },
      );
      if (ctx.profile) res.broker.profile = latestProfile(ctx, s.name);
      for (const side of [res.null, res.broker]) {
        const c = side.client!;
        if (c.errors > 0) res.notes.push(`${side.server}: ${c.errors} failed calls (${c.firstError})`);
      }
      res.ratio = res.null.mbps > 0 ? res.broker.mbps / res.null.mbps : null;
      return res;
    },
  };
  return s;
}

// ------------------------------------------------------------------------------- not yet measurable

function future(name: string, title: string, why: string, status: 'not-measurable' | 'placeholder'): Scenario {
  const s: Scenario = {
    name,
    title,
    group: 'future',
    async run() {
      const r = base(s, {});
      r.status = status;
      r.notes.push(why);
      return r;
    },
  };
  return s;
}

export const SCENARIOS: Scenario[] = [
  produceScenario({ name: 'produce-1m-acks1', title: '1 MiB requests (1 KiB records), acks=1, 1 conn × 4 in flight', recordBytes: 1 * KiB, request: 1 * MiB, acks: 1, partitions: 1, connections: 1, inFlight: 4 }),
  produceScenario({ name: 'produce-16k-acks1', title: '16 KiB requests (1 KiB records), acks=1, 4 conns × 8', recordBytes: 1 * KiB, request: 16 * KiB, acks: 1, partitions: 1, connections: 4, inFlight: 8 }),
  produceScenario({ name: 'produce-16k-acks0', title: '16 KiB requests, acks=0, 4 conns × 8', recordBytes: 1 * KiB, request: 16 * KiB, acks: 0, partitions: 1, connections: 4, inFlight: 8 }),
  produceScenario({ name: 'produce-16k-acksall', title: '16 KiB requests, acks=-1, 4 conns × 8', recordBytes: 1 * KiB, request: 16 * KiB, acks: -1, partitions: 1, connections: 4, inFlight: 8 }),
  produceScenario({ name: 'produce-16k-c1', title: '16 KiB requests, acks=1, 1 conn × 8', recordBytes: 1 * KiB, request: 16 * KiB, acks: 1, partitions: 1, connections: 1, inFlight: 8 }),
  produceScenario({ name: 'produce-16k-p16', title: '16 KiB requests, acks=1, 16 partitions round-robin, 4 conns × 8', recordBytes: 1 * KiB, request: 16 * KiB, acks: 1, partitions: 16, connections: 4, inFlight: 8 }),
  produceScenario({ name: 'produce-16k-100b', title: '16 KiB requests of 100 B records, acks=1, 4 conns × 8', recordBytes: 100, request: 16 * KiB, acks: 1, partitions: 1, connections: 4, inFlight: 8 }),
  produceScenario({ name: 'produce-16k-10k', title: '16 KiB requests of 10 KiB records (1 per batch), acks=1, 4 conns × 8', recordBytes: 10 * KiB, request: 16 * KiB, acks: 1, partitions: 1, connections: 4, inFlight: 8 }),
  produceScenario({ name: 'produce-1rec-1k', title: 'one 1 KiB record per request, acks=1, 4 conns × 16', recordBytes: 1 * KiB, request: 'one', acks: 1, partitions: 1, connections: 4, inFlight: 16 }),
  produceScenario({ name: 'produce-1rec-100b', title: 'one 100 B record per request, acks=1, 4 conns × 16', recordBytes: 100, request: 'one', acks: 1, partitions: 1, connections: 4, inFlight: 16, quick: false }),
  produceScenario({
    name: 'produce-16k-fsync',
    title: '16 KiB requests, acks=1, flush.messages=1 (fsync per append), 4 conns × 8',
    recordBytes: 1 * KiB,
    request: 16 * KiB,
    acks: 1,
    partitions: 1,
    connections: 4,
    inFlight: 8,
    configs: { 'flush.messages': '1' },
  }),
  future('produce-group-commit', 'flush policy "group commit" (one fsync for every waiting request)', 'not yet measurable: the broker has no group-commit flush policy (flush.messages=1 fsyncs in the background and does not hold the ack)', 'not-measurable'),
  fetchScenario({ name: 'fetch-tail-1m', title: 'fetch the recent tail (in memory), 1 MiB max bytes, 1 conn × 4', mode: 'tail' }),
  fetchScenario({ name: 'fetch-old-1m', title: 'fetch older segments (files, page cache), 1 MiB max bytes, 1 conn × 4', mode: 'old' }),
  latencyScenario,
  partitionScaling,
  clientScenario('kafkajs-produce', 'kafkajs 2.2 producer: send() of 100 × 1 KiB, acks=1, 4 sends in flight'),
  clientScenario('platformatic-produce', '@platformatic/kafka producer: send() of 100 × 1 KiB, acks=1, 4 sends in flight'),
  clientScenario('platformatic-fetch', '@platformatic/kafka Consumer.fetch() loop, 1 MiB max bytes, records decoded'),
  future('kafkajs-consume', 'kafkajs consumer (eachBatch)', 'not yet measurable: kafkajs has no consumer without a group, and consumer groups are issue 3', 'not-measurable'),
  future('cluster-3node-rf3', '3-node cluster, replication factor 3, acks=-1', 'PLACEHOLDER: needs the cluster (KRaft quorum and replication) issues; the harness starts one broker today', 'placeholder'),
];
