// Producer state inside PartitionLog: deduplication on the leader append path, refusals without
// writes, transaction markers and the aborted-transaction index, snapshots, rebuild after clean
// and unclean restarts, truncation, log start movement and expiration.
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerAppendError } from '../../log/errors.js';
import type { PartitionLog } from '../../log/partition-log.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeControlBatch, encodeRecordBatch } from '../../wire/record-batch.js';
import { cleanupTempDirs, openLog, readAll, tempDir, TestClock } from './helpers.js';

afterEach(() => cleanupTempDirs());

const T0 = 1_700_000_000_000;

function idem(o: { pid?: number; epoch?: number; seq: number; count?: number; txn?: boolean; tag?: string }): Buffer {
  const count = o.count ?? 1;
  return encodeRecordBatch({
    producerId: o.pid ?? 1,
    producerEpoch: o.epoch ?? 0,
    baseSequence: o.seq,
    isTransactional: o.txn ?? false,
    baseTimestamp: T0,
    records: Array.from({ length: count }, (_, i) => ({ value: `${o.tag ?? 'v'}-${o.seq + i}`, timestamp: T0 + i })),
  });
}

function marker(pid: number, type: 'COMMIT' | 'ABORT', o: { epoch?: number; coordinatorEpoch?: number } = {}): Buffer {
  return encodeControlBatch({ producerId: pid, producerEpoch: o.epoch ?? 0, timestamp: T0 + 50, type, coordinatorEpoch: o.coordinatorEpoch ?? 0 });
}

function snapshots(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => /^\d{20}\.snapshot$/.test(f))
    .map((f) => Number(f.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** Everything the producer state says, for comparing two logs. */
function stateOf(log: PartitionLog) {
  return {
    entries: log.producerState.snapshotEntries(),
    ongoing: log.producerState.ongoingTransactions(),
    firstUndecided: log.producerState.firstUndecidedOffset(),
    aborted: log.abortedTransactions(log.logStartOffset, log.logEndOffset),
    mapEnd: log.producerState.mapEndOffset,
  };
}

/** Appends a mixed history: idempotent and transactional producers, commits and aborts, several segments. */
async function buildHistory(log: PartitionLog): Promise<void> {
  const ok = (r: ReturnType<PartitionLog['appendAsLeader']>) => {
    if (r.kind !== 'appended') throw new Error(`unexpected ${r.kind}`);
    return r.written;
  };
  const writes: Promise<void>[] = [];
  let seq1 = 0;
  let seq2 = 0;
  let seq3 = 0;
  for (let round = 0; round < 12; round++) {
    writes.push(ok(log.appendAsLeader(idem({ pid: 1, seq: seq1, count: 3 }), 0)));
    seq1 += 3;
    writes.push(ok(log.appendAsLeader(idem({ pid: 2, seq: seq2, count: 2, txn: true }), 0)));
    seq2 += 2;
    writes.push(ok(log.appendAsLeader(idem({ pid: 3, seq: seq3, txn: true }), 0)));
    seq3 += 1;
    writes.push(ok(log.appendAsLeader(idem({ pid: 2, seq: seq2, txn: true }), 0)));
    seq2 += 1;
    writes.push(ok(log.appendAsLeader(marker(2, round % 3 === 0 ? 'ABORT' : 'COMMIT', { coordinatorEpoch: round }), 0, 'coordinator')));
    if (round % 2 === 1) writes.push(ok(log.appendAsLeader(marker(3, round % 4 === 1 ? 'ABORT' : 'COMMIT'), 0, 'coordinator')));
  }
  // Producer 3's last transaction stays open.
  writes.push(ok(log.appendAsLeader(idem({ pid: 3, seq: seq3, txn: true }), 0)));
  await Promise.all(writes);
}

describe('PartitionLog producer deduplication', () => {
  it('stores a retried batch once and answers the original offsets, also after a clean restart', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    const a = log.appendAsLeader(idem({ seq: 0, count: 3 }), 0);
    const b = log.appendAsLeader(idem({ seq: 3, count: 2 }), 0);
    expect(a).toMatchObject({ kind: 'appended', baseOffset: 0, lastOffset: 2 });
    expect(b).toMatchObject({ kind: 'appended', baseOffset: 3, lastOffset: 4 });
    const retry = log.appendAsLeader(idem({ seq: 0, count: 3 }), 0);
    expect(retry).toMatchObject({ kind: 'duplicate', baseOffset: 0, lastOffset: 2, logAppendTimeMs: -1 });
    await retry.written;
    expect(log.logEndOffset).toBe(5);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['v-0', 'v-1', 'v-2', 'v-3', 'v-4']);
    await log.close();
    expect(snapshots(dir)).toEqual([5]);

    const reopened = await openLog(dir, {}, { cleanShutdown: true });
    expect(reopened.appendAsLeader(idem({ seq: 3, count: 2 }), 0)).toMatchObject({ kind: 'duplicate', baseOffset: 3, lastOffset: 4 });
    expect(reopened.appendAsLeader(idem({ seq: 0, count: 3 }), 0)).toMatchObject({ kind: 'duplicate', baseOffset: 0, lastOffset: 2 });
    expect(reopened.appendAsLeader(idem({ seq: 5 }), 0)).toMatchObject({ kind: 'appended', baseOffset: 5 });
    await reopened.close();
  });

  it('still deduplicates after an unclean shutdown (state replayed from the log)', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 400 });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) writes.push(log.appendAsLeader(idem({ seq: i * 2, count: 2 }), 0).written);
    await Promise.all(writes);
    expect(log.segmentCount).toBeGreaterThan(3);
    const before = stateOf(log);
    await log.closeWithoutFlush(); // no flush, no final snapshot: as a crash (the OS kept the bytes)

    const reopened = await openLog(dir, { segmentBytes: 400 }, { cleanShutdown: false, recoveryPoint: 0 });
    expect(stateOf(reopened)).toEqual(before);
    expect(reopened.appendAsLeader(idem({ seq: 38, count: 2 }), 0)).toMatchObject({ kind: 'duplicate', baseOffset: 38, lastOffset: 39 });
    expect(reopened.appendAsLeader(idem({ seq: 30, count: 2 }), 0)).toMatchObject({ kind: 'duplicate', baseOffset: 30 });
    expect(reopened.appendAsLeader(idem({ seq: 20, count: 2 }), 0)).toMatchObject({ kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect(reopened.appendAsLeader(idem({ seq: 40 }), 0)).toMatchObject({ kind: 'appended', baseOffset: 40 });
    await reopened.close();
  });

  it('refuses out-of-order, fenced and client control batches without writing anything', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await log.appendAsLeader(idem({ epoch: 2, seq: 0 }), 0).written;
    const cases: Array<[Buffer, ErrorCode]> = [
      [idem({ epoch: 2, seq: 5 }), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER],
      [idem({ epoch: 1, seq: 1 }), ErrorCode.INVALID_PRODUCER_EPOCH],
      [idem({ epoch: 3, seq: 1 }), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER],
      [idem({ epoch: 2, seq: -1 }), ErrorCode.INVALID_RECORD],
      [marker(1, 'COMMIT', { epoch: 2 }), ErrorCode.INVALID_RECORD],
    ];
    for (const [buf, code] of cases) {
      const r = log.appendAsLeader(buf, 0);
      expect(r).toMatchObject({ kind: 'error', errorCode: code, baseOffset: -1 });
      await expect(r.written).rejects.toBeInstanceOf(ProducerAppendError);
    }
    expect(log.logEndOffset).toBe(1);
    expect(log.appendAsLeader(idem({ epoch: 2, seq: 1 }), 0)).toMatchObject({ kind: 'appended', baseOffset: 1 });
    // A non-idempotent batch is never checked.
    expect(log.appendAsLeader(encodeRecordBatch({ records: [{ value: 'x' }] }), 0)).toMatchObject({ kind: 'appended', baseOffset: 2 });
    await log.close();
  });

  it('answers a duplicate on a LogAppendTime topic with the original append time', async () => {
    const clock = new TestClock(T0 + 1000);
    const log = await openLog(tempDir(), { messageTimestampType: 'LogAppendTime' }, { clock });
    const first = log.appendAsLeader(idem({ seq: 0 }), 0);
    expect(first.logAppendTimeMs).toBe(T0 + 1000);
    clock.advance(500);
    expect(log.appendAsLeader(idem({ seq: 0 }), 0)).toMatchObject({ kind: 'duplicate', baseOffset: 0, logAppendTimeMs: T0 + 1000 });
    await log.close();
  });

  it('records follower appends without checks, markers included', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    const at = (buf: Buffer, offset: number) => {
      buf.writeBigInt64BE(BigInt(offset), 0);
      return buf;
    };
    await log.appendAsFollower(at(idem({ seq: 0, count: 2, txn: true }), 0)).written;
    await log.appendAsFollower(at(idem({ seq: 9, txn: true }), 2)).written; // a gap the leader accepted
    expect(log.producerState.lastEntry(1)!.batches.map((b) => [b.firstSeq, b.firstOffset])).toEqual([
      [0, 0],
      [9, 2],
    ]);
    expect(log.firstUnstableOffset()).toBe(0);
    await log.appendAsFollower(at(marker(1, 'ABORT'), 3)).written;
    expect(log.producerState.firstUndecidedOffset()).toBeNull();
    expect(log.abortedTransactions(0, 4)).toEqual([{ producerId: 1, firstOffset: 0, lastOffset: 3, lastStableOffset: 4 }]);
    await log.close();
  });
});

describe('PartitionLog transactions', () => {
  it('keeps the LSO at the first open or unreplicated transaction and indexes aborted ones', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await log.appendAsLeader(idem({ pid: 1, seq: 0, count: 2, txn: true }), 0).written; // 0-1
    await log.appendAsLeader(idem({ pid: 2, seq: 0, txn: true }), 0).written; // 2
    await log.appendAsLeader(idem({ pid: 5, seq: 0 }), 0).written; // 3
    log.highWatermark = 4;
    expect(log.firstUnstableOffset()).toBe(0);
    expect(log.lastStableOffset).toBe(0);
    expect(log.producerState.hasOngoingTransaction(1, 0)).toBe(true);

    const abort = log.appendAsLeader(marker(1, 'ABORT', { coordinatorEpoch: 4 }), 0, 'coordinator'); // 4
    expect(abort).toMatchObject({ kind: 'appended', baseOffset: 4 });
    await abort.written;
    expect(log.abortedTransactions(0, 5)).toEqual([{ producerId: 1, firstOffset: 0, lastOffset: 4, lastStableOffset: 2 }]);
    expect(log.abortedTransactions(5, 10)).toEqual([]);
    expect(log.abortedTransactions(2, 3)).toEqual([{ producerId: 1, firstOffset: 0, lastOffset: 4, lastStableOffset: 2 }]);
    // The marker is above the high watermark: still unstable from 0.
    expect(log.lastStableOffset).toBe(0);
    log.highWatermark = 5;
    expect(log.lastStableOffset).toBe(2);

    await log.appendAsLeader(marker(2, 'COMMIT', { coordinatorEpoch: 4 }), 0, 'coordinator').written; // 5
    log.highWatermark = 6;
    expect(log.firstUnstableOffset()).toBeNull();
    expect(log.lastStableOffset).toBe(6);
    // A zombie coordinator and a non-transactional write are refused.
    await log.appendAsLeader(idem({ pid: 2, seq: 1, txn: true }), 0).written; // 6
    expect(log.appendAsLeader(marker(2, 'ABORT', { coordinatorEpoch: 3 }), 0, 'coordinator')).toMatchObject({
      kind: 'error',
      errorCode: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
    });
    expect(log.appendAsLeader(idem({ pid: 2, seq: 2 }), 0)).toMatchObject({ kind: 'error', errorCode: ErrorCode.INVALID_TXN_STATE });
    await log.close();

    // Kafka's .txnindex format: 34-byte entries.
    const txnIndex = path.join(dir, '00000000000000000000.txnindex');
    const bytes = readFileSync(txnIndex);
    expect(bytes.length).toBe(34);
    expect(bytes.readInt16BE(0)).toBe(0);
    expect(Number(bytes.readBigInt64BE(2))).toBe(1);
    expect(Number(bytes.readBigInt64BE(10))).toBe(0);
    expect(Number(bytes.readBigInt64BE(18))).toBe(4);
    expect(Number(bytes.readBigInt64BE(26))).toBe(2);

    const reopened = await openLog(dir, {}, { cleanShutdown: true });
    expect(reopened.abortedTransactions(0, 7)).toEqual([{ producerId: 1, firstOffset: 0, lastOffset: 4, lastStableOffset: 2 }]);
    expect(reopened.producerState.hasOngoingTransaction(2, 0)).toBe(true);
    reopened.highWatermark = 7;
    expect(reopened.lastStableOffset).toBe(6);
    await reopened.close();
  });

  it('collects aborted transactions across segments until one is complete', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 300 });
    const w: Promise<void>[] = [];
    for (let i = 0; i < 6; i++) {
      w.push(log.appendAsLeader(idem({ pid: 10 + i, seq: 0, txn: true }), 0).written);
      w.push(log.appendAsLeader(marker(10 + i, 'ABORT'), 0, 'coordinator').written);
    }
    await Promise.all(w);
    expect(log.segmentCount).toBeGreaterThan(2);
    const all = log.abortedTransactions(0, log.logEndOffset);
    expect(all.map((t) => [t.producerId, t.firstOffset, t.lastOffset])).toEqual(Array.from({ length: 6 }, (_, i) => [10 + i, 2 * i, 2 * i + 1]));
    expect(log.abortedTransactions(5, 7).map((t) => t.producerId)).toEqual([12, 13]);
    await log.close();
  });
});

describe('PartitionLog producer state rebuild', () => {
  it('an unclean restart rebuilds the same state and aborted-transaction indexes as the live log had', async () => {
    const dir = tempDir();
    const config = { segmentBytes: 1200 };
    const log = await openLog(dir, config);
    await buildHistory(log);
    expect(log.segmentCount).toBeGreaterThan(4);
    const before = stateOf(log);
    expect(before.ongoing).toEqual([{ producerId: 3, firstOffset: expect.any(Number) }]);
    expect(before.aborted.length).toBeGreaterThan(4);
    await log.closeWithoutFlush();
    // Recovery of every segment: txn indexes rebuilt by the replay.
    for (const f of readdirSync(dir)) if (f.endsWith('.txnindex')) unlinkSync(path.join(dir, f));
    const all = await openLog(dir, config, { cleanShutdown: false, recoveryPoint: 0 });
    expect(stateOf(all)).toEqual(before);
    await all.closeWithoutFlush();
    // Recovery from a segment in the middle: snapshot below it plus replay.
    const segs = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    const mid = Number(segs[Math.floor(segs.length / 2)]!.slice(0, 20));
    const partial = await openLog(dir, config, { cleanShutdown: false, recoveryPoint: mid + 1 });
    expect(stateOf(partial)).toEqual(before);
    await partial.close();
    // No snapshot at all: everything from the log.
    for (const o of snapshots(dir)) unlinkSync(path.join(dir, `${String(o).padStart(20, '0')}.snapshot`));
    const fromLog = await openLog(dir, config, { cleanShutdown: true });
    expect(stateOf(fromLog)).toEqual(before);
    await fromLog.close();
  });

  it('ignores a snapshot with a bad CRC and rebuilds from an older one or the log', async () => {
    const dir = tempDir();
    const config = { segmentBytes: 1200 };
    const log = await openLog(dir, config);
    await buildHistory(log);
    const before = stateOf(log);
    const end = log.logEndOffset;
    await log.close();
    const latest = path.join(dir, `${String(end).padStart(20, '0')}.snapshot`);
    const bytes = readFileSync(latest);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x10;
    writeFileSync(latest, bytes);

    const reopened = await openLog(dir, config, { cleanShutdown: true });
    expect(stateOf(reopened)).toEqual(before);
    await reopened.close();
    // The corrupt file was replaced by a good one at the log end.
    expect(readFileSync(latest).equals(bytes)).toBe(false);
    expect(snapshots(dir)).toContain(end);

    // Every snapshot corrupt: the log alone.
    for (const o of snapshots(dir)) writeFileSync(path.join(dir, `${String(o).padStart(20, '0')}.snapshot`), 'garbage');
    const again = await openLog(dir, config, { cleanShutdown: true });
    expect(stateOf(again)).toEqual(before);
    await again.close();
  });

  it('takes a snapshot at every roll and keeps only the useful ones', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 300 });
    const w: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) w.push(log.appendAsLeader(idem({ seq: i }), 0).written);
    await Promise.all(w);
    await log.flush();
    await log.close();
    const bases = readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
    expect(bases.length).toBeGreaterThan(5);
    const snaps = snapshots(dir);
    // The clean-shutdown one, those of the last segments, and one before them.
    expect(snaps[snaps.length - 1]).toBe(30);
    expect(snaps.length).toBeLessThanOrEqual(5);
    for (const b of bases.slice(-3)) if (b > 0) expect(snaps).toContain(b);
  });

  it('truncation reloads the state at the new end and deletes snapshots above it', async () => {
    const dir = tempDir();
    const config = { segmentBytes: 300 };
    const log = await openLog(dir, config);
    const w: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) w.push(log.appendAsLeader(idem({ seq: i }), 0).written);
    w.push(log.appendAsLeader(idem({ pid: 2, seq: 0, txn: true }), 0).written); // 20
    w.push(log.appendAsLeader(marker(2, 'ABORT'), 0, 'coordinator').written); // 21
    w.push(log.appendAsLeader(idem({ pid: 3, seq: 0, txn: true }), 0).written); // 22
    await Promise.all(w);
    await log.flush();
    await log.roll();
    expect(log.abortedTransactions(0, 23)).toHaveLength(1);
    expect(log.firstUnstableOffset()).toBe(20);

    await log.truncateTo(21);
    expect(log.logEndOffset).toBe(21);
    expect(log.abortedTransactions(0, 21)).toEqual([]);
    expect(log.producerState.ongoingTransactions()).toEqual([{ producerId: 2, firstOffset: 20 }]);
    expect(log.producerState.lastEntry(3)).toBeUndefined();
    expect(Math.max(...snapshots(dir))).toBeLessThanOrEqual(21);

    await log.truncateTo(12);
    expect(log.logEndOffset).toBe(12);
    expect(log.producerState.lastEntry(1)!.batches.map((b) => b.lastSeq)).toEqual([7, 8, 9, 10, 11]);
    expect(log.producerState.lastEntry(2)).toBeUndefined();
    expect(log.firstUnstableOffset()).toBeNull();
    for (const s of snapshots(dir)) expect(s).toBeLessThanOrEqual(12);
    // The truncated batches are new again; older ones are still duplicates.
    expect(log.appendAsLeader(idem({ seq: 11 }), 0)).toMatchObject({ kind: 'duplicate', baseOffset: 11 });
    expect(log.appendAsLeader(idem({ seq: 13 }), 0)).toMatchObject({ kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect(log.appendAsLeader(idem({ seq: 12 }), 0)).toMatchObject({ kind: 'appended', baseOffset: 12 });
    const truncatedState = stateOf(log);
    await log.close();
    const reopened = await openLog(dir, config, { cleanShutdown: true });
    expect(stateOf(reopened)).toEqual(truncatedState);
    await reopened.truncateFullyAndStartAt(100);
    expect(reopened.producerState.producerCount).toBe(0);
    expect(snapshots(dir)).toEqual([]);
    expect(reopened.appendAsLeader(idem({ seq: 50 }), 0)).toMatchObject({ kind: 'appended', baseOffset: 100 });
    await reopened.close();
  });

  it('deleting old records drops their snapshots but keeps deduplicating', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 300 });
    const w: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) w.push(log.appendAsLeader(idem({ seq: i }), 0).written);
    await Promise.all(w);
    log.highWatermark = 30;
    await log.deleteRecordsBefore(25);
    await log.flush();
    await log.close();
    for (const s of snapshots(dir)) expect(s).toBeGreaterThanOrEqual(25);
    const reopened = await openLog(dir, { segmentBytes: 300 }, { cleanShutdown: true, logStartOffset: 25 });
    expect(reopened.appendAsLeader(idem({ seq: 29 }), 0)).toMatchObject({ kind: 'duplicate', baseOffset: 29 });
    await reopened.close();
  });

  it('expires idle producers, but not one with an open transaction', async () => {
    const clock = new TestClock(T0);
    const log = await openLog(tempDir(), {}, { clock });
    await log.appendAsLeader(idem({ pid: 1, seq: 0 }), 0).written;
    await log.appendAsLeader(idem({ pid: 2, seq: 0, txn: true }), 0).written;
    expect(log.removeExpiredProducers(T0 + 86_400_000 - 1)).toBe(0);
    expect(log.removeExpiredProducers(T0 + 86_400_000)).toBe(1);
    expect(log.producerState.lastEntry(2)).toBeDefined();
    log.updateConfig({ ...log.currentConfig, producerIdExpirationMs: 10 });
    await log.appendAsLeader(marker(2, 'COMMIT'), 0, 'coordinator').written;
    expect(log.removeExpiredProducers(T0 + 100)).toBe(1);
    expect(log.producerState.producerCount).toBe(0);
    await log.close();
  });

  it('a new log has no snapshot or txn index files until there is something to store', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await log.appendAsLeader(encodeRecordBatch({ records: [{ value: 'x' }] }), 0).written;
    await log.flush();
    expect(readdirSync(dir).filter((f) => f.endsWith('.txnindex') || f.endsWith('.snapshot'))).toEqual([]);
    await log.close();
    expect(snapshots(dir)).toEqual([1]);
    expect(existsSync(path.join(dir, '00000000000000000000.txnindex'))).toBe(false);
    expect(statSync(path.join(dir, '00000000000000000001.snapshot')).size).toBe(18);
  });
});
