// What Node users see: the same broker driven by kafkajs and @platformatic/kafka at ordinary
// settings (no compression, batches of `batchRecords` records of `recordBytes`, `concurrency`
// send() calls in flight, acks=1). Throughput counts record values (payload), not framing.
// Consumers: @platformatic/kafka's group-less Consumer.fetch() loop, and a kafkajs consumer in a
// consumer group of its own (kafkajs has no group-less consumer) reading prefilled records from
// the beginning with eachBatch.
import { performance } from 'node:perf_hooks';
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import type { Phase } from './load.js';

export interface ClientSpec {
  kind: 'kafkajs-produce' | 'platformatic-produce' | 'platformatic-fetch' | 'kafkajs-consume';
  port: number;
  topic: string;
  partitions: number;
  recordBytes: number;
  batchRecords: number;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /**
   * platformatic-fetch: offsets [0, endOffset) are read in a cycle (∞ for the null broker).
   * kafkajs-consume: the records prefilled in partition 0, read once from offset 0.
   */
  endOffset?: number;
  /** kafkajs-consume: longest wait for the group join and the first batch (default 30 s). */
  joinTimeoutMs?: number;
  fetchMaxBytes?: number;
}

export interface ClientResult {
  kind: ClientSpec['kind'] | 'disk-write';
  elapsedMs: number;
  /** send() or fetch() calls completed in the window (kafkajs-consume: eachBatch calls). */
  calls: number;
  records: number;
  /** Record value bytes in the window. */
  bytes: number;
  errors: number;
  firstError?: string;
  latency: LatencySummary;
  /** kafkajs-consume: the group join, where the prefilled records ran out. */
  consume?: ConsumeDetails;
}

export interface ConsumeDetails {
  groupId: string;
  /** Connect + subscribe + group join until the first batch arrived, ms. */
  joinMs: number;
  /** The last prefilled record was consumed this many ms into the measure window (the window ended there); null if the window ended first. */
  ranOutAtMs: number | null;
  /** Highest offset consumed (+1) by the end. */
  consumedTo: number;
  /** What the latency histogram holds. */
  latencyIs: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Window {
  measureStart: number;
  measureEnd: number;
}

async function drive(
  spec: ClientSpec,
  onPhase: (p: Phase) => void,
  call: () => Promise<{ records: number; bytes: number }>,
): Promise<ClientResult> {
  const t0 = performance.now();
  const w: Window = { measureStart: t0 + spec.warmupMs, measureEnd: t0 + spec.warmupMs + spec.durationMs };
  const hist = new LatencyHistogram();
  let calls = 0;
  let records = 0;
  let bytes = 0;
  let errors = 0;
  let firstError: string | undefined;
  onPhase('warmup');
  const measureTimer = setTimeout(() => onPhase('measure'), spec.warmupMs);
  const worker = async () => {
    for (let i = 0; i < 10_000_000 && performance.now() < w.measureEnd; i++) {
      const s = performance.now();
      try {
        const r = await call();
        const e = performance.now();
        if (e >= w.measureStart && e <= w.measureEnd) {
          calls++;
          records += r.records;
          bytes += r.bytes;
          hist.recordMillis(e - s);
        }
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  clearTimeout(measureTimer);
  onPhase('drain');
  return { kind: spec.kind, elapsedMs: spec.durationMs, calls, records, bytes, errors, firstError, latency: hist.summary() };
}

function values(spec: ClientSpec): Buffer[] {
  return Array.from({ length: spec.batchRecords }, (_, i) => Buffer.alloc(spec.recordBytes, 97 + (i % 26)));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * A kafkajs consumer in a group of its own (unique id, so every run starts from offset 0), reading
 * the `endOffset` prefilled records of partition 0 from the beginning with eachBatch (batches
 * resolved automatically, offsets committed every 5 s as the Java client's default
 * auto.commit.interval.ms). The warm-up starts at the first batch (after connect, subscribe and
 * the group join, which are reported as `joinMs`), then the measure window; if the prefilled
 * records run out inside the window, the window ends there (`ranOutAtMs`) and the rate is over
 * that shorter window. Every wait is bounded.
 */
async function kafkajsConsume(spec: ClientSpec, bootstrap: string, onPhase: (p: Phase) => void): Promise<ClientResult> {
  const end = spec.endOffset;
  if (end === undefined || end <= 0) throw new Error('kafkajs-consume needs endOffset > 0 (the prefilled records)');
  const joinTimeoutMs = spec.joinTimeoutMs ?? 30_000;
  const groupId = `bench-kafkajs-consume-${process.pid}-${Date.now()}`;
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: spec.fetchMaxBytes ?? 1024 * 1024,
    maxWaitTimeInMs: 500,
    retry: { retries: 2 },
  });
  const hist = new LatencyHistogram();
  let calls = 0;
  let records = 0;
  let bytes = 0;
  let errors = 0;
  let firstError: string | undefined;
  let consumedTo = 0;
  const t0 = performance.now();
  let first: number | null = null;
  let measureStart = Infinity;
  let measureEnd = Infinity;
  let lastBatchAt = 0;
  let endedAt: number | null = null;
  let ranOutAtMs: number | null = null;
  const timers: NodeJS.Timeout[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const stop = (at: number, error?: string) => {
    if (endedAt !== null) return;
    endedAt = at;
    if (error) {
      errors++;
      firstError ??= error;
    }
    finish();
  };
  onPhase('connect');
  consumer.on(consumer.events.CRASH, (e) => stop(performance.now(), `consumer crashed: ${e.payload.error?.message ?? String(e.payload.error)}`));
  timers.push(setTimeout(() => first === null && stop(performance.now(), `no batch within ${joinTimeoutMs} ms (connect, group join, first fetch)`), joinTimeoutMs));
  try {
    await withTimeout(consumer.connect(), joinTimeoutMs, 'kafkajs consumer connect');
    await withTimeout(consumer.subscribe({ topics: [spec.topic], fromBeginning: true }), joinTimeoutMs, 'kafkajs subscribe');
    await withTimeout(
      consumer.run({
        autoCommit: true,
        autoCommitInterval: 5_000,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          const now = performance.now();
          if (endedAt !== null) return;
          if (first === null) {
            first = now;
            measureStart = now + spec.warmupMs;
            measureEnd = measureStart + spec.durationMs;
            onPhase('warmup');
            timers.push(setTimeout(() => endedAt === null && onPhase('measure'), spec.warmupMs));
            timers.push(setTimeout(() => stop(measureEnd), spec.warmupMs + spec.durationMs));
          } else if (now >= measureStart && now <= measureEnd) {
            calls++;
            records += batch.messages.length;
            for (const m of batch.messages) bytes += m.value?.length ?? 0;
            hist.recordMillis(now - lastBatchAt);
          }
          lastBatchAt = now;
          const last = batch.messages[batch.messages.length - 1];
          if (last) consumedTo = Math.max(consumedTo, Number(last.offset) + 1);
          if (consumedTo >= end) {
            if (now < measureStart) stop(now, `the ${end} prefilled records ran out during the warm-up (${Math.round(now - first)} ms after the first batch)`);
            else {
              ranOutAtMs = now - measureStart;
              stop(now);
            }
          }
        },
      }),
      joinTimeoutMs,
      'kafkajs consumer run',
    );
    await finished;
  } finally {
    for (const t of timers) clearTimeout(t);
    onPhase('drain');
    await withTimeout(consumer.disconnect(), 10_000, 'kafkajs consumer disconnect').catch(() => {});
  }
  // The window: from its start to its end or to where the records ran out (or the consumer
  // failed); a run that never reached the window reports 0 records over the nominal duration.
  const windowEnd = Math.min(endedAt ?? measureEnd, measureEnd);
  const elapsedMs = windowEnd > measureStart && Number.isFinite(windowEnd) ? windowEnd - measureStart : spec.durationMs;
  return {
    kind: spec.kind,
    elapsedMs,
    calls,
    records,
    bytes,
    errors,
    firstError,
    latency: hist.summary(),
    consume: {
      groupId,
      joinMs: first === null ? -1 : Math.round(first - t0),
      ranOutAtMs: ranOutAtMs === null ? null : Math.round(ranOutAtMs),
      consumedTo,
      latencyIs: 'time between successive eachBatch calls (one batch = one partition of a fetch response)',
    },
  };
}

export async function runClient(spec: ClientSpec, onPhase: (p: Phase) => void = () => {}): Promise<ClientResult> {
  const bootstrap = `127.0.0.1:${spec.port}`;
  const vals = values(spec);
  const payload = vals.reduce((n, v) => n + v.length, 0);
  switch (spec.kind) {
    case 'kafkajs-produce': {
      const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
      const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const messages = vals.map((value) => ({ value }));
      try {
        return await drive(spec, onPhase, async () => {
          await producer.send({ topic: spec.topic, acks: 1, messages });
          return { records: messages.length, bytes: payload };
        });
      } finally {
        await producer.disconnect().catch(() => {});
      }
    }
    case 'platformatic-produce': {
      const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: [bootstrap], retries: 2, timeout: 30_000 });
      let p = 0;
      try {
        return await drive(spec, onPhase, async () => {
          const partition = p++ % spec.partitions;
          await producer.send({ messages: vals.map((value) => ({ topic: spec.topic, value, partition })), acks: ProduceAcks.LEADER });
          return { records: vals.length, bytes: payload };
        });
      } finally {
        await producer.close().catch(() => {});
      }
    }
    case 'kafkajs-consume':
      return kafkajsConsume(spec, bootstrap, onPhase);
    case 'platformatic-fetch': {
      const consumer = new Consumer({ clientId: 'bench-platformatic', groupId: 'bench-unused', bootstrapBrokers: [bootstrap], retries: 2, timeout: 30_000 });
      try {
        const md = await consumer.metadata({ topics: [spec.topic] });
        const topicId = md.topics.get(spec.topic)?.id;
        if (!topicId) throw new Error(`no topic id for ${spec.topic}`);
        const maxBytes = spec.fetchMaxBytes ?? 1024 * 1024;
        const end = spec.endOffset ?? Number.MAX_SAFE_INTEGER;
        // One fetch at a time, as a consumer does per broker; offsets [0, end) in a cycle.
        let offset = 0;
        return await drive({ ...spec, concurrency: 1 }, onPhase, async () => {
          const res = await consumer.fetch({
            node: 1,
            maxBytes,
            minBytes: 1,
            maxWaitTime: 500,
            topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, partitionMaxBytes: maxBytes }] }],
          });
          let records = 0;
          let bytes = 0;
          for (const b of res.responses[0]?.partitions[0]?.records ?? []) {
            for (const r of b.records) bytes += r.value?.length ?? 0;
            records += b.records.length;
          }
          offset += records;
          if (offset >= end) offset = 0;
          return { records, bytes };
        });
      } finally {
        await consumer.close().catch(() => {});
      }
    }
  }
}
