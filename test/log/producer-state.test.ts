// The pure producer state machine (log/producer-state.ts): Kafka 3.9's ProducerStateManager /
// ProducerAppendInfo rules, one test per rule.
import { describe, expect, it } from 'vitest';
import {
  decrementSequence,
  incrementSequence,
  inSequence,
  PendingAppends,
  ProducerStateManager,
  type AppendOrigin,
  type EndTxnMarker,
  type ProducerCheckResult,
} from '../../log/producer-state.js';
import { ErrorCode } from '../../wire/errors.js';
import { makeAttributes } from '../../wire/record-batch.js';

const MAX = 0x7fffffff;
const PID = 1000;

interface B {
  pid?: number;
  epoch?: number;
  seq: number;
  count?: number;
  txn?: boolean;
}

function hdr(b: B) {
  return {
    producerId: b.pid ?? PID,
    producerEpoch: b.epoch ?? 0,
    baseSequence: b.seq,
    lastOffsetDelta: (b.count ?? 1) - 1,
    attributes: makeAttributes({ isTransactional: b.txn ?? false }),
  };
}

function markerHdr(pid: number, epoch: number) {
  return { producerId: pid, producerEpoch: epoch, baseSequence: -1, lastOffsetDelta: 0, attributes: makeAttributes({ isTransactional: true, isControl: true }) };
}

/** A tiny log: assigns offsets from `next` like PartitionLog does. */
class Harness {
  readonly psm = new ProducerStateManager();
  next = 0;
  now = 1_000_000;

  check(b: B, origin: AppendOrigin = 'client'): ProducerCheckResult {
    return this.psm.checkAndPrepare(hdr(b), origin);
  }

  /** Checks then appends; returns the result (offsets of an append in `offsets`). */
  append(b: B, origin: AppendOrigin = 'client'): ProducerCheckResult & { offsets?: [number, number] } {
    const r = this.check(b, origin);
    if (r.kind !== 'append') return r;
    const first = this.next;
    this.next += b.count ?? 1;
    this.psm.update(r.batch, first, this.now);
    return { ...r, offsets: [first, this.next - 1] };
  }

  mustAppend(b: B, origin: AppendOrigin = 'client'): [number, number] {
    const r = this.append(b, origin);
    if (r.kind !== 'append') throw new Error(`expected append, got ${JSON.stringify(r)}`);
    return r.offsets!;
  }

  marker(pid: number, epoch: number, type: 'COMMIT' | 'ABORT', coordinatorEpoch = 0, origin: AppendOrigin = 'coordinator') {
    const m: EndTxnMarker = { type, coordinatorEpoch };
    const r = this.psm.checkAndPrepare(markerHdr(pid, epoch), origin, { marker: m });
    if (r.kind !== 'append') return r;
    const offset = this.next++;
    return { kind: 'completed' as const, offset, completed: this.psm.update(r.batch, offset, this.now) };
  }
}

function errorOf(r: { kind: string; errorCode?: number }): number | undefined {
  return r.kind === 'error' ? r.errorCode : undefined;
}

describe('sequence arithmetic', () => {
  it('wraps at Int32.MAX', () => {
    expect(incrementSequence(5, 3)).toBe(8);
    expect(incrementSequence(MAX, 1)).toBe(0);
    expect(incrementSequence(MAX - 1, 3)).toBe(1);
    expect(decrementSequence(1, 3)).toBe(MAX - 1);
    expect(decrementSequence(8, 3)).toBe(5);
    expect(inSequence(MAX, 0)).toBe(true);
    expect(inSequence(4, 5)).toBe(true);
    expect(inSequence(4, 6)).toBe(false);
    expect(inSequence(-1, 0)).toBe(true);
  });
});

describe('idempotent producer checks', () => {
  it('appends the next sequence and records the batch metadata', () => {
    const h = new Harness();
    expect(h.mustAppend({ seq: 0, count: 3 })).toEqual([0, 2]);
    expect(h.mustAppend({ seq: 3, count: 2 })).toEqual([3, 4]);
    const e = h.psm.lastEntry(PID)!;
    expect(e.producerEpoch).toBe(0);
    expect(e.batches).toEqual([
      { firstSeq: 0, lastSeq: 2, firstOffset: 0, lastOffset: 2, timestamp: h.now },
      { firstSeq: 3, lastSeq: 4, firstOffset: 3, lastOffset: 4, timestamp: h.now },
    ]);
    expect(h.psm.mapEndOffset).toBe(5);
  });

  it('accepts any first sequence from an unknown producer (KIP-360: no UNKNOWN_PRODUCER_ID)', () => {
    const h = new Harness();
    expect(h.append({ seq: 42 }).kind).toBe('append');
    expect(h.append({ seq: 43 }).kind).toBe('append');
    expect(errorOf(h.append({ seq: 45 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('answers a retry of each of the last 5 batches with its original offsets and stores nothing', () => {
    const h = new Harness();
    const offsets: Array<[number, number]> = [];
    for (let i = 0; i < 7; i++) offsets.push(h.mustAppend({ seq: i * 2, count: 2 }));
    const before = JSON.stringify(h.psm.snapshotEntries());
    for (let i = 2; i < 7; i++) {
      const r = h.check({ seq: i * 2, count: 2 });
      expect(r).toEqual({ kind: 'duplicate', firstOffset: offsets[i]![0], lastOffset: offsets[i]![1], timestamp: h.now });
    }
    expect(JSON.stringify(h.psm.snapshotEntries())).toBe(before);
    // The 6th-newest batch is forgotten: its retry is out of order.
    expect(errorOf(h.check({ seq: 2, count: 2 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(errorOf(h.check({ seq: 0, count: 2 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // A retry must match a batch's exact sequence range.
    expect(errorOf(h.check({ seq: 12, count: 1 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(h.check({ seq: 14, count: 2 }).kind).toBe('append');
  });

  it('refuses a gap with OUT_OF_ORDER_SEQUENCE_NUMBER', () => {
    const h = new Harness();
    h.mustAppend({ seq: 0, count: 5 });
    expect(errorOf(h.check({ seq: 6 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(errorOf(h.check({ seq: 3 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(h.check({ seq: 5 }).kind).toBe('append');
  });

  it('refuses an older epoch with INVALID_PRODUCER_EPOCH; replication follows the leader', () => {
    const h = new Harness();
    h.mustAppend({ epoch: 3, seq: 0 });
    expect(errorOf(h.check({ epoch: 2, seq: 1 }))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(errorOf(h.check({ epoch: 2, seq: 0 }, 'coordinator'))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    // Even a batch that would be a duplicate in the old epoch.
    expect(errorOf(h.check({ epoch: 2, seq: 0 }))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    h.mustAppend({ epoch: 2, seq: 7 }, 'replication');
    expect(h.psm.lastEntry(PID)!.producerEpoch).toBe(2);
  });

  it('accepts an epoch bump that restarts at sequence 0, refuses one that does not', () => {
    const h = new Harness();
    h.mustAppend({ epoch: 0, seq: 0, count: 3 });
    expect(errorOf(h.check({ epoch: 1, seq: 3 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(h.mustAppend({ epoch: 1, seq: 0, count: 2 })).toEqual([3, 4]);
    const e = h.psm.lastEntry(PID)!;
    expect(e.producerEpoch).toBe(1);
    expect(e.batches.map((b) => [b.firstSeq, b.lastSeq])).toEqual([[0, 1]]); // the old epoch's batches are gone
    expect(errorOf(h.check({ epoch: 0, seq: 0, count: 3 }))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('wraps sequences from Int32.MAX to 0, within a batch and between batches', () => {
    const h = new Harness();
    h.mustAppend({ seq: MAX - 4, count: 2 }); // MAX-4 .. MAX-3
    h.mustAppend({ seq: MAX - 2, count: 3 }); // MAX-2 .. MAX
    expect(h.mustAppend({ seq: 0, count: 1 })).toEqual([5, 5]);
    const spanning = h.mustAppend({ seq: 1, count: 1 });
    expect(spanning).toEqual([6, 6]);
    const h2 = new Harness();
    h2.mustAppend({ seq: MAX - 1, count: 1 });
    const [first, last] = h2.mustAppend({ seq: MAX, count: 3 }); // MAX, 0, 1
    expect(h2.psm.lastEntry(PID)!.batches[1]).toMatchObject({ firstSeq: MAX, lastSeq: 1 });
    expect(h2.check({ seq: MAX, count: 3 })).toMatchObject({ kind: 'duplicate', firstOffset: first, lastOffset: last });
    expect(h2.check({ seq: 2 }).kind).toBe('append');
    expect(errorOf(h2.check({ seq: 3 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('refuses control batches and negative sequences from clients with INVALID_RECORD', () => {
    const h = new Harness();
    expect(errorOf(h.psm.checkAndPrepare(markerHdr(PID, 0), 'client', { marker: { type: 'COMMIT', coordinatorEpoch: 0 } }))).toBe(
      ErrorCode.INVALID_RECORD,
    );
    expect(errorOf(h.check({ seq: -1 }))).toBe(ErrorCode.INVALID_RECORD);
    // Coordinator writes carry no sequence (transactional offset commits): not checked.
    expect(h.append({ seq: -1 }, 'coordinator').kind).toBe('append');
  });

  it('does not check sequences of coordinator or replicated writes, and never reports duplicates for them', () => {
    const h = new Harness();
    h.mustAppend({ seq: 0 });
    expect(h.check({ seq: 0 }, 'coordinator').kind).toBe('append');
    expect(h.check({ seq: 9 }, 'replication').kind).toBe('append');
    expect(h.check({ seq: 0 }, 'replication').kind).toBe('append');
  });

  it('checks each batch of a multi-batch append against the ones before it, committing nothing', () => {
    const h = new Harness();
    h.mustAppend({ seq: 0, count: 2 });
    const pending = new PendingAppends();
    const a = h.psm.checkAndPrepare(hdr({ seq: 2, count: 2 }), 'client', { pending });
    expect(a.kind).toBe('append');
    expect(h.psm.checkAndPrepare(hdr({ seq: 4 }), 'client', { pending }).kind).toBe('append');
    expect(errorOf(h.psm.checkAndPrepare(hdr({ seq: 6 }), 'client', { pending }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(h.psm.lastEntry(PID)!.batches).toHaveLength(1);
    // Without the pending state the second batch would be a gap.
    expect(errorOf(h.check({ seq: 4 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });
});

describe('transactions', () => {
  it('tracks open transactions: begin, commit, abort, first unstable offset and the LSO bound', () => {
    const h = new Harness();
    expect(h.psm.firstUnstableOffset()).toBeNull();
    h.mustAppend({ pid: 1, seq: 0, count: 2, txn: true }); // offsets 0-1
    h.mustAppend({ pid: 2, seq: 0, count: 1 }); // 2, not transactional
    h.mustAppend({ pid: 3, seq: 0, count: 2, txn: true }); // 3-4
    h.mustAppend({ pid: 1, seq: 2, count: 1, txn: true }); // 5, same transaction
    expect(h.psm.lastEntry(1)!.currentTxnFirstOffset).toBe(0);
    expect(h.psm.hasOngoingTransaction(1, 0)).toBe(true);
    expect(h.psm.hasOngoingTransaction(1, 1)).toBe(false);
    expect(h.psm.hasOngoingTransaction(2, 0)).toBe(false);
    expect(h.psm.firstUnstableOffset()).toBe(0);
    expect(h.psm.ongoingTransactions()).toEqual([
      { producerId: 1, firstOffset: 0 },
      { producerId: 3, firstOffset: 3 },
    ]);

    // Producer 1 aborts at offset 6: the aborted range 0..6, LSO after it is producer 3's start.
    const abort = h.marker(1, 0, 'ABORT', 5);
    expect(abort).toMatchObject({ kind: 'completed', offset: 6 });
    expect((abort as { completed: unknown }).completed).toEqual({ producerId: 1, firstOffset: 0, lastOffset: 6, isAborted: true, lastStableOffset: 3 });
    expect(h.psm.hasOngoingTransaction(1, 0)).toBe(false);
    expect(h.psm.firstUndecidedOffset()).toBe(3);
    // Decided, but the marker is not below the high watermark yet: still unstable.
    expect(h.psm.firstUnstableOffset()).toBe(0);
    h.psm.onHighWatermarkUpdated(6);
    expect(h.psm.firstUnstableOffset()).toBe(0);
    h.psm.onHighWatermarkUpdated(7);
    expect(h.psm.firstUnstableOffset()).toBe(3);

    // Producer 3 commits at 7: nothing open any more.
    const commit = h.marker(3, 0, 'COMMIT', 5);
    expect((commit as { completed: unknown }).completed).toEqual({ producerId: 3, firstOffset: 3, lastOffset: 7, isAborted: false, lastStableOffset: 8 });
    h.psm.onHighWatermarkUpdated(8);
    expect(h.psm.firstUnstableOffset()).toBeNull();
    expect(h.psm.lastEntry(3)!.coordinatorEpoch).toBe(5);

    // The next transaction of producer 1 starts at its first transactional batch.
    h.mustAppend({ pid: 1, seq: 3, txn: true });
    expect(h.psm.firstUnstableOffset()).toBe(8);
  });

  it('a marker for a producer without an open transaction completes nothing', () => {
    const h = new Harness();
    const r = h.marker(9, 0, 'COMMIT');
    expect(r).toMatchObject({ kind: 'completed', completed: null });
    expect(h.psm.lastEntry(9)).toMatchObject({ producerEpoch: 0, currentTxnFirstOffset: -1 });
  });

  it('refuses a non-transactional write during an open transaction with INVALID_TXN_STATE', () => {
    const h = new Harness();
    h.mustAppend({ seq: 0, txn: true });
    expect(errorOf(h.check({ seq: 1, txn: false }))).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(errorOf(h.check({ seq: 1, txn: false }, 'coordinator'))).toBe(ErrorCode.INVALID_TXN_STATE);
    // Sequence is checked first.
    expect(errorOf(h.check({ seq: 5, txn: false }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(h.check({ seq: 1, txn: true }).kind).toBe('append');
    h.marker(PID, 0, 'COMMIT');
    expect(h.check({ seq: 1, txn: false }).kind).toBe('append');
  });

  it('fences markers from an older coordinator or producer epoch', () => {
    const h = new Harness();
    h.mustAppend({ epoch: 2, seq: 0, txn: true });
    h.marker(PID, 2, 'COMMIT', 7);
    h.mustAppend({ epoch: 2, seq: 1, txn: true });
    expect(errorOf(h.marker(PID, 2, 'ABORT', 6) as ProducerCheckResult)).toBe(ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    expect(errorOf(h.marker(PID, 1, 'ABORT', 7) as ProducerCheckResult)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    // Replication applies them anyway (the leader decided).
    expect(h.marker(PID, 2, 'ABORT', 6, 'replication')).toMatchObject({ kind: 'completed' });
  });

  it('a marker with a bumped epoch (KIP-360 abort on InitProducerId) forgets the batches: sequences restart at 0', () => {
    const h = new Harness();
    h.mustAppend({ epoch: 0, seq: 0, count: 3, txn: true });
    const r = h.marker(PID, 1, 'ABORT');
    expect(r).toMatchObject({ completed: { isAborted: true, firstOffset: 0, lastOffset: 3 } });
    const e = h.psm.lastEntry(PID)!;
    expect(e.producerEpoch).toBe(1);
    expect(e.batches).toEqual([]);
    expect(errorOf(h.check({ epoch: 1, seq: 3 }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(h.check({ epoch: 1, seq: 0 }).kind).toBe('append');
    expect(errorOf(h.check({ epoch: 0, seq: 3 }))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('an empty control batch changes nothing', () => {
    const h = new Harness();
    h.mustAppend({ seq: 0, txn: true });
    const r = h.psm.checkAndPrepare(markerHdr(PID, 0), 'replication', { marker: null });
    expect(r.kind).toBe('append');
    if (r.kind === 'append') expect(h.psm.update(r.batch, 1, h.now)).toBeNull();
    expect(h.psm.hasOngoingTransaction(PID, 0)).toBe(true);
  });

  it('drops completed transactions below a new log start offset', () => {
    const h = new Harness();
    h.mustAppend({ seq: 0, txn: true });
    h.marker(PID, 0, 'ABORT');
    expect(h.psm.firstUnstableOffset()).toBe(0);
    h.psm.onLogStartOffsetIncremented(2);
    expect(h.psm.firstUnstableOffset()).toBeNull();
    expect(h.psm.lastEntry(PID)).toBeDefined(); // entries stay, as Kafka
    expect(h.psm.mapEndOffset).toBe(2);
  });
});

describe('expiration', () => {
  it('removes producers idle for producer.id.expiration.ms, never one with an open transaction', () => {
    const psm = new ProducerStateManager({ producerIdExpirationMs: 1000 });
    const add = (pid: number, txn: boolean, ts: number, offset: number) => {
      const r = psm.checkAndPrepare(hdr({ pid, seq: 0, txn }), 'client');
      if (r.kind !== 'append') throw new Error(r.kind);
      psm.update(r.batch, offset, ts);
    };
    add(1, false, 10_000, 0);
    add(2, true, 10_000, 1);
    add(3, false, 10_500, 2);
    expect(psm.removeExpiredProducers(10_999)).toEqual([]);
    expect(psm.removeExpiredProducers(11_000)).toEqual([1]);
    expect(psm.removeExpiredProducers(20_000)).toEqual([3]);
    expect(psm.lastEntry(2)).toBeDefined();
    // An expired producer is unknown again: any sequence is accepted.
    expect(psm.checkAndPrepare(hdr({ pid: 1, seq: 77 }), 'client').kind).toBe('append');
  });

  it('skips expired producers when loading snapshot entries', () => {
    const psm = new ProducerStateManager({ producerIdExpirationMs: 1000 });
    psm.loadEntries(
      [
        { producerId: 1, producerEpoch: 0, coordinatorEpoch: -1, lastTimestamp: 100, currentTxnFirstOffset: -1, batches: [] },
        { producerId: 2, producerEpoch: 0, coordinatorEpoch: -1, lastTimestamp: 100, currentTxnFirstOffset: 4, batches: [] },
        { producerId: 3, producerEpoch: 0, coordinatorEpoch: -1, lastTimestamp: 5000, currentTxnFirstOffset: -1, batches: [] },
      ],
      10,
      5500,
    );
    expect([...psm.activeProducers()].map((e) => e.producerId)).toEqual([2, 3]);
    expect(psm.firstUnstableOffset()).toBe(4);
    expect(psm.mapEndOffset).toBe(10);
  });
});
