// Segments and retention: with a small log.segment.bytes the partition rolls into many segment
// files; consumption crosses every segment boundary; a topic-level retention.bytes set through
// AlterConfigs makes the broker delete old segments and move the log start offset forward.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, expectContiguousOffsets, kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { kcatConsume, kcatPath } from '../support/kcat.js';
import { topicName, waitFor } from '../support/util.js';

const SEGMENT_BYTES = 16_384;
const RETENTION_BYTES = 65_536;
const TOPIC = topicName('segments');
const RECORDS = 3_000;
const PER_SEND = 25; // ~6 KB per batch: several batches per segment
const VALUE_PAD = 'x'.repeat(200);

function value(i: number): string {
  return `seg-${String(i).padStart(6, '0')}-${VALUE_PAD}`;
}

interface SegmentFile {
  name: string;
  baseOffset: number;
  size: number;
}

async function segmentFiles(dir: string): Promise<SegmentFile[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{20}\.log$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => ({ name, baseOffset: Number(name.slice(0, 20)), size: (await stat(path.join(dir, name))).size })),
  );
}

describe('segment rolling and retention', () => {
  let broker: BrokerHandle;
  let partitionDir: string;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({
      env: {
        KAFKA_LOG_SEGMENT_BYTES: String(SEGMENT_BYTES),
        KAFKA_LOG_RETENTION_CHECK_INTERVAL_MS: '500',
      },
    });
    partitionDir = path.join(broker.dataDir, `${TOPIC}-0`);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('rolls many segments of at most log.segment.bytes and reads across every boundary', async () => {
    const kafka = kafkajs(broker.bootstrap, 'e2e-segments');
    await createTopics(kafka, [{ topic: TOPIC, numPartitions: 1 }]);
    await withProducer(kafka, async (producer) => {
      for (let start = 0; start < RECORDS; start += PER_SEND) {
        const messages = Array.from({ length: PER_SEND }, (_, k) => ({ key: String(start + k), value: value(start + k) }));
        await producer.send({ topic: TOPIC, acks: -1, messages });
      }
    });

    const segs = await waitFor('segment files on disk', async () => {
      const s = await segmentFiles(partitionDir);
      return s.length >= 10 ? s : undefined;
    }, { timeoutMs: 10_000 });
    expect(segs[0]!.name).toBe('00000000000000000000.log');
    for (const s of segs) expect(s.size, `${s.name} exceeds log.segment.bytes`).toBeLessThanOrEqual(SEGMENT_BYTES);
    const bases = segs.map((s) => s.baseOffset);
    expect([...bases].sort((a, b) => a - b)).toEqual(bases);
    expect(new Set(bases).size).toBe(bases.length);

    const got = await kcatConsume(broker.bootstrap, TOPIC, { timeoutMs: 60_000 });
    expect(got.length).toBe(RECORDS);
    expectContiguousOffsets(got);
    got.forEach((r, i) => expect(r.value?.toString('utf8'), `value at offset ${i}`).toBe(value(i)));
  });

  it('retention.bytes set with AlterConfigs deletes old segments and moves the earliest offset', async () => {
    const kafka = kafkajs(broker.bootstrap, 'e2e-retention');
    const before = await segmentFiles(partitionDir);
    expect(before.length).toBeGreaterThanOrEqual(10);

    await withAdmin(kafka, async (admin) => {
      const low0 = await admin.fetchTopicOffsets(TOPIC);
      expect(low0[0]!.low).toBe('0');
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.bytes', value: String(RETENTION_BYTES) }] }],
      });

      // Bounded wait for the retention check (log.retention.check.interval.ms = 500).
      const low = await waitFor(
        'ListOffsets earliest to move forward',
        async () => {
          const offsets = await admin.fetchTopicOffsets(TOPIC);
          const l = Number(offsets[0]!.low);
          return l > 0 ? l : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );

      // Segments of one retention pass are renamed away one after another: wait for the last.
      const after = await waitFor('old segment files to go', async () => {
        const s = await segmentFiles(partitionDir);
        const bytes = s.reduce((n, f) => n + f.size, 0);
        return s.length < before.length && s[0]!.baseOffset > 0 && bytes <= RETENTION_BYTES + SEGMENT_BYTES ? s : undefined;
      }, { timeoutMs: 15_000 });
      const total = after.reduce((n, s) => n + s.size, 0);
      expect(total, 'bytes left on disk').toBeLessThanOrEqual(RETENTION_BYTES + SEGMENT_BYTES);
      // The log start offset is the base offset of the first remaining segment.
      const finalLow = Number((await admin.fetchTopicOffsets(TOPIC))[0]!.low);
      expect(finalLow).toBeGreaterThanOrEqual(low);
      expect(finalLow).toBe(after[0]!.baseOffset);
      expect((await admin.fetchTopicOffsets(TOPIC))[0]!.high).toBe(String(RECORDS));

      // What is left reads cleanly from the new earliest offset to the end.
      const got = await kcatConsume(broker.bootstrap, TOPIC, { timeoutMs: 60_000 });
      expect(got.length).toBe(RECORDS - finalLow);
      expectContiguousOffsets(got, new Map([[0, finalLow]]));
      for (const r of got) expect(r.value?.toString('utf8')).toBe(value(r.offset));
    });
  }, 90_000);
});
