// The leader epoch cache inside PartitionLog: which appends add epochs, how truncation and log
// start moves trim them, and what survives a reopen, a lost checkpoint and an unclean shutdown.
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KafkaStorageError } from '../../log/errors.js';
import { LEADER_EPOCH_CHECKPOINT } from '../../log/leader-epoch-cache.js';
import type { PartitionLog } from '../../log/partition-log.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';
import { batch, cleanupTempDirs, decodeAll, openLog, tempDir } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  cleanupTempDirs();
});

const pairs = (log: PartitionLog) => log.leaderEpochEntries().map((e) => [e.epoch, e.startOffset]);
const checkpointText = (dir: string) => readFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8');

/** A batch as a leader wrote it: its offsets and epoch already set. */
function leaderBatch(baseOffset: number, count: number, epoch: number): Buffer {
  return encodeRecordBatch({
    baseOffset,
    partitionLeaderEpoch: epoch,
    records: Array.from({ length: count }, (_, i) => ({ value: `e${epoch}-${baseOffset + i}`, timestamp: 1_000 + i })),
  });
}

/** Appends `count`-record batches as leader: each [epoch, batches] pair in turn. */
async function leaderAppends(log: PartitionLog, plan: Array<[epoch: number, batches: number]>, count = 2): Promise<void> {
  for (const [epoch, n] of plan) for (let i = 0; i < n; i++) await log.appendAsLeader(batch(count), epoch).written;
}

describe('PartitionLog leader epochs: appends', () => {
  it('a leader append adds its epoch at its base offset when the epoch is new', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    expect(log.latestEpoch()).toBe(-1);
    expect(log.leaderEpochEntries()).toEqual([]);
    await leaderAppends(log, [[0, 2], [3, 3], [5, 1]]);
    expect(pairs(log)).toEqual([[0, 0], [3, 4], [5, 10]]);
    expect(log.latestEpoch()).toBe(5);
    // An older epoch (a stale leader's append) adds nothing; the batch still carries it.
    const r = log.appendAsLeader(batch(1), 4);
    await r.written;
    expect(pairs(log)).toEqual([[0, 0], [3, 4], [5, 10]]);
    expect(decodeAll((await log.read(r.baseOffset, 1000, log.logEndOffset, true)).records).batches[0]!.epoch).toBe(4);
    // No leader epoch: nothing.
    await log.appendAsLeader(batch(1), -1).written;
    expect(log.latestEpoch()).toBe(5);
    await log.close();
    expect(checkpointText(dir)).toBe('0\n3\n0 0\n3 4\n5 10\n');
  });

  it('a refused or duplicate leader append adds no epoch', async () => {
    const log = await openLog(tempDir());
    const idem = (seq: number) => encodeRecordBatch({ producerId: 7, producerEpoch: 0, baseSequence: seq, records: [{ value: 'x' }] });
    await log.appendAsLeader(idem(0), 1).written;
    expect(log.appendAsLeader(idem(0), 2).kind).toBe('duplicate');
    expect(log.appendAsLeader(idem(5), 3).kind).toBe('error');
    expect(pairs(log)).toEqual([[1, 0]]);
    await log.close();
  });

  it('a follower append adds the epochs its batches carry', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    log.appendAsFollower(Buffer.concat([leaderBatch(0, 3, 1), leaderBatch(3, 2, 1), leaderBatch(5, 1, 4)]));
    await log.appendAsFollower(Buffer.concat([leaderBatch(6, 2, 4), leaderBatch(8, 2, 6)])).written;
    expect(pairs(log)).toEqual([[1, 0], [4, 5], [6, 8]]);
    // Batches without an epoch (-1) or with an older one add nothing.
    await log.appendAsFollower(Buffer.concat([leaderBatch(10, 1, -1), leaderBatch(11, 1, 2)])).written;
    expect(pairs(log)).toEqual([[1, 0], [4, 5], [6, 8]]);
    await log.close();
    expect(checkpointText(dir)).toBe('0\n3\n1 0\n4 5\n6 8\n');
  });

  it('a refused follower append adds no epoch', async () => {
    const log = await openLog(tempDir());
    await log.appendAsFollower(leaderBatch(0, 5, 1)).written;
    expect(() => log.appendAsFollower(leaderBatch(3, 1, 9))).toThrow(); // below the log end
    expect(pairs(log)).toEqual([[1, 0]]);
    await log.close();
  });

  it('assignLeaderEpoch (makeLeader) adds the new epoch at the log end before any append', async () => {
    const log = await openLog(tempDir());
    await leaderAppends(log, [[1, 2]]);
    log.assignLeaderEpoch(2, log.logEndOffset);
    expect(pairs(log)).toEqual([[1, 0], [2, 4]]);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 4 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 4 });
    await leaderAppends(log, [[2, 1]]);
    expect(pairs(log)).toEqual([[1, 0], [2, 4]]);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 6 });
    log.assignLeaderEpoch(-1, 6); // no epoch: ignored
    expect(() => log.assignLeaderEpoch(3, -5)).toThrow(RangeError);
    expect(log.latestEpoch()).toBe(2);
    await log.close();
    expect(() => log.assignLeaderEpoch(3, 6)).toThrow(KafkaStorageError);
  });

  it('endOffsetForEpoch answers with the log end offset for the latest epoch and -1/-1 when unknown', async () => {
    const log = await openLog(tempDir());
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: -1, endOffset: -1 });
    await leaderAppends(log, [[2, 2], [5, 2], [9, 1]]);
    expect(log.endOffsetForEpoch(9)).toEqual({ epoch: 9, endOffset: 10 });
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 8 });
    expect(log.endOffsetForEpoch(7)).toEqual({ epoch: 5, endOffset: 8 });
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 0 });
    expect(log.endOffsetForEpoch(10)).toEqual({ epoch: -1, endOffset: -1 });
    expect(log.endOffsetForEpoch(-1)).toEqual({ epoch: -1, endOffset: -1 });
    await log.close();
  });
});

describe('PartitionLog leader epochs: truncation and log start', () => {
  it('truncateTo drops the epochs that began at or after the new end', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 400 });
    await leaderAppends(log, [[1, 3], [2, 3], [3, 3]]); // epochs at 0, 6, 12; LEO 18
    await log.truncateTo(13);
    // Batches are removed whole: the end is 12, so epoch 3 has no data left.
    expect(log.logEndOffset).toBe(12);
    expect(pairs(log)).toEqual([[1, 0], [2, 6]]);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 12 });
    // A new leader's epoch follows; the checkpoint says so after close.
    await leaderAppends(log, [[4, 1]]);
    await log.close();
    expect(checkpointText(dir)).toBe('0\n3\n1 0\n2 6\n4 12\n');
  });

  it('truncateFullyAndStartAt clears the cache and the file', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await leaderAppends(log, [[1, 2], [2, 2]]);
    await log.truncateFullyAndStartAt(100);
    expect(log.leaderEpochEntries()).toEqual([]);
    expect(log.latestEpoch()).toBe(-1);
    expect(checkpointText(dir)).toBe('0\n0\n');
    await leaderAppends(log, [[3, 1]]);
    expect(pairs(log)).toEqual([[3, 100]]);
    await log.close();
  });

  it('truncateTo below the first segment clears the cache too', async () => {
    const log = await openLog(tempDir());
    await log.appendAsFollower(leaderBatch(50, 5, 2)).written;
    await log.truncateTo(10);
    expect(log.leaderEpochEntries()).toEqual([]);
    await log.close();
  });

  it('DeleteRecords moves the first epoch to the new log start', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 400 });
    await leaderAppends(log, [[1, 3], [2, 3], [3, 3]]);
    log.highWatermark = log.logEndOffset;
    await log.deleteRecordsBefore(8);
    expect(pairs(log)).toEqual([[2, 8], [3, 12]]);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 8 });
    await log.close();
    expect(checkpointText(dir)).toBe('0\n2\n2 8\n3 12\n');
  });

  it('retention deleting old segments moves the first epoch to the new log start', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 200, retentionBytes: 400 });
    await leaderAppends(log, [[1, 4], [2, 6]], 1);
    expect(await log.applyRetention(Date.now())).toBeGreaterThan(0);
    const first = log.leaderEpochEntries()[0]!;
    expect(first.startOffset).toBe(log.logStartOffset);
    expect(log.logStartOffset).toBeGreaterThan(4); // epoch 1's data is gone entirely
    expect(pairs(log)).toEqual([[2, log.logStartOffset]]);
    await log.close();
  });
});

describe('PartitionLog leader epochs: open and recovery', () => {
  it('survive a clean close and reopen', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 400 });
    await leaderAppends(log, [[0, 2], [4, 2], [7, 2]]);
    await log.close();
    const reopened = await openLog(dir, { segmentBytes: 400 }, { cleanShutdown: true });
    expect(pairs(reopened)).toEqual([[0, 0], [4, 4], [7, 8]]);
    expect(reopened.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 8 });
    await reopened.close();
  });

  it('are rebuilt from the scanned batches after a lost checkpoint and an unclean shutdown', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 400 });
    await leaderAppends(log, [[0, 3], [4, 3], [7, 3]]);
    await log.appendAsFollower(leaderBatch(log.logEndOffset, 2, 9)).written;
    const expected = pairs(log);
    expect(log.segmentCount).toBeGreaterThan(2);
    await log.closeWithoutFlush(); // as a crash
    unlinkSync(path.join(dir, LEADER_EPOCH_CHECKPOINT));

    const reopened = await openLog(dir, { segmentBytes: 400 }, { cleanShutdown: false, recoveryPoint: 0 });
    expect(pairs(reopened)).toEqual(expected);
    await reopened.close();
    expect(checkpointText(dir)).toBe(`0\n4\n${expected.map(([e, o]) => `${e} ${o}`).join('\n')}\n`);
  });

  it('after an unclean shutdown only the recovered segments add epochs (as Kafka)', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 200 });
    await leaderAppends(log, [[1, 4], [2, 4]], 1);
    const segs = log.segmentInfos();
    const lastBase = segs[segs.length - 1]!.baseOffset;
    expect(lastBase).toBeGreaterThan(4); // epoch 1 lies wholly in earlier segments
    await log.closeWithoutFlush();
    unlinkSync(path.join(dir, LEADER_EPOCH_CHECKPOINT));
    const reopened = await openLog(dir, { segmentBytes: 200 }, { cleanShutdown: false, recoveryPoint: lastBase });
    expect(pairs(reopened)).toEqual([[2, lastBase]]);
    await reopened.close();
  });

  it('a missing checkpoint after a clean shutdown starts empty; the next epoch is added', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await leaderAppends(log, [[3, 2]]);
    await log.close();
    unlinkSync(path.join(dir, LEADER_EPOCH_CHECKPOINT));
    const reopened = await openLog(dir, {}, { cleanShutdown: true });
    expect(reopened.leaderEpochEntries()).toEqual([]);
    expect(reopened.endOffsetForEpoch(3)).toEqual({ epoch: -1, endOffset: -1 });
    await leaderAppends(reopened, [[4, 1]]);
    expect(pairs(reopened)).toEqual([[4, 4]]);
    await reopened.close();
  });

  it('a corrupt checkpoint starts empty (recovery re-adds what it scans) and the file is rewritten', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await leaderAppends(log, [[3, 2], [5, 1]]);
    await log.close();
    writeFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT), '0\n7\ngarbage\n');
    const clean = await openLog(dir, {}, { cleanShutdown: true });
    expect(clean.leaderEpochEntries()).toEqual([]);
    await clean.close();
    expect(checkpointText(dir)).toBe('0\n0\n');

    writeFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT), '\u0000\u0000\u0000');
    const recovered = await openLog(dir, {}, { cleanShutdown: false, recoveryPoint: 0 });
    expect(pairs(recovered)).toEqual([[3, 0], [5, 4]]);
    await recovered.close();
  });

  it('entries beyond the recovered log end are dropped at open (torn tail)', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await leaderAppends(log, [[1, 2], [2, 2]]);
    await log.close();
    // The checkpoint names an epoch whose data never reached the disk.
    writeFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT), '0\n3\n1 0\n2 4\n3 8\n');
    const reopened = await openLog(dir, {}, { cleanShutdown: false, recoveryPoint: 0 });
    expect(reopened.logEndOffset).toBe(8);
    expect(pairs(reopened)).toEqual([[1, 0], [2, 4]]);
    await reopened.close();
    expect(checkpointText(dir)).toBe('0\n2\n1 0\n2 4\n');
  });

  it('entries below the log start offset are trimmed at open', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await leaderAppends(log, [[1, 2], [2, 2]]);
    await log.close();
    const reopened = await openLog(dir, {}, { cleanShutdown: true, logStartOffset: 5 });
    expect(pairs(reopened)).toEqual([[2, 5]]);
    await reopened.close();
  });
});

describe('PartitionLog leader epochs: durability', () => {
  it('flush() resolves only once the new epoch is in the checkpoint (the recovery point never passes it)', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await leaderAppends(log, [[1, 1]]);
    await log.flush();
    const realRename = fs.promises.rename;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    vi.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
      if (String(to).endsWith(LEADER_EPOCH_CHECKPOINT)) await gate;
      return realRename(from, to);
    });
    await log.appendAsLeader(batch(1), 2).written;
    let flushed = false;
    const f = log.flush().then(() => (flushed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(flushed).toBe(false);
    expect(log.recoveryPoint).toBeLessThan(log.logEndOffset);
    release();
    await f;
    expect(log.recoveryPoint).toBe(log.logEndOffset);
    expect(checkpointText(dir)).toBe('0\n2\n1 0\n2 2\n');
    await log.close();
  });

  it('a failed checkpoint write takes the log offline', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    vi.spyOn(fs.promises, 'rename').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    await log.appendAsLeader(batch(1), 1).written;
    await expect(log.flush()).rejects.toThrow(/I\/O error/);
    expect(log.offlineError).not.toBeNull();
    await log.close().catch(() => {});
  });

  it('deleteFiles removes the checkpoint with the directory and no late write recreates it', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    log.appendAsLeader(batch(1), 1);
    log.assignLeaderEpoch(2, 1); // queued write
    await log.deleteFiles();
    await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(dir)).toBe(false);
  });
});
