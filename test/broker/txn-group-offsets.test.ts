// Transactional offset commits in the group coordinator: pending until the producer's marker,
// committed on COMMIT (unless a later commit of the partition is already there), dropped on
// ABORT, UNSTABLE_OFFSET_COMMIT for require_stable fetches meanwhile, and the same outcome after
// a load that meets the transactional batches and the markers in the log.
import { describe, expect, it } from 'vitest';
import { GroupCoordinator, type OffsetCommitInput, type TxnOffsetCommitInput, type TxnProducer } from '../../broker/group/coordinator.js';
import { decodeOffsetsRecord, encodeOffsetsRecord, type OffsetsTopicRecord } from '../../broker/group/offsets-topic.js';
import { ManualTimer } from '../../broker/group/timer.js';
import { ErrorCode } from '../../wire/errors.js';
import { DEFAULT_CONFIG, flush, logger } from './group-helpers.js';

type Entry = { kind: 'record'; rec: OffsetsTopicRecord; producerId: number | null } | { kind: 'marker'; producerId: number; commit: boolean };

/** `__consumer_offsets` partition 0 in memory, keeping transactional batches and markers. */
class TxnAwareLog {
  readonly entries: Entry[] = [];
  append(recs: readonly OffsetsTopicRecord[], txn?: TxnProducer): Promise<number> {
    for (const r of recs) {
      const { key, value } = encodeOffsetsRecord(r);
      this.entries.push({ kind: 'record', rec: decodeOffsetsRecord(key, value)!, producerId: txn?.producerId ?? null });
    }
    return Promise.resolve(ErrorCode.NONE);
  }
  marker(producerId: number, commit: boolean): void {
    this.entries.push({ kind: 'marker', producerId, commit });
  }
}

async function coordinator(log: TxnAwareLog, loadGate?: Promise<void>): Promise<GroupCoordinator> {
  const timer = new ManualTimer(1_000_000);
  const c = new GroupCoordinator({
    config: DEFAULT_CONFIG,
    timer,
    nowMs: () => timer.nowMs(),
    logger,
    numPartitions: () => 1,
    append: (_p, recs, txn) => log.append(recs, txn),
    readPartition: async (_p, onRecord, onTxnMarker) => {
      if (loadGate) await loadGate;
      for (const e of log.entries) {
        if (e.kind === 'record') onRecord(e.rec, { producerId: e.producerId });
        else onTxnMarker?.(e.producerId, e.commit);
      }
      return { records: log.entries.length, batches: log.entries.length, skipped: 0 };
    },
  });
  c.start();
  const loaded = c.onElection(0, 0);
  if (!loadGate) await loaded;
  return c;
}

function txnCommit(producerId: number, offset: number, partition = 0): TxnOffsetCommitInput {
  return {
    groupId: 'g',
    producerId,
    producerEpoch: 0,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }],
  };
}

function plainCommit(offset: number): OffsetCommitInput {
  return {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    apiVersion: 8,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
  };
}

const committed = (c: GroupCoordinator, partition = 0) => c.fetchOffsets('g', [{ name: 't', partitions: [partition] }]).topics[0]!.partitions[0]!;

describe('transactional offset commits', () => {
  it('stay pending until COMMIT; require_stable sees UNSTABLE_OFFSET_COMMIT meanwhile', async () => {
    const log = new TxnAwareLog();
    const c = await coordinator(log);
    expect((await c.commitTxnOffsets(txnCommit(7, 42)))[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(committed(c).committedOffset).toBe(-1);
    expect(c.fetchOffsets('g', [{ name: 't', partitions: [0, 1] }], true).topics[0]!.partitions.map((p) => p.errorCode)).toEqual([
      ErrorCode.UNSTABLE_OFFSET_COMMIT,
      ErrorCode.NONE,
    ]);
    c.completeTransaction(0, 8, true); // another producer's marker changes nothing
    expect(committed(c).committedOffset).toBe(-1);
    c.completeTransaction(0, 7, true);
    expect(committed(c).committedOffset).toBe(42);
    expect(c.fetchOffsets('g', [{ name: 't', partitions: [0] }], true).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('are dropped on ABORT', async () => {
    const c = await coordinator(new TxnAwareLog());
    await c.commitOffsets(plainCommit(10));
    await c.commitTxnOffsets(txnCommit(7, 42));
    c.completeTransaction(0, 7, false);
    expect(committed(c).committedOffset).toBe(10);
  });

  it('lose to a commit stored after them, win over one stored before (log order)', async () => {
    const c = await coordinator(new TxnAwareLog());
    await c.commitOffsets(plainCommit(3));
    await c.commitTxnOffsets(txnCommit(7, 5));
    c.completeTransaction(0, 7, true);
    expect(committed(c).committedOffset).toBe(5);
    await c.commitTxnOffsets(txnCommit(7, 9));
    await c.commitOffsets(plainCommit(11));
    c.completeTransaction(0, 7, true);
    expect(committed(c).committedOffset).toBe(11);
  });

  it('a load replays transactional batches and markers as the live path does', async () => {
    const log = new TxnAwareLog();
    const c = await coordinator(log);
    await c.commitOffsets(plainCommit(1));
    await c.commitTxnOffsets(txnCommit(7, 20));
    log.marker(7, true);
    await c.commitTxnOffsets(txnCommit(8, 30, 1));
    log.marker(8, false);
    await c.commitTxnOffsets(txnCommit(9, 40, 2));
    // (no marker for producer 9 yet)
    const reloaded = await coordinator(log);
    expect(committed(reloaded, 0).committedOffset).toBe(20);
    expect(committed(reloaded, 1).committedOffset).toBe(-1);
    expect(committed(reloaded, 2).committedOffset).toBe(-1);
    expect(reloaded.fetchOffsets('g', [{ name: 't', partitions: [2] }], true).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
    reloaded.completeTransaction(0, 9, true);
    expect(committed(reloaded, 2).committedOffset).toBe(40);
  });

  it('a marker arriving while the partition loads is applied after the load', async () => {
    const log = new TxnAwareLog();
    const c = await coordinator(log);
    await c.commitTxnOffsets(txnCommit(7, 20));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const reloading = await coordinator(log, gate);
    reloading.completeTransaction(0, 7, true);
    release();
    await flush();
    expect(committed(reloading).committedOffset).toBe(20);
  });

  it('check members like OffsetCommit when the client names one', async () => {
    const c = await coordinator(new TxnAwareLog());
    const r = await c.commitTxnOffsets({ ...txnCommit(7, 1), memberId: 'ghost', generationId: 3 });
    expect(r[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await c.commitTxnOffsets({ ...txnCommit(7, 1), groupId: '' }))[0]!.partitions[0]!.errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  });
});
