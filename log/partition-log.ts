// The storage of one partition, as Kafka's UnifiedLog/LocalLog: a directory `<topic>-<partition>`
// of segments (see segment.ts for the file formats), sorted by base offset; the last one is
// active and receives appends.
//
// Write path: appends are synchronous bookkeeping (offsets patched into the caller's bytes,
// leader epoch stamped, indexes and LEO updated, bytes put in the active segment's tail cache)
// plus a queued write. Appends of one event-loop turn are coalesced and written at its end
// (setImmediate): up to 256 KiB synchronously (a write(2) to the page cache costs less than a
// threadpool round trip), larger amounts on the threadpool. One write is in flight per log;
// appends arriving meanwhile are coalesced into a single pwritev of up to 1 MiB. `written`
// resolves when the bytes are in the OS (not fsynced). Rolls happen synchronously in append
// order; the rolled segment is fsynced in the background once its writes are done, which
// advances the recovery point. Explicit fsync only on flush(), flush.messages/flush.ms, roll and
// close; flush.messages fsyncs only the .log files (flushData), the indexes wait.
//
// Structural changes that move the log end backwards (truncateTo, truncateFullyAndStartAt) wait
// for queued writes, and appends during them are refused (the caller serialises them). Deleting
// old segments (retention, DeleteRecords) only touches the front and runs beside appends; files
// become `*.deleted` and are unlinked after file.delete.delay.ms. Any I/O error takes the log
// offline: every later append or read fails with KafkaStorageError until restart and recovery.
//
// Producer state (producer-state.ts): leader appends run the idempotent/transactional producer
// checks synchronously before any offset is assigned and answer duplicates and refusals without
// writing; every append (leader, follower) then records its batches, and ABORT markers go into
// the aborted-transaction index of the segment they land in. The state is snapshotted
// (producer-snapshot.ts) at every roll and at close, and rebuilt at open and after truncation
// from the latest valid snapshot ≤ the log end plus a replay of batch headers.
//
// Leader epochs (leader-epoch-cache.ts): the offset each leader epoch began at, kept in
// `leader-epoch-checkpoint`. Leader appends add the epoch they are stamped with, follower appends
// the epochs their batches carry, makeLeader adds the new epoch at the log end; truncation trims
// it at either end. Recovery re-adds the epochs of the batches it scans and trims entries beyond
// the recovered log. The recovery point never passes data whose epoch entry is not yet on disk.

import { promises as fsp } from 'node:fs';
import fs from 'node:fs';
import type pino from 'pino';
import { ErrorCode } from '../wire/errors.js';
import { recordsBuffer, type RecordParts } from '../wire/primitives.js';
import {
  BATCH_HEADER_SIZE,
  ControlRecordType,
  CURRENT_MAGIC,
  decodeControlRecord,
  decodeRecordBatch,
  isControl,
  maxTimestampRecordOffset,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  stampLogAppendTime,
  type BatchHeader,
} from '../wire/record-batch.js';
import type { LogConfig } from './config.js';
import { KafkaStorageError, ProducerAppendError, RecordTooLargeError, UnexpectedAppendOffsetError } from './errors.js';
import { CLEANED_SUFFIX, DELETED_SUFFIX, parseSegmentFileName, SWAP_SUFFIX } from './file-names.js';
import { unlinkQuiet } from './fs-util.js';
import { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEndOffset, type EpochEntry } from './leader-epoch-cache.js';
import {
  CorruptSnapshotError,
  deleteSnapshotFile,
  encodeSnapshot,
  listSnapshots,
  readSnapshotFile,
  writeSnapshotFile,
} from './producer-snapshot.js';
import {
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  PendingAppends,
  ProducerStateManager,
  type EndTxnMarker,
  type PreparedBatch,
} from './producer-state.js';
import { LogSegment, SegmentClosedError } from './segment.js';
import type { AbortedTxn } from './txn-index.js';

const EMPTY = Buffer.alloc(0);
/** Largest single pwritev: coalesced appends are cut here (0.25–1 MiB per call is the sweet spot). */
const MAX_WRITE_BYTES = 1024 * 1024;
/** Buffers per pwritev (Linux IOV_MAX). */
const MAX_WRITE_BUFFERS = 1024;
/** A turn's coalesced appends up to this size are written synchronously (see writeTurn). */
const SYNC_WRITE_MAX_BYTES = 256 * 1024;
/** Default bytes of recently appended data kept in memory for tail reads. */
export const DEFAULT_TAIL_CACHE_BYTES = 1024 * 1024;
/** Snapshots at the base offsets of this many last segments are kept (plus the latest one and one older). */
const SNAPSHOT_SEGMENTS = 3;

export interface Clock {
  nowMs(): number;
}

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  config: LogConfig;
  logger: pino.Logger;
  clock: Clock;
  /** From recovery-point-offset-checkpoint: segments from the one holding it onward are recovered after an unclean shutdown. */
  recoveryPoint?: number;
  /** From log-start-offset-checkpoint. */
  logStartOffset?: number;
  /** The log dir had a clean-shutdown marker: trust the files (indexes are still checked). */
  cleanShutdown?: boolean;
  /**
   * Bytes of written tail data kept in memory for reads of fresh data (default 1 MiB), or a
   * function giving the current limit (the log manager shares one budget among all its logs).
   */
  tailCacheBytes?: number | (() => number);
  /** Told once when this log goes offline (the log manager then takes its whole log dir offline). */
  onOffline?: (err: KafkaStorageError) => void;
}

/** Who appends as leader: a producer (full checks) or a coordinator of this broker (markers, offset commits). */
export type LeaderAppendOrigin = 'client' | 'coordinator';

/** The batches were given offsets and queued for writing. */
export interface AppendResult {
  kind: 'appended';
  baseOffset: number;
  lastOffset: number;
  /** The broker's append time for LogAppendTime topics, -1 for CreateTime (as Kafka answers). */
  logAppendTimeMs: number;
  written: Promise<void>;
}

/**
 * A producer retried one of its last 5 batches: nothing was written; these are the offsets the
 * original got. `written` resolves once everything queued so far (the original included) is written.
 */
export interface DuplicateAppendResult {
  kind: 'duplicate';
  baseOffset: number;
  lastOffset: number;
  /** The original's append time on LogAppendTime topics, -1 for CreateTime. */
  logAppendTimeMs: number;
  written: Promise<void>;
}

/** Refused by the producer-state checks; nothing was written. `written` rejects with ProducerAppendError. */
export interface RejectedAppendResult {
  kind: 'error';
  errorCode: ErrorCode;
  message: string;
  baseOffset: -1;
  lastOffset: -1;
  logAppendTimeMs: -1;
  written: Promise<void>;
}

export type LeaderAppendResult = AppendResult | DuplicateAppendResult | RejectedAppendResult;

export interface ReadResult<R = Buffer> {
  records: R;
  error: 'OFFSET_OUT_OF_RANGE' | null;
}

export interface SegmentInfo {
  baseOffset: number;
  sizeBytes: number;
  nextOffset: number;
  maxTimestamp: number;
  offsetIndexEntries: number;
  timeIndexEntries: number;
  cachedBytes: number;
}

export interface LogStats {
  /** pwritev calls issued. */
  writeCalls: number;
  bytesWritten: number;
  appends: number;
  fsyncs: number;
  rolls: number;
}

interface WriteGroup {
  seg: LogSegment;
  pos: number;
  bufs: Buffer[];
  bytes: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function noop(): void {}

/**
 * The COMMIT/ABORT marker of the control batch at `pos` (one tiny uncompressed record); null when
 * the batch has no record, another control type, or cannot be decoded.
 */
function readEndTxnMarker(buf: Buffer, pos: number): EndTxnMarker | null {
  try {
    const record = decodeRecordBatch(buf, pos, { verifyCrc: false }).records[0];
    if (record === undefined) return null;
    const c = decodeControlRecord(record.key, record.value);
    if (c.type === ControlRecordType.ABORT) return { type: 'ABORT', coordinatorEpoch: c.coordinatorEpoch ?? -1 };
    if (c.type === ControlRecordType.COMMIT) return { type: 'COMMIT', coordinatorEpoch: c.coordinatorEpoch ?? -1 };
    return null;
  } catch {
    return null;
  }
}

function isIoError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | null)?.code === 'string';
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly stats: LogStats = { writeCalls: 0, bytesWritten: 0, appends: 0, fsyncs: 0, rolls: 0 };

  private config: LogConfig;
  private readonly logger: pino.Logger;
  private readonly clock: Clock;
  private readonly tailCacheLimit: () => number;

  /** Sorted by base offset; replaced (never mutated) on structural changes so reads can hold a snapshot. */
  private segments: LogSegment[] = [];
  private _logStartOffset = 0;
  private _logEndOffset = 0;
  private _highWatermark = 0;
  private _recoveryPoint = 0;
  private _lastFlushMs: number;

  private queue: WriteGroup[] = [];
  private writing = false;
  /** A writeTurn is scheduled for the end of this event-loop turn. */
  private turnScheduled = false;
  private rollFlushChain: Promise<void> = Promise.resolve();
  private pendingFlush: Promise<void> | null = null;
  /** The pending flush also persists the indexes (an explicit flush asked for it). */
  private pendingFlushWithIndexes = false;
  private runningFlush: Promise<void> | null = null;
  private readonly pendingDeletes = new Set<{ timer: NodeJS.Timeout | null; run: () => Promise<void> }>();

  private offline: KafkaStorageError | null = null;
  private readonly onOffline: ((err: KafkaStorageError) => void) | undefined;
  private mutating: string | null = null;
  private closed = false;
  /** Closed for deletion or a move: no more snapshot writes into the directory. */
  private dropped = false;

  /** Idempotent/transactional producer state of this partition. */
  readonly producerState: ProducerStateManager;
  /** Snapshot writes and prunes, one at a time. Never rejects. */
  private snapshotChain: Promise<void> = Promise.resolve();
  /** Offset of the latest snapshot taken or loaded (-1 none): no second snapshot at the same offset. */
  private lastSnapshotOffset = -1;
  /** Where each leader epoch began; replaced by the one read from the checkpoint in load(). */
  private epochCache: LeaderEpochCache;

  private constructor(opts: PartitionLogOptions) {
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.dir = opts.dir;
    this.config = opts.config;
    this.clock = opts.clock;
    this.logger = opts.logger.child({ topic: opts.topic, partition: opts.partition });
    const tail = opts.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES;
    this.tailCacheLimit = typeof tail === 'function' ? tail : () => tail;
    this._lastFlushMs = opts.clock.nowMs();
    this.onOffline = opts.onOffline;
    this.producerState = new ProducerStateManager({ producerIdExpirationMs: opts.config.producerIdExpirationMs });
    this.epochCache = new LeaderEpochCache(this.epochCacheOptions());
  }

  private epochCacheOptions(): ConstructorParameters<typeof LeaderEpochCache>[0] {
    return { dir: this.dir, logger: this.logger, onWriteError: (err) => this.goOffline(err) };
  }

  /** Opens (creating if needed) and recovers the log in `opts.dir`. */
  static async open(opts: PartitionLogOptions): Promise<PartitionLog> {
    const log = new PartitionLog(opts);
    await fsp.mkdir(opts.dir, { recursive: true });
    await log.load(opts);
    return log;
  }

  // ------------------------------------------------------------------ state

  get logStartOffset(): number {
    return this._logStartOffset;
  }

  get logEndOffset(): number {
    return this._logEndOffset;
  }

  /** Offsets below it are replicated to the ISR; set by replication, clamped to [logStartOffset, logEndOffset]. */
  get highWatermark(): number {
    return this._highWatermark;
  }

  set highWatermark(value: number) {
    this._highWatermark = Math.min(Math.max(value, this._logStartOffset), this._logEndOffset);
    this.producerState.onHighWatermarkUpdated(this._highWatermark);
  }

  /**
   * The first offset of an open transaction, or of a completed one whose marker is not yet below
   * the high watermark (never below the log start offset); null when there is none.
   */
  firstUnstableOffset(): number | null {
    const f = this.producerState.firstUnstableOffset();
    return f === null ? null : Math.max(f, this._logStartOffset);
  }

  /** min(first unstable offset, high watermark): the limit of read_committed fetches. */
  get lastStableOffset(): number {
    const f = this.firstUnstableOffset();
    return f !== null && f < this._highWatermark ? f : this._highWatermark;
  }

  /** Everything below it is fsynced (or was verified by recovery). */
  get recoveryPoint(): number {
    return this._recoveryPoint;
  }

  get lastFlushMs(): number {
    return this._lastFlushMs;
  }

  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The storage error that took this log offline, or null. */
  get offlineError(): KafkaStorageError | null {
    return this.offline;
  }

  get currentConfig(): LogConfig {
    return this.config;
  }

  segmentInfos(): SegmentInfo[] {
    return this.segments.map((s) => ({
      baseOffset: s.baseOffset,
      sizeBytes: s.size,
      nextOffset: s.nextOffset,
      maxTimestamp: s.maxTimestamp,
      offsetIndexEntries: s.offsetIndex.entries,
      timeIndexEntries: s.timeIndex.entries,
      cachedBytes: s.cachedBytes,
    }));
  }

  updateConfig(config: LogConfig): void {
    this.config = config;
    this.producerState.producerIdExpirationMs = config.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
  }

  /** Drops producers idle longer than producer.id.expiration.ms (none with an open transaction); returns how many. */
  removeExpiredProducers(nowMs: number): number {
    return this.producerState.removeExpiredProducers(nowMs).length;
  }

  // ------------------------------------------------------------------ leader epochs

  /** The latest leader epoch with an entry in the leader epoch cache, -1 when none. */
  latestEpoch(): number {
    return this.epochCache.latestEpoch;
  }

  /**
   * OffsetForLeaderEpoch (Kafka's UnifiedLog.endOffsetForEpoch): the largest epoch ≤ `epoch` and
   * where it ended, the log end offset for the latest epoch; { epoch: -1, endOffset: -1 } when
   * the cache cannot tell (no entries, `epoch` -1 or above the latest).
   */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    const found = this.epochCache.endOffsetFor(epoch, this._logEndOffset);
    if (found.endOffset === UNDEFINED_EPOCH_OFFSET) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    return found;
  }

  /**
   * Records that `epoch` starts at `startOffset` (makeLeader: the new leader epoch at the log end
   * offset), with Kafka's assign rules (conflicting later entries are removed). Negative epochs
   * (no leader epoch) are ignored. Throws KafkaStorageError when the log is offline or closed.
   */
  assignLeaderEpoch(epoch: number, startOffset: number): void {
    this.throwIfOffline();
    if (this.closed) throw new KafkaStorageError(`log ${this.topic}-${this.partition} is closed`);
    if (epoch < 0) return;
    if (!Number.isSafeInteger(startOffset) || startOffset < 0) throw new RangeError(`invalid leader epoch start offset ${startOffset}`);
    this.epochCache.assign(epoch, startOffset);
  }

  /** The leader epoch cache's entries, oldest first. */
  leaderEpochEntries(): ReadonlyArray<EpochEntry> {
    return this.epochCache.entries();
  }

  /** Appends add an epoch newer than the latest one (as Kafka's maybeAssignEpochStartOffset does for its callers). */
  private maybeAssignEpoch(epoch: number, startOffset: number): void {
    if (epoch >= 0 && epoch > this.epochCache.latestEpoch) this.epochCache.assign(epoch, startOffset);
  }

  /**
   * Aborted transactions overlapping [fetchOffset, upperBoundOffset) for a read_committed fetch
   * (Kafka's collectAbortedTransactions): the txn indexes of the segment holding fetchOffset and
   * the following ones, until an entry's last stable offset reaches the upper bound.
   */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    const segments = this.segments;
    const out: AbortedTxn[] = [];
    for (let i = this.floorSegment(segments, fetchOffset); i < segments.length; i++) {
      const r = segments[i]!.txnIndex.collect(fetchOffset, upperBoundOffset);
      for (const t of r.aborted) out.push({ ...t });
      if (r.complete) break;
    }
    return out;
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  // ------------------------------------------------------------------ append

  /**
   * Leader append of ≥1 complete, CRC-checked batches back to back. First the producer checks
   * (synchronously, before any offset is assigned): a retried batch answers `duplicate` with its
   * original offsets, a refused one `error` with the Kafka error code; neither writes anything.
   * Otherwise assigns offsets from the log end offset (patching baseOffset in `batches`), stamps
   * the leader epoch (and LogAppendTime when configured), records the producer state and queues
   * the write. Throws RecordTooLargeError for oversized input, KafkaStorageError when offline,
   * and a plain Error for malformed input (a caller bug).
   */
  appendAsLeader(batches: Buffer, leaderEpoch: number, origin: LeaderAppendOrigin = 'client'): LeaderAppendResult {
    this.checkWritable();
    const headers = this.parseBatches(batches);
    const config = this.config;
    for (const h of headers) {
      if (h.batchLength + 12 > config.maxMessageBytes) {
        throw new RecordTooLargeError(`batch of ${h.batchLength + 12} bytes exceeds max.message.bytes ${config.maxMessageBytes}`, 'batch');
      }
    }
    if (batches.length > config.segmentBytes) {
      throw new RecordTooLargeError(`append of ${batches.length} bytes exceeds segment.bytes ${config.segmentBytes}`, 'append');
    }
    const logAppendTime = config.messageTimestampType === 'LogAppendTime';
    const checked = this.checkProducers(batches, headers, origin, logAppendTime);
    if (!Array.isArray(checked)) return checked;
    const now = this.clock.nowMs();
    const baseOffset = this._logEndOffset;
    let count = 0;
    for (const h of headers) count += h.lastOffsetDelta + 1;
    let maxTimestamp = -1;
    if (logAppendTime) maxTimestamp = now;
    else for (const h of headers) if (h.maxTimestamp > maxTimestamp) maxTimestamp = h.maxTimestamp;
    const seg = this.maybeRollFor(batches.length, baseOffset + count - 1, baseOffset, maxTimestamp, now);
    this.maybeAssignEpoch(leaderEpoch, baseOffset);
    const segPos = seg.size;
    let pos = 0;
    let offset = baseOffset;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      const size = h.batchLength + 12;
      setBaseOffset(batches, pos, offset);
      setPartitionLeaderEpoch(batches, pos, leaderEpoch);
      if (logAppendTime) stampLogAppendTime(batches, pos, now);
      const lastOffset = offset + h.lastOffsetDelta;
      const ts = logAppendTime ? now : h.maxTimestamp;
      seg.indexBatch(segPos + pos, size, lastOffset, ts, config.indexIntervalBytes);
      const prepared = checked[i];
      if (prepared) this.recordProducerBatch(seg, prepared, offset, ts);
      offset = lastOffset + 1;
      pos += size;
    }
    this.producerState.updateMapEndOffset(offset);
    const written = this.commitAppend(seg, segPos, batches, baseOffset, offset, now);
    return { kind: 'appended', baseOffset, lastOffset: offset - 1, logAppendTimeMs: logAppendTime ? now : -1, written };
  }

  /**
   * The producer checks of a leader append (Kafka's analyzeAndValidateProducerState): per batch
   * the prepared producer update (undefined for batches without a producer id), or the
   * duplicate/refusal answer for the whole append.
   */
  private checkProducers(
    batches: Buffer,
    headers: readonly BatchHeader[],
    origin: LeaderAppendOrigin,
    logAppendTime: boolean,
  ): Array<PreparedBatch | undefined> | DuplicateAppendResult | RejectedAppendResult {
    const out: Array<PreparedBatch | undefined> = new Array(headers.length);
    let pending: PendingAppends | undefined;
    let pos = 0;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      const control = isControl(h.attributes);
      // (Control batches without a producer id are the metadata log's own records; refusing them
      // from producers is the produce path's validation, not producer state.)
      if (h.producerId >= 0) {
        let marker: EndTxnMarker | null | undefined;
        if (control && origin !== 'client') {
          marker = readEndTxnMarker(batches, pos);
          if (marker === null) return this.rejected(ErrorCode.INVALID_RECORD, 'control batch without a COMMIT/ABORT marker');
        }
        if (headers.length > 1) pending ??= new PendingAppends();
        const r = this.producerState.checkAndPrepare(h, origin, { marker, pending });
        if (r.kind === 'error') return this.rejected(r.errorCode, r.message);
        if (r.kind === 'duplicate') {
          return {
            kind: 'duplicate',
            baseOffset: r.firstOffset,
            lastOffset: r.lastOffset,
            logAppendTimeMs: logAppendTime ? r.timestamp : -1,
            written: this.writtenSoFar(),
          };
        }
        out[i] = r.batch;
      }
      pos += h.batchLength + 12;
    }
    return out;
  }

  private rejected(errorCode: ErrorCode, message: string): RejectedAppendResult {
    const written = Promise.reject(new ProducerAppendError(message, errorCode));
    written.catch(noop);
    return { kind: 'error', errorCode, message, baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1, written };
  }

  /** Resolves when everything queued so far is written; rejects if the log is offline. */
  private writtenSoFar(): Promise<void> {
    const p = this.drainBarrier().then(() => this.throwIfOffline());
    p.catch(noop);
    return p;
  }

  /** Records one appended batch in the producer state; an aborted transaction goes into `seg`'s txn index. */
  private recordProducerBatch(seg: LogSegment | null, prepared: PreparedBatch, firstOffset: number, timestamp: number): void {
    const completed = this.producerState.update(prepared, firstOffset, timestamp);
    if (completed !== null && completed.isAborted && seg !== null) {
      seg.txnIndex.append({
        producerId: completed.producerId,
        firstOffset: completed.firstOffset,
        lastOffset: completed.lastOffset,
        lastStableOffset: completed.lastStableOffset,
      });
    }
  }

  /**
   * Follower append: the batches keep the offsets (and epochs) the leader gave them. The first
   * batch must start at or after the log end offset (UnexpectedAppendOffsetError otherwise) and
   * offsets must increase from batch to batch. Producer state is recorded without checks.
   */
  appendAsFollower(batches: Buffer): { lastOffset: number; written: Promise<void> } {
    this.checkWritable();
    const headers = this.parseBatches(batches);
    const first = headers[0]!.baseOffset;
    if (first < this._logEndOffset) {
      throw new UnexpectedAppendOffsetError(
        `follower append at offset ${first} is below the log end offset ${this._logEndOffset}`,
        first,
        this._logEndOffset,
      );
    }
    let prevLast = first - 1;
    let maxTimestamp = -1;
    for (const h of headers) {
      if (h.baseOffset <= prevLast) throw new Error(`follower batches out of order: ${h.baseOffset} after ${prevLast}`);
      prevLast = h.baseOffset + h.lastOffsetDelta;
      if (h.maxTimestamp > maxTimestamp) maxTimestamp = h.maxTimestamp;
    }
    const now = this.clock.nowMs();
    const seg = this.maybeRollFor(batches.length, prevLast, first, maxTimestamp, now);
    const segPos = seg.size;
    let pos = 0;
    for (const h of headers) {
      const size = h.batchLength + 12;
      this.maybeAssignEpoch(h.partitionLeaderEpoch, h.baseOffset);
      seg.indexBatch(segPos + pos, size, h.baseOffset + h.lastOffsetDelta, h.maxTimestamp, this.config.indexIntervalBytes);
      if (h.producerId >= 0) {
        const marker = isControl(h.attributes) ? readEndTxnMarker(batches, pos) : undefined;
        this.recordProducerBatch(seg, this.producerState.prepareUnchecked(h, marker), h.baseOffset, h.maxTimestamp);
      }
      pos += size;
    }
    this.producerState.updateMapEndOffset(prevLast + 1);
    const written = this.commitAppend(seg, segPos, batches, first, prevLast + 1, now);
    return { lastOffset: prevLast, written };
  }

  /** Headers of the batches in `buf`; throws unless they are complete magic-2 batches back to back. */
  private parseBatches(buf: Buffer): BatchHeader[] {
    const out: BatchHeader[] = [];
    let pos = 0;
    while (pos < buf.length) {
      if (buf.length - pos < BATCH_HEADER_SIZE) throw new Error(`append: ${buf.length - pos} trailing bytes are not a batch`);
      const h = readBatchHeader(buf, pos);
      const size = h.batchLength + 12;
      if (h.magic !== CURRENT_MAGIC || size < BATCH_HEADER_SIZE || pos + size > buf.length || h.lastOffsetDelta < 0) {
        throw new Error(`append: invalid batch at byte ${pos} (magic ${h.magic}, size ${size}, lastOffsetDelta ${h.lastOffsetDelta})`);
      }
      out.push(h);
      pos += size;
    }
    if (out.length === 0) throw new Error('append: no batches');
    return out;
  }

  private commitAppend(seg: LogSegment, segPos: number, batches: Buffer, baseOffset: number, nextOffset: number, now: number): Promise<void> {
    seg.size = segPos + batches.length;
    seg.lastModifiedMs = now;
    seg.cacheAppend(segPos, batches, baseOffset, nextOffset - 1);
    this._logEndOffset = nextOffset;
    this.stats.appends++;
    const written = this.enqueue(seg, segPos, batches);
    if (this._logEndOffset - this._recoveryPoint >= this.config.flushIntervalMessages) {
      // flush.messages reached: as in Kafka, the append is done only once it is fsynced. Appends
      // arriving meanwhile share the next fsync (group commit), so `flush.messages=1` is a
      // durable mode whose cost is one fsync per batch of concurrent requests, not per request.
      const flushed = this.flushData();
      return written.then(() => flushed);
    }
    return written;
  }

  private checkWritable(): void {
    if (this.offline) throw this.offline;
    if (this.closed) throw new KafkaStorageError(`log ${this.topic}-${this.partition} is closed`);
    if (this.mutating) throw new Error(`append to ${this.topic}-${this.partition} during ${this.mutating}`);
  }

  // ------------------------------------------------------------------ roll

  /** The segment an append of `bytes` bytes with offsets up to `maxOffset` goes to, rolling first if needed. */
  private maybeRollFor(bytes: number, maxOffset: number, firstOffset: number, maxTimestamp: number, now: number): LogSegment {
    const seg = this.active;
    if (this.shouldRoll(seg, bytes, maxOffset, maxTimestamp, now)) return this.rollTo(firstOffset, now);
    return seg;
  }

  /**
   * Kafka's LogSegment.shouldRoll: the offsets would not fit an int32 relative offset, or the
   * segment is non-empty and (full by segment.bytes, index full, or older than segment.ms). Age
   * is measured as Kafka does: the incoming max timestamp minus the segment's first batch
   * timestamp, or wall-clock time since creation when the segment has no timestamps; so
   * producers sending old timestamps do not roll a segment per append.
   */
  private shouldRoll(seg: LogSegment, bytes: number, maxOffset: number, maxTimestamp: number, now: number): boolean {
    if (seg.cannotHold(maxOffset)) return true;
    if (seg.size === 0) return false;
    if (seg.size + bytes > this.config.segmentBytes) return true;
    if (seg.indexFull()) return true;
    const first = seg.rollingBasedTimestamp;
    const waited = first !== null && first >= 0 ? maxTimestamp - first : now - seg.createdMs;
    return waited > this.config.segmentMs;
  }

  /** Starts a new active segment at `baseOffset` (synchronously, in order with queued writes). */
  private rollTo(baseOffset: number, now: number): LogSegment {
    const old = this.active;
    if (old.size === 0 && old.baseOffset === baseOffset) return old;
    let seg: LogSegment;
    try {
      seg = LogSegment.create(this.dir, baseOffset, this.config, now);
    } catch (err) {
      throw this.goOffline(err);
    }
    this.stats.rolls++;
    old.onBecomeInactive();
    if (old.size === 0) {
      // Nothing in it: drop it instead of keeping an empty segment around.
      this.segments = [...this.segments.slice(0, -1), seg];
      void this.deleteSegments([old], 'empty segment replaced by roll').catch(noop);
    } else {
      this.segments = [...this.segments, seg];
      // fsync the old segment once its queued writes are done, without holding up appends.
      const barrier = this.drainBarrier();
      this.rollFlushChain = this.rollFlushChain
        .then(() => barrier)
        .then(async () => {
          if (this.offline) return;
          await old.flush();
          this.stats.fsyncs++;
          // The epochs of the rolled data are on disk before recovery stops scanning it.
          await this.epochCache.flushed();
          if (this.offline) return;
          if (seg.baseOffset > this._recoveryPoint) this._recoveryPoint = seg.baseOffset;
        })
        .catch((err: unknown) => {
          this.goOffline(err);
        });
    }
    this.logger.info({ baseOffset, previous: old.baseOffset, previousSize: old.size }, 'rolled new log segment');
    // As Kafka: a producer state snapshot at every roll bounds the replay after a crash. The
    // state is captured now; the file is written once the rolled segment is fsynced.
    this.takeSnapshot(false, this.rollFlushChain).catch(noop);
    return seg;
  }

  // ------------------------------------------------------------------ producer state snapshots

  /**
   * Serializes the producer state now (it describes every append below the log end offset) and
   * writes it as `<logEndOffset>.snapshot` after the snapshot writes before it (and `after`), then prunes old
   * snapshots. A failed write takes the log offline (the returned promise rejects). Only `sync`
   * snapshots (clean shutdown) are fsynced: a torn one is rejected by its CRC at load.
   */
  private takeSnapshot(sync = false, after: Promise<void> = Promise.resolve()): Promise<void> {
    const offset = this._logEndOffset;
    if (offset === this.lastSnapshotOffset) return this.snapshotChain;
    this.lastSnapshotOffset = offset;
    const bytes = encodeSnapshot(offset, this.producerState.snapshotEntries());
    const p = Promise.all([this.snapshotChain, after]).then(async () => {
      if (this.offline || this.dropped) return;
      try {
        await writeSnapshotFile(this.dir, offset, bytes, sync);
      } catch (err) {
        throw this.goOffline(err);
      }
      await this.pruneSnapshots();
    });
    this.snapshotChain = p.catch(noop);
    return p;
  }

  /**
   * Deletes snapshots that are no longer useful: below the log start offset, above the log end,
   * and older ones beyond the latest, those at the base offsets of the last few segments, and
   * the latest one before those (so a truncation into the last segments finds one).
   */
  private async pruneSnapshots(): Promise<void> {
    if (this.offline || this.dropped) return;
    try {
      const offsets = await listSnapshots(this.dir);
      if (offsets.length === 0) return;
      const segments = this.segments;
      const floor = segments[Math.max(0, segments.length - SNAPSHOT_SEGMENTS)]!.baseOffset;
      const bases = new Set(segments.map((s) => s.baseOffset));
      const latest = offsets[offsets.length - 1]!;
      let latestBelowFloor = -1;
      for (const o of offsets) if (o < floor) latestBelowFloor = o;
      for (const o of offsets) {
        const useful = o === latest || o === latestBelowFloor || (o >= floor && bases.has(o));
        if (o < this._logStartOffset || o > this._logEndOffset || !useful) await deleteSnapshotFile(this.dir, o);
      }
    } catch (err) {
      this.logger.warn({ err }, 'pruning producer state snapshots failed');
    }
  }

  /** Prunes snapshots after the queued snapshot writes (retention, DeleteRecords). */
  private schedulePrune(): void {
    this.snapshotChain = this.snapshotChain.then(() => this.pruneSnapshots());
  }

  /**
   * Loads the latest readable snapshot at or below `limit` (and not below the log start offset)
   * into the producer state, deleting snapshots above the log end and unreadable ones on the
   * way; with none, the state restarts empty at the log start offset. Returns the offset the
   * state is at: batches from there to the log end must be replayed.
   */
  private async reloadProducerState(limit: number): Promise<number> {
    const now = this.clock.nowMs();
    const offsets = await listSnapshots(this.dir);
    for (const o of offsets) if (o > this._logEndOffset) await deleteSnapshotFile(this.dir, o);
    for (let i = offsets.length - 1; i >= 0; i--) {
      const o = offsets[i]!;
      if (o > limit) continue;
      if (o < this._logStartOffset) break;
      try {
        const snap = await readSnapshotFile(this.dir, o);
        this.producerState.loadEntries(snap.entries, o, now);
        this.lastSnapshotOffset = o;
        this.logger.info({ offset: o, producers: this.producerState.producerCount }, 'loaded producer state snapshot');
        return o;
      } catch (err) {
        if (!(err instanceof CorruptSnapshotError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.logger.warn({ offset: o, err: (err as Error).message }, 'ignoring unreadable producer state snapshot');
        await deleteSnapshotFile(this.dir, o);
      }
    }
    this.producerState.truncateFullyAndStartAt(this._logStartOffset);
    this.lastSnapshotOffset = -1;
    return this._logStartOffset;
  }

  /**
   * Replays the producer state from the batch headers of [from, log end). Aborted transactions
   * whose marker lies in a segment of `rebuildTxnIndex` are appended to its txn index.
   */
  private async replayProducerState(from: number, rebuildTxnIndex: ReadonlySet<LogSegment> | null): Promise<void> {
    const end = this._logEndOffset;
    const segments = this.segments;
    let batches = 0;
    if (from < end) {
      for (let i = this.floorSegment(segments, from); i < segments.length; i++) {
        const seg = segments[i]!;
        if (seg.nextOffset <= from) continue;
        const indexSeg = rebuildTxnIndex?.has(seg) ? seg : null;
        await seg.forEachBatch(from, (h, controlBatch) => {
          batches++;
          if (h.producerId < 0) return;
          const marker = controlBatch === null ? undefined : readEndTxnMarker(controlBatch, 0);
          this.recordProducerBatch(indexSeg, this.producerState.prepareUnchecked(h, marker), h.baseOffset, h.maxTimestamp);
        });
      }
    }
    this.producerState.updateMapEndOffset(end);
    if (batches > 0) this.logger.info({ from, to: end, batches, producers: this.producerState.producerCount }, 'rebuilt producer state from the log');
  }

  /** Kafka's forced roll: a new active segment at the log end offset (no-op when the active one is empty). */
  async roll(): Promise<void> {
    this.checkWritable();
    if (this.active.size > 0) this.rollTo(this._logEndOffset, this.clock.nowMs());
    await this.rollFlushChain;
    this.throwIfOffline();
  }

  /** Rolls if the active segment is due by segment.ms (or full), as an append would. */
  async maybeRoll(): Promise<void> {
    this.checkWritable();
    const now = this.clock.nowMs();
    if (this.shouldRoll(this.active, 0, this._logEndOffset - 1, now, now)) this.rollTo(this._logEndOffset, now);
    await this.rollFlushChain;
    this.throwIfOffline();
  }

  // ------------------------------------------------------------------ write queue

  private enqueue(seg: LogSegment, pos: number, buf: Buffer): Promise<void> {
    const q = this.queue;
    const tail = q[q.length - 1];
    const tailInFlight = this.writing && q.length === 1;
    if (
      tail !== undefined &&
      !tailInFlight &&
      tail.seg === seg &&
      tail.pos + tail.bytes === pos &&
      tail.bytes + buf.length <= MAX_WRITE_BYTES &&
      tail.bufs.length < MAX_WRITE_BUFFERS
    ) {
      tail.bufs.push(buf);
      tail.bytes += buf.length;
      return tail.promise;
    }
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(noop); // callers that never await `written` must not crash the process
    seg.acquire();
    q.push({ seg, pos, bufs: [buf], bytes: buf.length, promise, resolve, reject });
    if (!this.writing && !this.turnScheduled) {
      // The rest of this event-loop turn's appends (other requests read in the same poll) join it.
      this.turnScheduled = true;
      setImmediate(this.writeTurn);
    }
    return promise;
  }

  /**
   * The end of the turn that queued writes: the first group goes to the page cache at once when
   * it is small, one write(2) for all the turn's appends; larger ones go to the threadpool.
   */
  private readonly writeTurn = (): void => {
    this.turnScheduled = false;
    if (this.writing || this.queue.length === 0) return;
    const g = this.queue[0]!;
    if (this.offline || g.bytes > SYNC_WRITE_MAX_BYTES) {
      this.pump();
      return;
    }
    this.writing = true;
    this.stats.writeCalls++;
    let n = 0;
    let err: NodeJS.ErrnoException | null = null;
    try {
      n = g.bufs.length === 1 ? fs.writeSync(g.seg.fd, g.bufs[0]!, 0, g.bytes, g.pos) : fs.writevSync(g.seg.fd, g.bufs, g.pos);
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    this.onWritten(g, err, n);
  };

  private pump(): void {
    if (this.writing || this.queue.length === 0) return;
    if (this.offline) {
      // Taken offline from outside (its log dir failed) with writes queued: they fail too.
      this.failQueue(this.offline, null);
      return;
    }
    const g = this.queue[0]!;
    this.writing = true;
    this.stats.writeCalls++;
    fs.writev(g.seg.fd, g.bufs, g.pos, (err, n) => this.onWritten(g, err, n));
  }

  private onWritten(g: WriteGroup, err: NodeJS.ErrnoException | null, n: number): void {
    this.writing = false;
    if (err || n !== g.bytes) {
      const cause = err ?? Object.assign(new Error(`short write: ${n} of ${g.bytes} bytes`), { code: 'ESHORTWRITE' });
      this.failQueue(cause, g);
      return;
    }
    this.queue.shift();
    this.stats.bytesWritten += g.bytes;
    g.seg.markWritten(g.pos + g.bytes, g.seg === this.active ? this.tailCacheLimit() : 0);
    g.seg.release();
    g.resolve();
    this.pump();
  }

  /** A write failed: go offline, reject everything queued, cut the partial write off the file. */
  private failQueue(err: unknown, failed: WriteGroup | null): void {
    const e = this.goOffline(err);
    const groups = this.queue;
    this.queue = [];
    // Best effort: never leave half a batch in the file (recovery would also cut it).
    if (failed !== null) {
      fs.ftruncate(failed.seg.fd, failed.pos, () => {
        for (const g of groups) g.seg.release();
      });
    } else {
      for (const g of groups) g.seg.release();
    }
    for (const g of groups) g.reject(e);
  }

  /** Resolves when every write queued so far is in the file (never rejects). */
  private drainBarrier(): Promise<void> {
    const last = this.queue[this.queue.length - 1];
    return last ? last.promise.catch(noop) : Promise.resolve();
  }

  /** Waits for queued writes; throws KafkaStorageError if the log went offline. */
  private async drain(): Promise<void> {
    await this.drainBarrier();
    this.throwIfOffline();
  }

  private throwIfOffline(): void {
    if (this.offline) throw this.offline;
  }

  /** Marks the log offline (first error wins) and returns the typed error. */
  private goOffline(err: unknown): KafkaStorageError {
    if (this.offline === null) {
      const msg = (err as Error | null)?.message ?? String(err);
      this.offline =
        err instanceof KafkaStorageError
          ? err
          : new KafkaStorageError(`I/O error in log ${this.topic}-${this.partition} (${this.dir}): ${msg}`, { cause: err });
      this.logger.error({ err }, 'log is offline after an I/O error');
      const offline = this.offline;
      try {
        this.onOffline?.(offline);
      } catch (e) {
        this.logger.error({ err: e }, 'offline listener failed');
      }
    }
    return this.offline;
  }

  /**
   * Takes the log offline from outside (another log of its log dir hit an I/O error: the whole
   * dir goes, as Kafka's LogDirFailureChannel). Queued writes are refused; no file is touched.
   */
  markOffline(reason: string): void {
    if (this.offline !== null) return;
    this.goOffline(new KafkaStorageError(reason));
    if (!this.writing) this.pump();
  }

  /** Re-throws `err` as KafkaStorageError (going offline) when it is an I/O error. */
  private storageFailure(err: unknown): unknown {
    if (err instanceof KafkaStorageError) return this.goOffline(err);
    if (isIoError(err)) return this.goOffline(err);
    // Lost a race with segment deletion/truncation repeatedly: retriable, the log is fine.
    if (err instanceof SegmentClosedError) return new KafkaStorageError(err.message, { cause: err });
    return err;
  }

  // ------------------------------------------------------------------ flush

  /**
   * fsyncs everything appended so far (active segment and indexes); the recovery point becomes
   * the log end offset at the call. Concurrent calls share one fsync (group commit).
   */
  flush(): Promise<void> {
    return this.requestFlush(true);
  }

  /** `flush()` for durability only: fsyncs the `.log` files, not the indexes (see requestFlush). */
  flushData(): Promise<void> {
    return this.requestFlush(false);
  }

  /**
   * Joins the next flush, or starts one. `withIndexes` false (flush.messages) fsyncs only the
   * `.log` files: the acknowledged data is durable, and the indexes wait for the roll, close or
   * an explicit flush (recovery rebuilds them from the recovery point on).
   */
  private requestFlush(withIndexes: boolean): Promise<void> {
    if (this.pendingFlush) {
      if (withIndexes) this.pendingFlushWithIndexes = true;
      return this.pendingFlush;
    }
    this.pendingFlushWithIndexes = withIndexes;
    const prev = this.runningFlush ?? Promise.resolve();
    const p: Promise<void> = prev
      .catch(noop)
      .then(() => {
        const full = this.pendingFlushWithIndexes;
        this.pendingFlush = null;
        this.runningFlush = p;
        return this.doFlush(full);
      })
      .finally(() => {
        if (this.runningFlush === p) this.runningFlush = null;
      });
    this.pendingFlush = p;
    p.catch(noop);
    return p;
  }

  private async doFlush(withIndexes: boolean): Promise<void> {
    this.throwIfOffline();
    const target = this._logEndOffset;
    await this.drain();
    await this.rollFlushChain;
    this.throwIfOffline();
    try {
      for (const seg of this.segments) {
        // The active segment's indexes may be behind after .log-only flushes (flush.messages).
        if (seg.nextOffset > this._recoveryPoint || seg.dirty || (withIndexes && seg === this.active)) {
          if (seg.dirty) this.stats.fsyncs++;
          await (withIndexes ? seg.flush() : seg.flushLog());
        }
      }
    } catch (err) {
      throw this.goOffline(err);
    }
    await this.epochCache.flushed();
    this.throwIfOffline();
    if (target > this._recoveryPoint) this._recoveryPoint = target;
    this._lastFlushMs = this.clock.nowMs();
  }

  // ------------------------------------------------------------------ read

  /**
   * Whole batches from the one holding `startOffset`, stopping before any batch whose last
   * offset is ≥ maxOffsetExclusive, within maxBytes (the first batch even if larger when
   * minOneBatch). Reads stay within one segment, as Kafka's do.
   */
  async read(startOffset: number, maxBytes: number, maxOffsetExclusive: number, minOneBatch: boolean): Promise<ReadResult> {
    const r = await this.readRecords(startOffset, maxBytes, maxOffsetExclusive, minOneBatch);
    return { records: recordsBuffer(r.records), error: r.error };
  }

  /** `read()` for the fetch path: data from the tail cache may come as several parts, not joined. */
  async readRecords(startOffset: number, maxBytes: number, maxOffsetExclusive: number, minOneBatch: boolean): Promise<ReadResult<Buffer | RecordParts>> {
    this.throwIfOffline();
    if (this.closed) throw new KafkaStorageError(`log ${this.topic}-${this.partition} is closed`);
    if (startOffset < this._logStartOffset || startOffset > this._logEndOffset) {
      return { records: EMPTY, error: 'OFFSET_OUT_OF_RANGE' };
    }
    if (startOffset === this._logEndOffset || maxOffsetExclusive <= startOffset) return { records: EMPTY, error: null };
    for (let attempt = 0; ; attempt++) {
      const segments = this.segments;
      try {
        for (let i = this.floorSegment(segments, startOffset); i < segments.length; i++) {
          const records = await segments[i]!.read(startOffset, maxBytes, maxOffsetExclusive, minOneBatch, this.config.indexIntervalBytes);
          if (records !== null) return { records, error: null };
        }
        return { records: EMPTY, error: null };
      } catch (err) {
        if (err instanceof SegmentClosedError) {
          // Raced with a deletion or truncation: look again at the current segments.
          if (this.closed) throw new KafkaStorageError(`log ${this.topic}-${this.partition} is closed`);
          if (startOffset < this._logStartOffset || startOffset > this._logEndOffset) return { records: EMPTY, error: 'OFFSET_OUT_OF_RANGE' };
          if (attempt < 3) continue;
        }
        throw this.storageFailure(err);
      }
    }
  }

  /** Index of the last segment whose base offset ≤ offset (0 when none). */
  private floorSegment(segments: readonly LogSegment[], offset: number): number {
    let lo = 0;
    let hi = segments.length - 1;
    let ans = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (segments[mid]!.baseOffset <= offset) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /**
   * The earliest record at or after the log start offset whose timestamp is ≥ ts (ListOffsets by
   * timestamp): the first segment whose largest timestamp reaches ts, its time index, then the
   * one batch found is decoded. null when no record qualifies.
   */
  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    this.throwIfOffline();
    try {
      for (const seg of this.segments) {
        if (seg.maxTimestamp < ts) continue;
        let from = this._logStartOffset;
        for (;;) {
          const found = await seg.findBatchByTimestamp(ts, from);
          if (found === null) break;
          for (const r of decodeRecordBatch(found.bytes, 0, { verifyCrc: false }).records) {
            if (r.timestamp >= ts && r.offset >= this._logStartOffset) return { offset: r.offset, timestamp: r.timestamp };
          }
          from = found.batch.lastOffset + 1;
        }
      }
      return null;
    } catch (err) {
      throw this.storageFailure(err);
    }
  }

  /** The record with the largest timestamp (the first on ties), for ListOffsets MAX_TIMESTAMP; null if none. */
  async maxTimestamp(): Promise<{ offset: number; timestamp: number } | null> {
    this.throwIfOffline();
    let best: LogSegment | null = null;
    for (const seg of this.segments) if (seg.maxTimestamp >= 0 && (best === null || seg.maxTimestamp > best.maxTimestamp)) best = seg;
    if (best === null) return null;
    try {
      const bytes = await best.readBatchAt(best.offsetOfMaxTimestamp);
      if (bytes === null) return null;
      return maxTimestampRecordOffset(bytes, 0, { verifyCrc: false });
    } catch (err) {
      throw this.storageFailure(err);
    }
  }

  // ------------------------------------------------------------------ truncation and deletion

  /**
   * Drops every offset ≥ `offset` (follower divergence). Batches are removed whole: when
   * `offset` falls inside a batch, the log end becomes that batch's base offset.
   */
  async truncateTo(offset: number): Promise<void> {
    this.checkWritable();
    if (offset >= this._logEndOffset) {
      // As Kafka: the epoch cache is truncated even so. A leader that assigned an epoch at its
      // log end and lost leadership before appending holds an entry the new leader lacks.
      this.epochCache.truncateFromEnd(offset);
      await this.epochCache.flushed();
      return;
    }
    if (offset < this.segments[0]!.baseOffset) return this.truncateFullyAndStartAt(offset);
    this.mutating = 'truncateTo';
    try {
      await this.drain();
      await this.rollFlushChain;
      await this.snapshotChain;
      const keep = this.segments.filter((s) => s.baseOffset <= offset);
      const drop = this.segments.filter((s) => s.baseOffset > offset);
      const last = keep[keep.length - 1]!;
      let removedBase: number | null;
      try {
        removedBase = await last.truncateTo(offset);
      } catch (err) {
        throw this.goOffline(err);
      }
      this.segments = keep;
      const leo = removedBase === null ? offset : Math.min(offset, removedBase);
      this.logger.info({ offset, previousLogEndOffset: this._logEndOffset, logEndOffset: leo, segmentsDeleted: drop.length }, 'truncated log');
      this._logEndOffset = leo;
      this.epochCache.truncateFromEnd(leo);
      if (this._logStartOffset > leo) this._logStartOffset = leo;
      if (this._highWatermark > leo) this._highWatermark = leo;
      if (this._recoveryPoint > leo) this._recoveryPoint = leo;
      await this.deleteSegments(drop, 'truncation');
      // As Kafka's truncateAndReload + rebuildProducerState: the latest snapshot ≤ the new end, then replay.
      try {
        await this.replayProducerState(await this.reloadProducerState(leo), null);
      } catch (err) {
        throw this.storageFailure(err);
      }
    } finally {
      this.mutating = null;
    }
  }

  /** Deletes every segment and restarts the log empty at `offset` (log start = end = HW = offset). */
  async truncateFullyAndStartAt(offset: number): Promise<void> {
    this.checkWritable();
    this.mutating = 'truncateFullyAndStartAt';
    try {
      await this.drain();
      await this.rollFlushChain;
      await this.snapshotChain;
      const old = this.segments;
      await this.deleteSegments(old, 'full truncation');
      try {
        for (const o of await listSnapshots(this.dir)) await deleteSnapshotFile(this.dir, o);
      } catch (err) {
        throw this.goOffline(err);
      }
      this.producerState.truncateFullyAndStartAt(offset);
      this.lastSnapshotOffset = -1;
      await this.epochCache.clearAndFlush();
      this.throwIfOffline();
      let seg: LogSegment;
      try {
        seg = LogSegment.create(this.dir, offset, this.config, this.clock.nowMs());
      } catch (err) {
        throw this.goOffline(err);
      }
      this.segments = [seg];
      this.logger.info({ offset, previousLogEndOffset: this._logEndOffset }, 'truncated log fully');
      this._logStartOffset = this._logEndOffset = this._highWatermark = this._recoveryPoint = offset;
    } finally {
      this.mutating = null;
    }
  }

  /**
   * DeleteRecords: advances the log start offset to `offset` (the caller checks offset ≤ HW)
   * and deletes the segments wholly below it (never the active one).
   */
  async deleteRecordsBefore(offset: number): Promise<void> {
    this.throwIfOffline();
    const target = Math.min(offset, this._logEndOffset);
    if (target <= this._logStartOffset) return;
    this._logStartOffset = target;
    if (this._highWatermark < target) this._highWatermark = target;
    this.onLogStartOffsetIncremented();
    await this.deleteOldSegments((seg, next) => next.baseOffset <= this._logStartOffset, 'log start offset breach');
  }

  /**
   * Deletes whole old segments (never the active one) beyond retention.ms (by the segment's
   * largest timestamp), retention.bytes, or below the log start offset; advances the log start
   * offset. Returns the number of segments deleted.
   */
  async applyRetention(nowMs: number): Promise<number> {
    this.throwIfOffline();
    if (this.closed) return 0;
    let deleted = await this.deleteOldSegments((_, next) => next.baseOffset <= this._logStartOffset, 'log start offset breach');
    const { retentionMs, retentionBytes } = this.config;
    if (retentionMs >= 0) {
      deleted += await this.deleteOldSegments((seg) => nowMs - seg.largestTimestamp() > retentionMs, `retention.ms ${retentionMs}`);
    }
    if (retentionBytes >= 0) {
      let excess = this.sizeBytes - retentionBytes;
      deleted += await this.deleteOldSegments((seg) => {
        if (excess - seg.size < 0) return false;
        excess -= seg.size;
        return true;
      }, `retention.bytes ${retentionBytes}`);
    }
    return deleted;
  }

  /** Deletes leading non-active segments while `predicate` holds; returns how many. */
  private async deleteOldSegments(predicate: (seg: LogSegment, next: LogSegment) => boolean, reason: string): Promise<number> {
    const segs = this.segments;
    let n = 0;
    while (n < segs.length - 1 && predicate(segs[n]!, segs[n + 1]!)) n++;
    if (n === 0) return 0;
    const doomed = segs.slice(0, n);
    this.segments = segs.slice(n);
    const first = this.segments[0]!.baseOffset;
    if (first > this._logStartOffset) this._logStartOffset = first;
    if (this._highWatermark < this._logStartOffset) this._highWatermark = Math.min(this._logStartOffset, this._logEndOffset);
    this.onLogStartOffsetIncremented();
    this.logger.info({ reason, segments: doomed.map((s) => s.baseOffset), logStartOffset: this._logStartOffset }, 'deleting old segments');
    await this.deleteSegments(doomed, reason);
    return n;
  }

  /** Producer state below the log start is history (as Kafka: entries stay, their snapshots go). */
  private onLogStartOffsetIncremented(): void {
    this.epochCache.truncateFromStart(this._logStartOffset);
    this.producerState.onLogStartOffsetIncremented(this._logStartOffset);
    this.schedulePrune();
  }

  /** Renames the segments' files to `*.deleted` and unlinks them after file.delete.delay.ms. */
  private async deleteSegments(segs: readonly LogSegment[], reason: string): Promise<void> {
    // A background flush of a rolled segment may be writing its index files: let it finish
    // before the files are renamed, or the indexes would be written under the old names.
    await (this.pendingFlush ?? Promise.resolve()).catch(noop);
    await this.rollFlushChain.catch(noop);
    for (const seg of segs) {
      let files: string[];
      try {
        files = await seg.renameForDeletion();
      } catch (err) {
        throw this.goOffline(err);
      }
      const entry = {
        timer: null as NodeJS.Timeout | null,
        run: async (): Promise<void> => {
          this.pendingDeletes.delete(entry);
          await seg.close();
          for (const f of files) await unlinkQuiet(f).catch(noop);
        },
      };
      this.pendingDeletes.add(entry);
      const delay = this.config.fileDeleteDelayMs;
      if (delay <= 0) {
        await entry.run();
      } else {
        entry.timer = setTimeout(() => void entry.run().catch(noop), delay);
        entry.timer.unref();
      }
    }
    if (segs.length > 0) this.logger.debug({ reason, count: segs.length }, 'scheduled segment deletion');
  }

  // ------------------------------------------------------------------ close

  /** Waits for queued writes, fsyncs everything, closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drainBarrier();
    await this.rollFlushChain.catch(noop);
    await (this.runningFlush ?? Promise.resolve()).catch(noop);
    await (this.pendingFlush ?? Promise.resolve()).catch(noop);
    if (!this.offline) {
      this.active.onBecomeInactive();
      try {
        for (const seg of this.segments) if (seg.dirty || seg === this.active) await seg.flush();
        this._recoveryPoint = this._logEndOffset;
      } catch (err) {
        this.goOffline(err);
      }
    }
    // The producer state at the log end: the next open replays nothing.
    if (!this.offline) await this.takeSnapshot(true).catch(noop);
    await this.snapshotChain;
    await this.epochCache.flushed();
    await this.closeHandles();
    if (this.offline) throw this.offline;
  }

  private async closeHandles(): Promise<void> {
    for (const d of [...this.pendingDeletes]) {
      if (d.timer) clearTimeout(d.timer);
      await d.run().catch(noop);
    }
    await Promise.all(this.segments.map((s) => s.close()));
  }

  /** Closes without flushing and removes the whole directory (partition deleted). */
  async deleteFiles(): Promise<void> {
    this.closed = true;
    this.dropped = true;
    await this.snapshotChain;
    await this.epochCache.drop();
    await this.drainBarrier();
    await this.rollFlushChain.catch(noop);
    await this.closeHandles();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  /** Closes the files without flushing (the directory is about to be renamed and removed). */
  async closeWithoutFlush(): Promise<void> {
    this.closed = true;
    this.dropped = true;
    await this.snapshotChain;
    await this.epochCache.drop();
    await this.drainBarrier();
    await this.rollFlushChain.catch(noop);
    await this.closeHandles();
  }

  // ------------------------------------------------------------------ open and recovery

  private async load(opts: PartitionLogOptions): Promise<void> {
    const config = this.config;
    const epochs = await LeaderEpochCache.load(this.epochCacheOptions());
    this.epochCache = epochs.cache;
    const names = await fsp.readdir(this.dir);
    const logs: number[] = [];
    const others: { name: string; baseOffset: number }[] = [];
    const txnIndexes = new Set<number>();
    for (const name of names) {
      if (name.endsWith(DELETED_SUFFIX) || name.endsWith(CLEANED_SUFFIX) || name.endsWith(SWAP_SUFFIX)) {
        this.logger.info({ file: name }, 'deleting leftover file');
        await unlinkQuiet(`${this.dir}/${name}`);
        continue;
      }
      const parsed = parseSegmentFileName(name);
      if (!parsed) continue;
      if (parsed.kind === 'log') logs.push(parsed.baseOffset);
      else others.push({ name, baseOffset: parsed.baseOffset });
      if (parsed.kind === 'txnindex') txnIndexes.add(parsed.baseOffset);
    }
    logs.sort((a, b) => a - b);
    const logSet = new Set(logs);
    for (const o of others) {
      if (!logSet.has(o.baseOffset)) {
        this.logger.info({ file: o.name }, 'deleting index file without a log segment');
        await unlinkQuiet(`${this.dir}/${o.name}`);
      }
    }

    const segments: LogSegment[] = [];
    for (const base of logs) segments.push(await LogSegment.open(this.dir, base, config));

    // Which segments to scan: after an unclean shutdown, those from the one holding the
    // recovery point onward (always at least the last one).
    let recoverFrom = segments.length;
    if (!opts.cleanShutdown && segments.length > 0) {
      recoverFrom = Math.min(this.floorSegment(segments, opts.recoveryPoint ?? 0), segments.length - 1);
      if ((opts.recoveryPoint ?? 0) < segments[0]!.baseOffset) recoverFrom = 0;
    }
    const recovered: LogSegment[] = [];
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      let recover = i >= recoverFrom;
      if (!recover && !(await seg.loadIndexes(config, txnIndexes.has(seg.baseOffset)))) {
        this.logger.warn({ segment: seg.baseOffset }, 'index missing or inconsistent; rebuilding');
        recover = true;
      }
      if (!recover) continue;
      // As Kafka's LogSegment.recover: the scanned batches re-add epochs the checkpoint lacks.
      const truncated = await seg.recover(config, (h) => this.maybeAssignEpoch(h.partitionLeaderEpoch, h.baseOffset));
      recovered.push(seg);
      if (truncated > 0) {
        const later = segments.splice(i + 1);
        this.logger.warn(
          { segment: seg.baseOffset, validBytes: seg.size, truncatedBytes: truncated, deletedSegments: later.map((s) => s.baseOffset) },
          'truncated corrupt or torn tail of log segment during recovery',
        );
        for (const s of later) await s.deleteNow();
        break;
      }
    }
    // Empty trailing segments carry no data; drop them unless they carry the log end offset.
    while (segments.length > 1) {
      const last = segments[segments.length - 1]!;
      const prev = segments[segments.length - 2]!;
      if (last.size > 0 || prev.nextOffset < last.baseOffset) break;
      segments.pop();
      this.logger.info({ segment: last.baseOffset }, 'deleting empty trailing segment');
      await last.deleteNow();
    }

    if (segments.length === 0) {
      segments.push(LogSegment.create(this.dir, opts.logStartOffset ?? 0, config, this.clock.nowMs()));
    }
    this.segments = segments;
    const last = segments[segments.length - 1]!;
    this._logEndOffset = Math.max(last.nextOffset, last.baseOffset);
    const first = segments[0]!.baseOffset;
    this._logStartOffset = Math.min(Math.max(opts.logStartOffset ?? first, first), this._logEndOffset);
    this._highWatermark = this._logStartOffset;
    this._recoveryPoint = this._logEndOffset;

    // As Kafka's LogLoader: entries beyond the recovered log end and below its start are stale
    // (the file is written after the data, and its trims are not waited for).
    this.epochCache.truncateFromEnd(this._logEndOffset);
    this.epochCache.truncateFromStart(this._logStartOffset);
    if (epochs.status === 'missing' && this._logEndOffset > this._logStartOffset) {
      this.logger.warn(
        { rebuiltEntries: this.epochCache.entries().length },
        'no leader epoch checkpoint for a non-empty log; leader epochs are known only from the segments recovered',
      );
    }

    // Producer state: the latest snapshot at or below the log end — and below every recovered
    // segment, whose aborted-transaction index is rebuilt by the replay — then the batch headers
    // from there to the log end.
    const rebuilt = new Set(recovered.filter((seg) => segments.includes(seg)));
    let limit = this._logEndOffset;
    for (const seg of rebuilt) limit = Math.min(limit, seg.baseOffset);
    await this.replayProducerState(await this.reloadProducerState(limit), rebuilt);
    for (const seg of rebuilt) await seg.flush();
    await this.epochCache.flushed();
    this.throwIfOffline();
    if (this.lastSnapshotOffset !== this._logEndOffset && this._logEndOffset > this._logStartOffset) this.takeSnapshot().catch(noop);
    this.logger.info(
      {
        segments: segments.length,
        logStartOffset: this._logStartOffset,
        logEndOffset: this._logEndOffset,
        recoveredSegments: recovered.length,
        cleanShutdown: opts.cleanShutdown ?? false,
      },
      'loaded log',
    );
  }
}
