/**
 * The Raft core's storage on disk: the `__cluster_metadata-0` directory of the metadata log dir
 * (`metadata.log.dir`, else the first of `log.dirs`) holds
 *
 *   00000000000000000000.log ...    the metadata log: a Kafka log (a `PartitionLog`) of record
 *                                   batches, one batch per Raft entry (`entry-codec.ts`)
 *   quorum-state                    the hard state (`quorum-state.ts`), written atomically
 *   <20-digit>-<10-digit>.checkpoint snapshots (`snapshot.ts`), written atomically
 *
 * Offsets. The Raft core gives every entry one offset (entry offsets: 0, 1, 2, ...). A Kafka log
 * gives every *record* one offset. A data entry holds a whole controller decision (N records)
 * in one batch, so the two differ. The mapping, identical on every node:
 *
 *   K(0) = 0,  K(e + 1) = K(e) + records(e)      (records(leader-change) = 1)
 *
 * where K(e) is the Kafka base offset of entry e's batch on disk. The log is thus a valid Kafka
 * log (offsets dense and increasing, each batch's partitionLeaderEpoch = its entry's epoch), and
 * batch number i after the snapshot is entry E + i. Entry offsets are what the quorum protocol,
 * the image (`MetadataImage.offset`), broker epochs and heartbeats use; Kafka offsets exist only
 * inside these files. A snapshot ending at entry E records K(E) (its batches are numbered from
 * there), so the mapping survives compaction, restarts and FetchSnapshot.
 *
 * Entries since the latest snapshot are also kept in memory (the core reads them by offset).
 * `persist` applies a `Ready`'s changes in the documented order and fsyncs before returning.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type pino from 'pino';
import { logConfig } from '../log/config.js';
import { PartitionLog, type Clock } from '../log/partition-log.js';
import { scanBatches } from '../wire/record-batch.js';
import { batchToEntry, entryRecordCount, entryToBatch } from './entry-codec.js';
import { MetadataImage } from './image.js';
import type { Entry, HardState, LogChanges, RaftStorage, Snapshot } from './raft/index.js';
import { fsyncDir, readQuorumState, writeFileAtomically, writeQuorumState } from './quorum-state.js';
import { decodeSnapshot, listSnapshotFiles, snapshotFileName, snapshotPath, SnapshotError } from './snapshot.js';

export const METADATA_TOPIC_NAME = '__cluster_metadata';
export const METADATA_PARTITION = 0;
/** Kafka's `Uuid.METADATA_TOPIC_ID` (the uuid 0x...01). */
export const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
/** Snapshot files kept besides the latest. */
const OLD_SNAPSHOTS_KEPT = 1;
const REPLAY_READ_BYTES = 4 * 1024 * 1024;

/** The metadata log cannot be read or written; the message says where and why. */
export class MetadataLogError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MetadataLogError';
  }
}

export interface MetadataLogOptions {
  /** The metadata log dir; the log lives in `<dir>/__cluster_metadata-0`. */
  readonly dir: string;
  readonly logger: pino.Logger;
  readonly clock: Clock;
  /** The voter ids (written to quorum-state). */
  readonly voters: readonly number[];
}

export class MetadataLogStore implements RaftStorage {
  /** The directory of the log, quorum-state and snapshots. */
  readonly dir: string;
  private snap: Snapshot | null;
  /** K(snapshot end): the Kafka offset the log continues at after the snapshot (0 without one). */
  private snapLogEnd: number;
  private entries: Entry[];
  /** K(e) for each entry in `entries`. */
  private kafkaBase: number[];
  private nextKafka: number;
  /**
   * While a Ready is being persisted the core still reads the log as it was (its unpersisted
   * overlay holds the Ready's changes until `advance()`), so `endOffset()` keeps the old end
   * until `publish()`, which the driver calls right before `advance()`.
   */
  private frozenEnd: number | null = null;
  private closed = false;

  private constructor(
    dir: string,
    private readonly log: PartitionLog,
    private readonly logger: pino.Logger,
    private readonly clock: Clock,
    private readonly voters: readonly number[],
    /** The hard state read at open (null: none yet). */
    readonly initialHardState: HardState | null,
    /** The image the snapshot holds (EMPTY without one): where replay starts. */
    readonly snapshotImage: MetadataImage,
    snap: Snapshot | null,
    snapLogEnd: number,
    entries: Entry[],
    kafkaBase: number[],
    nextKafka: number,
  ) {
    this.dir = dir;
    this.snap = snap;
    this.snapLogEnd = snapLogEnd;
    this.entries = entries;
    this.kafkaBase = kafkaBase;
    this.nextKafka = nextKafka;
  }

  static async open(opts: MetadataLogOptions): Promise<MetadataLogStore> {
    const dir = path.join(opts.dir, `${METADATA_TOPIC_NAME}-${METADATA_PARTITION}`);
    const logger = opts.logger.child({ topic: METADATA_TOPIC_NAME });
    await fsp.mkdir(dir, { recursive: true });
    for (const name of await fsp.readdir(dir)) {
      if (name.endsWith('.tmp')) await fsp.rm(path.join(dir, name), { force: true });
    }
    let hardState: HardState | null;
    try {
      hardState = await readQuorumState(dir);
    } catch (err) {
      throw new MetadataLogError((err as Error).message, { cause: err });
    }

    // The latest snapshot: where the log starts for the core.
    const files = await listSnapshotFiles(dir);
    let snap: Snapshot | null = null;
    let snapImage = MetadataImage.EMPTY;
    let snapLogEnd = 0;
    const latest = files[files.length - 1];
    if (latest !== undefined) {
      const file = snapshotPath(dir, latest);
      const data = await fsp.readFile(file);
      try {
        const decoded = decodeSnapshot(data, latest.endOffset);
        snapImage = decoded.image;
        snapLogEnd = decoded.logEndOffset;
      } catch (err) {
        throw new MetadataLogError(`cannot load the metadata snapshot ${file}: ${(err as Error).message}`, { cause: err });
      }
      snap = { id: { endOffset: latest.endOffset, epoch: latest.epoch }, data };
    }

    const log = await PartitionLog.open({
      dir,
      topic: METADATA_TOPIC_NAME,
      partition: METADATA_PARTITION,
      config: logConfig({ retentionMs: -1, retentionBytes: -1, maxMessageBytes: 64 * 1024 * 1024 }),
      logger,
      clock: opts.clock,
      // Scan every segment: the metadata log is read in full at start-up anyway.
      recoveryPoint: 0,
      cleanShutdown: false,
    });
    const entries: Entry[] = [];
    const kafkaBase: number[] = [];
    const startEntry = snap?.id.endOffset ?? 0;
    let nextKafka = snapLogEnd;
    try {
      if (log.logEndOffset <= snapLogEnd && snap !== null) {
        // Nothing after the snapshot (or the log is behind it: a snapshot was installed and
        // the crash came before the log was reset): the log restarts at the snapshot.
        if (log.logEndOffset !== snapLogEnd || log.logStartOffset !== snapLogEnd) await log.truncateFullyAndStartAt(snapLogEnd);
      } else {
        if (log.logStartOffset > snapLogEnd) {
          throw new MetadataLogError(`the metadata log starts at offset ${log.logStartOffset}, after the snapshot's end ${snapLogEnd}`);
        }
        await scanLog(log, snapLogEnd, (buf, pos, baseOffset) => {
          if (baseOffset < nextKafka) return true; // before the snapshot's end
          if (baseOffset !== nextKafka) {
            throw new MetadataLogError(`metadata log batch at offset ${baseOffset} does not follow offset ${nextKafka - 1}`);
          }
          const offset = startEntry + entries.length;
          const { entry } = batchToEntry(buf, pos, offset);
          const prev = entries[entries.length - 1];
          if (prev !== undefined && entry.epoch < prev.epoch) {
            throw new MetadataLogError(`metadata log entry ${offset} has epoch ${entry.epoch} below the previous ${prev.epoch}`);
          }
          entries.push(entry);
          kafkaBase.push(baseOffset);
          nextKafka = baseOffset + entryRecordCount(entry);
          return true;
        });
      }
    } catch (err) {
      await log.closeWithoutFlush().catch(() => undefined);
      if (err instanceof MetadataLogError) throw err;
      throw new MetadataLogError(`cannot read the metadata log in ${dir}: ${(err as Error).message}`, { cause: err });
    }
    logger.info(
      { snapshot: snap?.id ?? null, entries: entries.length, endOffset: startEntry + entries.length, hardState },
      'opened the metadata log',
    );
    return new MetadataLogStore(dir, log, logger, opts.clock, opts.voters, hardState, snapImage, snap, snapLogEnd, entries, kafkaBase, nextKafka);
  }

  // ---------------------------------------------------------------- RaftStorage

  snapshot(): Snapshot | null {
    return this.snap;
  }

  startOffset(): number {
    return this.snap?.id.endOffset ?? 0;
  }

  endOffset(): number {
    return this.frozenEnd ?? this.realEnd();
  }

  private realEnd(): number {
    return this.startOffset() + this.entries.length;
  }

  /** The last `persist` is visible to the core (call right before `advance()`). */
  publish(): void {
    this.frozenEnd = null;
  }

  entryAt(offset: number): Entry {
    const e = this.entries[offset - this.startOffset()];
    if (e === undefined) throw new RangeError(`offset ${offset} is outside [${this.startOffset()}, ${this.endOffset()})`);
    return e;
  }

  /** K(offset): the Kafka offset of entry `offset`'s batch (or of the log end). */
  kafkaOffsetOf(offset: number): number {
    if (offset === this.realEnd()) return this.nextKafka;
    if (offset === this.startOffset() && this.entries.length === 0) return this.snapLogEnd;
    const k = this.kafkaBase[offset - this.startOffset()];
    if (k === undefined) throw new RangeError(`offset ${offset} is outside [${this.startOffset()}, ${this.endOffset()}]`);
    return k;
  }

  /** Bytes on disk (for status output). */
  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  // ---------------------------------------------------------------- persistence

  /**
   * Makes a Ready's hard state and log changes durable, in the order of `raft/storage.ts`:
   * hard state, installed snapshot, truncation, appended entries (fsync), own snapshot.
   * Returns the decoded image of an installed snapshot (the caller loads it), else null.
   */
  async persist(rd: LogChanges & { readonly hardState: HardState | null }): Promise<MetadataImage | null> {
    if (this.closed) throw new MetadataLogError('the metadata log is closed');
    this.frozenEnd ??= this.realEnd();
    if (rd.hardState !== null) await writeQuorumState(this.dir, rd.hardState, this.voters);
    let installed: MetadataImage | null = null;
    if (rd.snapshot !== null) installed = await this.install(rd.snapshot);
    let dirty = false;
    if (rd.truncateTo !== null && rd.truncateTo < this.realEnd()) {
      const to = rd.truncateTo;
      if (to < this.startOffset()) throw new MetadataLogError(`truncation to ${to} below the log start ${this.startOffset()}`);
      const k = this.kafkaOffsetOf(to);
      await this.log.truncateTo(k);
      const keep = to - this.startOffset();
      this.entries.length = keep;
      this.kafkaBase.length = keep;
      this.nextKafka = k;
      dirty = true;
      this.logger.info({ truncateTo: to, kafkaOffset: k }, 'truncated the metadata log');
    }
    if (rd.entries.length > 0) {
      const now = this.clock.nowMs();
      const batches: Buffer[] = [];
      let k = this.nextKafka;
      const bases: number[] = [];
      for (const e of rd.entries) {
        if (e.offset !== this.realEnd() + bases.length) {
          throw new MetadataLogError(`append of entry ${e.offset} but the log ends at ${this.realEnd() + bases.length}`);
        }
        batches.push(entryToBatch(e, k, now));
        bases.push(k);
        k += entryRecordCount(e);
      }
      const { written } = this.log.appendAsFollower(Buffer.concat(batches));
      await written;
      this.entries.push(...rd.entries);
      this.kafkaBase.push(...bases);
      this.nextKafka = k;
      dirty = true;
    }
    // Raft's fsync before send: the entries must be durable; the indexes are rebuilt after a crash.
    if (dirty) await this.log.flushData();
    if (rd.compaction !== null) await this.compact(rd.compaction);
    return installed;
  }

  /** A snapshot fetched from the leader: stored, and the log restarts after it. */
  private async install(s: Snapshot): Promise<MetadataImage> {
    let decoded;
    try {
      decoded = decodeSnapshot(s.data, s.id.endOffset);
    } catch (err) {
      throw new MetadataLogError(`cannot install snapshot ${snapshotFileName(s.id)}: ${(err as Error).message}`, { cause: err });
    }
    await writeFileAtomically(this.dir, snapshotFileName(s.id), s.data);
    await this.log.truncateFullyAndStartAt(decoded.logEndOffset);
    this.snap = s;
    this.snapLogEnd = decoded.logEndOffset;
    this.entries = [];
    this.kafkaBase = [];
    this.nextKafka = decoded.logEndOffset;
    await this.pruneSnapshots();
    this.logger.info({ snapshot: s.id, logEndOffset: decoded.logEndOffset, records: decoded.recordCount }, 'installed a metadata snapshot from the leader');
    return decoded.image;
  }

  /** Our own snapshot (`takeSnapshot`): stored, entries below it dropped. */
  private async compact(s: Snapshot): Promise<void> {
    const end = s.id.endOffset;
    if (end < this.startOffset() || end > this.realEnd()) {
      throw new MetadataLogError(`snapshot end ${end} outside the log [${this.startOffset()}, ${this.realEnd()}]`);
    }
    const k = this.kafkaOffsetOf(end);
    await writeFileAtomically(this.dir, snapshotFileName(s.id), s.data);
    const drop = end - this.startOffset();
    this.entries = this.entries.slice(drop);
    this.kafkaBase = this.kafkaBase.slice(drop);
    this.snap = s;
    this.snapLogEnd = k;
    await this.pruneSnapshots();
    // Whole segments below the snapshot go (the active one stays).
    await this.log.deleteRecordsBefore(k);
    this.logger.info({ snapshot: s.id, logEndOffset: k, bytes: s.data.length }, 'wrote a metadata snapshot');
  }

  private async pruneSnapshots(): Promise<void> {
    const files = await listSnapshotFiles(this.dir);
    const doomed = files.slice(0, Math.max(0, files.length - 1 - OLD_SNAPSHOTS_KEPT));
    for (const f of doomed) {
      if (this.snap !== null && f.endOffset === this.snap.id.endOffset && f.epoch === this.snap.id.epoch) continue;
      await fsp.rm(snapshotPath(this.dir, f), { force: true });
    }
    if (doomed.length > 0) await fsyncDir(this.dir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log.close();
  }
}

/**
 * Calls `onBatch(buf, pos, baseOffset)` for every batch of the log from the segment holding
 * `from` on, in order. Batches are not decoded here.
 */
async function scanLog(log: PartitionLog, from: number, onBatch: (buf: Buffer, pos: number, baseOffset: number) => boolean): Promise<void> {
  let offset = Math.max(from, log.logStartOffset);
  const end = log.logEndOffset;
  while (offset < end) {
    const { records, error } = await log.read(offset, REPLAY_READ_BYTES, end, true);
    if (error !== null || records.length === 0) {
      throw new MetadataLogError(`cannot read the metadata log at offset ${offset} (log end ${end}): ${error ?? 'no data'}`);
    }
    const scan = scanBatches(records);
    if (scan.error !== null) throw new MetadataLogError(`corrupt metadata log batch near offset ${offset}: ${scan.message ?? scan.error}`);
    for (const { pos, header } of scan.batches) {
      const last = header.baseOffset + header.lastOffsetDelta;
      if (last < offset) continue;
      if (!onBatch(records, pos, header.baseOffset)) return;
      offset = last + 1;
    }
  }
}

export { SnapshotError };
