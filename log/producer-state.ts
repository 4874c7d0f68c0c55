// Per-partition state of idempotent and transactional producers (Kafka's ProducerStateManager,
// ProducerAppendInfo and ProducerStateEntry in storage/.../internals/log, as of Kafka 3.9).
//
// PURE: no files, no timers, no clock. Time enters as batch timestamps and `nowMs` arguments.
//
// For every producer id seen in the partition the manager keeps its epoch, the metadata of its
// last 5 batches (sequence range, offset range, timestamp), the coordinator epoch of the last
// transaction marker, the first offset of its open transaction and the timestamp of its last
// write. From this it
//   - validates a leader append (`checkAndPrepare`): duplicate of one of the last 5 batches,
//     stale epoch, sequence gap, transactional state;
//   - records an append once it has been given offsets (`update`), including transaction markers
//     (`completeTxn`), which end the producer's open transaction;
//   - tracks open transactions (first offset → producer) and completed ones whose marker is not
//     yet below the high watermark, so `firstUnstableOffset()` is the input of the last stable
//     offset (LSO = min(firstUnstableOffset, high watermark); the log combines them).
//
// The log calls `checkAndPrepare` for every batch with a producer id before assigning offsets
// (synchronously, so nothing can interleave), then `update` for each batch, in order, after the
// append. Followers and recovery call `update` directly (`prepareUnchecked`): the leader already
// validated those batches.
//
// Sequence numbers are int32 and wrap from 2^31-1 to 0 (Kafka's DefaultRecordBatch
// incrementSequence/decrementSequence).

import { ErrorCode } from '../wire/errors.js';
import { isControl, isTransactional } from '../wire/record-batch.js';

/** Batches per producer whose metadata is kept for duplicate detection (Kafka's NUM_BATCHES_TO_RETAIN). */
export const NUM_BATCHES_TO_RETAIN = 5;
/** producer.id.expiration.ms default: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

const INT32_MAX = 0x7fffffff;
const NO_PRODUCER_EPOCH = -1;
const NO_SEQUENCE = -1;
/** Staging placeholder for "a transaction was started earlier in this append" (the offset is not known yet). */
const PENDING_TXN = Number.MAX_SAFE_INTEGER;

/**
 * Who is appending, which decides the checks (Kafka's AppendOrigin):
 * - `client`: a produce request; full validation (duplicates, epoch, sequence, transaction state);
 * - `coordinator`: the broker's own coordinators (transaction markers, transactional offset
 *   commits); epoch, coordinator epoch and transaction state are checked, sequences are not;
 * - `replication`: follower fetches and recovery; nothing is checked (the leader did it).
 */
export type AppendOrigin = 'client' | 'replication' | 'coordinator';

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  /** The batch's max timestamp (the append time for LogAppendTime topics). */
  timestamp: number;
}

export interface ProducerStateEntry {
  producerId: number;
  /** -1 when unknown (e.g. only loaded from an old snapshot). */
  producerEpoch: number;
  /** Coordinator epoch of the last transaction marker, -1 if none. */
  coordinatorEpoch: number;
  /** Timestamp of the last batch or marker, -1 if none; expiration is measured from it. */
  lastTimestamp: number;
  /** First offset of the producer's open transaction, -1 if none. */
  currentTxnFirstOffset: number;
  /** Metadata of the last ≤ 5 batches of the current epoch, oldest first. */
  batches: BatchMetadata[];
}

/** The header fields the checks read (a wire `BatchHeader` has all of them). */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  attributes: number;
}

/** The record of a COMMIT/ABORT control batch. */
export interface EndTxnMarker {
  type: 'COMMIT' | 'ABORT';
  coordinatorEpoch: number;
}

/** A batch that passed the checks, to be recorded by `update` once it has offsets. */
export interface PreparedBatch {
  producerId: number;
  producerEpoch: number;
  firstSeq: number;
  lastSeq: number;
  /** lastOffsetDelta of the batch. */
  offsetDelta: number;
  isTransactional: boolean;
  /** Control batch: its marker (null for an empty or non-marker control batch, which changes nothing). */
  marker: EndTxnMarker | null | undefined;
}

export type ProducerCheckResult =
  | { kind: 'append'; batch: PreparedBatch }
  /** A retry of one of the producer's last 5 batches: answer success with the original offsets, store nothing. */
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number; timestamp: number }
  | { kind: 'error'; errorCode: ErrorCode; message: string };

/** A transaction ended by a marker. */
export interface CompletedTxn {
  producerId: number;
  firstOffset: number;
  /** Offset of the marker. */
  lastOffset: number;
  isAborted: boolean;
  /**
   * The LSO right after this marker: the first offset of the earliest open transaction of
   * another producer, else lastOffset + 1 (what the aborted-transaction index stores).
   */
  lastStableOffset: number;
}

/**
 * Producer state staged by the earlier batches of one multi-batch append, so that each batch is
 * checked against the state the previous ones leave behind. Nothing reaches the manager until
 * `update`. Create one per append; pass it to every `checkAndPrepare` of that append.
 */
export class PendingAppends {
  /** @internal */
  readonly staged = new Map<number, ProducerStateEntry>();
}

// ------------------------------------------------------------------ sequence arithmetic

/** baseSequence + delta with int32 wrap-around (Kafka's DefaultRecordBatch.incrementSequence). */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

/** lastSequence - delta with int32 wrap-around (Kafka's DefaultRecordBatch.decrementSequence). */
export function decrementSequence(sequence: number, decrement: number): number {
  if (sequence < decrement) return INT32_MAX - (decrement - sequence) + 1;
  return sequence - decrement;
}

/** nextSeq directly follows lastSeq (2^31-1 → 0 included). */
export function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

function emptyEntry(producerId: number): ProducerStateEntry {
  return { producerId, producerEpoch: NO_PRODUCER_EPOCH, coordinatorEpoch: -1, lastTimestamp: -1, currentTxnFirstOffset: -1, batches: [] };
}

function cloneEntry(e: ProducerStateEntry): ProducerStateEntry {
  return { ...e, batches: e.batches.map((b) => ({ ...b })) };
}

function lastSeqOf(e: ProducerStateEntry): number {
  return e.batches.length === 0 ? NO_SEQUENCE : e.batches[e.batches.length - 1]!.lastSeq;
}

/** A new epoch forgets the batches of the old one (Kafka's maybeUpdateProducerEpoch). */
function setEpoch(e: ProducerStateEntry, epoch: number): void {
  if (e.producerEpoch !== epoch) {
    e.batches = [];
    e.producerEpoch = epoch;
  }
}

function addBatch(e: ProducerStateEntry, b: BatchMetadata): void {
  if (e.batches.length >= NUM_BATCHES_TO_RETAIN) e.batches.shift();
  e.batches.push(b);
}

// ------------------------------------------------------------------ the manager

export interface ProducerStateOptions {
  /** producer.id.expiration.ms (default one day). */
  producerIdExpirationMs?: number;
}

export class ProducerStateManager {
  producerIdExpirationMs: number;

  private readonly producers = new Map<number, ProducerStateEntry>();
  /** Open transactions: first offset → producer id. */
  private readonly ongoingTxns = new Map<number, number>();
  /** Completed transactions whose marker is not yet below the high watermark: first offset → marker offset. */
  private readonly unreplicatedTxns = new Map<number, { producerId: number; lastOffset: number }>();
  private _mapEndOffset = 0;

  constructor(opts: ProducerStateOptions = {}) {
    this.producerIdExpirationMs = opts.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
  }

  // ---------------------------------------------------------------- queries

  /** The offset up to which (exclusive) appends have been recorded. */
  get mapEndOffset(): number {
    return this._mapEndOffset;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  /** True when no producer and no unreplicated transaction is tracked. */
  get isEmpty(): boolean {
    return this.producers.size === 0 && this.unreplicatedTxns.size === 0;
  }

  lastEntry(producerId: number): Readonly<ProducerStateEntry> | undefined {
    return this.producers.get(producerId);
  }

  /** Every tracked producer (live objects: do not mutate). */
  activeProducers(): IterableIterator<Readonly<ProducerStateEntry>> {
    return this.producers.values();
  }

  /** The producer has an open transaction in this epoch (Kafka's UnifiedLog.hasOngoingTransaction). */
  hasOngoingTransaction(producerId: number, producerEpoch: number): boolean {
    const e = this.producers.get(producerId);
    return e !== undefined && e.currentTxnFirstOffset >= 0 && e.producerEpoch === producerEpoch;
  }

  /** First offset of the earliest open transaction, or null. */
  firstUndecidedOffset(): number | null {
    let min: number | null = null;
    for (const first of this.ongoingTxns.keys()) if (min === null || first < min) min = first;
    return min;
  }

  /**
   * The earliest offset that is undecided (an open transaction) or decided by a marker that is
   * not yet below the high watermark; null if none. The LSO is min(this, high watermark).
   */
  firstUnstableOffset(): number | null {
    let min = this.firstUndecidedOffset();
    for (const first of this.unreplicatedTxns.keys()) if (min === null || first < min) min = first;
    return min;
  }

  /** Open transactions as { producerId, firstOffset }, by first offset. */
  ongoingTransactions(): Array<{ producerId: number; firstOffset: number }> {
    return [...this.ongoingTxns].map(([firstOffset, producerId]) => ({ producerId, firstOffset })).sort((a, b) => a.firstOffset - b.firstOffset);
  }

  // ---------------------------------------------------------------- checks

  /**
   * Validates one batch with producerId ≥ 0 before it gets offsets (Kafka's
   * UnifiedLog.analyzeAndValidateProducerState + ProducerAppendInfo, 3.9). `marker` is the
   * decoded record of a control batch (null when it has none or it is not COMMIT/ABORT).
   * Does not change the manager; with `pending`, stages the batch there so the next batch of the
   * same append is checked against it.
   */
  checkAndPrepare(
    batch: ProducerBatch,
    origin: AppendOrigin,
    opts: { marker?: EndTxnMarker | null; pending?: PendingAppends } = {},
  ): ProducerCheckResult {
    const pid = batch.producerId;
    if (pid < 0) throw new Error(`checkAndPrepare: batch has no producer id (${pid})`);
    const control = isControl(batch.attributes);
    const transactional = isTransactional(batch.attributes);
    const committed = this.producers.get(pid);
    const current = opts.pending?.staged.get(pid) ?? committed ?? emptyEntry(pid);
    const firstSeq = batch.baseSequence;
    const lastSeq = incrementSequence(firstSeq, batch.lastOffsetDelta);
    const fail = (errorCode: ErrorCode, message: string): ProducerCheckResult => ({ kind: 'error', errorCode, message });

    if (origin === 'client') {
      // LogValidator.validateBatch (client appends only).
      if (control) return fail(ErrorCode.INVALID_RECORD, 'Clients are not allowed to write control records');
      if (firstSeq < 0) return fail(ErrorCode.INVALID_RECORD, `Invalid sequence number ${firstSeq} in record batch with producerId ${pid}`);
      // A retry of one of the last 5 batches (same epoch, exact sequence range), against the
      // committed state as Kafka does.
      if (committed !== undefined && committed.producerEpoch === batch.producerEpoch) {
        for (const b of committed.batches) {
          if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) {
            return { kind: 'duplicate', firstOffset: b.firstOffset, lastOffset: b.lastOffset, timestamp: b.timestamp };
          }
        }
      }
    }

    const checked = origin !== 'replication';
    // checkProducerEpoch: an older epoch is a zombie (INVALID_PRODUCER_EPOCH since Kafka 2.7;
    // only logged for replication).
    if (checked && batch.producerEpoch < current.producerEpoch) {
      return fail(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `Epoch of producer ${pid} is ${batch.producerEpoch}, which is smaller than the last seen epoch ${current.producerEpoch}`,
      );
    }

    let marker: EndTxnMarker | null | undefined;
    if (control) {
      marker = opts.marker ?? null;
      // checkCoordinatorEpoch: a marker from an older coordinator is a zombie's.
      if (marker !== null && checked && current.coordinatorEpoch > marker.coordinatorEpoch) {
        return fail(
          ErrorCode.TRANSACTION_COORDINATOR_FENCED,
          `Invalid coordinator epoch for producerId ${pid}: ${marker.coordinatorEpoch} (zombie), ${current.coordinatorEpoch} (current)`,
        );
      }
    } else {
      if (origin === 'client') {
        const err = checkSequence(current, batch.producerEpoch, firstSeq);
        if (err !== null) return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, err);
      }
      // A non-transactional write while the producer's transaction is open.
      if (checked && current.currentTxnFirstOffset >= 0 && !transactional) {
        return fail(ErrorCode.INVALID_TXN_STATE, `Expected transactional write from producer ${pid}`);
      }
    }

    const prepared: PreparedBatch = {
      producerId: pid,
      producerEpoch: batch.producerEpoch,
      firstSeq,
      lastSeq,
      offsetDelta: batch.lastOffsetDelta,
      isTransactional: transactional,
      marker,
    };
    if (opts.pending) {
      const staged = cloneEntry(current);
      applyToEntry(staged, prepared, PENDING_TXN, PENDING_TXN, current.lastTimestamp);
      opts.pending.staged.set(pid, staged);
    }
    return { kind: 'append', batch: prepared };
  }

  /** A batch from replication or recovery: recorded without checks. */
  prepareUnchecked(batch: ProducerBatch, marker?: EndTxnMarker | null): PreparedBatch {
    const r = this.checkAndPrepare(batch, 'replication', { marker });
    if (r.kind !== 'append') throw new Error(`unexpected ${r.kind} for a replicated batch`);
    return r.batch;
  }

  // ---------------------------------------------------------------- updates

  /**
   * Records a prepared batch that now lives at [firstOffset, firstOffset + offsetDelta] with the
   * given (final) max timestamp. Batches must be recorded in offset order. For a transaction
   * marker, returns the transaction it completed (null when the producer had none open).
   */
  update(batch: PreparedBatch, firstOffset: number, timestamp: number): CompletedTxn | null {
    const lastOffset = firstOffset + batch.offsetDelta;
    if (lastOffset + 1 > this._mapEndOffset) this._mapEndOffset = lastOffset + 1;
    if (batch.marker !== undefined) {
      // An empty control batch (its transaction was cleaned away) or a non-marker one changes nothing.
      if (batch.marker === null) return null;
      return this.completeTxn(batch.producerId, batch.producerEpoch, firstOffset, batch.marker.type, batch.marker.coordinatorEpoch, timestamp);
    }
    let e = this.producers.get(batch.producerId);
    if (e === undefined) {
      e = emptyEntry(batch.producerId);
      this.producers.set(batch.producerId, e);
    }
    const startsTxn = batch.isTransactional && e.currentTxnFirstOffset < 0;
    applyToEntry(e, batch, firstOffset, lastOffset, timestamp);
    if (startsTxn) this.ongoingTxns.set(firstOffset, batch.producerId);
    return null;
  }

  /**
   * A COMMIT/ABORT marker at `markerOffset` ends the producer's open transaction (Kafka's
   * appendEndTxnMarker + completeTxn). The returned transaction (null if none was open) stays
   * unstable until the high watermark passes the marker. An aborted one belongs in the
   * aborted-transaction index of the segment holding the marker.
   */
  completeTxn(
    producerId: number,
    producerEpoch: number,
    markerOffset: number,
    type: 'COMMIT' | 'ABORT',
    coordinatorEpoch: number,
    timestamp: number,
  ): CompletedTxn | null {
    if (markerOffset + 1 > this._mapEndOffset) this._mapEndOffset = markerOffset + 1;
    let e = this.producers.get(producerId);
    if (e === undefined) {
      e = emptyEntry(producerId);
      this.producers.set(producerId, e);
    }
    let completed: CompletedTxn | null = null;
    const first = e.currentTxnFirstOffset;
    if (first >= 0) {
      completed = {
        producerId,
        firstOffset: first,
        lastOffset: markerOffset,
        isAborted: type === 'ABORT',
        lastStableOffset: this.lastStableOffsetAfter(producerId, markerOffset),
      };
      if (this.ongoingTxns.get(first) === producerId) this.ongoingTxns.delete(first);
      this.unreplicatedTxns.set(first, { producerId, lastOffset: markerOffset });
    }
    setEpoch(e, producerEpoch);
    e.coordinatorEpoch = coordinatorEpoch;
    e.currentTxnFirstOffset = -1;
    e.lastTimestamp = timestamp;
    return completed;
  }

  /** Kafka's lastStableOffset(completedTxn): the earliest open transaction of another producer. */
  private lastStableOffsetAfter(producerId: number, markerOffset: number): number {
    let min: number | null = null;
    for (const [first, pid] of this.ongoingTxns) if (pid !== producerId && (min === null || first < min)) min = first;
    return min ?? markerOffset + 1;
  }

  /** Everything below `offset` has been recorded (appends without producer ids move it too). */
  updateMapEndOffset(offset: number): void {
    this._mapEndOffset = offset;
  }

  /** Completed transactions whose marker is below the high watermark are stable now. */
  onHighWatermarkUpdated(highWatermark: number): void {
    for (const [first, t] of this.unreplicatedTxns) if (t.lastOffset < highWatermark) this.unreplicatedTxns.delete(first);
  }

  /**
   * The log start offset moved forward (retention, DeleteRecords). As Kafka, producer entries
   * stay (so their producers keep deduplicating); only completed transactions below it are dropped.
   */
  onLogStartOffsetIncremented(logStartOffset: number): void {
    for (const [first, t] of this.unreplicatedTxns) if (t.lastOffset < logStartOffset) this.unreplicatedTxns.delete(first);
    if (this._mapEndOffset < logStartOffset) this._mapEndOffset = logStartOffset;
  }

  /**
   * Removes producers idle for producer.id.expiration.ms (measured from the timestamp of their
   * last batch or marker, as Kafka), never one with an open transaction. Returns the ids removed.
   */
  removeExpiredProducers(nowMs: number): number[] {
    const removed: number[] = [];
    for (const [pid, e] of this.producers) {
      if (this.isExpired(e, nowMs)) {
        this.producers.delete(pid);
        removed.push(pid);
      }
    }
    return removed;
  }

  private isExpired(e: ProducerStateEntry, nowMs: number): boolean {
    return e.currentTxnFirstOffset < 0 && nowMs - e.lastTimestamp >= this.producerIdExpirationMs;
  }

  // ---------------------------------------------------------------- reset and load

  /** Forgets everything; the state now describes an empty log ending at `offset`. */
  truncateFullyAndStartAt(offset: number): void {
    this.producers.clear();
    this.ongoingTxns.clear();
    this.unreplicatedTxns.clear();
    this._mapEndOffset = offset;
  }

  /**
   * Replaces the state with snapshot entries taken at `offset` (expired producers are skipped,
   * as Kafka's loadFromSnapshot does).
   */
  loadEntries(entries: readonly ProducerStateEntry[], offset: number, nowMs: number): void {
    this.truncateFullyAndStartAt(offset);
    for (const entry of entries) {
      if (entry.producerId < 0 || this.isExpired(entry, nowMs)) continue;
      const e = cloneEntry(entry);
      this.producers.set(e.producerId, e);
      if (e.currentTxnFirstOffset >= 0) this.ongoingTxns.set(e.currentTxnFirstOffset, e.producerId);
    }
  }

  /** Copies of every entry, by producer id (what a snapshot stores). */
  snapshotEntries(): ProducerStateEntry[] {
    return [...this.producers.values()].map(cloneEntry).sort((a, b) => a.producerId - b.producerId);
  }
}

/**
 * Kafka's ProducerAppendInfo.checkSequence (3.9, without the KIP-890 verification state) against
 * the producer's current (or staged) entry; null when the batch is in order.
 */
function checkSequence(current: ProducerStateEntry, epoch: number, firstSeq: number): string | null {
  const pid = current.producerId;
  if (epoch !== current.producerEpoch) {
    // A bumped epoch must start again at 0. An unknown producer may start anywhere: since
    // KIP-360 (Kafka 2.5) the broker no longer answers UNKNOWN_PRODUCER_ID for it.
    if (firstSeq !== 0 && current.producerEpoch !== NO_PRODUCER_EPOCH) {
      return `Invalid sequence number for new epoch of producer ${pid}: ${epoch} (request epoch), ${firstSeq} (seq. number), ${current.producerEpoch} (current producer epoch)`;
    }
    return null;
  }
  // No epoch known at all (e.g. state from before the producer had one): any sequence.
  if (current.producerEpoch === NO_PRODUCER_EPOCH) return null;
  // Same epoch: the next sequence after the last batch's (a producer whose batches were all
  // forgotten, e.g. after a marker bumped its epoch, must start at 0).
  const last = lastSeqOf(current);
  if (!inSequence(last, firstSeq)) {
    return `Out of order sequence number for producer ${pid}: ${firstSeq} (incoming seq. number), ${last} (current end sequence number)`;
  }
  return null;
}

/** Applies a data batch or marker to an entry (used for staging and for the real update alike). */
function applyToEntry(e: ProducerStateEntry, b: PreparedBatch, firstOffset: number, lastOffset: number, timestamp: number): void {
  if (b.marker !== undefined) {
    if (b.marker === null) return;
    setEpoch(e, b.producerEpoch);
    e.coordinatorEpoch = b.marker.coordinatorEpoch;
    e.currentTxnFirstOffset = -1;
    e.lastTimestamp = timestamp;
    return;
  }
  setEpoch(e, b.producerEpoch);
  addBatch(e, { firstSeq: b.firstSeq, lastSeq: b.lastSeq, firstOffset, lastOffset, timestamp });
  e.lastTimestamp = timestamp;
  if (b.isTransactional && e.currentTxnFirstOffset < 0) e.currentTxnFirstOffset = firstOffset;
}
