// @platformatic/kafka 1.35 against the broker: its Admin creates a topic, its Producer sends
// 10,000 records, kcat reads them back exactly.

import { Admin, ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { expectContiguousOffsets } from '../support/clients.js';
import { kcatConsume, kcatPath } from '../support/kcat.js';
import { groupBy, prng, topicName, withTimeout } from '../support/util.js';

const TOPIC = topicName('platformatic');
const PARTITIONS = 2;
const COUNT = 10_000;
const BATCH = 500;

describe('@platformatic/kafka 1.35 produce, read back with kcat', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('Admin.createTopics creates the topic; Admin.metadata describes it', async () => {
    const admin = new Admin({ clientId: 'e2e-platformatic-admin', bootstrapBrokers: [broker.bootstrap], retries: 2, timeout: 10_000 });
    try {
      const created = await withTimeout(admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 }), 30_000, 'createTopics');
      expect(created.map((t) => t.name)).toEqual([TOPIC]);
      expect(created[0]!.partitions).toBe(PARTITIONS);
      const md = await withTimeout(admin.metadata({ topics: [TOPIC] }), 30_000, 'metadata');
      const t = md.topics.get(TOPIC);
      expect(t, 'topic in metadata').toBeDefined();
      expect(t!.partitionsCount).toBe(PARTITIONS);
      for (const p of t!.partitions) expect(p.leader).toBe(1);
    } finally {
      await admin.close();
    }
  });

  it(
    'Producer sends 10,000 records (acks all); kcat reads back every one exactly',
    async () => {
      const rand = prng(10_000);
      const expected = new Map<string, { value: string; idx: number }>();
      const producer = new Producer({
        clientId: 'e2e-platformatic-producer',
        bootstrapBrokers: [broker.bootstrap],
        serializers: stringSerializers,
        retries: 2,
        timeout: 30_000,
      });
      try {
        for (let start = 0; start < COUNT; start += BATCH) {
          const messages = [];
          for (let i = start; i < Math.min(COUNT, start + BATCH); i++) {
            const key = `pk-${i}`;
            const value = `value ${i} ${'abcdefghijklmnopqrstuvwxyz0123456789'.slice(0, Math.floor(rand() * 36))} ✓`;
            expected.set(key, { value, idx: i });
            messages.push({ topic: TOPIC, key, value, headers: { idx: String(i) } });
          }
          await withTimeout(producer.send({ messages, acks: ProduceAcks.ALL }), 30_000, `send batch at ${start}`);
        }
      } finally {
        await producer.close();
      }

      const got = await kcatConsume(broker.bootstrap, TOPIC, { timeoutMs: 60_000 });
      expect(got.length, 'records read back').toBe(COUNT);
      const seen = new Set<string>();
      for (const r of got) {
        const key = r.key?.toString('utf8') ?? '<null>';
        const e = expected.get(key);
        expect(e, `unexpected key ${key} at ${r.partition}/${r.offset}`).toBeDefined();
        expect(seen.has(key), `key ${key} read twice`).toBe(false);
        seen.add(key);
        expect(r.value?.toString('utf8'), `value of ${key}`).toBe(e!.value);
        expect(r.headers, `headers of ${key}`).toEqual([['idx', String(e!.idx)]]);
      }
      expectContiguousOffsets(got);
      for (const [p, recs] of groupBy(got, (r) => r.partition)) {
        const idxs = recs.map((r) => expected.get(r.key!.toString('utf8'))!.idx);
        for (let k = 1; k < idxs.length; k++) {
          if (idxs[k]! <= idxs[k - 1]!) expect.fail(`partition ${p}: record ${idxs[k]} comes after ${idxs[k - 1]}`);
        }
      }
    },
    120_000,
  );
});
