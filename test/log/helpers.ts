// Shared helpers for the log tests: temp dirs, a settable clock, a silent logger, batch builders.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { decodeRecordBatch, encodeRecordBatch, LOG_OVERHEAD, TimestampType } from '../../wire/record-batch.js';
import { logConfig, type LogConfig } from '../../log/config.js';
import { PartitionLog, type PartitionLogOptions } from '../../log/partition-log.js';

export const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

export class TestClock {
  constructor(public now = 1_700_000_000_000) {}
  nowMs(): number {
    return this.now;
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

const dirs: string[] = [];

export function tempDir(prefix = 'log-test-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A batch of `count` records whose values are `${tag}-${i}`; timestamps `ts + i` (or all `ts`). */
export function batch(count: number, opts: { ts?: number; tag?: string; valueBytes?: number; sameTs?: boolean; logAppendTime?: boolean } = {}): Buffer {
  const ts = opts.ts ?? 1_000;
  const pad = opts.valueBytes ? 'x'.repeat(opts.valueBytes) : '';
  return encodeRecordBatch({
    baseOffset: 0,
    timestampType: opts.logAppendTime ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME,
    records: Array.from({ length: count }, (_, i) => ({
      value: `${opts.tag ?? 'v'}-${i}${pad}`,
      timestamp: opts.sameTs ? ts : ts + i,
    })),
  });
}

export interface ReadRecord {
  offset: number;
  timestamp: number;
  value: string;
}

/** Decodes every batch in `buf`. */
export function decodeAll(buf: Buffer): { batches: { baseOffset: number; lastOffset: number; epoch: number }[]; records: ReadRecord[] } {
  const batches: { baseOffset: number; lastOffset: number; epoch: number }[] = [];
  const records: ReadRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const { header, records: recs } = decodeRecordBatch(buf, pos);
    batches.push({ baseOffset: header.baseOffset, lastOffset: header.baseOffset + header.lastOffsetDelta, epoch: header.partitionLeaderEpoch });
    for (const r of recs) records.push({ offset: r.offset, timestamp: r.timestamp, value: r.value?.toString() ?? '' });
    pos += header.batchLength + LOG_OVERHEAD;
  }
  return { batches, records };
}

export function openLog(
  dir: string,
  config: Partial<LogConfig> = {},
  extra: Partial<PartitionLogOptions> & { clock?: TestClock } = {},
): Promise<PartitionLog> {
  return PartitionLog.open({
    dir,
    topic: 'topic',
    partition: 0,
    config: logConfig({ fileDeleteDelayMs: 0, ...config }),
    logger,
    clock: extra.clock ?? new TestClock(),
    ...extra,
  });
}

/** Reads the whole log from `from` to the end, batch by batch, following segments. */
export async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  let next = from;
  while (next < log.logEndOffset) {
    const r = await log.read(next, 1 << 20, log.logEndOffset, true);
    if (r.error) throw new Error(`read at ${next}: ${r.error}`);
    if (r.records.length === 0) throw new Error(`empty read at ${next} < LEO ${log.logEndOffset}`);
    const d = decodeAll(r.records);
    for (const rec of d.records) if (rec.offset >= next) out.push(rec);
    next = d.batches[d.batches.length - 1]!.lastOffset + 1;
  }
  return out;
}
