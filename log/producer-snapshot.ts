// Producer state snapshots: `<20-digit offset>.snapshot` files in a partition directory, as
// Kafka names them. A snapshot at offset N holds the producer state after every batch below N
// (N is the log end offset when it was taken: at each segment roll, at clean shutdown, after
// loading). At start-up and after truncation the log loads the latest valid snapshot ≤ its end
// and replays batch headers from there.
//
// File format (our own, version 1; all integers big-endian):
//
//   offset  size  field
//        0     2  version            int16   1
//        2     4  crc                uint32  CRC32C of bytes [6, end of file)
//        6     8  offset             int64   the offset the state is at (the file name's number)
//       14     4  producerCount      int32
//       18     …  producers, each:
//                   producerId             int64
//                   producerEpoch          int16
//                   coordinatorEpoch       int32
//                   lastTimestamp          int64
//                   currentTxnFirstOffset  int64   -1 = no open transaction
//                   batchCount             int8    0..5
//                   batches (oldest first), each 32 bytes:
//                     firstSeq int32 | lastSeq int32 | firstOffset int64 | lastOffset int64 | timestamp int64
//
// Unlike Kafka's format (one batch per producer) all 5 retained batches are kept, so a retry of
// any of them is still recognized after a restart. A file that is short, has another version,
// a bad CRC, an offset that does not match its name or trailing bytes is corrupt: the caller
// deletes it and falls back to an older snapshot or the log.
//
// Files are written to `<name>.tmp` and renamed into place; only the clean-shutdown snapshot is
// fsynced (a torn one fails its CRC and is skipped).

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { crc32c } from '../wire/crc32c.js';
import { offsetPrefix } from './file-names.js';
import { unlinkQuiet } from './fs-util.js';
import { NUM_BATCHES_TO_RETAIN, type BatchMetadata, type ProducerStateEntry } from './producer-state.js';

export const SNAPSHOT_SUFFIX = '.snapshot';
export const SNAPSHOT_VERSION = 1;
const TMP_SUFFIX = '.tmp';
const SNAPSHOT_NAME = /^(\d{20})\.snapshot$/;
const HEADER_SIZE = 18;
const CRC_START = 6;
const ENTRY_FIXED_SIZE = 8 + 2 + 4 + 8 + 8 + 1;
const BATCH_SIZE = 32;

export class CorruptSnapshotError extends Error {
  override readonly name = 'CorruptSnapshotError';
}

export function snapshotFile(dir: string, offset: number): string {
  return path.join(dir, offsetPrefix(offset) + SNAPSHOT_SUFFIX);
}

/** The offset of a snapshot file name, or null for anything else. */
export function parseSnapshotFileName(name: string): number | null {
  const m = SNAPSHOT_NAME.exec(name);
  if (!m) return null;
  const offset = Number(m[1]);
  return Number.isSafeInteger(offset) ? offset : null;
}

function writeInt64(buf: Buffer, pos: number, v: number): number {
  buf.writeBigInt64BE(BigInt(v), pos);
  return pos + 8;
}

function readInt64(buf: Buffer, pos: number): number {
  const v = buf.readBigInt64BE(pos);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new CorruptSnapshotError(`int64 ${v} out of range`);
  return Number(v);
}

export function encodeSnapshot(offset: number, entries: readonly ProducerStateEntry[]): Buffer {
  let size = HEADER_SIZE;
  for (const e of entries) size += ENTRY_FIXED_SIZE + Math.min(e.batches.length, NUM_BATCHES_TO_RETAIN) * BATCH_SIZE;
  const buf = Buffer.alloc(size);
  buf.writeInt16BE(SNAPSHOT_VERSION, 0);
  let pos = writeInt64(buf, CRC_START, offset);
  pos = buf.writeInt32BE(entries.length, pos);
  for (const e of entries) {
    const batches = e.batches.slice(-NUM_BATCHES_TO_RETAIN);
    pos = writeInt64(buf, pos, e.producerId);
    pos = buf.writeInt16BE(e.producerEpoch, pos);
    pos = buf.writeInt32BE(e.coordinatorEpoch, pos);
    pos = writeInt64(buf, pos, e.lastTimestamp);
    pos = writeInt64(buf, pos, e.currentTxnFirstOffset);
    pos = buf.writeInt8(batches.length, pos);
    for (const b of batches) {
      pos = buf.writeInt32BE(b.firstSeq, pos);
      pos = buf.writeInt32BE(b.lastSeq, pos);
      pos = writeInt64(buf, pos, b.firstOffset);
      pos = writeInt64(buf, pos, b.lastOffset);
      pos = writeInt64(buf, pos, b.timestamp);
    }
  }
  buf.writeUInt32BE(crc32c(buf, CRC_START, buf.length), 2);
  return buf;
}

/** Decodes a snapshot; throws CorruptSnapshotError for anything but a well-formed file of this version. */
export function decodeSnapshot(buf: Buffer, expectedOffset?: number): { offset: number; entries: ProducerStateEntry[] } {
  if (buf.length < HEADER_SIZE) throw new CorruptSnapshotError(`snapshot of ${buf.length} bytes is shorter than its header`);
  const version = buf.readInt16BE(0);
  if (version !== SNAPSHOT_VERSION) throw new CorruptSnapshotError(`unknown snapshot version ${version}`);
  const stored = buf.readUInt32BE(2);
  const computed = crc32c(buf, CRC_START, buf.length);
  if (stored !== computed) throw new CorruptSnapshotError(`snapshot CRC mismatch: stored ${stored}, computed ${computed}`);
  const offset = readInt64(buf, CRC_START);
  if (expectedOffset !== undefined && offset !== expectedOffset) {
    throw new CorruptSnapshotError(`snapshot says offset ${offset}, its name ${expectedOffset}`);
  }
  const count = buf.readInt32BE(14);
  if (count < 0 || count * ENTRY_FIXED_SIZE > buf.length - HEADER_SIZE) throw new CorruptSnapshotError(`invalid producer count ${count}`);
  const entries: ProducerStateEntry[] = [];
  let pos = HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (pos + ENTRY_FIXED_SIZE > buf.length) throw new CorruptSnapshotError('snapshot ends inside a producer entry');
    const producerId = readInt64(buf, pos);
    const producerEpoch = buf.readInt16BE(pos + 8);
    const coordinatorEpoch = buf.readInt32BE(pos + 10);
    const lastTimestamp = readInt64(buf, pos + 14);
    const currentTxnFirstOffset = readInt64(buf, pos + 22);
    const n = buf.readInt8(pos + 30);
    pos += ENTRY_FIXED_SIZE;
    if (n < 0 || n > NUM_BATCHES_TO_RETAIN || pos + n * BATCH_SIZE > buf.length) throw new CorruptSnapshotError(`invalid batch count ${n}`);
    const batches: BatchMetadata[] = [];
    for (let j = 0; j < n; j++) {
      batches.push({
        firstSeq: buf.readInt32BE(pos),
        lastSeq: buf.readInt32BE(pos + 4),
        firstOffset: readInt64(buf, pos + 8),
        lastOffset: readInt64(buf, pos + 16),
        timestamp: readInt64(buf, pos + 24),
      });
      pos += BATCH_SIZE;
    }
    entries.push({ producerId, producerEpoch, coordinatorEpoch, lastTimestamp, currentTxnFirstOffset, batches });
  }
  if (pos !== buf.length) throw new CorruptSnapshotError(`${buf.length - pos} trailing bytes after the producer entries`);
  return { offset, entries };
}

/**
 * Writes a snapshot file (tmp file, optional fsync, rename). Without `sync` a crash may leave a
 * torn or empty file under the final name; its CRC then rejects it and the log falls back to an
 * older snapshot or the log itself, so only the clean-shutdown snapshot is worth an fsync.
 */
export async function writeSnapshotFile(dir: string, offset: number, bytes: Buffer, sync = true): Promise<void> {
  const file = snapshotFile(dir, offset);
  const tmp = file + TMP_SUFFIX;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

/** Reads and decodes a snapshot file (throws CorruptSnapshotError, or the fs error). */
export async function readSnapshotFile(dir: string, offset: number): Promise<{ offset: number; entries: ProducerStateEntry[] }> {
  return decodeSnapshot(await fsp.readFile(snapshotFile(dir, offset)), offset);
}

/** Offsets of the snapshot files in `dir`, ascending; removes leftover `.snapshot.tmp` files. */
export async function listSnapshots(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await fsp.readdir(dir)) {
    if (name.endsWith(SNAPSHOT_SUFFIX + TMP_SUFFIX)) {
      await unlinkQuiet(path.join(dir, name));
      continue;
    }
    const offset = parseSnapshotFileName(name);
    if (offset !== null) out.push(offset);
  }
  return out.sort((a, b) => a - b);
}

export function deleteSnapshotFile(dir: string, offset: number): Promise<void> {
  return unlinkQuiet(snapshotFile(dir, offset));
}
