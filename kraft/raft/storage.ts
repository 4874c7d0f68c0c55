/**
 * The persisted log as the Raft core reads it, and an in-memory implementation.
 *
 * The core never writes storage: it hands the driver a `Ready` whose persistence part the
 * driver applies, in this order, before calling `advance()`:
 *
 *   1. `snapshot`   install: store it, drop every entry, the log now starts (and ends) at
 *                   `snapshot.id.endOffset`; load the application's state from it;
 *   2. `truncateTo` drop entries with offset ≥ truncateTo;
 *   3. `entries`    append (the first one's offset is the current end offset);
 *   4. `compaction` store this application snapshot and drop entries below its end offset.
 *
 * A driver backs `RaftStorage` with whatever it persisted (e.g. the `__cluster_metadata-0`
 * segment files plus an in-memory index of entry epochs); `MemoryRaftStorage` is the reference.
 */
import { IllegalStateError } from './errors.js';
import type { Entry, Snapshot } from './types.js';

export interface RaftStorage {
  /** The snapshot the log starts after (`null`: the log starts at offset 0). */
  snapshot(): Snapshot | null;
  /** Offset after the last entry. */
  endOffset(): number;
  /** The entry at `offset`, for `snapshot end (or 0) ≤ offset < endOffset()`. */
  entryAt(offset: number): Entry;
}

/** What a `Ready` asks to persist (see the order above). */
export interface LogChanges {
  readonly snapshot: Snapshot | null;
  readonly truncateTo: number | null;
  readonly entries: readonly Entry[];
  readonly compaction: Snapshot | null;
}

export function startOffsetOf(s: RaftStorage): number {
  return s.snapshot()?.id.endOffset ?? 0;
}

export class MemoryRaftStorage implements RaftStorage {
  private snap: Snapshot | null = null;
  private entries: Entry[] = [];

  snapshot(): Snapshot | null {
    return this.snap;
  }

  startOffset(): number {
    return this.snap?.id.endOffset ?? 0;
  }

  endOffset(): number {
    return this.startOffset() + this.entries.length;
  }

  entryAt(offset: number): Entry {
    const e = this.entries[offset - this.startOffset()];
    if (e === undefined) throw new RangeError(`offset ${offset} is outside [${this.startOffset()}, ${this.endOffset()})`);
    return e;
  }

  /** Every stored entry, in order. */
  all(): readonly Entry[] {
    return this.entries;
  }

  /** Applies a Ready's changes in the documented order. */
  persist(changes: LogChanges): void {
    if (changes.snapshot !== null) this.installSnapshot(changes.snapshot);
    if (changes.truncateTo !== null) this.truncate(changes.truncateTo);
    this.append(changes.entries);
    if (changes.compaction !== null) this.compact(changes.compaction);
  }

  installSnapshot(s: Snapshot): void {
    this.snap = s;
    this.entries = [];
  }

  truncate(to: number): void {
    if (to < this.startOffset()) throw new IllegalStateError(`truncate to ${to} below the log start ${this.startOffset()}`);
    if (to < this.endOffset()) this.entries.length = to - this.startOffset();
  }

  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.offset !== this.endOffset()) {
        throw new IllegalStateError(`append at offset ${e.offset} but the log ends at ${this.endOffset()}`);
      }
      this.entries.push(e);
    }
  }

  compact(s: Snapshot): void {
    const start = this.startOffset();
    if (s.id.endOffset < start || s.id.endOffset > this.endOffset()) {
      throw new IllegalStateError(`snapshot end ${s.id.endOffset} outside the log [${start}, ${this.endOffset()}]`);
    }
    this.entries = this.entries.slice(s.id.endOffset - start);
    this.snap = s;
  }

  /** An independent copy (tests). */
  clone(): MemoryRaftStorage {
    const c = new MemoryRaftStorage();
    c.snap = this.snap;
    c.entries = [...this.entries];
    return c;
  }
}
