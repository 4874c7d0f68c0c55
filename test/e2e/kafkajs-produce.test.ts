// kafkajs 2.2.4 against the broker: topic admin, 20,000 records (uncompressed and gzip, acks -1)
// read back byte for byte with kcat.

import { CompressionTypes, type Kafka, type Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, expectContiguousOffsets, kafkajs, show, withAdmin, withProducer } from '../support/clients.js';
import { kcatConsume, kcatPath } from '../support/kcat.js';
import { groupBy, prng, randomBytes, topicName } from '../support/util.js';

const TOPIC = topicName('kafkajs');
const PARTITIONS = 3;
const PER_CODEC = 10_000;
const BATCH = 500;

interface Expected {
  idx: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, string]>;
}

/** Record i: binary value (any byte), some null keys, some null values, some without headers. */
function makeRecord(i: number, codec: string, rand: () => number): Expected {
  const key = i % 97 === 5 ? null : Buffer.from(`key-${i}`);
  const nullValue = key !== null && i % 101 === 7;
  const value = nullValue ? null : Buffer.concat([Buffer.from(`v${i}:`), randomBytes(rand, Math.floor(rand() * 300))]);
  const headers: Array<[string, string]> = i % 50 === 3 ? [] : [['idx', String(i)], ['codec', codec]];
  return { idx: i, key, value, headers };
}

function fingerprint(r: { key: Buffer | null; value: Buffer | null; headers: Array<[string, string]> }): string {
  return `${r.key === null ? '-' : r.key.toString('hex')}|${r.value === null ? '-' : r.value.toString('hex')}|${JSON.stringify(r.headers)}`;
}

describe('kafkajs 2.2.4 produce, read back with kcat', () => {
  let broker: BrokerHandle;
  let kafka: Kafka;

  beforeAll(async () => {
    kcatPath(); // fail early and clearly if kcat is missing
    broker = await startBroker();
    kafka = kafkajs(broker.bootstrap, 'e2e-kafkajs');
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('admin creates a 3-partition topic, fetchTopicMetadata and fetchTopicOffsets describe it', async () => {
    await createTopics(kafka, [{ topic: TOPIC, numPartitions: PARTITIONS }]);
    await withAdmin(kafka, async (admin) => {
      const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      expect(md.topics).toHaveLength(1);
      const t = md.topics[0]!;
      expect(t.name).toBe(TOPIC);
      const parts = [...t.partitions].sort((a, b) => a.partitionId - b.partitionId);
      expect(parts.map((p) => p.partitionId)).toEqual([0, 1, 2]);
      for (const p of parts) {
        expect(p.partitionErrorCode).toBe(0);
        expect(p.leader).toBe(1); // node.id defaults to 1
        expect(p.replicas).toEqual([1]);
        expect(p.isr).toEqual([1]);
      }
      const offsets = await admin.fetchTopicOffsets(TOPIC);
      expect(offsets.map((o) => o.partition).sort()).toEqual([0, 1, 2]);
      for (const o of offsets) {
        expect(o.low).toBe('0');
        expect(o.high).toBe('0');
      }
    });
  });

  it(
    'sends 20,000 keyed records with headers (uncompressed + gzip, acks -1); kcat reads them back exactly',
    async () => {
      const rand = prng(20_000);
      const expected: Expected[] = [];
      await withProducer(kafka, async (producer) => {
        for (const [codecIdx, codec] of [CompressionTypes.None, CompressionTypes.GZIP].entries()) {
          const name = codec === CompressionTypes.GZIP ? 'gzip' : 'none';
          for (let start = 0; start < PER_CODEC; start += BATCH) {
            const batch: Expected[] = [];
            for (let j = start; j < Math.min(PER_CODEC, start + BATCH); j++) batch.push(makeRecord(codecIdx * PER_CODEC + j, name, rand));
            expected.push(...batch);
            const messages: Message[] = batch.map((r) => ({
              key: r.key,
              value: r.value,
              headers: Object.fromEntries(r.headers),
            }));
            const res = await producer.send({ topic: TOPIC, acks: -1, compression: codec, messages, timeout: 30_000 });
            for (const r of res) expect(r.errorCode, `produce error on partition ${r.partition}`).toBe(0);
          }
        }
      });
      expect(expected).toHaveLength(2 * PER_CODEC);

      const got = await kcatConsume(broker.bootstrap, TOPIC, { timeoutMs: 90_000 });
      expect(got.length, 'records read back by kcat').toBe(expected.length);

      // Every record is back exactly once, byte for byte (key, value, headers).
      const byFp = new Map(expected.map((e) => [fingerprint(e), e]));
      expect(byFp.size).toBe(expected.length);
      const seen = new Set<number>();
      const partitionOf = new Map<number, number>();
      for (const r of got) {
        const e = byFp.get(fingerprint(r));
        if (!e) {
          expect.fail(
            `kcat returned a record that was never sent: partition ${r.partition} offset ${r.offset} key=${show(r.key)} value=${show(r.value)} headers=${JSON.stringify(r.headers)}`,
          );
        }
        expect(seen.has(e.idx), `record ${e.idx} returned twice`).toBe(false);
        seen.add(e.idx);
        partitionOf.set(e.idx, r.partition);
      }

      // Offsets are contiguous from 0 per partition, and produce order is kept per partition.
      const counts = expectContiguousOffsets(got);
      for (const [p, recs] of groupBy(got, (r) => r.partition)) {
        const idxs = recs.map((r) => byFp.get(fingerprint(r))!.idx);
        for (let k = 1; k < idxs.length; k++) {
          if (idxs[k]! <= idxs[k - 1]!) expect.fail(`partition ${p}: record ${idxs[k]} at offset ${k} comes after ${idxs[k - 1]}`);
        }
      }
      expect([...counts.keys()].every((p) => p >= 0 && p < PARTITIONS)).toBe(true);

      // ListOffsets agrees: low 0, high = count per partition.
      await withAdmin(kafka, async (admin) => {
        const offsets = await admin.fetchTopicOffsets(TOPIC);
        expect(offsets).toHaveLength(PARTITIONS);
        for (const o of offsets) {
          expect(o.low, `low watermark of partition ${o.partition}`).toBe('0');
          expect(o.high, `high watermark of partition ${o.partition}`).toBe(String(counts.get(o.partition) ?? 0));
        }
      });
    },
    180_000,
  );
});
