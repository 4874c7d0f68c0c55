// The sparse offset index of one segment (`<baseOffset>.index`), as Kafka's OffsetIndex.
//
// On-disk format: a sequence of 8-byte entries, big-endian, no header, no checksum:
//   int32 relativeOffset   lastOffset of an indexed batch minus the segment's base offset
//   int32 position         byte position of that batch in the segment's .log file
// Entries are strictly increasing in both fields. One entry is added when more than
// index.interval.bytes of log were appended since the previous entry, so the index is sparse:
// to find an offset, take the last entry with relativeOffset ≤ target and scan batch headers
// forward from its position. The file is single-writer and can always be rebuilt from the .log:
// it is rebuilt during recovery when it is missing or fails the sanity check.
//
// In memory the entries live in two growable Int32Arrays; lookups never touch the file.

import { readIndexFile, writeIndexFile } from './index-file.js';
import { countAtMost, countBelow } from './sorted.js';

export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex {
  private rel: Int32Array;
  private pos: Int32Array;
  private n = 0;
  /** Entries [0, persisted) are in the file. */
  private persisted = 0;
  /** The file must be rewritten (it has entries that were truncated away, or does not exist). */
  private rewrite = true;
  /** Bumped by every truncation below `persisted`, so a persist racing with it records nothing. */
  private generation = 0;

  constructor(readonly baseOffset: number, readonly maxEntries: number, capacity = 16) {
    this.rel = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
  }

  get entries(): number {
    return this.n;
  }

  isFull(): boolean {
    return this.n >= this.maxEntries;
  }

  /** Absolute offset of entry i. */
  offsetAt(i: number): number {
    return this.baseOffset + this.rel[i]!;
  }

  positionAt(i: number): number {
    return this.pos[i]!;
  }

  lastOffset(): number {
    return this.n === 0 ? this.baseOffset : this.baseOffset + this.rel[this.n - 1]!;
  }

  lastPosition(): number {
    return this.n === 0 ? 0 : this.pos[this.n - 1]!;
  }

  /** Adds an entry (offset = the batch's last offset, position = the batch's start). */
  append(offset: number, position: number): void {
    const rel = offset - this.baseOffset;
    if (this.n > 0 && (rel <= this.rel[this.n - 1]! || position <= this.pos[this.n - 1]!)) {
      throw new Error(`offset index entries must increase: (${offset}, ${position}) after (${this.lastOffset()}, ${this.lastPosition()})`);
    }
    if (this.n === this.rel.length) this.grow();
    this.rel[this.n] = rel;
    this.pos[this.n] = position;
    this.n++;
  }

  /** Position to start scanning from for `offset`: the entry with the largest offset ≤ offset, or 0. */
  lookup(offset: number): number {
    const i = this.floor(offset - this.baseOffset);
    return i < 0 ? 0 : this.pos[i]!;
  }

  /** Index of the last entry with relativeOffset ≤ rel, or -1. */
  private floor(rel: number): number {
    return countAtMost(this.rel, this.n, rel) - 1;
  }

  /** Drops the entries whose position is ≥ position (the log was truncated there). */
  truncateToPosition(position: number): void {
    this.setCount(countBelow(this.pos, this.n, position));
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
    const cap = this.rel.length * 2;
    const rel = new Int32Array(cap);
    const pos = new Int32Array(cap);
    rel.set(this.rel);
    pos.set(this.pos);
    this.rel = rel;
    this.pos = pos;
  }

  private persistChain: Promise<void> = Promise.resolve();

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
    const buf = Buffer.allocUnsafe((to - from) * OFFSET_INDEX_ENTRY_SIZE);
    for (let i = from; i < to; i++) {
      const o = (i - from) * OFFSET_INDEX_ENTRY_SIZE;
      buf.writeInt32BE(this.rel[i]!, o);
      buf.writeInt32BE(this.pos[i]!, o + 4);
    }
    const generation = this.generation;
    await writeIndexFile(file, buf, this.rewrite);
    if (generation === this.generation) {
      this.persisted = to;
      this.rewrite = false;
    }
  }

  /**
   * Loads an index file and sanity-checks it against the segment (entries strictly increasing,
   * positions inside the log). Returns null when the file is missing or inconsistent: rebuild it.
   */
  static async load(file: string, baseOffset: number, maxEntries: number, logSize: number): Promise<OffsetIndex | null> {
    const bytes = await readIndexFile(file);
    if (bytes === null || bytes.length % OFFSET_INDEX_ENTRY_SIZE !== 0) return null;
    const n = bytes.length / OFFSET_INDEX_ENTRY_SIZE;
    const idx = new OffsetIndex(baseOffset, maxEntries, Math.max(16, n));
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = bytes.readInt32BE(i * 8);
      const pos = bytes.readInt32BE(i * 8 + 4);
      if (rel <= prevRel || pos <= prevPos || rel < 0 || pos >= logSize) return null;
      idx.rel[i] = rel;
      idx.pos[i] = pos;
      prevRel = rel;
      prevPos = pos;
    }
    idx.n = n;
    idx.persisted = n;
    idx.rewrite = false;
    return idx;
  }
}
