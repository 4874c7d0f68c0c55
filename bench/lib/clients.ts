// What Node users see: the same broker driven by kafkajs and @platformatic/kafka at ordinary
// settings (no compression, batches of `batchRecords` records of `recordBytes`, `concurrency`
// send() calls in flight, acks=1). Throughput counts record values (payload), not framing.
// The kafkajs consumer needs consumer groups (issue 3) and is not run; @platformatic/kafka's
// group-less Consumer.fetch() is.
import { performance } from 'node:perf_hooks';
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import type { Phase } from './load.js';

export interface ClientSpec {
  kind: 'kafkajs-produce' | 'platformatic-produce' | 'platformatic-fetch';
  port: number;
  topic: string;
  partitions: number;
  recordBytes: number;
  batchRecords: number;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** platformatic-fetch: offsets [0, endOffset) are read in a cycle (∞ for the null broker). */
  endOffset?: number;
  fetchMaxBytes?: number;
}

export interface ClientResult {
  kind: ClientSpec['kind'] | 'disk-write';
  elapsedMs: number;
  /** send() or fetch() calls completed in the window. */
  calls: number;
  records: number;
  /** Record value bytes in the window. */
  bytes: number;
  errors: number;
  firstError?: string;
  latency: LatencySummary;
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
