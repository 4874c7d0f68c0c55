/**
 * The core's view of its log: the driver's persisted `RaftStorage` plus changes not persisted
 * yet (etcd's "unstable" part). Changes live in two overlays: `inflight` (handed out in the
 * outstanding `Ready`) and `pending` (made since). `advance()` drops `inflight` because storage
 * now holds it.
 *
 * Also the epoch arithmetic of Kafka's `ReplicatedLog`: `endOffsetForEpoch` (the leader epoch
 * cache lookup, by binary search since epochs never decrease along a log),
 * `validateOffsetAndEpoch` (what a leader answers a fetch with) and the follower's truncation
 * point for a diverging epoch.
 */
import { IllegalStateError } from './errors.js';
import { startOffsetOf, type LogChanges, type RaftStorage } from './storage.js';
import { entrySize, type Entry, type OffsetAndEpoch, type Snapshot, type SnapshotId } from './types.js';

/** Storage seen through unpersisted changes (see `storage.ts` for their order). */
class Overlay implements RaftStorage {
  /** A snapshot installed from the leader (replaces everything below). */
  installed: Snapshot | null = null;
  compaction: Snapshot | null = null;
  truncateTo: number | null = null;
  entries: Entry[] = [];

  constructor(public base: RaftStorage) {}

  /** The latest snapshot: the one the log now starts after. */
  snapshot(): Snapshot | null {
    return this.compaction ?? this.installed ?? this.base.snapshot();
  }

  private baseEnd(): number {
    if (this.installed !== null) return this.installed.id.endOffset;
    const end = this.base.endOffset();
    return this.truncateTo === null ? end : Math.min(end, this.truncateTo);
  }

  endOffset(): number {
    return this.baseEnd() + this.entries.length;
  }

  entryAt(offset: number): Entry {
    const baseEnd = this.baseEnd();
    if (offset >= baseEnd) {
      const e = this.entries[offset - baseEnd];
      if (e === undefined) throw new RangeError(`offset ${offset} is past the log end ${this.endOffset()}`);
      return e;
    }
    if (this.installed !== null) throw new RangeError(`offset ${offset} is below the installed snapshot`);
    return this.base.entryAt(offset);
  }

  isEmpty(): boolean {
    return this.installed === null && this.compaction === null && this.truncateTo === null && this.entries.length === 0;
  }

  append(e: Entry): void {
    this.entries.push(e);
  }

  truncate(to: number): void {
    const baseEnd = this.baseEnd();
    if (to >= baseEnd) {
      this.entries.length = Math.min(this.entries.length, to - baseEnd);
    } else {
      this.truncateTo = to;
      this.entries = [];
    }
  }

  install(s: Snapshot): void {
    this.installed = s;
    this.compaction = null;
    this.truncateTo = null;
    this.entries = [];
  }

  changes(): LogChanges {
    return { snapshot: this.installed, truncateTo: this.truncateTo, entries: this.entries, compaction: this.compaction };
  }
}

export type FetchValidation =
  | { readonly kind: 'valid' }
  | { readonly kind: 'diverging'; readonly endOffsetAndEpoch: OffsetAndEpoch }
  | { readonly kind: 'snapshot'; readonly snapshotId: SnapshotId };

const ZERO_ID: SnapshotId = { endOffset: 0, epoch: 0 };

export class RaftLog {
  private inflight: Overlay | null = null;
  private pending: Overlay;

  constructor(private readonly storage: RaftStorage) {
    this.pending = new Overlay(storage);
  }

  startOffset(): number {
    return startOffsetOf(this.pending);
  }

  endOffset(): number {
    return this.pending.endOffset();
  }

  /** The latest snapshot (the one the log starts after), persisted or not. */
  snapshot(): Snapshot | null {
    return this.pending.snapshot();
  }

  /** Id of what precedes the first entry: the snapshot, or (0, 0) for a log from offset 0. */
  baseId(): SnapshotId {
    return this.pending.snapshot()?.id ?? ZERO_ID;
  }

  epochAt(offset: number): number {
    return this.pending.entryAt(offset).epoch;
  }

  entryAt(offset: number): Entry {
    return this.pending.entryAt(offset);
  }

  lastEpoch(): number {
    const end = this.endOffset();
    return end > this.startOffset() ? this.epochAt(end - 1) : this.baseId().epoch;
  }

  /** The log end offset and the epoch of the last entry (what Vote and Fetch carry). */
  endOffsetAndEpoch(): OffsetAndEpoch {
    return { offset: this.endOffset(), epoch: this.lastEpoch() };
  }

  /** Entries from `from` (≥ start) until the end or `maxBytes` (at least one entry). */
  read(from: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    const end = this.endOffset();
    let bytes = 0;
    for (let o = from; o < end; o++) {
      const e = this.entryAt(o);
      if (out.length > 0 && bytes + entrySize(e) > maxBytes) break;
      out.push(e);
      bytes += entrySize(e);
    }
    return out;
  }

  append(e: Entry): void {
    if (e.offset !== this.endOffset()) {
      throw new IllegalStateError(`append at offset ${e.offset} but the log ends at ${this.endOffset()}`);
    }
    if (e.epoch < this.lastEpoch()) {
      throw new IllegalStateError(`append of epoch ${e.epoch} after epoch ${this.lastEpoch()}`);
    }
    this.pending.append(e);
  }

  truncate(to: number): void {
    if (to < this.startOffset() || to > this.endOffset()) {
      throw new IllegalStateError(`truncate to ${to} outside the log [${this.startOffset()}, ${this.endOffset()}]`);
    }
    this.pending.truncate(to);
  }

  installSnapshot(s: Snapshot): void {
    this.pending.install(s);
  }

  /** Records an application snapshot: the log will start at its end offset. */
  compact(s: Snapshot): void {
    if (s.id.endOffset <= this.startOffset() || s.id.endOffset > this.endOffset()) {
      throw new IllegalStateError(`snapshot end ${s.id.endOffset} outside (${this.startOffset()}, ${this.endOffset()}]`);
    }
    this.pending.compaction = s;
  }

  hasPendingChanges(): boolean {
    return !this.pending.isEmpty();
  }

  /** Moves the pending changes to the outstanding Ready. */
  takePendingChanges(): LogChanges {
    if (this.inflight !== null) throw new IllegalStateError('a Ready is already outstanding');
    const taken = this.pending;
    this.inflight = taken;
    this.pending = new Overlay(taken);
    return taken.changes();
  }

  /** The outstanding Ready's changes are in storage now. */
  persisted(): void {
    this.inflight = null;
    this.pending.base = this.storage;
  }

  /**
   * End of the prefix of this log that is durable and will stay (entries below it are in storage
   * and no pending change removes them). A leader counts only this for the high watermark.
   */
  durableEndOffset(): number {
    let d = this.storage.endOffset();
    for (const o of [this.inflight, this.pending]) {
      if (o === null) continue;
      if (o.installed !== null) return startOffsetOf(this.storage);
      if (o.truncateTo !== null) d = Math.min(d, o.truncateTo);
    }
    return Math.min(d, this.endOffset());
  }

  /**
   * Kafka's `endOffsetForEpoch`: the largest epoch ≤ `epoch` in this log and the offset where it
   * ends (the start of the next epoch, or the log end). The snapshot (or the empty log at 0,
   * epoch 0) counts as an epoch ending at the log start. (-1, -1) if the log has nothing ≤ `epoch`.
   */
  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    const start = this.startOffset();
    let lo = start;
    let hi = this.endOffset();
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.epochAt(mid) > epoch) hi = mid;
      else lo = mid + 1;
    }
    if (lo > start) return { offset: lo, epoch: this.epochAt(lo - 1) };
    const base = this.baseId();
    if (base.epoch <= epoch) return { offset: base.endOffset, epoch: base.epoch };
    return { offset: -1, epoch: -1 };
  }

  /** Kafka's `validateOffsetAndEpoch`: how a leader answers Fetch(offset, lastFetchedEpoch). */
  validateOffsetAndEpoch(offset: number, epoch: number): FetchValidation {
    const start = this.startOffset();
    if (start === 0 && offset === 0) return { kind: 'valid' };
    const snap = this.snapshot();
    if (snap !== null && (offset < start || (offset === start && epoch !== snap.id.epoch) || epoch < snap.id.epoch)) {
      return { kind: 'snapshot', snapshotId: snap.id };
    }
    const eo = this.endOffsetForEpoch(epoch);
    if (eo.epoch !== epoch || eo.offset < offset) return { kind: 'diverging', endOffsetAndEpoch: eo };
    return { kind: 'valid' };
  }

  /**
   * Kafka's `truncateToEndOffset`: where a follower truncates when the leader says its log for
   * `diverging.epoch` ends at `diverging.offset`. Always below this log's end when the leader's
   * answer is honest; -1 if this log has nothing at or before that epoch.
   */
  truncationOffsetFor(diverging: OffsetAndEpoch): number {
    const local = this.endOffsetForEpoch(diverging.epoch);
    if (local.epoch === diverging.epoch) return Math.min(local.offset, diverging.offset);
    return local.offset;
  }
}
