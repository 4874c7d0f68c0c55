// test/support/log-checker.ts against real data: one broker writes a topic (kafkajs idempotent
// producer, small segments and index interval so there are many segments and index entries),
// stops, and the checker reads the partition dirs: sound logs, offsets 0..HW-1 contiguous, every
// batch of the producer with contiguous sequences, index entries at batch starts. Then copies of
// a partition dir with one thing broken each (a flipped record byte, a batch cut out, an index
// entry off by one, a leader epoch changed, the tail cut, a wrong leader-epoch-checkpoint): the
// checker and compareReplicas name each problem, and an untouched copy compares identical.

import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARTITION_LEADER_EPOCH_OFFSET } from '../../wire/record-batch.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { checkPartitionLog, compareReplicas, EPOCH_CHECKPOINT_FILE, partitionDir, readPartitionLog, type PartitionLogReport } from '../support/log-checker.js';
import { topicName } from '../support/util.js';

const TOPIC = topicName('logcheck');
const PARTITIONS = 2;
const SENDS = 150;
const PER_SEND = 10;
const PAD = 'v'.repeat(120);

describe('log checker on a real broker data dir', { timeout: 90_000 }, () => {
  let broker: BrokerHandle;
  let scratch: string;
  const hw = new Map<number, number>();
  const reports = new Map<number, PartitionLogReport>();

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'kafka-ts-logcheck-'));
    broker = await startBroker({ env: { KAFKA_LOG_SEGMENT_BYTES: '16384', KAFKA_LOG_INDEX_INTERVAL_BYTES: '1024' } });
    const kafka = kafkajs(broker.bootstrap, 'e2e-logcheck');
    await createTopics(kafka, [{ topic: TOPIC, numPartitions: PARTITIONS }]);
    await withProducer(
      kafka,
      async (p) => {
        for (let s = 0; s < SENDS; s++) {
          await p.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: PER_SEND }, (_, i) => ({ key: `k${(s * PER_SEND + i) % 7}`, value: `${s * PER_SEND + i}-${PAD}` })) });
        }
      },
      { idempotent: true, maxInFlightRequests: 1 },
    );
    await withAdmin(kafka, async (admin) => {
      for (const o of await admin.fetchTopicOffsets(TOPIC)) hw.set(o.partition, Number(o.high));
    });
    // A clean stop persists the indexes (the active segment's index is written at close).
    await broker.stop();
  }, 90_000);

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('finds sound logs: contiguous offsets 0..HW-1, valid CRCs, index entries at batch starts, the producer sequences contiguous', async () => {
    let total = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const r = await checkPartitionLog(broker.dataDir, TOPIC, p);
      reports.set(p, r);
      expect(r.problems).toEqual([]);
      expect(r.firstOffset).toBe(0);
      expect(r.logEndOffset, `partition ${p} log end = high watermark`).toBe(hw.get(p));
      expect(r.segments.length, `partition ${p} rolled segments`).toBeGreaterThan(1);
      expect(r.segments.reduce((s, x) => s + (x.indexEntries ?? 0), 0), `partition ${p} index entries`).toBeGreaterThan(0);
      let nextSeq = 0;
      for (const b of r.batches) {
        expect(b.producerId).toBeGreaterThanOrEqual(0);
        expect(b.baseSequence, `sequence of ${b.baseOffset}`).toBe(nextSeq);
        nextSeq += b.recordCount;
        expect(b.partitionLeaderEpoch).toBeGreaterThanOrEqual(0);
      }
      total += r.batches.reduce((s, b) => s + b.recordCount, 0);
    }
    expect(total).toBe(SENDS * PER_SEND);
  });

  /** A copy of partition 0's dir under scratch/<name>/<topic>-0 (a data dir of its own). */
  async function copyOfPartition0(name: string): Promise<{ dataDir: string; dir: string }> {
    const dataDir = path.join(scratch, name);
    const dir = partitionDir(dataDir, TOPIC, 0);
    await cp(partitionDir(broker.dataDir, TOPIC, 0), dir, { recursive: true });
    return { dataDir, dir };
  }

  it('an untouched copy compares identical below the high watermark; compareReplicas names every kind of difference', async () => {
    const r0 = reports.get(0)!;
    const upTo = hw.get(0)!;
    const same = await copyOfPartition0('same');
    const ok = await compareReplicas([broker.dataDir, same.dataDir], TOPIC, 0, upTo);
    expect(ok.problems).toEqual([]);
    expect(ok.compared).toBe(r0.batches.length);
    expect(ok.records).toBe(upTo);

    // A different leader epoch (not covered by the CRC) in one batch.
    const epoch = await copyOfPartition0('epoch');
    const mid = r0.batches[Math.floor(r0.batches.length / 2)]!;
    const segFile = path.join(epoch.dir, `${String(mid.segment).padStart(20, '0')}.log`);
    const bytes = await readFile(segFile);
    bytes.writeInt32BE(mid.partitionLeaderEpoch + 7, mid.position + PARTITION_LEADER_EPOCH_OFFSET);
    await writeFile(segFile, bytes);
    const e = await compareReplicas([broker.dataDir, epoch.dataDir], TOPIC, 0, upTo);
    expect(e.problems.join('\n')).toMatch(/partitionLeaderEpoch/);

    // A replica missing the last batch below the high watermark.
    const short = await copyOfPartition0('short');
    const last = r0.batches[r0.batches.length - 1]!;
    await truncate(path.join(short.dir, `${String(last.segment).padStart(20, '0')}.log`), last.position);
    const s = await compareReplicas([broker.dataDir, short.dataDir], TOPIC, 0, upTo);
    expect(s.problems.join('\n')).toMatch(new RegExp(`holds offsets up to ${last.baseOffset} below the high watermark ${upTo}`));
    // ... which is fine when compared only below what it has (its index, cut with the log by
    // hand here, still has an entry for the removed batch: the checker sees that too).
    expect((await compareReplicas([broker.dataDir, short.dataDir], TOPIC, 0, last.baseOffset, { checkIndex: false })).problems).toEqual([]);
    expect((await readPartitionLog(short.dataDir, TOPIC, 0)).problems.join('\n')).toMatch(/does not point at the start of a batch|beyond the segment's last offset/);
    // A high watermark inside a batch is reported.
    expect((await compareReplicas([broker.dataDir], TOPIC, 0, last.baseOffset + 1)).problems.join('\n')).toMatch(/not exactly/);
  });

  it('reports a CRC mismatch, a cut-out batch (gap), a bad index entry and a leader-epoch-checkpoint that disagrees with the batches', async () => {
    const r0 = reports.get(0)!;
    const seg0 = r0.batches.filter((b) => b.segment === r0.segments[0]!.baseOffset);
    expect(seg0.length).toBeGreaterThan(3);
    const victim = seg0[1]!;
    const seg0File = (dir: string) => path.join(dir, `${String(r0.segments[0]!.baseOffset).padStart(20, '0')}.log`);

    const crc = await copyOfPartition0('crc');
    const b1 = await readFile(seg0File(crc.dir));
    b1[victim.position + victim.size - 3] ^= 0xff; // inside the last record
    await writeFile(seg0File(crc.dir), b1);
    expect((await readPartitionLog(crc.dataDir, TOPIC, 0)).problems.join('\n')).toMatch(/CRC mismatch/);

    const gap = await copyOfPartition0('gap');
    const b2 = await readFile(seg0File(gap.dir));
    await writeFile(seg0File(gap.dir), Buffer.concat([b2.subarray(0, victim.position), b2.subarray(victim.position + victim.size)]));
    const g = (await readPartitionLog(gap.dataDir, TOPIC, 0, { checkIndex: false })).problems.join('\n');
    expect(g).toMatch(new RegExp(`gap: batch ${victim.lastOffset + 1}\\.\\.`));
    expect((await readPartitionLog(gap.dataDir, TOPIC, 0, { checkIndex: false, allowGaps: true })).problems).toEqual([]);

    const idx = await copyOfPartition0('index');
    const indexed = r0.segments.find((x) => (x.indexEntries ?? 0) > 0)!;
    const idxFile = path.join(idx.dir, `${String(indexed.baseOffset).padStart(20, '0')}.index`);
    const ib = await readFile(idxFile);
    ib.writeInt32BE(ib.readInt32BE(4) + 1, 4);
    await writeFile(idxFile, ib);
    expect((await readPartitionLog(idx.dataDir, TOPIC, 0)).problems.join('\n')).toMatch(/\.index entry 0 .* does not point at the start of a batch/);

    const ep = await copyOfPartition0('epochcache');
    const E = r0.batches[0]!.partitionLeaderEpoch;
    await writeFile(path.join(ep.dir, EPOCH_CHECKPOINT_FILE), `0\n1\n${E} 0\n`);
    const good = await readPartitionLog(ep.dataDir, TOPIC, 0, { requireEpochCache: true });
    expect(good.problems).toEqual([]);
    expect(good.epochCache).toEqual([{ epoch: E, startOffset: 0 }]);
    await writeFile(path.join(ep.dir, EPOCH_CHECKPOINT_FILE), `0\n2\n${E} 0\n${E + 1} ${victim.baseOffset}\n`);
    expect((await readPartitionLog(ep.dataDir, TOPIC, 0)).problems.join('\n')).toMatch(new RegExp(`has leader epoch ${E} but ${EPOCH_CHECKPOINT_FILE} says ${E + 1}`));
    await writeFile(path.join(ep.dir, EPOCH_CHECKPOINT_FILE), `0\n1\n${E} ${hw.get(0)! + 5}\n`);
    expect((await readPartitionLog(ep.dataDir, TOPIC, 0)).problems.join('\n')).toMatch(/beyond the log end/);
    await writeFile(path.join(ep.dir, EPOCH_CHECKPOINT_FILE), `1\n0\n`);
    expect((await readPartitionLog(ep.dataDir, TOPIC, 0)).problems.join('\n')).toMatch(/version "1"/);
  });
});
