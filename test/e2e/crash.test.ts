// Crash safety: a kafkajs producer (acks -1) sends continuously, the broker is SIGKILLed
// mid-stream and restarted on the same data dir. Every acknowledged record must be there, the
// log must read cleanly (no torn batch served), and offsets must continue after the restart.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, expectContiguousOffsets, kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { kcatConsume, kcatPath, type KcatRecord } from '../support/kcat.js';
import { sleep, topicName, withTimeout } from '../support/util.js';

const TOPIC = topicName('crash');
const PARTITIONS = 2;
const SENDERS = 4; // concurrent send() calls, so requests are in flight when the kill lands
const BATCH = 100;
const PAD = '.'.repeat(500); // ~50 KB batches: big writes, more chances to tear one
const KILL_AFTER_ACKED = 20_000; // kill once this many records are acknowledged...
const KILL_AFTER_MS = 6_000; // ...or after this long, whichever comes first
const SEND_LIMIT_MS = 20_000;
const AFTER_RESTART = 1_000;

// librdkafka verifies CRCs, so a torn or corrupt batch makes kcat fail.
const STRICT_READ = { props: { 'check.crcs': 'true' }, timeoutMs: 60_000 };

describe('SIGKILL mid-stream, restart on the same data dir', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('keeps every acknowledged record, serves no torn batch, continues offsets', async () => {
    await createTopics(kafkajs(broker.bootstrap, 'e2e-crash-setup'), [{ topic: TOPIC, numPartitions: PARTITIONS }]);

    // 1. Produce continuously until the kill.
    const acked = new Set<string>();
    const errorsBeforeKill: string[] = [];
    let killed = false;
    let next = 0;
    const t0 = Date.now();
    const kafka = kafkajs(broker.bootstrap, 'e2e-crash-producer', { retries: 0, initialRetryTime: 100, maxRetryTime: 200 });
    await withProducer(kafka, async (producer) => {
      const sender = async () => {
        while (!killed && Date.now() - t0 < SEND_LIMIT_MS) {
          const values: string[] = [];
          for (let k = 0; k < BATCH; k++) values.push(`before-${next++}-${PAD}`);
          try {
            await producer.send({
              topic: TOPIC,
              acks: -1,
              timeout: 10_000,
              messages: values.map((v) => ({ key: `k${v.length % 7}-${v}`, value: v })),
            });
            for (const v of values) acked.add(v);
          } catch (err) {
            if (!killed) errorsBeforeKill.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
            if (killed) return;
            await sleep(50);
          }
        }
      };
      const killer = (async () => {
        for (let i = 0; i < 10_000 && Date.now() - t0 < KILL_AFTER_MS && acked.size < KILL_AFTER_ACKED; i++) await sleep(5);
        killed = true;
        await broker.kill9();
      })();
      await withTimeout(Promise.all([killer, ...Array.from({ length: SENDERS }, sender)]), SEND_LIMIT_MS + 30_000, 'producing until the kill');
    });
    console.info(`crash test: ${acked.size} records acknowledged, ${next} attempted, killed after ${Date.now() - t0} ms`);
    expect(errorsBeforeKill, 'produce errors before the kill').toEqual([]);
    expect(acked.size, 'records acknowledged before the kill').toBeGreaterThan(0);

    // 2. Restart on the same dir; everything acknowledged is there, and the log reads cleanly.
    await broker.restart();
    const afterCrash = await kcatConsume(broker.bootstrap, TOPIC, STRICT_READ);
    const values = afterCrash.map((r) => r.value?.toString('utf8') ?? '<null>');
    const stored = new Set(values);
    const missing = [...acked].filter((v) => !stored.has(v));
    expect(missing.length, `acknowledged records lost in the crash (first: ${missing.slice(0, 5).join(', ')})`).toBe(0);
    expect(stored.size, 'no record stored twice').toBe(values.length);
    for (const r of afterCrash) {
      const v = r.value?.toString('utf8') ?? '';
      expect(v.startsWith('before-'), `unexpected record ${v} at ${r.partition}/${r.offset}`).toBe(true);
      expect(r.key?.toString('utf8')).toBe(`k${v.length % 7}-${v}`);
    }
    const counts = expectContiguousOffsets(afterCrash);
    console.info(`crash test: ${afterCrash.length} records readable after restart (${[...counts].map(([p, n]) => `p${p}=${n}`).join(' ')})`);

    // ListOffsets after recovery agrees with what is readable.
    const k2 = kafkajs(broker.bootstrap, 'e2e-crash-after');
    await withAdmin(k2, async (admin) => {
      for (const o of await admin.fetchTopicOffsets(TOPIC)) {
        expect(o.low).toBe('0');
        expect(o.high, `high watermark of partition ${o.partition} after restart`).toBe(String(counts.get(o.partition) ?? 0));
      }
    });

    // 3. Produce more: offsets continue where the recovered log ends, without gaps.
    await withProducer(k2, async (producer) => {
      for (let start = 0; start < AFTER_RESTART; start += 100) {
        const messages = Array.from({ length: 100 }, (_, k) => ({ key: `after-${start + k}`, value: `after-${start + k}` }));
        await producer.send({ topic: TOPIC, acks: -1, timeout: 10_000, messages });
      }
    });
    const all = await kcatConsume(broker.bootstrap, TOPIC, STRICT_READ);
    expectContiguousOffsets(all);
    expect(all.length).toBe(afterCrash.length + AFTER_RESTART);
    const key = (r: KcatRecord) => `${r.partition}/${r.offset}`;
    const before = new Map(afterCrash.map((r) => [key(r), r.value?.toString('utf8')]));
    for (const r of all) {
      const v = r.value?.toString('utf8') ?? '';
      if (before.has(key(r))) {
        expect(v, `record at ${key(r)} changed`).toBe(before.get(key(r)));
      } else {
        expect(v.startsWith('after-'), `new record at ${key(r)} is ${v}`).toBe(true);
        expect(r.offset, `new record offset on partition ${r.partition}`).toBeGreaterThanOrEqual(counts.get(r.partition) ?? 0);
      }
    }
  }, 150_000);
});
