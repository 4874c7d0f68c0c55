// The aborted-transaction index of one segment (`<baseOffset>.txnindex`), as Kafka's
// TransactionIndex: one entry per transaction whose ABORT marker was written in this segment.
// read_committed fetches use it to tell consumers which producers' records in the fetched range
// belong to aborted transactions.
//
// On-disk format: Kafka's, 34-byte entries back to back, big-endian, no header:
//   version           int16   0
//   producerId        int64
//   firstOffset       int64   first offset of the transaction
//   lastOffset        int64   offset of the ABORT marker
//   lastStableOffset  int64   the LSO right after the marker (first open transaction of another
//                             producer, else lastOffset + 1); bounds how far a search must go
// Entries are in marker order (lastOffset strictly increasing). Transactions may start in
// earlier segments, so rebuilding this index during recovery needs the producer state as of the
// segment's start: the log replays batches from a snapshot to do it.
//
// In memory like the other indexes: the file is only read at load, appended to (or rewritten
// after a truncation) when the segment is flushed, and created only once there is an entry.

import { readIndexFile, writeIndexFile } from './index-file.js';

export const ABORTED_TXN_SIZE = 34;
const ABORTED_TXN_VERSION = 0;

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  lastStableOffset: number;
}

export class TransactionIndex {
  private entries: AbortedTxn[] = [];
  /** Entries [0, persisted) are in the file. */
  private persisted = 0;
  /** The file must be rewritten from scratch (truncated below `persisted`). */
  private rewrite = false;
  private fileExists = false;
  /** Bumped by truncations below `persisted`, so a persist racing with one records nothing. */
  private generation = 0;
  private persistChain: Promise<void> = Promise.resolve();

  constructor(readonly baseOffset: number) {}

  get size(): number {
    return this.entries.length;
  }

  all(): readonly AbortedTxn[] {
    return this.entries;
  }

  /** Adds an entry; its lastOffset must be above the previous one's. */
  append(txn: AbortedTxn): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && txn.lastOffset <= last.lastOffset) {
      throw new Error(`aborted transactions must be appended in marker order: ${txn.lastOffset} after ${last.lastOffset}`);
    }
    this.entries.push({ ...txn });
  }

  /** Removes the entries whose marker is at or after `offset`. */
  truncateTo(offset: number): void {
    let n = this.entries.length;
    while (n > 0 && this.entries[n - 1]!.lastOffset >= offset) n--;
    this.setCount(n);
  }

  reset(): void {
    this.setCount(0);
  }

  private setCount(n: number): void {
    if (n >= this.entries.length) return;
    this.entries.length = n;
    if (n < this.persisted) {
      this.persisted = n;
      this.rewrite = true;
      this.generation++;
    }
  }

  /**
   * Kafka's collectAbortedTxns: the aborted transactions overlapping [fetchOffset,
   * upperBoundOffset), and whether the search is complete (an entry's LSO reached the upper
   * bound, so no later segment can add one).
   */
  collect(fetchOffset: number, upperBoundOffset: number): { aborted: AbortedTxn[]; complete: boolean } {
    const aborted: AbortedTxn[] = [];
    for (const t of this.entries) {
      if (t.lastOffset >= fetchOffset && t.firstOffset < upperBoundOffset) aborted.push(t);
      if (t.lastStableOffset >= upperBoundOffset) return { aborted, complete: true };
    }
    return { aborted, complete: false };
  }

  /** Writes the entries added since the last persist (or all of them after a truncation) and fsyncs. */
  persist(file: string): Promise<void> {
    const p = this.persistChain.then(() => this.persistNow(file));
    this.persistChain = p.catch(() => undefined);
    return p;
  }

  private async persistNow(file: string): Promise<void> {
    if (!this.rewrite && this.persisted === this.entries.length) return;
    // Never create a file for a segment without aborted transactions.
    if (!this.fileExists && this.entries.length === 0) {
      this.rewrite = false;
      this.persisted = 0;
      return;
    }
    const rewrite = this.rewrite || !this.fileExists;
    const from = rewrite ? 0 : this.persisted;
    const to = this.entries.length;
    const buf = encodeEntries(this.entries.slice(from, to));
    const generation = this.generation;
    await writeIndexFile(file, buf, rewrite);
    this.fileExists = true;
    if (generation === this.generation) {
      this.persisted = to;
      this.rewrite = false;
    }
  }

  /**
   * Loads an index file and checks it against the segment (versions, increasing marker offsets
   * within [baseOffset, nextOffset), firstOffset ≤ lastOffset). A missing file is an empty index;
   * null when the file is inconsistent (the segment must be recovered).
   */
  static async load(file: string, baseOffset: number, nextOffset: number): Promise<TransactionIndex | null> {
    const idx = new TransactionIndex(baseOffset);
    const bytes = await readIndexFile(file);
    if (bytes === null) return idx;
    if (bytes.length % ABORTED_TXN_SIZE !== 0) return null;
    let prev = -1;
    for (let pos = 0; pos < bytes.length; pos += ABORTED_TXN_SIZE) {
      if (bytes.readInt16BE(pos) !== ABORTED_TXN_VERSION) return null;
      const t: AbortedTxn = {
        producerId: Number(bytes.readBigInt64BE(pos + 2)),
        firstOffset: Number(bytes.readBigInt64BE(pos + 10)),
        lastOffset: Number(bytes.readBigInt64BE(pos + 18)),
        lastStableOffset: Number(bytes.readBigInt64BE(pos + 26)),
      };
      if (t.lastOffset < baseOffset || t.lastOffset >= nextOffset || t.lastOffset <= prev || t.firstOffset > t.lastOffset || t.firstOffset < 0) {
        return null;
      }
      prev = t.lastOffset;
      idx.entries.push(t);
    }
    idx.persisted = idx.entries.length;
    idx.fileExists = true;
    return idx;
  }
}

export function encodeEntries(entries: readonly AbortedTxn[]): Buffer {
  const buf = Buffer.allocUnsafe(entries.length * ABORTED_TXN_SIZE);
  let pos = 0;
  for (const t of entries) {
    buf.writeInt16BE(ABORTED_TXN_VERSION, pos);
    buf.writeBigInt64BE(BigInt(t.producerId), pos + 2);
    buf.writeBigInt64BE(BigInt(t.firstOffset), pos + 10);
    buf.writeBigInt64BE(BigInt(t.lastOffset), pos + 18);
    buf.writeBigInt64BE(BigInt(t.lastStableOffset), pos + 26);
    pos += ABORTED_TXN_SIZE;
  }
  return buf;
}
