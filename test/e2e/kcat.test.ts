// kcat (librdkafka) against the broker: metadata listing, and produce/consume round trips with
// every compression codec Kafka supports.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, expectContiguousOffsets, kafkajs } from '../support/clients.js';
import { kcatConsume, kcatList, kcatMetadata, kcatPath, kcatProduce, type Codec } from '../support/kcat.js';
import { groupBy, prng, topicName } from '../support/util.js';

const CODECS: Codec[] = ['gzip', 'snappy', 'lz4', 'zstd'];
const LINES = 5_000;
const PARTITIONS = 3;
const topics = new Map(CODECS.map((c) => [c, topicName(`kcat-${c}`)]));

describe('kcat', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker();
    await createTopics(
      kafkajs(broker.bootstrap, 'e2e-kcat-setup'),
      [...topics.values()].map((topic) => ({ topic, numPartitions: PARTITIONS })),
    );
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('kcat -L lists the broker and the topics', async () => {
    const md = await kcatMetadata(broker.bootstrap);
    expect(md.brokers).toEqual([{ id: 1, name: broker.bootstrap }]);
    for (const name of topics.values()) {
      const t = md.topics.find((x) => x.topic === name);
      expect(t, `topic ${name} listed`).toBeDefined();
      expect(t!.error).toBeUndefined();
      expect(t!.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
      for (const p of t!.partitions) {
        expect(p.leader).toBe(1);
        expect(p.replicas).toEqual([{ id: 1 }]);
        expect(p.isrs).toEqual([{ id: 1 }]);
      }
    }
    const text = await kcatList(broker.bootstrap);
    expect(text).toContain('1 brokers:');
    expect(text).toContain(`broker 1 at ${broker.bootstrap}`);
    for (const name of topics.values()) expect(text).toContain(`topic "${name}" with ${PARTITIONS} partitions:`);
  });

  for (const codec of CODECS) {
    it(`-z ${codec}: ${LINES} lines produced and consumed back exactly`, async () => {
      const topic = topics.get(codec)!;
      const rand = prng(codec.length * 7919);
      const lines: string[] = [];
      const values = new Map<string, { value: string; idx: number }>();
      for (let i = 0; i < LINES; i++) {
        let v = `${codec}-${i}-`;
        const n = Math.floor(rand() * 120);
        for (let k = 0; k < n; k++) v += String.fromCharCode(32 + Math.floor(rand() * 95)); // printable ASCII
        const key = `k${i}`;
        values.set(key, { value: v, idx: i });
        lines.push(`${key}\t${v}`);
      }
      await kcatProduce(broker.bootstrap, topic, lines, { codec, keyDelimiter: '\t', timeoutMs: 60_000 });

      const got = await kcatConsume(broker.bootstrap, topic, { timeoutMs: 60_000 });
      expect(got.length, 'records consumed').toBe(LINES);
      const seen = new Set<string>();
      for (const r of got) {
        const key = r.key?.toString('utf8') ?? '<null>';
        const e = values.get(key);
        expect(e, `unexpected key ${key}`).toBeDefined();
        expect(seen.has(key), `duplicate ${key}`).toBe(false);
        seen.add(key);
        expect(r.value?.toString('utf8'), `value of ${key}`).toBe(e!.value);
      }
      expectContiguousOffsets(got);
      for (const [p, recs] of groupBy(got, (r) => r.partition)) {
        const idxs = recs.map((r) => values.get(r.key!.toString('utf8'))!.idx);
        for (let k = 1; k < idxs.length; k++) {
          if (idxs[k]! <= idxs[k - 1]!) expect.fail(`partition ${p}: line ${idxs[k]} comes after line ${idxs[k - 1]}`);
        }
      }
    });
  }
});
