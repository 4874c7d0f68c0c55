// The sparse time index of one segment (`<baseOffset>.timeindex`), as Kafka's TimeIndex.
//
// On-disk format: a sequence of 12-byte entries, big-endian, no header, no checksum:
//   int64 timestamp        the largest batch max-timestamp seen in the segment so far
//   int32 relativeOffset   lastOffset of the batch that first reached it, minus the segment's base offset
// An entry is added together with each offset-index entry when the max timestamp grew since the
// previous entry, and once more when the segment stops being active (roll, close), so the last
// entry carries the segment's largest timestamp. Timestamps are strictly increasing. Rebuilt from
// the .log during recovery when missing or inconsistent; single-writer.

import { readIndexFile, writeIndexFile } from './index-file.js';
import { countAtMost, countBelow } from './sorted.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex {
  private ts: Float64Array;
  private rel: Int32Array;
  private n = 0;
  private persisted = 0;
  private rewrite = true;
  private generation = 0;
  private persistChain: Promise<void> = Promise.resolve();

  constructor(readonly baseOffset: number, readonly maxEntries: number, capacity = 16) {
    this.ts = new Float64Array(capacity);
    this.rel = new Int32Array(capacity);
  }

  get entries(): number {
    return this.n;
  }

  isFull(): boolean {
    return this.n >= this.maxEntries;
  }

  /** Timestamp of the last entry, -1 when empty. */
  lastTimestamp(): number {
    return this.n === 0 ? -1 : this.ts[this.n - 1]!;
  }

  /** Offset of the last entry, the base offset when empty. */
  lastOffset(): number {
    return this.n === 0 ? this.baseOffset : this.baseOffset + this.rel[this.n - 1]!;
  }

  timestampAt(i: number): number {
    return this.ts[i]!;
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.rel[i]!;
  }

  /** Adds (timestamp, offset) if timestamp is larger than the last entry's (Kafka's maybeAppend). */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp <= this.lastTimestamp()) return;
    const rel = offset - this.baseOffset;
    if (this.n > 0 && rel < this.rel[this.n - 1]!) return;
    if (this.n === this.ts.length) this.grow();
    this.ts[this.n] = timestamp;
    this.rel[this.n] = rel;
    this.n++;
  }

  /**
   * The entry with the largest timestamp ≤ target: every batch before its offset has a smaller
   * or equal max timestamp. Returns the segment's base offset when there is none.
   */
  lookup(target: number): number {
    const ans = countAtMost(this.ts, this.n, target) - 1;
    return ans < 0 ? this.baseOffset : this.baseOffset + this.rel[ans]!;
  }

  /** Drops the entries whose offset is ≥ offset. */
  truncateToOffset(offset: number): void {
    this.setCount(countBelow(this.rel, this.n, offset - this.baseOffset));
  }

  clear(): void {
    this.setCount(0);
  }

  private setCount(n: number): void {
    if (n < this.n) {
      this.n = n;
      if (n < this.persisted) {
        this.persisted = n;
        this.rewrite = true;
        this.generation++;
      }
    }
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const ts = new Float64Array(cap);
    const rel = new Int32Array(cap);
    ts.set(this.ts);
    rel.set(this.rel);
    this.ts = ts;
    this.rel = rel;
  }

  /** Writes the entries added since the last persist (or the whole index after a truncation) and fsyncs. */
  persist(file: string): Promise<void> {
    const p = this.persistChain.then(() => this.persistNow(file));
    this.persistChain = p.catch(() => undefined);
    return p;
  }

  private async persistNow(file: string): Promise<void> {
    if (!this.rewrite && this.persisted === this.n) return;
    const from = this.rewrite ? 0 : this.persisted;
    const to = this.n;
    const buf = Buffer.allocUnsafe((to - from) * TIME_INDEX_ENTRY_SIZE);
    for (let i = from; i < to; i++) {
      const o = (i - from) * TIME_INDEX_ENTRY_SIZE;
      buf.writeBigInt64BE(BigInt(this.ts[i]!), o);
      buf.writeInt32BE(this.rel[i]!, o + 8);
    }
    const generation = this.generation;
    await writeIndexFile(file, buf, this.rewrite);
    if (generation === this.generation) {
      this.persisted = to;
      this.rewrite = false;
    }
  }

  /** Loads and sanity-checks a time index file; null when missing or inconsistent (rebuild it). */
  static async load(file: string, baseOffset: number, maxEntries: number): Promise<TimeIndex | null> {
    const bytes = await readIndexFile(file);
    if (bytes === null || bytes.length % TIME_INDEX_ENTRY_SIZE !== 0) return null;
    const n = bytes.length / TIME_INDEX_ENTRY_SIZE;
    const idx = new TimeIndex(baseOffset, maxEntries, Math.max(16, n));
    let prevTs = -Infinity;
    let prevRel = 0;
    for (let i = 0; i < n; i++) {
      const ts = Number(bytes.readBigInt64BE(i * TIME_INDEX_ENTRY_SIZE));
      const rel = bytes.readInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
      if (ts <= prevTs || rel < prevRel || rel < 0) return null;
      idx.ts[i] = ts;
      idx.rel[i] = rel;
      prevTs = ts;
      prevRel = rel;
    }
    idx.n = n;
    idx.persisted = n;
    idx.rewrite = false;
    return idx;
  }
}
