// The benchmark's scenarios. Each runs against the null broker and then the real broker in the
// same invocation (so the ratio is measured under the same conditions), except where a null
// broker makes no sense (the storage floors, partition scaling, end-to-end latency) or cannot
// serve the client (kafkajs-consume: consumer groups).
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientResult, ClientSpec } from './lib/clients.js';
import type { DiskSpec } from './lib/disk.js';
import type { FetchSpec, LoadResult, ProduceSpec } from './lib/load.js';
import { nullTopicId } from './lib/null-broker.js';
import { memory } from './lib/proc.js';
import {
  alternate,
  brokerFor,
  clearProfiles,
  clusterFor,
  latestProfile,
  nullFor,
  runGen,
  runSteady,
  sideFrom,
  waitQuiet,
  withServer,
  type Ctx,
  type ScenarioResult,
  type SideResult,
} from './lib/runner.js';
import { createTopic, logEndOffsets, waitForIsr, type ServerHandle } from './lib/servers.js';
import { batchBytes, recordsPerBatchFor, type BatchSpec } from './lib/templates.js';

export interface Scenario {
  name: string;
  title: string;
  group: 'floor' | 'produce' | 'fetch' | 'latency' | 'partitions' | 'replication' | 'clients' | 'future';
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

// ------------------------------------------------------------------------------- storage floor

function diskFloorScenario(name: string, title: string, sync: 'none' | 'fsync'): Scenario {
  const s: Scenario = {
    name,
    title,
    group: 'floor',
    async run(ctx) {
      const res = base(s, { chunkBytes: 1 * MiB, fsync: sync === 'fsync' ? 'fs.fsync after every chunk, one write+fsync at a time' : false });
      const job: DiskSpec = {
        kind: 'disk-write',
        dir: path.join(ctx.cacheDir, 'data', name),
        chunkBytes: 1 * MiB,
        warmupMs: ctx.warmupMs,
        durationMs: ctx.durationMs,
        maxFileBytes: 2 * 1024 * MiB,
        sync,
      };
      const g = await runGen(ctx, job, null, `file writer${sync === 'fsync' ? ' (fsync every 1 MiB)' : ''} on the broker core`, ctx.brokerCpu);
      const r = g.result as ClientResult & { cpuSeconds: number };
      res.broker = sideFrom('broker', r, r.cpuSeconds, null, g.otherLoad);
      const cpu = `${res.broker.cpuSecPerGB?.toFixed(2)} CPU-s/GB`;
      if (sync === 'fsync') res.notes.push(`the machine persists ${res.broker.mbps.toFixed(0)} MB/s durably with an fsync after every 1 MiB write (${cpu}; write+fsync p50/p99 ${(r.latency.p50 / 1000).toFixed(2)}/${(r.latency.p99 / 1000).toFixed(2)} ms)`);
      else res.notes.push(`the broker cannot persist faster than ${res.broker.mbps.toFixed(0)} MB/s here (plain sequential writes, ${cpu})`);
      return res;
    },
  };
  return s;
}

const diskFloor = diskFloorScenario(
  'disk-write-floor',
  'storage floor: one Node process appending 1 MiB fs.writev chunks to a file (no fsync), on the broker core',
  'none',
);

const diskFsyncFloor = diskFloorScenario(
  'disk-fsync-floor',
  "durable storage floor: one Node process appending 1 MiB fs.writev chunks, fs.fsync after each (one write+fsync at a time), on the broker core: the machine's fsync-every-1 MiB write rate",
  'fsync',
);

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
      clearProfiles(ctx, d.name);
      await withServer(
        () => nullFor(ctx, d.partitions),
        (nullSrv) =>
          withServer(
            () => brokerFor(ctx, d.name),
            async (brokerSrv) => {
              await createTopic(brokerSrv.port, TOPIC, d.partitions, d.configs);
              let total = 0;
              await alternate(
                ctx,
                [
                  { server: 'null', handle: nullSrv, job: job(nullSrv.port) },
                  { server: 'broker', handle: brokerSrv, job: job(brokerSrv.port) },
                ],
                res,
                (r) => (total += (r as LoadResult).totalRecords),
              );
              res.broker!.stored = await verifyStored(brokerSrv, d.partitions, total, d.acks);
            },
          ),
      );
      if (ctx.profile) res.broker!.profile = latestProfile(ctx, d.name);
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
      clearProfiles(ctx, d.name);
      await withServer(
        () => nullFor(ctx, 1, batch),
        (nullSrv) =>
          withServer(
            () => brokerFor(ctx, d.name),
            async (brokerSrv) => {
              const topicId = await createTopic(brokerSrv.port, TOPIC, 1, d.mode === 'old' ? { 'segment.bytes': String(segmentBytes) } : {});
              const records = await prefill(ctx, brokerSrv, batch, prefillBatches);
              const step = perFetch * batch.recordsPerBatch;
              let offsets: FetchSpec['offsets'];
              if (d.mode === 'tail') offsets = { first: records - step, step: 0, count: 1 };
              else {
                const oldBatches = Math.floor((oldSegments * segmentBytes) / bBytes) - perFetch;
                offsets = { first: 0, step, count: Math.max(1, Math.floor(oldBatches / perFetch)) };
              }
              res.params.offsets = offsets;
              await alternate(ctx, [
                { server: 'null', handle: nullSrv, job: job(nullSrv.port, nullTopicId(TOPIC), { first: 0, step: 0, count: 1 }) },
                { server: 'broker', handle: brokerSrv, job: job(brokerSrv.port, topicId, offsets) },
              ], res);
            },
          ),
      );
      if (ctx.profile) res.broker!.profile = latestProfile(ctx, d.name);
      const nb = res.null!.load!;
      const bb = res.broker!.load!;
      if (nb.requests > 0 && bb.requests > 0) {
        const nPer = nb.bytes / nb.requests;
        const bPer = bb.bytes / bb.requests;
        if (Math.abs(nPer - bPer) > 1) res.notes.push(`bytes per response differ: null ${Math.round(nPer)}, broker ${Math.round(bPer)}`);
      }
      if (bb.emptyResponses > 0) res.notes.push(`${bb.emptyResponses} empty fetch responses from the broker`);
      return res;
    },
  };
  return s;
}

// ------------------------------------------------------------------------------- latency

const LATENCY_BASE = 'produce-16k-c1';

const latencyScenario: Scenario = {
  name: 'e2e-latency',
  title: 'produce latency (producer alone) and end-to-end latency (consumer on the tail) at 10 / 50 / 80 % of the max rate (16 KiB requests, 1 conn, acks=1)',
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
    const producerOnly = ctx.done.get(LATENCY_BASE)?.broker?.requestsPerSec;
    let maxRate = 0;
    const rates: NonNullable<ScenarioResult['rates']> = [];
    res.rates = rates;
    await withServer(
      () => brokerFor(ctx, res.name),
      async (srv) => {
        const topicId = await createTopic(srv.port, TOPIC, 1);
        // The max rate with the consumer attached (the load of the latency runs), same producer
        // settings as LATENCY_BASE (1 connection × 8 in flight).
        const probe: ProduceSpec = { ...job(srv.port, 1, topicId), rate: undefined, inFlight: 8 };
        const g = await runSteady(ctx, probe, srv.pid, 'broker max-rate probe (with consumer)');
        const p = sideFrom('broker', g.result, g.cpuSeconds, srv.pid, g.otherLoad);
        maxRate = p.requestsPerSec;
        res.broker = p;
        res.notes.push(
          `max rate with the tail consumer: ${Math.round(maxRate)} requests/s (${p.mbps.toFixed(0)} MB/s)` +
            (producerOnly ? `; producer alone (${LATENCY_BASE}): ${Math.round(producerOnly)} requests/s` : ''),
        );
        res.params.maxRate = Math.round(maxRate);
        for (const pct of pcts) {
          const rate = (maxRate * pct) / 100;
          const alone = await runSteady(ctx, job(srv.port, rate, null), srv.pid, `broker at ${pct} % (${Math.round(rate)} req/s), producer alone`);
          const g = await runSteady(ctx, job(srv.port, rate, topicId), srv.pid, `broker at ${pct} % (${Math.round(rate)} req/s), with the consumer`);
          rates.push({
            pct,
            targetRate: rate,
            producerAlone: sideFrom('broker', alone.result, alone.cpuSeconds, srv.pid, alone.otherLoad),
            broker: sideFrom('broker', g.result, g.cpuSeconds, srv.pid, g.otherLoad),
          });
        }
      },
    );
    if (ctx.profile) res.notes.push('profile: see the produce scenarios (this one runs below saturation)');
    await withServer(
      () => nullFor(ctx, 1),
      async (srv) => {
        for (const r of rates) {
          const g = await runSteady(ctx, job(srv.port, r.targetRate, null), srv.pid, `null broker at ${r.pct} %`);
          r.null = sideFrom('null', g.result, g.cpuSeconds, srv.pid, g.otherLoad);
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
            await waitQuiet(ctx, ctx.quietWaitMs);
            const g = await runGen(ctx, job, srv.pid, `broker, ${p} partitions`);
            const side = sideFrom('broker', g.result, g.cpuSeconds, srv.pid, g.otherLoad);
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

// ------------------------------------------------------------------------------- replication

/** The cluster of the replication scenarios: broker/cluster/nodes.ts, 3 combined nodes. */
export const REPLICATION = { nodes: 3, replicationFactor: 3, minInsyncReplicas: 2 } as const;

export interface ReplicatedDef {
  name: string;
  title: string;
  recordBytes: number;
  request: number;
  connections: number;
  inFlight: number;
}

/**
 * acks=-1 on a 3-node cluster (replication factor 3, min.insync.replicas=2, one partition): the
 * generator drives the partition's leader once every node's Metadata shows an ISR of 3. For
 * comparison, in the same scenario: the null broker (ceiling) and one node (replication factor
 * 1) with the same job, alternating; then the cluster. CPU is summed over the cluster's nodes,
 * all on the broker core (one core for the whole cluster), and each node's peak RSS is kept.
 */
function replicatedScenario(d: ReplicatedDef): Scenario {
  const s: Scenario = {
    name: d.name,
    title: d.title,
    group: 'replication',
    // Two broker starts, a cluster start and three sides of runs: well over 30 s.
    quick: false,
    async run(ctx) {
      const batch = batchFor(d.recordBytes, d.request);
      const res = base(s, {
        recordBytes: d.recordBytes,
        recordsPerRequest: batch.recordsPerBatch,
        batchBytes: batchBytes(batch.recordBytes, batch.recordsPerBatch),
        acks: -1,
        partitions: 1,
        connections: d.connections,
        inFlightPerConnection: d.inFlight,
        nodes: REPLICATION.nodes,
        replicationFactor: REPLICATION.replicationFactor,
        topicConfigs: { 'min.insync.replicas': String(REPLICATION.minInsyncReplicas) },
        singleNode: { replicationFactor: 1, topicConfigs: {} },
        pinning: ctx.brokerCpu === null ? 'unpinned' : `all ${REPLICATION.nodes} nodes (and the single node, the null broker) on CPU ${ctx.brokerCpu}, generator on CPU ${ctx.genCpu}`,
      });
      const job = (port: number): ProduceSpec => ({
        kind: 'produce',
        port,
        topic: TOPIC,
        partitions: 1,
        connections: d.connections,
        inFlight: d.inFlight,
        acks: -1,
        batch,
        warmupMs: ctx.warmupMs,
        durationMs: ctx.durationMs,
      });
      clearProfiles(ctx, d.name);

      // 1. The ceiling and one node, alternating (as the produce scenarios do).
      const single = base(s, {});
      await withServer(
        () => nullFor(ctx, 1),
        (nullSrv) =>
          withServer(
            () => brokerFor(ctx, d.name),
            async (brokerSrv) => {
              await createTopic(brokerSrv.port, TOPIC, 1);
              let total = 0;
              await alternate(
                ctx,
                [
                  { server: 'null', handle: nullSrv, job: job(nullSrv.port) },
                  { server: 'broker', handle: brokerSrv, job: job(brokerSrv.port) },
                ],
                single,
                (r) => (total += (r as LoadResult).totalRecords),
              );
              single.broker!.stored = await verifyStored(brokerSrv, 1, total, -1);
            },
          ),
      );
      if (ctx.profile) single.broker!.profile = latestProfile(ctx, d.name);

      // 2. The cluster.
      ctx.progress.status(`${ctx.tag} · starting a ${REPLICATION.nodes}-node cluster`, true);
      await withServer(
        () => clusterFor(ctx, REPLICATION.nodes),
        async (cluster) => {
          const ports = cluster.nodes.map((n) => n.port);
          const t0 = Date.now();
          await createTopic(cluster.port, TOPIC, 1, { 'min.insync.replicas': String(REPLICATION.minInsyncReplicas) }, 60_000, REPLICATION.replicationFactor);
          ctx.progress.status(`${ctx.tag} · waiting for an ISR of ${REPLICATION.replicationFactor}`, true);
          const [leaderId] = await waitForIsr(ports, TOPIC, 1, REPLICATION.replicationFactor, 60_000);
          res.params.isrReadyMs = Date.now() - t0;
          res.params.leader = leaderId;
          const leader = cluster.lead(leaderId!);
          let total = 0;
          await alternate(ctx, [{ server: 'broker', handle: leader, job: job(leader.port) }], res, (r) => (total += (r as LoadResult).totalRecords));
          // ListOffsets at the leader answers the high watermark: every acknowledged record must be below it.
          res.broker!.stored = await verifyStored(leader, 1, total, -1);
          // Was it still 3-way replication at the end (no follower dropped out of the ISR)?
          try {
            await waitForIsr(ports, TOPIC, 1, REPLICATION.replicationFactor, 5_000);
            res.params.isrAfter = REPLICATION.replicationFactor;
          } catch (e) {
            res.notes.push(`ISR below ${REPLICATION.replicationFactor} after the runs: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
          }
        },
      );
      if (ctx.profile) res.notes.push('--profile: the single node is profiled, the cluster nodes are not');

      res.null = single.null;
      res.single = single.broker;
      res.ratio = res.null && res.broker && res.null.mbps > 0 ? res.broker.mbps / res.null.mbps : null;
      res.attempts = [
        ...(single.attempts ?? []).map((a) => (a.server === 'broker' ? { ...a, side: '1 node' } : a)),
        ...(res.attempts ?? []).map((a) => ({ ...a, side: `${REPLICATION.nodes} nodes` })),
      ];
      for (const side of [res.single, res.broker]) {
        const l = side?.load;
        if (l && l.errors > 0) res.notes.push(`${side === res.single ? '1 node' : `${REPLICATION.nodes} nodes`}: ${l.errors} produce errors ${JSON.stringify(l.errorCodes)}`);
      }
      if (res.single && res.broker) res.notes.push(`${REPLICATION.nodes} nodes at ${Math.round((res.broker.mbps / Math.max(1e-9, res.single.mbps)) * 100)} % of one node's throughput, ${res.broker.cpuSecPerGB?.toFixed(2)} vs ${res.single.cpuSecPerGB?.toFixed(2)} CPU-s/GB (all nodes on one core)`);
      return res;
    },
  };
  return s;
}

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
      clearProfiles(ctx, s.name);
      await withServer(
        () => nullFor(ctx, 1, fetchBatch),
        (nullSrv) =>
          withServer(
            () => brokerFor(ctx, s.name),
            async (brokerSrv) => {
              await createTopic(brokerSrv.port, TOPIC, 1);
              let end: number | undefined;
              if (kind === 'platformatic-fetch') {
                const bBytes = batchBytes(fetchBatch.recordBytes, fetchBatch.recordsPerBatch);
                end = await prefill(ctx, brokerSrv, fetchBatch, Math.ceil((64 * MiB) / bBytes));
                res.params.prefillMiB = 64;
              }
              await alternate(ctx, [
                { server: 'null', handle: nullSrv, job: job(nullSrv.port) },
                { server: 'broker', handle: brokerSrv, job: job(brokerSrv.port, end) },
              ], res);
            },
          ),
      );
      if (ctx.profile) res.broker!.profile = latestProfile(ctx, s.name);
      for (const side of [res.null!, res.broker!]) {
        const c = side.client!;
        if (c.errors > 0) res.notes.push(`${side.server}: ${c.errors} failed calls (${c.firstError})`);
      }
      return res;
    },
  };
  return s;
}

/**
 * What the prefill of kafkajs-consume is sized for: the records must last the warm-up and the
 * window at this rate (×1.5). If they run out anyway, the window ends there and a note says so.
 */
const KAFKAJS_CONSUME_SIZED_FOR_MBPS = 200;

/**
 * kafkajs consumer groups need FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetCommit,
 * which the null broker does not serve: no ceiling, the broker side only (as disk-write-floor).
 * The records are prefilled with the project's generator (16 KiB batches of 1 KiB records), then
 * each run is a fresh consumer group reading them from offset 0 (bench/lib/clients.ts).
 */
const kafkajsConsume: Scenario = {
  name: 'kafkajs-consume',
  title: 'kafkajs 2.2 consumer: own consumer group, fromBeginning, eachBatch, over prefilled 1 KiB records (16 KiB batches), 1 MiB max bytes per partition (no null broker: it has no groups)',
  group: 'clients',
  async run(ctx) {
    const batch = batchFor(1 * KiB, 16 * KiB);
    const bBytes = batchBytes(batch.recordBytes, batch.recordsPerBatch);
    const windowS = (ctx.warmupMs + ctx.durationMs) / 1000;
    const wantBytes = Math.min(1536 * MiB, Math.max(32 * MiB, KAFKAJS_CONSUME_SIZED_FOR_MBPS * 1e6 * windowS * 1.5));
    const batches = Math.ceil(wantBytes / bBytes);
    const res = base(kafkajsConsume, {
      recordBytes: batch.recordBytes,
      recordsPerBatch: batch.recordsPerBatch,
      partitions: 1,
      maxBytesPerPartition: 1 * MiB,
      prefillMiB: Math.round((batches * bBytes) / MiB),
      prefillSizedForMBps: KAFKAJS_CONSUME_SIZED_FOR_MBPS,
      autoCommitIntervalMs: 5_000,
      nullBroker: 'none (no consumer groups)',
      brokerEnv: { KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' },
    });
    clearProfiles(ctx, res.name);
    await withServer(
      () => brokerFor(ctx, res.name, { KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' }),
      async (srv) => {
        await createTopic(srv.port, TOPIC, 1);
        const end = await prefill(ctx, srv, batch, batches);
        res.params.prefillRecords = end;
        const job: ClientSpec = {
          kind: 'kafkajs-consume',
          port: srv.port,
          topic: TOPIC,
          partitions: 1,
          recordBytes: batch.recordBytes,
          batchRecords: 0,
          concurrency: 1,
          warmupMs: ctx.warmupMs,
          durationMs: ctx.durationMs,
          endOffset: end,
          fetchMaxBytes: 1 * MiB,
          joinTimeoutMs: 30_000,
        };
        await alternate(ctx, [{ server: 'broker', handle: srv, job }], res);
      },
    );
    if (ctx.profile) res.broker!.profile = latestProfile(ctx, res.name);
    const c = res.broker!.client!;
    // Nothing consumed in the window (ran out in the warm-up, join timeout, crash): no figure.
    if (c.records === 0) throw new Error(`kafkajs consumer measured nothing: ${c.firstError ?? 'no records in the window'}`);
    if (c.errors > 0) res.notes.push(`consumer error: ${c.firstError}`);
    const d = c.consume;
    if (d) {
      res.notes.push(`group join to first batch ${d.joinMs} ms (not in the window); p50/p99 = ${d.latencyIs}`);
      if (d.ranOutAtMs !== null) res.notes.push(`the ${Number(res.params.prefillRecords).toLocaleString('en-US')} prefilled records ran out ${(d.ranOutAtMs / 1000).toFixed(2)} s into the ${(ctx.durationMs / 1000).toFixed(1)} s window: the rate is over that shorter window (raise KAFKAJS_CONSUME_SIZED_FOR_MBPS)`);
    }
    res.notes.push('no null-broker ceiling: the null broker serves no consumer groups');
    return res;
  },
};

export const SCENARIOS: Scenario[] = [
  diskFloor,
  diskFsyncFloor,
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
  // Flush policies (issue 7: none / per request / group commit). The topic's flush.messages=1
  // holds each ack until an fsync covering its records; the fsyncs of the requests waiting at
  // the same moment are one (log/partition-log.ts flush()). With one request in flight every
  // request gets its own fsync ("per request"); with 4 conns × 8 they share them ("group commit").
  produceScenario({
    name: 'produce-16k-fsync',
    title: 'flush policy "group commit": 16 KiB requests, acks=1, flush.messages=1 (each ack waits for an fsync shared by the requests waiting then), 4 conns × 8',
    recordBytes: 1 * KiB,
    request: 16 * KiB,
    acks: 1,
    partitions: 1,
    connections: 4,
    inFlight: 8,
    configs: { 'flush.messages': '1' },
  }),
  produceScenario({
    name: 'produce-16k-fsync-c1',
    title: 'flush policy "per request": 16 KiB requests, acks=1, flush.messages=1, 1 conn × 1 in flight (every request waits for its own fsync)',
    recordBytes: 1 * KiB,
    request: 16 * KiB,
    acks: 1,
    partitions: 1,
    connections: 1,
    inFlight: 1,
    configs: { 'flush.messages': '1' },
  }),
  fetchScenario({ name: 'fetch-tail-1m', title: 'fetch the recent tail (in memory), 1 MiB max bytes, 1 conn × 4', mode: 'tail' }),
  fetchScenario({ name: 'fetch-old-1m', title: 'fetch older segments (files, page cache), 1 MiB max bytes, 1 conn × 4', mode: 'old' }),
  latencyScenario,
  partitionScaling,
  clientScenario('kafkajs-produce', 'kafkajs 2.2 producer: send() of 100 × 1 KiB, acks=1, 4 sends in flight'),
  clientScenario('platformatic-produce', '@platformatic/kafka producer: send() of 100 × 1 KiB, acks=1, 4 sends in flight'),
  clientScenario('platformatic-fetch', '@platformatic/kafka Consumer.fetch() loop, 1 MiB max bytes, records decoded'),
  kafkajsConsume,
  replicatedScenario({ name: 'produce-16k-rf3-acksall', title: '3-node cluster, replication factor 3, min.insync.replicas=2, acks=-1: 16 KiB requests, 4 conns × 8 (vs 1 node)', recordBytes: 1 * KiB, request: 16 * KiB, connections: 4, inFlight: 8 }),
  replicatedScenario({ name: 'produce-1m-rf3-acksall', title: '3-node cluster, replication factor 3, min.insync.replicas=2, acks=-1: 1 MiB requests, 1 conn × 4 (vs 1 node)', recordBytes: 1 * KiB, request: 1 * MiB, connections: 1, inFlight: 4 }),
];
