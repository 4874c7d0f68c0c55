// File names inside a partition directory, as Kafka names them:
//   00000000000000000000.log        record batches (base offset of the segment, 20 digits, zero-padded)
//   00000000000000000000.index      sparse offset index
//   00000000000000000000.timeindex  sparse time index
//   00000000000000000000.txnindex   aborted transactions whose ABORT marker is in the segment (only when there are any)
//   00000000000000000000.snapshot   producer state at that offset (producer-snapshot.ts)
//   leader-epoch-checkpoint        where each leader epoch began (leader-epoch-cache.ts)
//   *.deleted                      a segment file waiting for file.delete.delay.ms before being unlinked
//   *.cleaned, *.swap              leftovers of an interrupted compaction (deleted at open)
// Partition directories are `<topic>-<partition>`; a deleted partition becomes
// `<topic>-<partition>.<id>-delete` until it is removed.

import path from 'node:path';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TXN_INDEX_SUFFIX = '.txnindex';
export const DELETED_SUFFIX = '.deleted';
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
export const DELETE_DIR_SUFFIX = '-delete';
export const FUTURE_DIR_SUFFIX = '-future';
export const STRAY_DIR_SUFFIX = '-stray';

/** Kafka's `filenamePrefixFromOffset`: 20 digits, zero-padded. */
export function offsetPrefix(offset: number): string {
  return String(offset).padStart(20, '0');
}

export function logFile(dir: string, baseOffset: number): string {
  return path.join(dir, offsetPrefix(baseOffset) + LOG_SUFFIX);
}
export function indexFile(dir: string, baseOffset: number): string {
  return path.join(dir, offsetPrefix(baseOffset) + INDEX_SUFFIX);
}
export function timeIndexFile(dir: string, baseOffset: number): string {
  return path.join(dir, offsetPrefix(baseOffset) + TIME_INDEX_SUFFIX);
}

export function txnIndexFile(dir: string, baseOffset: number): string {
  return path.join(dir, offsetPrefix(baseOffset) + TXN_INDEX_SUFFIX);
}

const SEGMENT_NAME = /^(\d{20})\.(log|index|timeindex|txnindex)$/;

/** `{ baseOffset, kind }` for a segment file name, or null for anything else. */
export function parseSegmentFileName(name: string): { baseOffset: number; kind: 'log' | 'index' | 'timeindex' | 'txnindex' } | null {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return null;
  const baseOffset = Number(m[1]);
  if (!Number.isSafeInteger(baseOffset)) return null;
  return { baseOffset, kind: m[2] as 'log' | 'index' | 'timeindex' | 'txnindex' };
}

/** The directory name of a partition. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * Parses `<topic>-<partition>`; topic names may contain '-' and '.', the partition is after the
 * last '-'. Returns null for deleted/future/stray directories and anything that is not a partition.
 */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  if (name.endsWith(DELETE_DIR_SUFFIX) || name.endsWith(FUTURE_DIR_SUFFIX) || name.endsWith(STRAY_DIR_SUFFIX)) return null;
  const dash = name.lastIndexOf('-');
  if (dash <= 0 || dash === name.length - 1) return null;
  const p = name.slice(dash + 1);
  if (!/^\d+$/.test(p)) return null;
  const partition = Number(p);
  if (!Number.isSafeInteger(partition) || partition > 0x7fffffff) return null;
  const topic = name.slice(0, dash);
  if (!/^[a-zA-Z0-9._-]+$/.test(topic)) return null;
  return { topic, partition };
}
