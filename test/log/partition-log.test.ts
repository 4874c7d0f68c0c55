import { appendFileSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KafkaStorageError, RecordTooLargeError, UnexpectedAppendOffsetError } from '../../log/errors.js';
import { RecordParts, recordsBuffer } from '../../wire/primitives.js';
import { encodeRecordBatch, readBatchHeader } from '../../wire/record-batch.js';
import { batch, cleanupTempDirs, decodeAll, openLog, readAll, tempDir, TestClock } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  cleanupTempDirs();
});

function logFiles(dir: string, ext: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort();
}

describe('PartitionLog append and read', () => {
  it('round-trips many batches across many segments, from the cache and from disk', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 2048, indexIntervalBytes: 256 }, { tailCacheBytes: 0 });
    const expected: string[] = [];
    let offset = 0;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      const n = (i % 5) + 1;
      const r = log.appendAsLeader(batch(n, { tag: `b${i}`, ts: 10_000 + i * 10 }), 7);
      expect(r.baseOffset).toBe(offset);
      expect(r.lastOffset).toBe(offset + n - 1);
      expect(r.logAppendTimeMs).toBe(-1);
      offset += n;
      for (let j = 0; j < n; j++) expected.push(`b${i}-${j}`);
      pending.push(r.written);
    }
    expect(log.logEndOffset).toBe(offset);
    // Readable before the writes completed (tail cache holds queued bytes).
    const early = await readAll(log);
    expect(early.map((r) => r.value)).toEqual(expected);
    await Promise.all(pending);
    expect(log.segmentCount).toBeGreaterThan(10);
    const all = await readAll(log);
    expect(all.map((r) => r.offset)).toEqual(expected.map((_, i) => i));
    expect(all.map((r) => r.value)).toEqual(expected);

    // Every start offset returns the batch holding it first.
    for (let start = 0; start < offset; start += 7) {
      const r = await log.read(start, 100, offset, true);
      const d = decodeAll(r.records);
      expect(d.batches[0]!.baseOffset).toBeLessThanOrEqual(start);
      expect(d.batches[0]!.lastOffset).toBeGreaterThanOrEqual(start);
      expect(d.batches[0]!.epoch).toBe(7);
    }
    await log.close();

    const reopened = await openLog(dir, { segmentBytes: 2048, indexIntervalBytes: 256 }, { cleanShutdown: true });
    expect(reopened.logEndOffset).toBe(offset);
    expect((await readAll(reopened)).map((r) => r.value)).toEqual(expected);
    await reopened.close();
  });

  it('names segments with 20-digit base offsets and writes the raw batch bytes', async () => {
    const dir = tempDir();
    const b1 = batch(3);
    const b2 = batch(2);
    const log = await openLog(dir, { segmentBytes: b1.length + 10 });
    const r1 = log.appendAsLeader(b1, 1);
    const r2 = log.appendAsLeader(b2, 1);
    await Promise.all([r1.written, r2.written]);
    await log.close();
    expect(logFiles(dir, '.log')).toEqual(['00000000000000000000.log', '00000000000000000003.log']);
    const onDisk = readFileSync(path.join(dir, '00000000000000000003.log'));
    expect(onDisk.equals(b2)).toBe(true); // offsets were patched into the caller's buffer
    expect(readBatchHeader(onDisk).baseOffset).toBe(3);
  });

  it('reads mid-batch and at segment boundaries; honours maxBytes, minOneBatch and maxOffsetExclusive', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 1000 }, { tailCacheBytes: 0 });
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const b = batch(4, { tag: `b${i}`, valueBytes: 20 });
      sizes.push(b.length);
      await log.appendAsLeader(b, 0).written;
    }
    const segs = log.segmentInfos();
    expect(segs.length).toBeGreaterThan(2);
    // At a segment boundary: the read starts with the segment's first batch.
    const boundary = segs[1]!.baseOffset;
    let d = decodeAll((await log.read(boundary, 1 << 20, 80, false)).records);
    expect(d.batches[0]!.baseOffset).toBe(boundary);
    // Reads stay within one segment.
    expect(d.batches[d.batches.length - 1]!.lastOffset).toBe(segs[2]!.baseOffset - 1);
    // Mid-batch.
    d = decodeAll((await log.read(boundary + 2, 1 << 20, 80, false)).records);
    expect(d.batches[0]!.baseOffset).toBe(boundary);
    // maxBytes smaller than a batch.
    expect((await log.read(5, 10, 80, false)).records.length).toBe(0);
    d = decodeAll((await log.read(5, 10, 80, true)).records);
    expect(d.batches.map((b) => b.baseOffset)).toEqual([4]);
    // maxBytes fitting exactly two batches.
    d = decodeAll((await log.read(0, sizes[0]! + sizes[1]!, 80, false)).records);
    expect(d.batches.map((b) => b.baseOffset)).toEqual([0, 4]);
    d = decodeAll((await log.read(0, sizes[0]! + sizes[1]! - 1, 80, false)).records);
    expect(d.batches.map((b) => b.baseOffset)).toEqual([0]);
    // maxOffsetExclusive: a batch whose last offset reaches it is not returned, even with minOneBatch.
    d = decodeAll((await log.read(0, 1 << 20, 8, true)).records);
    expect(d.batches.map((b) => b.baseOffset)).toEqual([0, 4]);
    d = decodeAll((await log.read(0, 1 << 20, 7, true)).records);
    expect(d.batches.map((b) => b.baseOffset)).toEqual([0]);
    expect((await log.read(0, 1 << 20, 3, true)).records.length).toBe(0);
    // Range checks.
    expect((await log.read(80, 100, 80, true))).toEqual({ records: Buffer.alloc(0), error: null });
    expect((await log.read(81, 100, 81, true)).error).toBe('OFFSET_OUT_OF_RANGE');
    expect((await log.read(-1, 100, 80, true)).error).toBe('OFFSET_OUT_OF_RANGE');
    await log.deleteRecordsBefore(10);
    expect((await log.read(9, 100, 80, true)).error).toBe('OFFSET_OUT_OF_RANGE');
    d = decodeAll((await log.read(10, 1, 80, true)).records);
    expect(d.batches[0]!.baseOffset).toBe(8); // the batch holding the log start offset
    await log.close();
  });

  it('serves tail reads from memory without touching the file', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    for (let i = 0; i < 10; i++) await log.appendAsLeader(batch(2, { tag: `t${i}` }), 0).written;
    const spy = vi.spyOn(fs, 'read');
    const r = await log.read(16, 1 << 20, 20, true);
    expect(decodeAll(r.records).records.map((x) => x.value)).toEqual(['t8-0', 't8-1', 't9-0', 't9-1']);
    expect(spy).not.toHaveBeenCalled();
    await log.close();
  });

  it('rejects malformed and oversized appends without changing the log', async () => {
    const log = await openLog(tempDir(), { maxMessageBytes: 200, segmentBytes: 100_000 });
    expect(() => log.appendAsLeader(Buffer.alloc(0), 0)).toThrow();
    const good = batch(1);
    expect(() => log.appendAsLeader(good.subarray(0, good.length - 1), 0)).toThrow();
    expect(() => log.appendAsLeader(Buffer.concat([good, Buffer.alloc(5)]), 0)).toThrow();
    expect(() => log.appendAsLeader(batch(10, { valueBytes: 30 }), 0)).toThrow(RecordTooLargeError);
    expect(log.logEndOffset).toBe(0);
    await log.appendAsLeader(good, 0).written;
    expect(log.logEndOffset).toBe(1);
    await log.close();
  });

  it('stamps LogAppendTime', async () => {
    const clock = new TestClock(5_000_000);
    const log = await openLog(tempDir(), { messageTimestampType: 'LogAppendTime' }, { clock });
    const r = log.appendAsLeader(batch(3, { ts: 10 }), 0);
    expect(r.logAppendTimeMs).toBe(5_000_000);
    await r.written;
    const recs = decodeAll((await log.read(0, 1 << 20, 3, true)).records).records; // CRC verified by decode
    expect(recs.map((x) => x.timestamp)).toEqual([5_000_000, 5_000_000, 5_000_000]);
    expect(await log.maxTimestamp()).toEqual({ offset: 0, timestamp: 5_000_000 });
    await log.close();
  });

  it('appends as follower keeping offsets; refuses offsets below the log end', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 400 });
    const b = batch(3);
    b.writeBigInt64BE(10n, 0);
    const r = log.appendAsFollower(b);
    expect(r.lastOffset).toBe(12);
    await r.written;
    expect(log.logEndOffset).toBe(13);
    const b2 = batch(2);
    b2.writeBigInt64BE(11n, 0);
    expect(() => log.appendAsFollower(b2)).toThrow(UnexpectedAppendOffsetError);
    b2.writeBigInt64BE(20n, 0);
    await log.appendAsFollower(b2).written;
    expect(log.logEndOffset).toBe(22);
    const d = decodeAll((await log.read(13, 1 << 20, 22, true)).records);
    expect(d.batches[0]!.baseOffset).toBe(20);
    await log.close();
  });

  it("writes one turn's small appends in one write at the turn's end; appends made while a large write is in flight coalesce into few writes", async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    const first = log.appendAsLeader(batch(1, { tag: 'small' }), 0);
    const second = log.appendAsLeader(batch(1, { tag: 'small2' }), 0);
    expect(log.stats.writeCalls).toBe(0); // queued until the end of this event-loop turn
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(log.stats.writeCalls).toBe(1); // both, in one synchronous write
    await Promise.all([first.written, second.written]);
    // A large append goes through the threadpool; the small ones behind it share few writev calls.
    const big = log.appendAsLeader(batch(1, { tag: 'big', valueBytes: 300 * 1024 }), 0);
    const results = Array.from({ length: 1000 }, (_, i) => log.appendAsLeader(batch(1, { tag: `c${i}` }), 0));
    await Promise.all([big.written, ...results.map((r) => r.written)]);
    expect(log.stats.appends).toBe(1003);
    expect(log.stats.writeCalls).toBeLessThan(20);
    expect(results[999]!.lastOffset).toBe(1002);
    const all = await readAll(log);
    expect(all.length).toBe(1003);
    expect(all[503]!.value).toBe('c500-0');
    await log.close();
    const expectedBytes = batch(1, { tag: 'small' }).length + batch(1, { tag: 'small2' }).length + batch(1, { tag: 'big', valueBytes: 300 * 1024 }).length + results.reduce((n, _r, i) => n + batch(1, { tag: `c${i}` }).length, 0);
    expect(statSync(path.join(dir, '00000000000000000000.log')).size).toBe(expectedBytes);
  });
});

describe('PartitionLog rolling', () => {
  it('rolls on segment.bytes before an append that would exceed it', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 500 });
    const b = batch(2, { valueBytes: 100 });
    for (let i = 0; i < 6; i++) await log.appendAsLeader(Buffer.from(b), 0).written;
    const segs = log.segmentInfos();
    for (const s of segs) expect(s.sizeBytes).toBeLessThanOrEqual(500);
    expect(segs.length).toBe(Math.ceil(6 / Math.floor(500 / b.length)));
    await log.close();
  });

  it('rolls on segment.ms using the first batch timestamp', async () => {
    const clock = new TestClock(1_000_000);
    const log = await openLog(tempDir(), { segmentMs: 60_000 }, { clock });
    await log.appendAsLeader(batch(1, { ts: 1_000_000 }), 0).written;
    clock.advance(30_000);
    await log.appendAsLeader(batch(1, { ts: clock.now }), 0).written;
    expect(log.segmentCount).toBe(1);
    clock.advance(40_000); // 70 s after the first batch
    await log.appendAsLeader(batch(1, { ts: clock.now }), 0).written;
    expect(log.segmentInfos().map((s) => s.baseOffset)).toEqual([0, 2]);
    clock.advance(61_000);
    await log.maybeRoll();
    expect(log.segmentInfos().map((s) => s.baseOffset)).toEqual([0, 2, 3]);
    await log.roll(); // empty active segment: no-op
    expect(log.segmentCount).toBe(3);
    await log.close();
  });

  it('rolls when the index is full and advances the recovery point on roll', async () => {
    const log = await openLog(tempDir(), { segmentIndexBytes: 8 * 3, indexIntervalBytes: 1 });
    for (let i = 0; i < 10; i++) await log.appendAsLeader(batch(1), 0).written;
    expect(log.segmentCount).toBeGreaterThan(2);
    for (const s of log.segmentInfos()) expect(s.offsetIndexEntries).toBeLessThanOrEqual(3);
    await log.roll();
    expect(log.recoveryPoint).toBe(10);
    await log.close();
  });
});

describe('PartitionLog recovery', () => {
  const CFG = { segmentBytes: 600, indexIntervalBytes: 100 };
  async function filled(dir: string, batches = 30): Promise<number> {
    const log = await openLog(dir, CFG);
    for (let i = 0; i < batches; i++) await log.appendAsLeader(batch(3, { tag: `r${i}`, ts: 1000 + i }), 2).written;
    const leo = log.logEndOffset;
    await log.close();
    return leo;
  }

  it('rebuilds missing index files', async () => {
    const dir = tempDir();
    const leo = await filled(dir);
    const before = await openLog(dir, CFG, { cleanShutdown: true });
    const infos = before.segmentInfos();
    await before.close();
    for (const f of [...logFiles(dir, '.index'), ...logFiles(dir, '.timeindex')]) unlinkSync(path.join(dir, f));
    const log = await openLog(dir, CFG, { cleanShutdown: true });
    expect(log.logEndOffset).toBe(leo);
    expect(log.segmentInfos()).toEqual(infos);
    expect((await readAll(log)).length).toBe(leo);
    await log.close();
    expect(logFiles(dir, '.index').length).toBe(infos.length);
  });

  it('rebuilds an inconsistent index', async () => {
    const dir = tempDir();
    const leo = await filled(dir);
    const idx = path.join(dir, logFiles(dir, '.index')[0]!);
    writeFileSync(idx, Buffer.alloc(16, 0xff));
    const log = await openLog(dir, CFG, { cleanShutdown: true });
    expect(log.logEndOffset).toBe(leo);
    expect((await readAll(log)).map((r) => r.offset)).toEqual(Array.from({ length: leo }, (_, i) => i));
    await log.close();
  });

  it('truncates a torn tail (garbage and a partial batch) and continues the offsets', async () => {
    const dir = tempDir();
    const leo = await filled(dir);
    const last = path.join(dir, logFiles(dir, '.log').pop()!);
    const validSize = statSync(last).size;
    const partial = batch(5);
    appendFileSync(last, partial.subarray(0, 40));
    let log = await openLog(dir, CFG, { cleanShutdown: false, recoveryPoint: leo });
    expect(log.logEndOffset).toBe(leo);
    expect(statSync(last).size).toBe(validSize);
    const r = log.appendAsLeader(batch(2, { tag: 'after' }), 3);
    expect(r.baseOffset).toBe(leo);
    await r.written;
    await log.close();

    const newLast = path.join(dir, logFiles(dir, '.log').pop()!);
    appendFileSync(newLast, Buffer.from('this is not a record batch at all, just garbage bytes'));
    log = await openLog(dir, CFG);
    expect(log.logEndOffset).toBe(leo + 2);
    const all = await readAll(log);
    expect(all.length).toBe(leo + 2);
    expect(all[leo + 1]!.value).toBe('after-1');
    await log.close();
  });

  it('truncates at a flipped byte in the middle of the last segment', async () => {
    const dir = tempDir();
    const leo = await filled(dir);
    const last = path.join(dir, logFiles(dir, '.log').pop()!);
    const base = Number(path.basename(last, '.log'));
    const bytes = readFileSync(last);
    // Find the batch boundaries, corrupt a record byte of the middle batch.
    const starts: number[] = [];
    for (let p = 0; p < bytes.length; p += bytes.readInt32BE(p + 8) + 12) starts.push(p);
    expect(starts.length).toBeGreaterThan(2);
    const mid = Math.floor(starts.length / 2);
    bytes[starts[mid]! + 70] ^= 0xff;
    writeFileSync(last, bytes);
    const log = await openLog(dir, CFG, { recoveryPoint: base });
    expect(statSync(last).size).toBe(starts[mid]);
    expect(log.logEndOffset).toBe(base + mid * 3);
    expect((await readAll(log)).length).toBe(base + mid * 3);
    await log.close();
  });

  it('deletes the segments after a corrupt one and leftover files', async () => {
    const dir = tempDir();
    await filled(dir);
    const logs = logFiles(dir, '.log');
    expect(logs.length).toBeGreaterThan(3);
    const second = path.join(dir, logs[1]!);
    const bytes = readFileSync(second);
    const secondBatch = bytes.readInt32BE(8) + 12;
    bytes[secondBatch + 70] ^= 0x01; // inside the records of its second batch
    writeFileSync(second, bytes);
    writeFileSync(path.join(dir, '00000000000000000000.log.deleted'), 'x');
    writeFileSync(path.join(dir, '00000000000000000099.index.swap'), 'x');
    writeFileSync(path.join(dir, '00000000000000099999.index'), 'x');
    const log = await openLog(dir, CFG, { recoveryPoint: 0 });
    const remaining = logFiles(dir, '.log');
    expect(remaining.length).toBe(2);
    expect(readdirSync(dir).some((f) => f.endsWith('.deleted') || f.endsWith('.swap') || f.startsWith('00000000000000099999'))).toBe(false);
    const all = await readAll(log);
    expect(all.length).toBe(log.logEndOffset);
    expect(log.logEndOffset).toBe(Number(logs[1]!.slice(0, 20)) + 3);
    await log.close();
  });

  it('drops an empty trailing segment left by a crash right after a roll', async () => {
    const dir = tempDir();
    const leo = await filled(dir);
    writeFileSync(path.join(dir, `${String(leo).padStart(20, '0')}.log`), Buffer.alloc(0));
    const log = await openLog(dir, CFG);
    expect(log.logEndOffset).toBe(leo);
    await log.appendAsLeader(batch(1), 0).written;
    expect(log.logEndOffset).toBe(leo + 1);
    await log.close();
  });

  it('opens an empty directory at the checkpointed log start offset', async () => {
    const log = await openLog(tempDir(), {}, { logStartOffset: 42 });
    expect(log.logStartOffset).toBe(42);
    expect(log.logEndOffset).toBe(42);
    expect(log.appendAsLeader(batch(1), 0).baseOffset).toBe(42);
    await log.close();
  });
});

describe('PartitionLog retention, deletion and truncation', () => {
  async function segmentedLog(clock = new TestClock()) {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 500, retentionMs: -1 }, { clock });
    for (let i = 0; i < 20; i++) await log.appendAsLeader(batch(2, { valueBytes: 60, ts: 1000 * i, sameTs: true }), 0).written;
    return { dir, log };
  }

  it('applies retention.ms by segment max timestamp, never deleting the active segment', async () => {
    const { dir, log } = await segmentedLog();
    const segs = log.segmentInfos();
    expect(segs.length).toBeGreaterThan(4);
    log.updateConfig({ ...log.currentConfig, retentionMs: 5000 });
    const now = segs[2]!.maxTimestamp + 5001; // segments 0..2 are older than 5 s
    expect(await log.applyRetention(now)).toBe(3);
    expect(log.logStartOffset).toBe(segs[3]!.baseOffset);
    expect(log.segmentInfos()[0]!.baseOffset).toBe(segs[3]!.baseOffset);
    expect(logFiles(dir, '.log').length).toBe(segs.length - 3);
    expect((await log.read(0, 100, 40, true)).error).toBe('OFFSET_OUT_OF_RANGE');
    expect(await log.applyRetention(Number.MAX_SAFE_INTEGER)).toBe(segs.length - 4);
    expect(log.segmentCount).toBe(1);
    await log.close();
  });

  it('applies retention.bytes and keeps file.delete.delay.ms', async () => {
    const { dir, log } = await segmentedLog();
    const total = log.sizeBytes;
    const seg0 = log.segmentInfos()[0]!.sizeBytes;
    log.updateConfig({ ...log.currentConfig, retentionBytes: total - seg0, fileDeleteDelayMs: 60_000 });
    expect(await log.applyRetention(0)).toBe(1);
    expect(log.sizeBytes).toBe(total - seg0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.deleted')).length).toBe(3);
    await log.close(); // close deletes pending files now
    expect(readdirSync(dir).filter((f) => f.endsWith('.deleted')).length).toBe(0);
  });

  it('deleteRecordsBefore advances the log start offset and deletes segments wholly below it', async () => {
    const { log } = await segmentedLog();
    const segs = log.segmentInfos();
    log.highWatermark = log.logEndOffset;
    await log.deleteRecordsBefore(segs[2]!.baseOffset + 1);
    expect(log.logStartOffset).toBe(segs[2]!.baseOffset + 1);
    expect(log.segmentInfos()[0]!.baseOffset).toBe(segs[2]!.baseOffset);
    await log.deleteRecordsBefore(3); // never backwards
    expect(log.logStartOffset).toBe(segs[2]!.baseOffset + 1);
    expect((await readAll(log, log.logStartOffset))[0]!.offset).toBe(segs[2]!.baseOffset + 1);
    await log.close();
  });

  it('truncateTo drops later segments and the tail, then appends continue', async () => {
    const { dir, log } = await segmentedLog();
    const segs = log.segmentInfos();
    log.highWatermark = 40;
    const target = segs[1]!.baseOffset + 2; // a batch boundary inside segment 1
    await log.truncateTo(target);
    expect(log.logEndOffset).toBe(target);
    expect(log.highWatermark).toBe(target);
    expect(log.segmentCount).toBe(2);
    expect(logFiles(dir, '.log').length).toBe(2);
    await log.truncateTo(target - 1); // mid-batch: the whole batch goes
    expect(log.logEndOffset).toBe(target - 2);
    const r = log.appendAsLeader(batch(2, { tag: 'new' }), 5);
    expect(r.baseOffset).toBe(target - 2);
    await r.written;
    const all = await readAll(log);
    expect(all.map((x) => x.offset)).toEqual(Array.from({ length: target }, (_, i) => i));
    expect(all[target - 1]!.value).toBe('new-1');
    await log.close();
    const re = await openLog(dir, { segmentBytes: 500 });
    expect(re.logEndOffset).toBe(target);
    await re.close();
  });

  it('truncateFullyAndStartAt restarts the log at an offset', async () => {
    const { dir, log } = await segmentedLog();
    await log.truncateFullyAndStartAt(1000);
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark]).toEqual([1000, 1000, 1000]);
    expect(log.appendAsLeader(batch(1), 0).baseOffset).toBe(1000);
    await log.close();
    expect(logFiles(dir, '.log')).toEqual(['00000000000000001000.log']);
    const re = await openLog(dir, {}, { cleanShutdown: true });
    expect(re.logEndOffset).toBe(1001);
    await re.close();
  });
});

describe('PartitionLog timestamps', () => {
  it('finds the earliest offset with timestamp ≥ ts through the time index', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 800, indexIntervalBytes: 100 }, { tailCacheBytes: 0 });
    const check = async (l: typeof log) => {
      for (const k of [0, 1, 7, 99, 123, 199]) {
        expect(await l.offsetForTimestamp(10_000 + 10 * k - 5)).toEqual({ offset: k, timestamp: 10_000 + 10 * k });
        expect(await l.offsetForTimestamp(10_000 + 10 * k)).toEqual({ offset: k, timestamp: 10_000 + 10 * k });
      }
      expect(await l.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 10_000 });
      expect(await l.offsetForTimestamp(10_000 + 10 * 199 + 1)).toBeNull();
      expect(await l.maxTimestamp()).toEqual({ offset: 199, timestamp: 10_000 + 10 * 199 });
    };
    // 40 batches of 5 records; record k has timestamp 10_000 + 10 * k.
    for (let i = 0; i < 40; i++) {
      const b = batchWithStep(5, 10_000 + 50 * i, 10);
      await log.appendAsLeader(b, 0).written;
    }
    expect(log.segmentCount).toBeGreaterThan(3);
    await check(log);
    await log.close();
    const re = await openLog(dir, { segmentBytes: 800, indexIntervalBytes: 100 }, { cleanShutdown: true });
    await check(re);
    await re.deleteRecordsBefore(3);
    expect(await re.offsetForTimestamp(0)).toEqual({ offset: 3, timestamp: 10_030 });
    await re.close();
  });
});

describe('PartitionLog I/O errors', () => {
  it('goes offline after a failed synchronous write: written rejects, the partial bytes are cut', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await log.appendAsLeader(batch(1), 0).written;
    const spy = vi.spyOn(fs, 'writeSync').mockImplementationOnce((() => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    }) as unknown as typeof fs.writeSync);
    const r = log.appendAsLeader(batch(1), 0);
    await expect(r.written).rejects.toBeInstanceOf(KafkaStorageError);
    spy.mockRestore();
    expect(() => log.appendAsLeader(batch(1), 0)).toThrow(KafkaStorageError);
    expect(log.offlineError).toBeInstanceOf(KafkaStorageError);
    await expect(log.close()).rejects.toBeInstanceOf(KafkaStorageError);
  });

  it('goes offline after a failed write: written rejects, later appends and reads fail typed', async () => {
    const log = await openLog(tempDir());
    await log.appendAsLeader(batch(1), 0).written;
    const spy = vi.spyOn(fs, 'writev').mockImplementationOnce(((_fd: number, _bufs: unknown, _pos: unknown, cb: (e: Error | null, n: number) => void) => {
      cb(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }), 0);
    }) as unknown as typeof fs.writev);
    // Large enough for the threadpool path (small appends are written synchronously).
    const r = log.appendAsLeader(batch(1, { valueBytes: 300 * 1024 }), 0);
    await expect(r.written).rejects.toBeInstanceOf(KafkaStorageError);
    spy.mockRestore();
    expect(() => log.appendAsLeader(batch(1), 0)).toThrow(KafkaStorageError);
    await expect(log.read(0, 100, 1, true)).rejects.toBeInstanceOf(KafkaStorageError);
    expect(log.offlineError).toBeInstanceOf(KafkaStorageError);
    await expect(log.close()).rejects.toBeInstanceOf(KafkaStorageError);
  });
});

// A batch whose records are `step` ms apart.
function batchWithStep(count: number, ts: number, step: number): Buffer {
  return encodeRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ value: `s${i}`, timestamp: ts + i * step })) });
}

describe('PartitionLog flush', () => {
  it('fsyncs on demand, shares concurrent flushes, and honours flush.messages', async () => {
    const log = await openLog(tempDir());
    for (let i = 0; i < 5; i++) log.appendAsLeader(batch(2), 0);
    expect(log.recoveryPoint).toBe(0);
    const fsyncs = log.stats.fsyncs;
    await Promise.all([log.flush(), log.flush(), log.flush()]);
    expect(log.recoveryPoint).toBe(10);
    expect(log.stats.fsyncs - fsyncs).toBeLessThanOrEqual(2);
    log.updateConfig({ ...log.currentConfig, flushIntervalMessages: 4 });
    log.appendAsLeader(batch(2), 0);
    expect(log.recoveryPoint).toBe(10);
    await log.appendAsLeader(batch(2), 0).written; // 4 unflushed messages: flushed before `written` resolves
    expect(log.recoveryPoint).toBe(14);
    await log.close();
  });

  it('flush.messages fsyncs only the .log (indexes wait for an explicit flush); a crash then recovers every acknowledged record and rebuilds the index', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { indexIntervalBytes: 64 });
    log.updateConfig({ ...log.currentConfig, flushIntervalMessages: 1 });
    for (let i = 0; i < 30; i++) await log.appendAsLeader(batch(2, { tag: `d${i}`, valueBytes: 40 }), 0).written;
    expect(log.recoveryPoint).toBe(60);
    const index = path.join(dir, '00000000000000000000.index');
    const indexBytes = () => (fs.existsSync(index) ? statSync(index).size : 0);
    expect(indexBytes()).toBe(0); // not written by the durable-mode flushes
    await log.flush(); // an explicit flush persists the indexes too
    expect(indexBytes()).toBeGreaterThan(0);
    await log.appendAsLeader(batch(2, { tag: 'late' }), 0).written;
    const before = indexBytes();
    await log.closeWithoutFlush(); // as a crash
    expect(indexBytes()).toBe(before); // the last append's index entry is not on disk

    const reopened = await openLog(dir, { indexIntervalBytes: 64 }, { cleanShutdown: false, recoveryPoint: 62 });
    expect(reopened.logEndOffset).toBe(62);
    const all = await readAll(reopened);
    expect(all.map((r) => r.value)).toEqual([...Array.from({ length: 30 }, (_, i) => [`d${i}-0${'x'.repeat(40)}`, `d${i}-1${'x'.repeat(40)}`]).flat(), 'late-0', 'late-1']);
    // Reads by offset go through the rebuilt index.
    const d = decodeAll((await reopened.read(45, 1 << 20, 62, true)).records);
    expect(d.batches[0]!.baseOffset).toBe(44);
    await reopened.close();
  });

  it('flush.messages=1 is a durable mode: every append resolves only once fsynced, concurrent ones share fsyncs', async () => {
    const log = await openLog(tempDir());
    log.updateConfig({ ...log.currentConfig, flushIntervalMessages: 1 });
    const before = log.stats.fsyncs;
    const appends = Array.from({ length: 20 }, () => log.appendAsLeader(batch(1), 0));
    await Promise.all(
      appends.map(async (a) => {
        await a.written;
        expect(log.recoveryPoint).toBeGreaterThan(a.lastOffset);
      }),
    );
    const fsyncs = log.stats.fsyncs - before;
    expect(fsyncs).toBeGreaterThan(0);
    expect(fsyncs).toBeLessThan(20); // group commit: one fsync serves every append waiting on it
    await log.close();
  });
});

describe('PartitionLog reads against a model', () => {
  it('matches a simple model for random reads while appends are in flight (partial tail cache)', async () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const log = await openLog(tempDir(), { segmentBytes: 4000, indexIntervalBytes: 300 }, { tailCacheBytes: 3000 });
    const model: { base: number; last: number; bytes: Buffer }[] = [];
    let multiPartReads = 0;
    const pending: Promise<void>[] = [];
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 10; k++) {
        // Sometimes two batches in one append (as a follower appends): one cache entry, two batches.
        const b =
          rand(4) === 0
            ? Buffer.concat([batch(1 + rand(6), { tag: `m${round}-${k}a`, valueBytes: rand(120) }), batch(1 + rand(6), { tag: `m${round}-${k}b`, valueBytes: rand(120) })])
            : batch(1 + rand(6), { tag: `m${round}-${k}`, valueBytes: rand(120) });
        const r = log.appendAsLeader(b, round);
        for (let pos = 0; pos < b.length; ) {
          const h = readBatchHeader(b, pos);
          const size = h.batchLength + 12;
          model.push({ base: h.baseOffset, last: h.baseOffset + h.lastOffsetDelta, bytes: Buffer.from(b.subarray(pos, pos + size)) });
          pos += size;
        }
        pending.push(r.written);
      }
      const segBases = log.segmentInfos().map((s) => s.baseOffset);
      for (let q = 0; q < 15; q++) {
        const leo = log.logEndOffset;
        const start = rand(leo);
        const maxBytes = rand(2000);
        const maxOffset = start + rand(leo - start + 1);
        const minOne = rand(2) === 0;
        const got = (await log.read(start, maxBytes, maxOffset, minOne)).records;
        // Model: whole batches from the one holding start, within its segment.
        const segEnd = segBases.find((b) => b > start) ?? Infinity;
        let i = model.findIndex((m) => m.last >= start);
        const parts: Buffer[] = [];
        let total = 0;
        for (; i < model.length && model[i]!.base < segEnd; i++) {
          const m = model[i]!;
          if (m.last >= maxOffset) break;
          if (total + m.bytes.length > maxBytes && !(total === 0 && minOne)) break;
          parts.push(m.bytes);
          total += m.bytes.length;
        }
        expect(got.equals(Buffer.concat(parts))).toBe(true);
        // The fetch path's read: the same bytes, possibly as slices of several cached buffers.
        const unjoined = (await log.readRecords(start, maxBytes, maxOffset, minOne)).records;
        if (unjoined instanceof RecordParts) multiPartReads++;
        expect(recordsBuffer(unjoined).equals(got)).toBe(true);
      }
    }
    expect(multiPartReads).toBeGreaterThan(0);
    await Promise.all(pending);
    await log.close();
  });
});
