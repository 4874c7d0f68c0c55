// Reads a partition's log straight from a broker's data dir (no broker involved) and checks it the
// way Kafka's DumpLogSegments --deep-iteration / --index-sanity-check would, for the replication
// tests (test/e2e/replication-*.test.ts) and anyone who wants to look at what is on disk:
//
// - every `<base>.log` of `<dataDir>/<topic>-<partition>/` is a run of magic-2 batches
//   (wire/record-batch.ts scanBatches: sizes, magic, CRC32C); a torn or corrupt tail is reported;
// - offsets are strictly increasing and contiguous across batches and segments (no gaps: gaps
//   exist in Kafka only after compaction, or when a follower restarts from a leader's later log
//   start; neither happens in these tests; `allowGaps` relaxes it);
// - the partition leader epoch never decreases from one batch to the next;
// - each segment's batches start at or after its base offset and fit its int32 relative offsets;
// - `<base>.index` (8-byte entries: int32 relative offset, int32 position) has strictly increasing
//   entries, each position the start of a batch of that segment, each offset in [that batch's
//   base offset, the segment's last offset] (Kafka indexes the largest offset of an append at the
//   position of its first batch; this broker the last offset of each indexed batch): a lookup
//   through the index then always finds the batch holding the offset;
// - `leader-epoch-checkpoint` (when present; `requireEpochCache` insists): version 0, a count,
//   `epoch startOffset` lines, epochs strictly increasing, start offsets non-decreasing and not
//   beyond the log end, and every batch lies in the epoch the cache says for its base offset.
//
// compareReplicas() reads the same partition in several data dirs and checks every replica holds
// the identical batches (offsets, leader epoch, CRC, producer fields, size) below `upTo`, the
// high watermark: what Kafka guarantees for committed data.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from './util.js';
import { isControl, isTransactional, lastOffsetOf, scanBatches, type BatchHeader } from '../../wire/record-batch.js';

export const EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
const MAX_REL_OFFSET = 0x7fffffff;

export interface CheckedBatch {
  baseOffset: number;
  lastOffset: number;
  partitionLeaderEpoch: number;
  crc: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  /** Bytes of the whole batch (batchLength + 12). */
  size: number;
  /** Base offset of the segment holding it, and its byte position there. */
  segment: number;
  position: number;
  transactional: boolean;
  control: boolean;
  maxTimestamp: number;
}

export interface SegmentReport {
  baseOffset: number;
  file: string;
  bytes: number;
  batches: number;
  /** Bytes after the last whole valid batch (a torn write or corruption); 0 when clean. */
  invalidTailBytes: number;
  /** Entries in `<base>.index` (null: no index file). */
  indexEntries: number | null;
}

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export interface PartitionLogReport {
  dataDir: string;
  dir: string;
  topic: string;
  partition: number;
  segments: SegmentReport[];
  batches: CheckedBatch[];
  /** Base offset of the first batch (null: no batches). */
  firstOffset: number | null;
  /** Last offset + 1 of the last batch (the log end offset as the files say it; null: no batches). */
  logEndOffset: number | null;
  /** The parsed leader-epoch-checkpoint, null when the file does not exist. */
  epochCache: EpochEntry[] | null;
  /** Everything wrong, one line each; empty when the log is sound. */
  problems: string[];
}

export interface CheckOptions {
  /** Accept offset gaps between batches (compacted logs). Default false. */
  allowGaps?: boolean;
  /** Check the `.index` files. Default true. */
  checkIndex?: boolean;
  /** A missing leader-epoch-checkpoint is a problem. Default false (checked only when present). */
  requireEpochCache?: boolean;
  /** An incomplete batch at the very end of the last segment is not a problem (a live broker may be mid-write). Default false. */
  allowTornTail?: boolean;
}

/** `<dataDir>/<topic>-<partition>` */
export function partitionDir(dataDir: string, topic: string, partition: number): string {
  return path.join(dataDir, `${topic}-${partition}`);
}

function fmtBatch(b: Pick<CheckedBatch, 'baseOffset' | 'lastOffset' | 'segment' | 'position'>): string {
  return `batch ${b.baseOffset}..${b.lastOffset} (segment ${b.segment} @${b.position})`;
}

/** Parses Kafka's leader-epoch-checkpoint text; throws on a malformed file. */
export function parseEpochCheckpoint(text: string): EpochEntry[] {
  const lines = text.split('\n').map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 2) throw new Error(`leader-epoch-checkpoint: ${lines.length} lines, need version and count`);
  if (lines[0] !== '0') throw new Error(`leader-epoch-checkpoint: version "${lines[0]}", expected 0`);
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0) throw new Error(`leader-epoch-checkpoint: bad count "${lines[1]}"`);
  if (lines.length !== 2 + count) throw new Error(`leader-epoch-checkpoint: count ${count} but ${lines.length - 2} entry lines`);
  return lines.slice(2).map((l, i) => {
    const m = /^(\d+)\s+(\d+)$/.exec(l);
    if (!m) throw new Error(`leader-epoch-checkpoint: entry ${i} "${l}" is not "epoch offset"`);
    return { epoch: Number(m[1]), startOffset: Number(m[2]) };
  });
}

/** The epoch the cache assigns to `offset`: the last entry whose start offset is ≤ offset (-1 before the first). */
export function epochForOffset(cache: readonly EpochEntry[], offset: number): number {
  let epoch = -1;
  for (const e of cache) {
    if (e.startOffset <= offset) epoch = e.epoch;
    else break;
  }
  return epoch;
}

async function readOptional(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function toChecked(h: BatchHeader, segment: number, position: number, size: number): CheckedBatch {
  return {
    baseOffset: h.baseOffset,
    lastOffset: lastOffsetOf(h),
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    crc: h.crc,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    recordCount: h.recordCount,
    size,
    segment,
    position,
    transactional: isTransactional(h.attributes),
    control: isControl(h.attributes),
    maxTimestamp: h.maxTimestamp,
  };
}

/**
 * Reads and checks one partition's log in `dataDir`. Never throws for a bad log (see `problems`);
 * throws only when the partition directory cannot be read.
 */
export async function readPartitionLog(dataDir: string, topic: string, partition: number, opts: CheckOptions = {}): Promise<PartitionLogReport> {
  const dir = partitionDir(dataDir, topic, partition);
  const names = await readdir(dir);
  const problems: string[] = [];
  const segBases = names
    .map((n) => /^(\d{20})\.log$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const segments: SegmentReport[] = [];
  const batches: CheckedBatch[] = [];

  for (let s = 0; s < segBases.length; s++) {
    const base = segBases[s]!;
    const isLast = s === segBases.length - 1;
    const file = path.join(dir, `${String(base).padStart(20, '0')}.log`);
    const bytes = await readFile(file);
    const scan = scanBatches(bytes, { verifyCrc: true });
    const segBatches = scan.batches.map((b) => toChecked(b.header, base, b.pos, b.size));
    const invalidTailBytes = bytes.length - scan.validBytes;
    if (scan.error !== null && !(isLast && scan.truncated && opts.allowTornTail)) {
      problems.push(`segment ${base}: ${scan.message ?? `error ${scan.error}`} (${invalidTailBytes} bytes after the last valid batch of ${bytes.length})`);
    }
    if (s + 1 < segBases.length && segBatches.length > 0 && segBases[s + 1]! <= segBatches[segBatches.length - 1]!.lastOffset) {
      problems.push(`segment ${base}: its last offset ${segBatches[segBatches.length - 1]!.lastOffset} reaches the next segment's base ${segBases[s + 1]}`);
    }
    for (const b of segBatches) {
      if (b.baseOffset < base) problems.push(`${fmtBatch(b)} starts below its segment's base offset ${base}`);
      if (b.lastOffset - base > MAX_REL_OFFSET) problems.push(`${fmtBatch(b)} does not fit the segment's int32 relative offsets`);
    }

    let indexEntries: number | null = null;
    if (opts.checkIndex ?? true) {
      const idx = await readOptional(path.join(dir, `${String(base).padStart(20, '0')}.index`));
      if (idx !== null) {
        if (idx.length % 8 !== 0) problems.push(`segment ${base}: .index has ${idx.length} bytes, not a multiple of 8`);
        indexEntries = Math.floor(idx.length / 8);
        const byPos = new Map(segBatches.map((b) => [b.position, b]));
        const segLast = segBatches.length > 0 ? segBatches[segBatches.length - 1]!.lastOffset : base - 1;
        let prevRel = -1;
        let prevPos = -1;
        for (let i = 0; i < indexEntries; i++) {
          const rel = idx.readInt32BE(i * 8);
          const pos = idx.readInt32BE(i * 8 + 4);
          const off = base + rel;
          const where = `segment ${base}: .index entry ${i} (offset ${off}, position ${pos})`;
          if (rel <= prevRel || pos <= prevPos) problems.push(`${where} does not increase after (${base + prevRel}, ${prevPos})`);
          prevRel = rel;
          prevPos = pos;
          const b = byPos.get(pos);
          if (!b) {
            problems.push(`${where} does not point at the start of a batch`);
            continue;
          }
          if (off < b.baseOffset) problems.push(`${where}: offset below its batch ${fmtBatch(b)}`);
          if (off > segLast) problems.push(`${where}: offset beyond the segment's last offset ${segLast}`);
        }
      }
    }
    segments.push({ baseOffset: base, file, bytes: bytes.length, batches: segBatches.length, invalidTailBytes, indexEntries });
    batches.push(...segBatches);
  }

  for (let i = 1; i < batches.length; i++) {
    const prev = batches[i - 1]!;
    const b = batches[i]!;
    if (b.baseOffset <= prev.lastOffset) problems.push(`${fmtBatch(b)} overlaps or goes back after ${fmtBatch(prev)}`);
    else if (b.baseOffset !== prev.lastOffset + 1 && !opts.allowGaps) problems.push(`gap: ${fmtBatch(b)} after ${fmtBatch(prev)} (offsets ${prev.lastOffset + 1}..${b.baseOffset - 1} missing)`);
    if (b.partitionLeaderEpoch < prev.partitionLeaderEpoch) problems.push(`${fmtBatch(b)} has leader epoch ${b.partitionLeaderEpoch} after epoch ${prev.partitionLeaderEpoch}`);
  }

  const firstOffset = batches.length > 0 ? batches[0]!.baseOffset : null;
  const logEndOffset = batches.length > 0 ? batches[batches.length - 1]!.lastOffset + 1 : null;

  let epochCache: EpochEntry[] | null = null;
  const cpBytes = await readOptional(path.join(dir, EPOCH_CHECKPOINT_FILE));
  if (cpBytes === null) {
    if (opts.requireEpochCache) problems.push(`no ${EPOCH_CHECKPOINT_FILE}`);
  } else {
    try {
      epochCache = parseEpochCheckpoint(cpBytes.toString('utf8'));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (epochCache !== null) {
    for (let i = 1; i < epochCache.length; i++) {
      const a = epochCache[i - 1]!;
      const c = epochCache[i]!;
      if (c.epoch <= a.epoch) problems.push(`${EPOCH_CHECKPOINT_FILE}: epoch ${c.epoch} after ${a.epoch}`);
      if (c.startOffset < a.startOffset) problems.push(`${EPOCH_CHECKPOINT_FILE}: start offset ${c.startOffset} of epoch ${c.epoch} below ${a.startOffset} of epoch ${a.epoch}`);
    }
    const end = logEndOffset ?? 0;
    for (const e of epochCache) {
      if (e.startOffset > end) problems.push(`${EPOCH_CHECKPOINT_FILE}: epoch ${e.epoch} starts at ${e.startOffset}, beyond the log end ${end}`);
    }
    const firstCached = epochCache[0]?.startOffset ?? Infinity;
    let reported = 0;
    for (const b of batches) {
      if (b.partitionLeaderEpoch < 0 || b.baseOffset < firstCached) continue;
      const cached = epochForOffset(epochCache, b.baseOffset);
      // A batch's records all belong to one epoch: no cache entry may start inside it.
      const inside = epochCache.find((e) => e.startOffset > b.baseOffset && e.startOffset <= b.lastOffset);
      if ((cached !== b.partitionLeaderEpoch || inside) && reported++ < 5) {
        problems.push(
          `${fmtBatch(b)} has leader epoch ${b.partitionLeaderEpoch} but ${EPOCH_CHECKPOINT_FILE} says ${cached}${inside ? ` and epoch ${inside.epoch} starts inside it at ${inside.startOffset}` : ''} (cache ${JSON.stringify(epochCache)})`,
        );
      }
    }
  }

  return { dataDir, dir, topic, partition, segments, batches, firstOffset, logEndOffset, epochCache, problems };
}

/** readPartitionLog, then throws with every problem (and where) when the log is not sound. */
export async function checkPartitionLog(dataDir: string, topic: string, partition: number, opts: CheckOptions = {}): Promise<PartitionLogReport> {
  const r = await readPartitionLog(dataDir, topic, partition, opts);
  if (r.problems.length > 0) throw new Error(`${r.dir}: ${r.problems.length} problem(s):\n  ${r.problems.slice(0, 30).join('\n  ')}`);
  return r;
}

export interface ReplicaComparison {
  topic: string;
  partition: number;
  upTo: number;
  reports: PartitionLogReport[];
  /** Batches compared per replica (those below `upTo`). */
  compared: number;
  /** Records below `upTo`. */
  records: number;
  problems: string[];
}

const COMPARED_FIELDS = ['baseOffset', 'lastOffset', 'partitionLeaderEpoch', 'crc', 'producerId', 'producerEpoch', 'baseSequence', 'recordCount', 'size'] as const;

/**
 * Every replica (one data dir each) holds identical batches below `upTo` (the high watermark):
 * the same offsets, leader epochs, CRCs, producer fields and sizes, starting at the same offset
 * and reaching exactly `upTo` (a batch across `upTo` is a problem: the HW is a batch boundary).
 * Each replica's log is also checked on its own (readPartitionLog with `opts`; problems of the
 * part at or above `upTo` count too, except a torn tail when `allowTornTail`).
 */
export async function compareReplicas(dataDirs: readonly string[], topic: string, partition: number, upTo: number, opts: CheckOptions = {}): Promise<ReplicaComparison> {
  const reports = await Promise.all(dataDirs.map((d) => readPartitionLog(d, topic, partition, opts)));
  const problems: string[] = [];
  for (const r of reports) for (const p of r.problems) problems.push(`${r.dir}: ${p}`);
  const below = reports.map((r) => r.batches.filter((b) => b.baseOffset < upTo));
  for (let i = 0; i < reports.length; i++) {
    const bs = below[i]!;
    const last = bs[bs.length - 1];
    const have = last ? last.lastOffset + 1 : (reports[i]!.firstOffset ?? 0);
    if (upTo > 0 && have !== upTo) {
      problems.push(`${reports[i]!.dir}: holds offsets up to ${have} below the high watermark ${upTo}, not exactly ${upTo} (log end ${reports[i]!.logEndOffset})`);
    }
  }
  const ref = below[0] ?? [];
  for (let i = 1; i < reports.length; i++) {
    const other = below[i]!;
    let shown = 0;
    const n = Math.max(ref.length, other.length);
    for (let k = 0; k < n && shown < 5; k++) {
      const a = ref[k];
      const b = other[k];
      if (!a || !b) {
        problems.push(`${reports[i]!.dir} vs ${reports[0]!.dir}: batch #${k} only in ${a ? reports[0]!.dir : reports[i]!.dir} (${fmtBatch((a ?? b)!)})`);
        shown++;
        continue;
      }
      const diff = COMPARED_FIELDS.filter((f) => a[f] !== b[f]);
      if (diff.length > 0) {
        problems.push(`${reports[i]!.dir} vs ${reports[0]!.dir}: batch #${k} differs in ${diff.map((f) => `${f} ${b[f]} vs ${a[f]}`).join(', ')} (${fmtBatch(b)} vs ${fmtBatch(a)})`);
        shown++;
      }
    }
  }
  return { topic, partition, upTo, reports, compared: ref.length, records: ref.reduce((s, b) => s + b.recordCount, 0), problems };
}

/** compareReplicas, then throws with every problem when the replicas differ. */
export async function expectReplicasIdentical(dataDirs: readonly string[], topic: string, partition: number, upTo: number, opts: CheckOptions = {}): Promise<ReplicaComparison> {
  const c = await compareReplicas(dataDirs, topic, partition, upTo, opts);
  if (c.problems.length > 0) throw new Error(`${topic}-${partition} below ${upTo}: replicas differ (${c.problems.length} problem(s)):\n  ${c.problems.slice(0, 30).join('\n  ')}`);
  return c;
}

/**
 * The replicas hold identical batches below `hw` (with leader-epoch checkpoints) and none of
 * them holds anything past it: the state of a quiet partition whose followers caught up.
 * Throws with every problem; meant for waitFor.
 */
export async function expectReplicasCaughtUp(dataDirs: readonly string[], topic: string, partition: number, hw: number): Promise<ReplicaComparison> {
  const c = await compareReplicas(dataDirs, topic, partition, hw, { requireEpochCache: true });
  const problems = [...c.problems, ...c.reports.filter((r) => r.logEndOffset !== hw).map((r) => `${r.dir} ends at ${r.logEndOffset}, high watermark ${hw}`)];
  if (problems.length > 0) throw new Error(`${topic}-${partition}:\n  ${problems.slice(0, 20).join('\n  ')}`);
  return c;
}

/** Waits (bounded) until expectReplicasCaughtUp holds: followers may still be fetching the last batches. */
export function waitForReplicasCaughtUp(dataDirs: readonly string[], topic: string, partition: number, hw: number, timeoutMs = 15_000): Promise<ReplicaComparison> {
  return waitFor('the replicas identical up to the high watermark and ending there', () => expectReplicasCaughtUp(dataDirs, topic, partition, hw), { timeoutMs, intervalMs: 1_000 });
}
