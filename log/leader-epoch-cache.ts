// Kafka's LeaderEpochFileCache: for one partition, the offset at which each leader epoch began,
// as (epoch, startOffset) entries strictly increasing in both. Followers ask the leader for the
// end offset of their latest epoch (OffsetForLeaderEpoch) to find where their log diverged, and
// consumers do the same to detect truncation after a leader change (KIP-101, KIP-279, KIP-320).
//
// File `leader-epoch-checkpoint` in the partition directory (Kafka's LeaderEpochCheckpointFile):
//   0                   version
//   <count>             number of entries
//   <epoch> <offset>    one line per entry, oldest first
// Written atomically (tmp file, fsync, rename, fsync of the directory). Writes are serialised
// and each writes the state at the moment it starts, so a burst of changes costs one or two
// writes; `flushed()` waits for every change made so far to be on disk. The file may hold stale
// entries after a crash (beyond the log end or below its start): the log trims them at open.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type pino from 'pino';
import { writeFileAtomic } from './checkpoint.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
/** OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH */
export const UNDEFINED_EPOCH = -1;
/** OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH_OFFSET */
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

export class LeaderEpochCheckpointFormatError extends Error {
  override readonly name = 'LeaderEpochCheckpointFormatError';
}

export function formatLeaderEpochCheckpoint(entries: readonly EpochEntry[]): string {
  let out = `0\n${entries.length}\n`;
  for (const e of entries) out += `${e.epoch} ${e.startOffset}\n`;
  return out;
}

const INT = /^-?\d+$/;

/** Parses the file; throws LeaderEpochCheckpointFormatError on anything but Kafka's version 0 format. */
export function parseLeaderEpochCheckpoint(text: string, file = LEADER_EPOCH_CHECKPOINT): EpochEntry[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== '0') throw new LeaderEpochCheckpointFormatError(`${file}: unsupported version ${JSON.stringify(lines[0] ?? '')}`);
  const count = INT.test(lines[1] ?? '') ? Number(lines[1]) : NaN;
  if (!Number.isSafeInteger(count) || count < 0 || lines.length !== count + 2) {
    throw new LeaderEpochCheckpointFormatError(`${file}: expected ${JSON.stringify(lines[1] ?? '')} entries, found ${Math.max(0, lines.length - 2)}`);
  }
  const entries: EpochEntry[] = [];
  for (let i = 2; i < lines.length; i++) {
    const parts = lines[i]!.trim().split(/\s+/);
    const epoch = parts.length === 2 && INT.test(parts[0]!) ? Number(parts[0]) : NaN;
    const startOffset = parts.length === 2 && INT.test(parts[1]!) ? Number(parts[1]) : NaN;
    // Kafka refuses negative entries too (EpochEntry validation in assign).
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset) || epoch < 0 || epoch > 0x7fffffff || startOffset < 0) {
      throw new LeaderEpochCheckpointFormatError(`${file}: malformed line ${i + 1}: ${JSON.stringify(lines[i])}`);
    }
    entries.push({ epoch, startOffset });
  }
  return entries;
}

export interface LeaderEpochCacheOptions {
  /** The partition directory; the file is `<dir>/leader-epoch-checkpoint`. */
  dir: string;
  logger: pino.Logger;
  /** A checkpoint write failed (the owner takes the log offline). */
  onWriteError(err: unknown): void;
}

/** How `load` found the file. */
export type CheckpointLoadStatus = 'loaded' | 'missing' | 'corrupt';

export class LeaderEpochCache {
  readonly file: string;
  private readonly logger: pino.Logger;
  private readonly onWriteError: (err: unknown) => void;
  /** Sorted by epoch and by start offset; replaced, never mutated, so `entries()` snapshots stay valid. */
  private list: readonly EpochEntry[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  private writeQueued = false;
  /** The directory is going away: no more writes. */
  private dropped = false;

  constructor(opts: LeaderEpochCacheOptions) {
    this.file = path.join(opts.dir, LEADER_EPOCH_CHECKPOINT);
    this.logger = opts.logger;
    this.onWriteError = opts.onWriteError;
  }

  /**
   * Reads the checkpoint in `opts.dir`. A missing file starts empty; so does an unreadable one
   * (with a warning; the file is rewritten from the empty state). Entries are added through
   * `assign`, as Kafka does, so a file that is not monotonic is repaired. Other I/O errors throw.
   */
  static async load(opts: LeaderEpochCacheOptions): Promise<{ cache: LeaderEpochCache; status: CheckpointLoadStatus }> {
    const cache = new LeaderEpochCache(opts);
    let text: string;
    try {
      text = await fsp.readFile(cache.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { cache, status: 'missing' };
      throw err;
    }
    let entries: EpochEntry[];
    try {
      entries = parseLeaderEpochCheckpoint(text, cache.file);
    } catch (err) {
      if (!(err instanceof LeaderEpochCheckpointFormatError)) throw err;
      opts.logger.warn({ file: cache.file, err: err.message }, 'ignoring corrupt leader epoch checkpoint; starting with an empty leader epoch cache');
      cache.scheduleWrite();
      return { cache, status: 'corrupt' };
    }
    let repaired = false;
    for (const e of entries) {
      const before = cache.list;
      cache.assignEntry(e.epoch, e.startOffset);
      if (cache.list.length !== before.length + 1) repaired = true;
    }
    if (repaired) cache.scheduleWrite();
    return { cache, status: 'loaded' };
  }

  /** The latest epoch, UNDEFINED_EPOCH (-1) when there is none. */
  get latestEpoch(): number {
    return this.list.length === 0 ? UNDEFINED_EPOCH : this.list[this.list.length - 1]!.epoch;
  }

  latestEntry(): EpochEntry | undefined {
    return this.list[this.list.length - 1];
  }

  earliestEntry(): EpochEntry | undefined {
    return this.list[0];
  }

  /** A snapshot of the entries, oldest first. */
  entries(): readonly EpochEntry[] {
    return this.list;
  }

  get isEmpty(): boolean {
    return this.list.length === 0;
  }

  /**
   * Kafka's assign: `epoch` starts at `startOffset`. Nothing changes when `epoch` is the latest
   * epoch and does not move its start earlier. Otherwise every entry at the end whose epoch is ≥
   * `epoch` or whose start offset is ≥ `startOffset` is removed first (so entries stay strictly
   * increasing in both) and the new one appended. Returns whether the cache changed (the file is
   * rewritten then). Negative values are a caller bug (Kafka: IllegalArgumentException).
   */
  assign(epoch: number, startOffset: number): boolean {
    if (!this.assignEntry(epoch, startOffset)) return false;
    this.scheduleWrite();
    return true;
  }

  private assignEntry(epoch: number, startOffset: number): boolean {
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset) || epoch < 0 || startOffset < 0) {
      throw new RangeError(`invalid leader epoch entry (epoch ${epoch}, start offset ${startOffset})`);
    }
    const latest = this.latestEntry();
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return false;
    let keep = this.list.length;
    while (keep > 0) {
      const e = this.list[keep - 1]!;
      if (e.epoch < epoch && e.startOffset < startOffset) break;
      keep--;
    }
    const removed = this.list.slice(keep);
    this.list = [...this.list.slice(0, keep), { epoch, startOffset }];
    // Removing the entry of an epoch that never got data (same start offset) is expected; more is worth a warning.
    if (removed.length > 1 || (removed.length === 1 && removed[0]!.startOffset !== startOffset)) {
      this.logger.warn({ epoch, startOffset, removed }, 'new leader epoch entry truncated conflicting entries');
    }
    return true;
  }

  /**
   * Kafka's endOffsetFor: the largest epoch ≤ `requestedEpoch` and the end offset of that epoch
   * (the start offset of the first epoch after it, or `logEndOffset` when `requestedEpoch` is
   * the latest epoch).
   * - requestedEpoch = UNDEFINED_EPOCH, or above the latest epoch (also: no entries):
   *   (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
   * - requestedEpoch below the first epoch: (requestedEpoch, start offset of the first epoch) —
   *   the earlier data is gone; the follower replicates from the leader's start.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH) return undefinedAnswer;
    const list = this.list;
    if (list.length > 0 && list[list.length - 1]!.epoch === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    // First entry with epoch > requestedEpoch.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.epoch > requestedEpoch) hi = mid;
      else lo = mid + 1;
    }
    const higher = list[lo];
    if (higher === undefined) return undefinedAnswer;
    const floor = list[lo - 1];
    if (floor === undefined) return { epoch: requestedEpoch, endOffset: higher.startOffset };
    return { epoch: floor.epoch, endOffset: higher.startOffset };
  }

  /** Removes every entry whose start offset is ≥ `endOffset` (the log was truncated to it). */
  truncateFromEnd(endOffset: number): boolean {
    const list = this.list;
    if (endOffset < 0 || list.length === 0 || list[list.length - 1]!.startOffset < endOffset) return false;
    let keep = list.length;
    while (keep > 0 && list[keep - 1]!.startOffset >= endOffset) keep--;
    this.list = list.slice(0, keep);
    this.logger.debug({ endOffset, removed: list.slice(keep) }, 'truncated leader epoch cache from the end');
    this.scheduleWrite();
    return true;
  }

  /**
   * The log now starts at `startOffset`: entries starting at or before it are removed, and the
   * last of them comes back starting at `startOffset` (its epoch still covers the first offsets).
   */
  truncateFromStart(startOffset: number): boolean {
    const list = this.list;
    let drop = 0;
    while (drop < list.length && list[drop]!.startOffset <= startOffset) drop++;
    if (drop === 0) return false;
    const last = list[drop - 1]!;
    if (drop === 1 && last.startOffset === startOffset) return false;
    this.list = [{ epoch: last.epoch, startOffset }, ...list.slice(drop)];
    this.logger.debug({ startOffset, removed: list.slice(0, drop) }, 'truncated leader epoch cache from the start');
    this.scheduleWrite();
    return true;
  }

  /** Removes every entry and writes the empty file; resolves once it is written. */
  clearAndFlush(): Promise<void> {
    this.list = [];
    this.scheduleWrite();
    return this.flushed();
  }

  /** Resolves when every change made so far is in the file (or its write failed and was reported). Never rejects. */
  flushed(): Promise<void> {
    return this.writeChain;
  }

  /** The directory is being deleted or moved: pending and later writes are skipped. */
  drop(): Promise<void> {
    this.dropped = true;
    return this.writeChain;
  }

  private scheduleWrite(): void {
    if (this.writeQueued || this.dropped) return;
    this.writeQueued = true;
    this.writeChain = this.writeChain.then(async () => {
      this.writeQueued = false;
      if (this.dropped) return;
      // The state when the write starts: covers every change scheduled before it.
      const text = formatLeaderEpochCheckpoint(this.list);
      try {
        await writeFileAtomic(this.file, text);
      } catch (err) {
        if (this.dropped) return;
        this.onWriteError(err);
      }
    });
  }
}
