/**
 * The metadata commit path of a quorum of one: the metadata log `__cluster_metadata-0` is a
 * `PartitionLog` in `<dir>/__cluster_metadata-0`, each commit is one record batch whose record
 * values are framed metadata records (`records.ts`), and a commit is durable (fsynced) before
 * its image is published. The KRaft issue puts a Raft quorum behind the same interface.
 *
 * - `open` replays every stored batch into the image. Control batches are skipped. The log's own
 *   recovery drops a torn or CRC-corrupt tail (the last complete batch is kept); a batch that is
 *   intact but holds a record this build cannot decode or apply makes `open` fail with
 *   `MetadataLogError` rather than start with missing metadata.
 * - Commits are serialized: one at a time, in call order, each deciding against the image left by
 *   the previous one (`runExclusive`). Records are applied to a delta before they are written, so
 *   a record that would not replay is refused without touching the log.
 * - If writing or fsyncing fails, the quorum is failed: every later commit is refused with the
 *   same error (the in-memory log may be ahead of the image; restart recovers from disk).
 */
import path from 'node:path';
import type pino from 'pino';
import { logConfig, type LogConfig } from '../log/config.js';
import { RecordTooLargeError } from '../log/errors.js';
import { PartitionLog, type Clock } from '../log/partition-log.js';
import { decodeRecordBatch, encodeRecordBatch, isControl, scanBatches } from '../wire/record-batch.js';
import { MetadataDelta, MetadataImage, MetadataReplayError } from './image.js';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  MetadataRecordError,
  recordTypeName,
  type ApiMessageAndVersion,
} from './records.js';

export const METADATA_TOPIC_NAME = '__cluster_metadata';
export const METADATA_PARTITION = 0;
/** Leader epoch stamped on locally committed batches (a quorum of one never elects). */
export const LOCAL_LEADER_EPOCH = 0;

/** Read size while replaying the metadata log at startup. */
const REPLAY_READ_BYTES = 4 * 1024 * 1024;

/** The metadata log cannot be replayed (or the quorum failed); the message says where and why. */
export class MetadataLogError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MetadataLogError';
  }
}

export type ImageListener = (image: MetadataImage, delta?: MetadataDelta) => void;

export interface LocalMetadataQuorumOptions {
  /** The metadata log directory (`metadata.log.dir`, else the first of `log.dirs`). */
  dir: string;
  logger: pino.Logger;
  clock: Clock;
  /** Committed as the first batch when the log is empty (e.g. `bootstrapRecords()`). */
  bootstrap?: readonly ApiMessageAndVersion[];
  /** Overrides of the metadata log's settings. */
  logConfig?: Partial<LogConfig>;
}

/** The metadata log never deletes by retention (there are no snapshots yet). */
const METADATA_LOG_CONFIG: Partial<LogConfig> = {
  retentionMs: -1,
  retentionBytes: -1,
  maxMessageBytes: 64 * 1024 * 1024,
};

export class LocalMetadataQuorum {
  private current: MetadataImage;
  private readonly listeners = new Set<ImageListener>();
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly log: PartitionLog,
    private readonly logger: pino.Logger,
    private readonly clock: Clock,
    image: MetadataImage,
  ) {
    this.current = image;
  }

  /** Opens (creating if needed) the metadata log and replays it into the image. */
  static async open(opts: LocalMetadataQuorumOptions): Promise<LocalMetadataQuorum> {
    const logger = opts.logger.child({ module: 'kraft', topic: METADATA_TOPIC_NAME });
    const log = await PartitionLog.open({
      dir: path.join(opts.dir, `${METADATA_TOPIC_NAME}-${METADATA_PARTITION}`),
      topic: METADATA_TOPIC_NAME,
      partition: METADATA_PARTITION,
      config: logConfig({ ...METADATA_LOG_CONFIG, ...opts.logConfig }),
      logger: opts.logger,
      clock: opts.clock,
      // Scan every segment: the metadata log is read in full at startup anyway.
      recoveryPoint: 0,
      cleanShutdown: false,
    });
    let image: MetadataImage;
    try {
      image = await replayLog(log);
    } catch (err) {
      await log.closeWithoutFlush().catch(() => undefined);
      throw err;
    }
    log.highWatermark = log.logEndOffset;
    logger.info(
      { offset: image.offset, brokers: image.brokers.size, topics: image.topicsById.size, metadataVersion: image.metadataVersion },
      'replayed the metadata log',
    );
    const quorum = new LocalMetadataQuorum(log, logger, opts.clock, image);
    if (log.logEndOffset === 0 && opts.bootstrap !== undefined && opts.bootstrap.length > 0) {
      await quorum.commit(opts.bootstrap);
      logger.info({ records: opts.bootstrap.length }, 'bootstrapped a new metadata log');
    }
    return quorum;
  }

  /** The latest committed image. */
  get image(): MetadataImage {
    return this.current;
  }

  /** Offset the next committed record will get. */
  get nextOffset(): number {
    return this.log.logEndOffset;
  }

  /**
   * Calls `listener` after every commit with the new image and the delta that produced it.
   * Listeners run synchronously, in registration order; a throwing listener is logged and does
   * not fail the commit. Returns a function that removes the listener.
   */
  onImage(listener: ImageListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Appends `records` as one batch, fsyncs it, applies it and publishes the new image.
   * Serialized with every other commit. An empty list commits nothing.
   */
  commit(records: readonly ApiMessageAndVersion[]): Promise<MetadataImage> {
    return this.enqueue(() => this.doCommit(records));
  }

  /**
   * Decides and commits atomically: `fn` runs on the latest image once every earlier commit is
   * done, and its records are committed before the next decision runs. Resolves with `result`
   * once the records are durable and applied (rejects if `fn` throws or the commit fails).
   */
  runExclusive<T>(fn: (image: MetadataImage) => { records: readonly ApiMessageAndVersion[]; result: T }): Promise<T> {
    return this.enqueue(async () => {
      const { records, result } = fn(this.current);
      await this.doCommit(records);
      return result;
    });
  }

  /** Waits for pending commits, then closes the log. Later commits are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    this.listeners.clear();
    await this.log.close();
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new MetadataLogError('the metadata quorum is closed');
      if (this.failure !== null) {
        throw new MetadataLogError(`the metadata quorum failed earlier: ${this.failure.message}`, { cause: this.failure });
      }
      return task();
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private fail(err: unknown): void {
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.logger.error({ err }, 'metadata commit failed; refusing further commits');
  }

  private async doCommit(records: readonly ApiMessageAndVersion[]): Promise<MetadataImage> {
    if (records.length === 0) return this.current;
    // Apply first: a record that cannot replay is refused before anything is written.
    const delta = new MetadataDelta(this.current);
    delta.replayAll(records);
    const values = records.map((r) => encodeMetadataRecord(r));
    const now = this.clock.nowMs();
    const batch = encodeRecordBatch({
      baseTimestamp: now,
      partitionLeaderEpoch: LOCAL_LEADER_EPOCH,
      records: values.map((value) => ({ value, timestamp: now })),
    });
    let appended: ReturnType<PartitionLog['appendAsLeader']>;
    try {
      appended = this.log.appendAsLeader(batch, LOCAL_LEADER_EPOCH);
    } catch (err) {
      // Refused before any offset was assigned (e.g. larger than max.message.bytes): the log
      // is unchanged, so only this commit fails.
      if (err instanceof RecordTooLargeError) throw err;
      this.fail(err);
      throw err;
    }
    const lastOffset = appended.lastOffset;
    try {
      if (appended.baseOffset !== this.current.offset + 1) {
        throw new MetadataLogError(
          `metadata log end offset ${appended.baseOffset} does not follow the image offset ${this.current.offset}`,
        );
      }
      await appended.written;
      await this.log.flush();
    } catch (err) {
      this.fail(err);
      throw err;
    }
    this.log.highWatermark = lastOffset + 1;
    const image = delta.build(lastOffset);
    this.current = image;
    this.logger.debug({ offset: lastOffset, records: records.length }, 'committed metadata');
    for (const listener of [...this.listeners]) {
      try {
        listener(image, delta);
      } catch (err) {
        this.logger.error({ err }, 'metadata image listener failed');
      }
    }
    return image;
  }
}

/** Replays the whole log into an image; any undecodable or inapplicable record throws. */
async function replayLog(log: PartitionLog): Promise<MetadataImage> {
  const delta = new MetadataDelta(MetadataImage.EMPTY);
  let offset = log.logStartOffset;
  let lastOffset = -1;
  const end = log.logEndOffset;
  while (offset < end) {
    const { records, error } = await log.read(offset, REPLAY_READ_BYTES, end, true);
    if (error !== null || records.length === 0) {
      throw new MetadataLogError(`cannot read the metadata log at offset ${offset} (log end ${end}): ${error ?? 'no data'}`);
    }
    const scan = scanBatches(records);
    if (scan.error !== null) {
      throw new MetadataLogError(`corrupt metadata log batch at offset ${offset}: ${scan.message ?? scan.error}`);
    }
    for (const { pos, header } of scan.batches) {
      const batchLast = header.baseOffset + header.lastOffsetDelta;
      if (batchLast < offset) continue; // a batch before the requested offset (shared segment read)
      if (!isControl(header.attributes)) {
        let decoded;
        try {
          decoded = decodeRecordBatch(records, pos);
        } catch (err) {
          throw new MetadataLogError(
            `cannot decode the metadata log batch at offset ${header.baseOffset}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        for (const rec of decoded.records) {
          if (rec.value === null) {
            throw new MetadataLogError(`metadata log record at offset ${rec.offset} has no value`);
          }
          let m: ApiMessageAndVersion;
          try {
            m = decodeMetadataRecord(rec.value);
          } catch (err) {
            const reason = err instanceof MetadataRecordError ? err.message : String(err);
            throw new MetadataLogError(`cannot decode the metadata record at offset ${rec.offset}: ${reason}`, {
              cause: err,
            });
          }
          try {
            delta.replay(m);
          } catch (err) {
            const reason = err instanceof MetadataReplayError ? err.message : String(err);
            throw new MetadataLogError(
              `cannot apply the ${recordTypeName(m.apiKey)} at offset ${rec.offset}: ${reason}`,
              { cause: err },
            );
          }
        }
      }
      lastOffset = batchLast;
      offset = batchLast + 1;
    }
  }
  return delta.build(lastOffset);
}
