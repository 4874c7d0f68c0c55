// Client factories and checks shared by the end-to-end tests.

import { Kafka, logLevel, Partitioners, type Admin, type Producer, type ProducerConfig, type RetryOptions } from 'kafkajs';
import { expect } from 'vitest';
import type { KcatRecord } from './kcat.js';
import { groupBy, withTimeout } from './util.js';

/** A kafkajs client for one broker (or a comma-separated list); quiet unless KAFKAJS_LOG=1. */
export function kafkajs(bootstrap: string, clientId = 'e2e', retry?: RetryOptions): Kafka {
  return new Kafka({
    clientId,
    brokers: bootstrap.split(','),
    logLevel: process.env.KAFKAJS_LOG === '1' ? logLevel.INFO : logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: retry ?? { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
}

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await withTimeout(admin.connect(), 30_000, 'kafkajs admin.connect');
  try {
    return await fn(admin);
  } finally {
    await withTimeout(admin.disconnect(), 10_000, 'kafkajs admin.disconnect').catch(() => {});
  }
}

export async function withProducer<T>(kafka: Kafka, fn: (p: Producer) => Promise<T>, config: ProducerConfig = {}): Promise<T> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, ...config });
  await withTimeout(producer.connect(), 30_000, 'kafkajs producer.connect');
  try {
    return await fn(producer);
  } finally {
    await withTimeout(producer.disconnect(), 10_000, 'kafkajs producer.disconnect').catch(() => {});
  }
}

/** Creates topics with kafkajs and checks the broker said it created them. */
/** The group's committed offset per partition of `topic` (kafkajs gives -1 where none; -9 marks a partition it did not list). */
export async function committedOffsets(admin: Admin, groupId: string, topic: string, partitions: number): Promise<number[]> {
  const r = await admin.fetchOffsets({ groupId, topics: [topic] });
  const out = new Array<number>(partitions).fill(-9);
  for (const p of r.find((t) => t.topic === topic)!.partitions) out[p.partition] = Number(p.offset);
  return out;
}

export async function createTopics(kafka: Kafka, topics: Array<{ topic: string; numPartitions: number }>): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    const created = await admin.createTopics({
      topics: topics.map((t) => ({ ...t, replicationFactor: 1 })),
      waitForLeaders: true,
      timeout: 10_000,
    });
    expect(created, 'admin.createTopics returned false (topic already existed?)').toBe(true);
  });
}

/**
 * Every partition's records carry offsets 0..n-1 (or `start[p]`..) in order, without gaps.
 * Returns the record count per partition.
 */
export function expectContiguousOffsets(records: KcatRecord[], start: Map<number, number> = new Map()): Map<number, number> {
  const counts = new Map<number, number>();
  for (const [p, recs] of groupBy(records, (r) => r.partition)) {
    const first = start.get(p) ?? 0;
    const offsets = recs.map((r) => r.offset);
    const expected = offsets.map((_, i) => first + i);
    if (offsets.some((o, i) => o !== expected[i])) {
      const i = offsets.findIndex((o, k) => o !== expected[k]);
      expect.fail(`partition ${p}: offset at position ${i} is ${offsets[i]}, expected ${expected[i]} (offsets must be contiguous from ${first})`);
    }
    counts.set(p, recs.length);
  }
  return counts;
}

/** A printable summary for assertion messages. */
export function show(b: Buffer | null | undefined, max = 40): string {
  if (b === null) return 'null';
  if (b === undefined) return 'undefined';
  const hex = b.subarray(0, max).toString('hex');
  return `${b.length}B:${hex}${b.length > max ? '...' : ''}`;
}
