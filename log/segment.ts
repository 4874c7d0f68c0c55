// One log segment: `<baseOffset>.log` plus its two sparse indexes and its aborted-transaction
// index (`.txnindex`, txn-index.ts; only present when the segment holds ABORT markers).
//
// On-disk format of the .log file: record batches (magic 2) back to back, byte for byte as
// received from the producer or the leader, after offset assignment (baseOffset and
// partitionLeaderEpoch patched in place; both lie outside the CRC). No header, no footer, no
// padding. Offsets increase strictly from batch to batch and every offset in the file is
// ≥ the base offset in its name. A torn or corrupt tail (kill -9 mid-write, bad disk) is detected
// by the recovery scan (length, magic, CRC32C, offsets) and truncated away.
//
// In memory a segment knows its size, its next offset, its largest timestamp, its indexes and —
// for the active segment — a tail cache: the most recently appended buffers, always including
// every byte not yet written to the file, so that reads of fresh data never touch the fs and
// reads of queued data see it. Everything below `cacheStart` is in the file.

import fs from 'node:fs';
import { RecordParts } from '../wire/primitives.js';
import { BATCH_HEADER_SIZE, batchSize, isControl, LOG_OVERHEAD, readBatchHeader, scanBatches, type BatchHeader } from '../wire/record-batch.js';
import type { LogConfig } from './config.js';
import { KafkaStorageError } from './errors.js';
import { DELETED_SUFFIX, indexFile, logFile, timeIndexFile, txnIndexFile } from './file-names.js';
import { closeFd, fstatSize, fsync, ftruncate, openFd, preadInto, renameQuiet, unlinkQuiet } from './fs-util.js';
import { OFFSET_INDEX_ENTRY_SIZE, OffsetIndex } from './offset-index.js';
import { TIME_INDEX_ENTRY_SIZE, TimeIndex } from './time-index.js';
import { TransactionIndex } from './txn-index.js';

const EMPTY = Buffer.alloc(0);
const MAX_REL_OFFSET = 0x7fffffff;
/** Chunk size of sequential scans (recovery, timestamp search). */
const SCAN_CHUNK = 4 * 1024 * 1024;

/** Thrown by reads racing with the segment's deletion; the log retries the lookup. */
export class SegmentClosedError extends Error {}

export function maxIndexEntries(config: LogConfig): { offset: number; time: number } {
  return {
    offset: Math.max(1, Math.floor(config.segmentIndexBytes / OFFSET_INDEX_ENTRY_SIZE)),
    time: Math.max(1, Math.floor(config.segmentIndexBytes / TIME_INDEX_ENTRY_SIZE)),
  };
}

/** Header fields of one batch, as the log needs them. */
export interface BatchPosition {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export class LogSegment {
  /** Bytes appended (written or still queued). */
  size = 0;
  /** Bytes known to be in the file. */
  writtenSize = 0;
  /** Last offset + 1 of the last batch; the base offset when empty. */
  nextOffset: number;
  /** Largest batch max-timestamp in the segment, -1 if none. */
  maxTimestamp = -1;
  /** lastOffset of the first batch that reached maxTimestamp, -1 if none. */
  offsetOfMaxTimestamp = -1;
  /** Max timestamp of the first batch (segment.ms rolls on it), null when empty or not loaded. */
  rollingBasedTimestamp: number | null = null;
  /** Wall-clock creation (or open) time, for segment.ms on segments without timestamps. */
  createdMs: number;
  /** Last append (or file mtime), for retention of segments without timestamps. */
  lastModifiedMs: number;
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
  /** Aborted transactions whose marker is in this segment (maintained by the log). */
  txnIndex: TransactionIndex;
  bytesSinceLastIndexEntry = 0;
  /** Bytes written since the last fsync. */
  dirty = false;

  // Tail cache: contiguous appended buffers covering [cacheStart, size).
  private cBufs: (Buffer | undefined)[] = [];
  private cPos: number[] = [];
  private cBase: number[] = [];
  private cLast: number[] = [];
  private cHead = 0;
  private cBytes = 0;

  /** Bumped by every truncation, so reads racing with one retry instead of failing. */
  private truncations = 0;
  private refs = 0;
  private closing: Promise<void> | null = null;
  private closeResolve: (() => void) | null = null;
  private closed = false;
  private deleted = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    readonly fd: number,
    config: LogConfig,
    nowMs: number,
  ) {
    this.nextOffset = baseOffset;
    this.createdMs = nowMs;
    this.lastModifiedMs = nowMs;
    const max = maxIndexEntries(config);
    this.offsetIndex = new OffsetIndex(baseOffset, max.offset);
    this.timeIndex = new TimeIndex(baseOffset, max.time);
    this.txnIndex = new TransactionIndex(baseOffset);
  }

  get logPath(): string {
    return logFile(this.dir, this.baseOffset);
  }
  get indexPath(): string {
    return indexFile(this.dir, this.baseOffset);
  }
  get timeIndexPath(): string {
    return timeIndexFile(this.dir, this.baseOffset);
  }
  get txnIndexPath(): string {
    return txnIndexFile(this.dir, this.baseOffset);
  }

  /**
   * Creates a new, empty segment synchronously (a roll must happen in order with appends).
   * A leftover file of the same name is truncated, leftover indexes removed.
   */
  static create(dir: string, baseOffset: number, config: LogConfig, nowMs: number): LogSegment {
    let fd: number;
    try {
      fd = fs.openSync(logFile(dir, baseOffset), 'w+');
      fs.rmSync(indexFile(dir, baseOffset), { force: true });
      fs.rmSync(timeIndexFile(dir, baseOffset), { force: true });
      fs.rmSync(txnIndexFile(dir, baseOffset), { force: true });
    } catch (err) {
      throw new KafkaStorageError(`cannot create segment ${baseOffset} in ${dir}: ${(err as Error).message}`, { cause: err });
    }
    return new LogSegment(dir, baseOffset, fd, config, nowMs);
  }

  /** Opens an existing segment; indexes are loaded or rebuilt by the caller (loadIndexes / recover). */
  static async open(dir: string, baseOffset: number, config: LogConfig): Promise<LogSegment> {
    const fd = await openFd(logFile(dir, baseOffset), 'r+');
    const st = await fstatSize(fd);
    const seg = new LogSegment(dir, baseOffset, fd, config, st.mtimeMs);
    seg.size = seg.writtenSize = st.size;
    seg.lastModifiedMs = st.mtimeMs;
    return seg;
  }

  // ---------------------------------------------------------------- append bookkeeping

  /** Records one appended batch at `position` (index entries, timestamps, next offset). */
  indexBatch(position: number, size: number, lastOffset: number, maxTimestamp: number, indexIntervalBytes: number): void {
    if (position === 0) this.rollingBasedTimestamp = maxTimestamp;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes) {
      this.offsetIndex.append(lastOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += size;
    this.nextOffset = lastOffset + 1;
  }

  /** True when `lastOffset` can no longer be stored as an int32 relative offset in this segment. */
  cannotHold(lastOffset: number): boolean {
    return lastOffset - this.baseOffset > MAX_REL_OFFSET;
  }

  indexFull(): boolean {
    return this.offsetIndex.isFull() || this.timeIndex.isFull();
  }

  /** The segment stops being active: its final time-index entry carries the largest timestamp. */
  onBecomeInactive(): void {
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
  }

  /** Largest timestamp for retention; the last modification time when no batch has a timestamp. */
  largestTimestamp(): number {
    return this.maxTimestamp >= 0 ? this.maxTimestamp : this.lastModifiedMs;
  }

  // ---------------------------------------------------------------- tail cache

  /** File position where the tail cache starts; everything before it is in the file. */
  get cacheStart(): number {
    return this.cHead < this.cPos.length ? this.cPos[this.cHead]! : this.size;
  }

  get cachedBytes(): number {
    return this.cBytes;
  }

  /** Adds appended bytes (already counted in `size`) to the tail cache. */
  cacheAppend(position: number, buf: Buffer, baseOffset: number, lastOffset: number): void {
    // A small batch sliced out of a large socket chunk would keep the whole chunk alive.
    if (buf.buffer.byteLength > 4 * buf.length + 4096) buf = Buffer.from(buf);
    this.cBufs.push(buf);
    this.cPos.push(position);
    this.cBase.push(baseOffset);
    this.cLast.push(lastOffset);
    this.cBytes += buf.length;
  }

  /** The file now holds everything up to `upTo`; evicts written cache entries beyond `limit` bytes. */
  markWritten(upTo: number, limit: number): void {
    if (upTo > this.writtenSize) this.writtenSize = upTo;
    this.dirty = true;
    this.evict(limit);
  }

  evict(limit: number): void {
    while (this.cHead < this.cBufs.length && this.cBytes > limit) {
      const buf = this.cBufs[this.cHead]!;
      if (this.cPos[this.cHead]! + buf.length > this.writtenSize) break;
      this.cBytes -= buf.length;
      this.cBufs[this.cHead] = undefined;
      this.cHead++;
    }
    if (this.cHead === this.cBufs.length) {
      this.cBufs = [];
      this.cPos = [];
      this.cBase = [];
      this.cLast = [];
      this.cHead = 0;
    } else if (this.cHead > 1024 && this.cHead * 2 > this.cBufs.length) {
      this.cBufs = this.cBufs.slice(this.cHead);
      this.cPos = this.cPos.slice(this.cHead);
      this.cBase = this.cBase.slice(this.cHead);
      this.cLast = this.cLast.slice(this.cHead);
      this.cHead = 0;
    }
  }

  /** Index of the cache entry containing file position `pos` (cacheStart ≤ pos < size). */
  private cacheEntryAt(pos: number): number {
    let lo = this.cHead;
    let hi = this.cPos.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.cPos[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private copyFromCache(out: Buffer, outOffset: number, pos: number, len: number): void {
    let i = this.cacheEntryAt(pos);
    while (len > 0) {
      const buf = this.cBufs[i]!;
      const from = pos - this.cPos[i]!;
      const n = Math.min(len, buf.length - from);
      buf.copy(out, outOffset, from, from + n);
      outOffset += n;
      pos += n;
      len -= n;
      i++;
    }
  }

  // ---------------------------------------------------------------- reading

  /**
   * Bytes [pos, pos+len) of the segment, from the tail cache (zero-copy within one cached
   * buffer) or the file. Throws KafkaStorageError-worthy errors to the caller.
   */
  async readBytes(pos: number, len: number): Promise<Buffer> {
    if (len <= 0) return EMPTY;
    // Only a truncation racing with this read can make it reach past the end: retry.
    if (pos + len > this.size) throw new SegmentClosedError(`read past segment ${this.baseOffset} end: ${pos}+${len} > ${this.size}`);
    const cs = this.cacheStart;
    if (pos >= cs) {
      const i = this.cacheEntryAt(pos);
      const buf = this.cBufs[i]!;
      const from = pos - this.cPos[i]!;
      if (from + len <= buf.length) return buf.subarray(from, from + len);
      const out = Buffer.allocUnsafe(len);
      this.copyFromCache(out, 0, pos, len);
      return out;
    }
    const out = Buffer.allocUnsafe(len);
    const diskLen = Math.min(len, cs - pos);
    // Copy the cached part first: it may be evicted (it is written by then) while we wait.
    if (diskLen < len) this.copyFromCache(out, diskLen, cs, len - diskLen);
    await this.readFile(out, 0, diskLen, pos);
    return out;
  }

  private async readFile(out: Buffer, offset: number, len: number, pos: number): Promise<void> {
    if (this.closed || this.closing) throw new SegmentClosedError(`segment ${this.baseOffset} is closed`);
    const truncations = this.truncations;
    this.refs++;
    try {
      await preadInto(this.fd, out, offset, len, pos);
    } catch (err) {
      // A short read because the file was truncated meanwhile is a race, not a broken disk.
      if ((err as NodeJS.ErrnoException).code === 'ESHORTREAD' && truncations !== this.truncations) {
        throw new SegmentClosedError(`segment ${this.baseOffset} was truncated during a read`);
      }
      throw err;
    } finally {
      this.release();
    }
  }

  /** Best starting position to look for `offset`: the sparse index, or the tail cache entry holding it. */
  private startPosition(offset: number): number {
    let pos = this.offsetIndex.lookup(offset);
    const n = this.cPos.length;
    if (this.cHead < n && offset >= this.cBase[this.cHead]!) {
      let lo = this.cHead;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.cLast[mid]! >= offset) hi = mid;
        else lo = mid + 1;
      }
      pos = Math.max(pos, this.cPos[lo]!);
    }
    return pos;
  }

  /**
   * Whole batches starting with the first one whose lastOffset ≥ startOffset, stopping before a
   * batch with lastOffset ≥ maxOffsetExclusive and at maxBytes (except a first batch when
   * minOneBatch). null when the segment has no batch with lastOffset ≥ startOffset.
   */
  async read(
    startOffset: number,
    maxBytes: number,
    maxOffsetExclusive: number,
    minOneBatch: boolean,
    indexIntervalBytes: number,
  ): Promise<Buffer | RecordParts | null> {
    const cached = this.readCached(startOffset, maxBytes, maxOffsetExclusive, minOneBatch);
    if (cached !== undefined) return cached;
    const end = this.size;
    let pos = this.startPosition(startOffset);
    const chunk = Math.min(Math.max(maxBytes, 0) + indexIntervalBytes + 64 * 1024, 16 * 1024 * 1024);
    const r = new ChunkReader(this, end, chunk);
    for (;;) {
      if (!(await r.ensure(pos, BATCH_HEADER_SIZE))) return null;
      const h = r.header(pos);
      if (h.lastOffset >= startOffset) break;
      pos += h.size;
    }
    const first = pos;
    let total = 0;
    while (pos < end) {
      if (!r.has(pos, BATCH_HEADER_SIZE) && (total > 0 || !(await r.ensure(pos, BATCH_HEADER_SIZE)))) break;
      const h = r.header(pos);
      if (h.lastOffset >= maxOffsetExclusive) break;
      if (total + h.size > maxBytes && !(total === 0 && minOneBatch)) break;
      total += h.size;
      pos += h.size;
    }
    if (total === 0) return EMPTY;
    if (r.has(first, total)) return r.slice(first, total);
    return this.readBytes(first, total);
  }

  /**
   * `read()` answered from the tail cache: the batches are handed out as slices of the cached
   * buffers (one part per buffer, never joined), so a fetch of fresh data copies nothing.
   * undefined when the first wanted batch is not in the cache (the caller reads the file).
   * Cached buffers hold whole batches that were checked when appended.
   */
  private readCached(startOffset: number, maxBytes: number, maxOffsetExclusive: number, minOneBatch: boolean): Buffer | RecordParts | null | undefined {
    const n = this.cBufs.length;
    if (this.cHead >= n || this.cBase[this.cHead]! > startOffset) return undefined;
    if (this.cLast[n - 1]! < startOffset) return null;
    let lo = this.cHead;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cLast[mid]! >= startOffset) hi = mid;
      else lo = mid + 1;
    }
    const parts: Buffer[] = [];
    let total = 0;
    let full = false;
    for (let i = lo; i < n && !full; i++) {
      const buf = this.cBufs[i]!;
      let partStart = -1;
      let pos = 0;
      while (pos < buf.length) {
        const size = buf.readInt32BE(pos + 8) + LOG_OVERHEAD;
        const lastOffset = buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4) + buf.readInt32BE(pos + 23);
        if (lastOffset < startOffset) {
          pos += size;
          continue;
        }
        if (lastOffset >= maxOffsetExclusive || (total + size > maxBytes && !(total === 0 && minOneBatch))) {
          full = true;
          break;
        }
        if (partStart < 0) partStart = pos;
        total += size;
        pos += size;
      }
      if (partStart >= 0) parts.push(buf.subarray(partStart, pos));
    }
    if (total === 0) return EMPTY;
    return parts.length === 1 ? parts[0]! : new RecordParts(parts);
  }

  /**
   * Position and header of the first batch with lastOffset ≥ offset at or after `from`, plus the
   * largest timestamp among the batches scanned before it. null if there is none.
   */
  async findBatch(
    offset: number,
    from = this.offsetIndex.lookup(offset),
  ): Promise<{ batch: BatchPosition | null; maxTsBefore: number; offsetOfMaxTsBefore: number }> {
    const r = new ChunkReader(this, this.size, 64 * 1024);
    let pos = from;
    let maxTsBefore = -1;
    let offsetOfMaxTsBefore = -1;
    while (await r.ensure(pos, BATCH_HEADER_SIZE)) {
      const h = r.header(pos);
      if (h.lastOffset >= offset) return { batch: { ...h, position: pos }, maxTsBefore, offsetOfMaxTsBefore };
      if (h.maxTimestamp > maxTsBefore) {
        maxTsBefore = h.maxTimestamp;
        offsetOfMaxTsBefore = h.lastOffset;
      }
      pos += h.size;
    }
    return { batch: null, maxTsBefore, offsetOfMaxTsBefore };
  }

  /**
   * The first batch with maxTimestamp ≥ timestamp and lastOffset ≥ startingOffset (Kafka's
   * findOffsetByTimestamp: time index, then offset index, then a header scan).
   */
  async findBatchByTimestamp(timestamp: number, startingOffset: number): Promise<{ batch: BatchPosition; bytes: Buffer } | null> {
    const fromOffset = Math.max(this.timeIndex.lookup(timestamp), startingOffset);
    const r = new ChunkReader(this, this.size, SCAN_CHUNK);
    let pos = this.startPosition(fromOffset);
    while (await r.ensure(pos, BATCH_HEADER_SIZE)) {
      const h = r.header(pos);
      if (h.maxTimestamp >= timestamp && h.lastOffset >= startingOffset) {
        const bytes = r.has(pos, h.size) ? r.slice(pos, h.size) : await this.readBytes(pos, h.size);
        return { batch: { ...h, position: pos }, bytes };
      }
      pos += h.size;
    }
    return null;
  }

  /** The bytes of the batch whose lastOffset is `lastOffset` (or the first after it). */
  async readBatchAt(lastOffset: number): Promise<Buffer | null> {
    const { batch } = await this.findBatch(lastOffset);
    if (batch === null) return null;
    return this.readBytes(batch.position, batch.size);
  }

  /**
   * Calls `visit` with the header of every batch whose last offset is ≥ fromOffset, in order
   * (headers only; the whole batch's bytes are passed for control batches, which hold one small
   * record). For rebuilding producer state.
   */
  async forEachBatch(fromOffset: number, visit: (header: BatchHeader, controlBatch: Buffer | null) => void): Promise<void> {
    const r = new ChunkReader(this, this.size, SCAN_CHUNK);
    let pos = this.startPosition(fromOffset);
    while (await r.ensure(pos, BATCH_HEADER_SIZE)) {
      const { buf, offset } = r.view(pos);
      const h = readBatchHeader(buf, offset);
      const size = h.batchLength + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE) throw new KafkaStorageError(`corrupt batch header at position ${pos} of segment ${this.baseOffset}`);
      if (h.baseOffset + h.lastOffsetDelta >= fromOffset) {
        let bytes: Buffer | null = null;
        if (isControl(h.attributes)) bytes = (await r.ensure(pos, size)) ? r.slice(pos, size) : null;
        visit(h, bytes);
      }
      pos += size;
    }
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Loads the index files and checks them against the file; then reads the batch headers after
   * the last index entry to learn the next offset, max timestamp and first timestamp, and loads
   * the aborted-transaction index (`txnIndexExists`: false skips looking for its file). Returns
   * false when anything is missing or inconsistent: the caller then runs `recover()`.
   */
  async loadIndexes(config: LogConfig, txnIndexExists = true): Promise<boolean> {
    const max = maxIndexEntries(config);
    const offsetIndex = await OffsetIndex.load(this.indexPath, this.baseOffset, max.offset, this.size);
    const timeIndex = await TimeIndex.load(this.timeIndexPath, this.baseOffset, max.time);
    if (offsetIndex === null || timeIndex === null) return false;
    if (this.size > 0 && offsetIndex.entries === 0 && this.size > 2 * config.indexIntervalBytes + config.maxMessageBytes) {
      // An index that should have entries but has none: most likely lost, rebuild it.
      return false;
    }
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.maxTimestamp = timeIndex.lastTimestamp();
    this.offsetOfMaxTimestamp = timeIndex.entries > 0 ? timeIndex.lastOffset() : -1;
    // Scan the tail after the last offset-index entry (headers only).
    const start = offsetIndex.lastPosition();
    const r = new ChunkReader(this, this.size, SCAN_CHUNK);
    let pos = start;
    let next = this.baseOffset;
    while (pos < this.size) {
      if (!(await r.ensure(pos, BATCH_HEADER_SIZE))) return false;
      const size = batchSize(r.slice(pos, BATCH_HEADER_SIZE), 0);
      if (size < BATCH_HEADER_SIZE || pos + size > this.size) return false;
      const h = r.header(pos);
      if (h.baseOffset < this.baseOffset || h.lastOffset < h.baseOffset || h.baseOffset < next) return false;
      // The last index entry must point at the batch whose last offset it names.
      if (pos === start && offsetIndex.entries > 0 && h.lastOffset !== offsetIndex.lastOffset()) return false;
      if (h.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = h.maxTimestamp;
        this.offsetOfMaxTimestamp = h.lastOffset;
      }
      next = h.lastOffset + 1;
      pos += h.size;
    }
    if (timeIndex.entries > 0 && timeIndex.lastOffset() >= next) return false;
    if (txnIndexExists) {
      const txnIndex = await TransactionIndex.load(this.txnIndexPath, this.baseOffset, next);
      if (txnIndex === null) return false;
      this.txnIndex = txnIndex;
    }
    this.nextOffset = next;
    this.bytesSinceLastIndexEntry = this.size - start;
    if (this.size >= BATCH_HEADER_SIZE) {
      const first = r.has(0, BATCH_HEADER_SIZE) ? r.slice(0, BATCH_HEADER_SIZE) : await this.readBytes(0, BATCH_HEADER_SIZE);
      this.rollingBasedTimestamp = readBatchHeader(first, 0).maxTimestamp;
    }
    return true;
  }

  /**
   * Scans every batch (length, magic, CRC32C, increasing offsets), rebuilds both indexes and
   * truncates the file after the last valid batch. Returns the number of bytes truncated. The
   * aborted-transaction index is emptied (its file removed): the log rebuilds it by replaying
   * producer state over the recovered segments. `onValidBatch` sees the header of each batch
   * kept, in order (the log re-assigns leader epochs from them, as Kafka's recovery does).
   */
  async recover(config: LogConfig, onValidBatch?: (header: BatchHeader) => void): Promise<number> {
    const max = maxIndexEntries(config);
    this.offsetIndex = new OffsetIndex(this.baseOffset, max.offset);
    this.timeIndex = new TimeIndex(this.baseOffset, max.time);
    await unlinkQuiet(this.txnIndexPath);
    this.txnIndex = new TransactionIndex(this.baseOffset);
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.rollingBasedTimestamp = null;
    this.bytesSinceLastIndexEntry = 0;
    this.nextOffset = this.baseOffset;
    const fileSize = this.size;
    const r = new ChunkReader(this, fileSize, SCAN_CHUNK);
    let pos = 0;
    let expected = this.baseOffset;
    scan: while (pos < fileSize) {
      // One round: a chunk from pos, at least the whole first batch when its length is sane.
      let len = Math.min(fileSize - pos, SCAN_CHUNK);
      if (fileSize - pos >= LOG_OVERHEAD) {
        await r.ensure(pos, LOG_OVERHEAD);
        const size = batchSize(r.slice(pos, LOG_OVERHEAD), 0);
        if (size >= BATCH_HEADER_SIZE && pos + size <= fileSize) len = Math.max(len, size);
      }
      await r.ensure(pos, len);
      const result = scanBatches(r.slice(pos, len));
      const roundStart = pos;
      for (const b of result.batches) {
        const lastOffset = b.header.baseOffset + b.header.lastOffsetDelta;
        if (b.header.baseOffset < expected || this.cannotHold(lastOffset)) break scan;
        this.indexBatch(pos, b.size, lastOffset, b.header.maxTimestamp, config.indexIntervalBytes);
        onValidBatch?.(b.header);
        expected = lastOffset + 1;
        pos += b.size;
      }
      if (result.error === null) continue;
      // A batch continuing past this chunk is read whole in the next round; anything else
      // (garbage, bad CRC, a torn batch at the end of the file) ends the valid part here.
      if (!(result.truncated && pos > roundStart && roundStart + len < fileSize)) break;
    }
    // As Kafka: a recovered segment's time index ends with its largest timestamp.
    this.onBecomeInactive();
    const truncated = fileSize - pos;
    if (truncated > 0) {
      await ftruncate(this.fd, pos);
      this.size = this.writtenSize = pos;
      this.dirty = true;
    }
    return truncated;
  }

  // ---------------------------------------------------------------- truncation, flush, close

  /**
   * Removes the batch holding `offset` (or the first one after it) and everything after it.
   * Requires every queued write of this segment to be done. Returns the base offset of the first
   * removed batch, or null when nothing was removed.
   */
  async truncateTo(offset: number): Promise<number | null> {
    const from = this.offsetIndex.lookup(offset);
    const { batch, maxTsBefore, offsetOfMaxTsBefore } = await this.findBatch(offset, from);
    if (batch === null) return null;
    const pos = batch.position;
    this.truncations++;
    await ftruncate(this.fd, pos);
    this.size = this.writtenSize = pos;
    this.dirty = true;
    this.clearCache();
    this.offsetIndex.truncateToPosition(pos);
    this.timeIndex.truncateToOffset(batch.baseOffset);
    this.txnIndex.truncateTo(batch.baseOffset);
    this.maxTimestamp = this.timeIndex.lastTimestamp();
    this.offsetOfMaxTimestamp = this.timeIndex.entries > 0 ? this.timeIndex.lastOffset() : -1;
    if (maxTsBefore > this.maxTimestamp) {
      this.maxTimestamp = maxTsBefore;
      this.offsetOfMaxTimestamp = offsetOfMaxTsBefore;
    }
    this.bytesSinceLastIndexEntry = pos - this.offsetIndex.lastPosition();
    this.nextOffset = batch.baseOffset;
    if (pos === 0) {
      this.rollingBasedTimestamp = null;
      this.bytesSinceLastIndexEntry = 0;
    }
    return batch.baseOffset;
  }

  clearCache(): void {
    this.cBufs = [];
    this.cPos = [];
    this.cBase = [];
    this.cLast = [];
    this.cHead = 0;
    this.cBytes = 0;
  }

  /** fsync the .log (if written since the last flush) and persist both indexes. */
  /**
   * fsyncs the `.log` file only. Enough to make appended batches durable: after an unclean
   * shutdown, recovery rebuilds the indexes of every segment from the recovery point on.
   */
  async flushLog(): Promise<void> {
    if (this.deleted || !this.dirty) return;
    this.dirty = false;
    await fsync(this.fd);
  }

  async flush(): Promise<void> {
    await this.flushLog();
    // Renamed for deletion meanwhile: writing the indexes now would leave orphans behind.
    if (this.deleted) return;
    await Promise.all([
      this.offsetIndex.persist(this.indexPath),
      this.timeIndex.persist(this.timeIndexPath),
      this.txnIndex.persist(this.txnIndexPath),
    ]);
  }

  /** Keeps the fd open until `release()` (a queued write or a read in progress). */
  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0 && this.closeResolve) this.doClose();
  }

  /** Closes the fd once no read or write holds it. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      this.closeResolve = resolve;
    });
    if (this.refs === 0) this.doClose();
    return this.closing;
  }

  private doClose(): void {
    const resolve = this.closeResolve!;
    this.closeResolve = null;
    if (this.closed) return resolve();
    this.closed = true;
    closeFd(this.fd).then(resolve, resolve);
  }

  /** Renames the segment's files to `*.deleted` (Kafka's async delete); returns their new paths. */
  async renameForDeletion(): Promise<string[]> {
    this.deleted = true;
    const out: string[] = [];
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath, this.txnIndexPath]) {
      if (await renameQuiet(p, p + DELETED_SUFFIX)) out.push(p + DELETED_SUFFIX);
    }
    return out;
  }

  /** Closes and unlinks the files now (under their current names). */
  async deleteNow(): Promise<void> {
    this.deleted = true;
    await this.close();
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath, this.txnIndexPath]) {
      await unlinkQuiet(p);
      await unlinkQuiet(p + DELETED_SUFFIX);
    }
  }
}

interface Header {
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

/** Sequential access to a segment's bytes through one buffered chunk. */
class ChunkReader {
  private buf: Buffer = EMPTY;
  private start = 0;

  constructor(
    private readonly seg: LogSegment,
    private readonly end: number,
    private readonly chunkSize: number,
  ) {}

  has(pos: number, len: number): boolean {
    return pos >= this.start && pos + len <= this.start + this.buf.length;
  }

  /** Makes [pos, pos+len) available; false when it would extend past the end. */
  async ensure(pos: number, len: number): Promise<boolean> {
    if (this.has(pos, len)) return true;
    const end = Math.min(this.end, this.seg.size);
    if (pos + len > end || len <= 0) return false;
    const size = Math.min(end - pos, Math.max(len, this.chunkSize));
    this.buf = await this.seg.readBytes(pos, size);
    this.start = pos;
    return true;
  }

  header(pos: number): Header {
    const h = readBatchHeader(this.buf, pos - this.start);
    const size = h.batchLength + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) {
      throw new KafkaStorageError(`corrupt batch header at position ${pos} of segment ${this.seg.baseOffset}`);
    }
    return { size, baseOffset: h.baseOffset, lastOffset: h.baseOffset + h.lastOffsetDelta, maxTimestamp: h.maxTimestamp };
  }

  slice(pos: number, len: number): Buffer {
    return this.buf.subarray(pos - this.start, pos - this.start + len);
  }

  /** The loaded chunk from `pos` on, as (buffer, offset of pos in it). */
  view(pos: number): { buf: Buffer; offset: number } {
    return { buf: this.buf, offset: pos - this.start };
  }
}
