// The logs of this broker across its log dirs (Kafka's LogManager).
//
// Each log dir holds:
//   <topic>-<partition>/                  one PartitionLog (partition after the LAST '-')
//   <topic>-<partition>.<uuid>-delete/    a deleted partition being removed
//   recovery-point-offset-checkpoint      \
//   log-start-offset-checkpoint            } checkpoint.ts format
//   replication-offset-checkpoint         /  (high watermarks)
//   .kafka_cleanshutdown                  written last by close(); present at open ⇒ the files
//                                         can be trusted (no recovery scan); removed after load
//   meta.properties                       meta-properties.ts (node.id, cluster.id)
// The KRaft metadata log (`__cluster_metadata-0`) may live in a log dir too; it is not ours.

import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type pino from 'pino';
import {
  LOG_START_OFFSET_CHECKPOINT,
  readCheckpoint,
  RECOVERY_POINT_CHECKPOINT,
  REPLICATION_OFFSET_CHECKPOINT,
  writeCheckpoint,
  type CheckpointEntry,
} from './checkpoint.js';
import type { LogConfig } from './config.js';
import { KafkaStorageError } from './errors.js';
import { DELETE_DIR_SUFFIX, parsePartitionDirName, partitionDirName } from './file-names.js';
import { fsyncDir } from './fs-util.js';
import { DEFAULT_TAIL_CACHE_BYTES, PartitionLog, type Clock } from './partition-log.js';

const DEFAULT_TAIL_CACHE_BUDGET_BYTES = 64 * 1024 * 1024;
const MIN_TAIL_CACHE_BYTES = 64 * 1024;

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
const METADATA_TOPIC = '__cluster_metadata';
/** Logs opened in parallel per log dir during startup. */
const OPEN_CONCURRENCY = 8;

export interface LogManagerOptions {
  logDirs: string[];
  defaults: LogConfig;
  logger: pino.Logger;
  clock: Clock;
  /** Config of an existing topic's logs at startup (topic overrides); `defaults` when absent. */
  topicConfig?: (topic: string) => LogConfig;
  /** Largest tail cache of one log (see PartitionLog); default 1 MiB. */
  tailCacheBytes?: number;
  /** Tail cache budget shared by all logs: each log gets budget / #logs, within [64 KiB, tailCacheBytes]. Default 64 MiB. */
  tailCacheBudgetBytes?: number;
}

export interface BackgroundOptions {
  /** log.retention.check.interval.ms (default 300000). */
  retentionCheckIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms (default 60000): all three checkpoint files. */
  checkpointIntervalMs?: number;
  /** log.flush.scheduler.interval.ms: how often flush.ms is checked (default: never, as Kafka's Long.MAX). */
  flushSchedulerIntervalMs?: number;
  /** producer.id.expiration.check.interval.ms (default 600000): how often idle producers are expired. */
  producerIdExpirationCheckIntervalMs?: number;
}

export interface LogDirPartition {
  topic: string;
  partition: number;
  sizeBytes: number;
  offsetLag: number;
  isFuture: boolean;
}

export interface LogDirDescription {
  path: string;
  /** null when healthy; a message when a log in this dir hit a storage error. */
  error: string | null;
  totalBytes: number;
  usableBytes: number;
  partitions: LogDirPartition[];
}

interface Entry {
  log: PartitionLog;
  logDir: string;
}

function noop(): void {}

/** errno codes that mean the storage failed (a log dir goes offline), not a caller bug. */
const IO_ERROR_CODES = new Set(['EIO', 'ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EDQUOT', 'ENOENT', 'ENOTDIR', 'EBADF', 'ESHORTWRITE']);

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

function offsetMap(entries: CheckpointEntry[]): Map<string, number> {
  return new Map(entries.map((e) => [partitionDirName(e.topic, e.partition), e.offset]));
}

export class LogManager {
  readonly logDirs: readonly string[];
  private readonly defaults: LogConfig;
  private readonly logger: pino.Logger;
  private readonly clock: Clock;
  private readonly tailCacheBytes: number | undefined;
  private readonly tailCacheBudgetBytes: number;
  /** Memory for fresh-data caches is shared: many partitions get a small tail each. */
  private logCount(): number {
    return this.logs.size;
  }

  private readonly tailCacheLimit = (): number => {
    const perLogMax = this.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES;
    const share = Math.floor(this.tailCacheBudgetBytes / Math.max(1, this.logCount()));
    return Math.min(perLogMax, Math.max(MIN_TAIL_CACHE_BYTES, share));
  };
  private readonly logs = new Map<string, Entry>();
  private readonly creating = new Map<string, Promise<PartitionLog>>();
  private readonly deleting = new Map<string, Promise<void>>();
  private readonly removals = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private checkpointChain: Promise<void> = Promise.resolve();
  private closed = false;
  /**
   * Failed log dirs (issue 8, Kafka's LogDirFailureChannel): an I/O error in any log of a dir
   * takes every log of that dir offline until restart; new logs go to the other dirs.
   */
  private readonly offline = new Map<string, string>();
  private readonly dirFailureListeners = new Set<(logDir: string, reason: string) => void>();

  private constructor(opts: LogManagerOptions) {
    this.logDirs = opts.logDirs.map((d) => path.resolve(d));
    this.defaults = opts.defaults;
    this.logger = opts.logger;
    this.clock = opts.clock;
    this.tailCacheBytes = opts.tailCacheBytes;
    this.tailCacheBudgetBytes = opts.tailCacheBudgetBytes ?? DEFAULT_TAIL_CACHE_BUDGET_BYTES;
  }

  /** Discovers and opens (recovering as needed) every partition log in every log dir. */
  static async open(opts: LogManagerOptions): Promise<LogManager> {
    const mgr = new LogManager(opts);
    for (const dir of mgr.logDirs) await mgr.loadDir(dir, opts.topicConfig ?? (() => opts.defaults));
    return mgr;
  }

  private async loadDir(logDir: string, topicConfig: (topic: string) => LogConfig): Promise<void> {
    await fsp.mkdir(logDir, { recursive: true });
    const cleanShutdown = await exists(path.join(logDir, CLEAN_SHUTDOWN_FILE));
    const read = async (name: string): Promise<Map<string, number>> => {
      try {
        return offsetMap(await readCheckpoint(path.join(logDir, name)));
      } catch (err) {
        this.logger.warn({ err, logDir, file: name }, 'ignoring unreadable checkpoint file');
        return new Map();
      }
    };
    const recoveryPoints = await read(RECOVERY_POINT_CHECKPOINT);
    const logStartOffsets = await read(LOG_START_OFFSET_CHECKPOINT);
    const highWatermarks = await read(REPLICATION_OFFSET_CHECKPOINT);

    const toOpen: { name: string; topic: string; partition: number }[] = [];
    for (const ent of await fsp.readdir(logDir, { withFileTypes: true })) {
      if (!ent.isDirectory()) continue;
      if (ent.name.endsWith(DELETE_DIR_SUFFIX)) {
        this.removeDirInBackground(path.join(logDir, ent.name));
        continue;
      }
      const tp = parsePartitionDirName(ent.name);
      if (!tp || tp.topic === METADATA_TOPIC) continue;
      if (this.logs.has(ent.name)) {
        throw new Error(`duplicate log directories for ${ent.name}: ${this.logs.get(ent.name)!.log.dir} and ${path.join(logDir, ent.name)}`);
      }
      toOpen.push({ name: ent.name, ...tp });
    }

    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < toOpen.length) {
        const { name, topic, partition } = toOpen[next++]!;
        const log = await PartitionLog.open({
          dir: path.join(logDir, name),
          topic,
          partition,
          config: topicConfig(topic),
          logger: this.logger,
          clock: this.clock,
          recoveryPoint: recoveryPoints.get(name),
          logStartOffset: logStartOffsets.get(name),
          cleanShutdown,
          tailCacheBytes: this.tailCacheLimit,
          onOffline: (err) => this.failDir(logDir, err),
        });
        const hw = highWatermarks.get(name);
        if (hw !== undefined) log.highWatermark = hw;
        this.logs.set(name, { log, logDir });
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, toOpen.length) }, worker));
    // From here on a crash is an unclean shutdown.
    if (cleanShutdown) await fsp.unlink(path.join(logDir, CLEAN_SHUTDOWN_FILE)).catch(noop);
    this.logger.info({ logDir, logs: toOpen.length, cleanShutdown }, 'loaded log dir');
  }

  // ------------------------------------------------------------------ lookup and lifecycle

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(partitionDirName(topic, partition))?.log;
  }

  allLogs(): PartitionLog[] {
    return [...this.logs.values()].map((e) => e.log);
  }

  /** The log dir holding `log`. */
  logDirOf(log: PartitionLog): string | undefined {
    return this.logs.get(partitionDirName(log.topic, log.partition))?.logDir;
  }

  /**
   * The existing log (given `config`, when passed: logs found at startup were opened with the
   * defaults), or a new empty one in the log dir with the fewest partitions.
   */
  getOrCreateLog(topic: string, partition: number, config?: LogConfig, preferredDir?: string): Promise<PartitionLog> {
    const key = partitionDirName(topic, partition);
    const existing = this.logs.get(key);
    if (existing) {
      if (config) existing.log.updateConfig(config);
      return Promise.resolve(existing.log);
    }
    const inFlight = this.creating.get(key);
    if (inFlight) return inFlight;
    if (this.closed) return Promise.reject(new Error('log manager is closed'));
    const p = (async () => {
      await this.deleting.get(key);
      const logDir = preferredDir !== undefined && this.logDirs.includes(preferredDir) && !this.offline.has(preferredDir) ? preferredDir : this.leastLoadedDir();
      let log: PartitionLog;
      try {
        log = await PartitionLog.open({
          dir: path.join(logDir, key),
          topic,
          partition,
          config: config ?? this.defaults,
          logger: this.logger,
          clock: this.clock,
          tailCacheBytes: this.tailCacheLimit,
          onOffline: (err) => this.failDir(logDir, err),
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== undefined && IO_ERROR_CODES.has(code)) this.failDir(logDir, err);
        throw err instanceof KafkaStorageError ? err : new KafkaStorageError(`cannot create log ${key} in ${logDir}: ${(err as Error).message}`, { cause: err });
      }
      await fsyncDir(logDir).catch(noop);
      this.logs.set(key, { log, logDir });
      this.logger.info({ topic, partition, logDir }, 'created log');
      return log;
    })().finally(() => this.creating.delete(key));
    this.creating.set(key, p);
    return p;
  }

  private leastLoadedDir(): string {
    const online = this.logDirs.filter((d) => !this.offline.has(d));
    if (online.length === 0) throw new KafkaStorageError('every log dir is offline');
    const counts = new Map(online.map((d) => [d, 0]));
    for (const e of this.logs.values()) if (counts.has(e.logDir)) counts.set(e.logDir, counts.get(e.logDir)! + 1);
    let best = online[0]!;
    for (const d of online) if (counts.get(d)! < counts.get(best)!) best = d;
    return best;
  }

  // ------------------------------------------------------------------ failed log dirs

  /** Log dirs taken offline by an I/O error (path → reason). */
  get offlineDirs(): ReadonlyMap<string, string> {
    return this.offline;
  }

  /** Told once per log dir that fails. */
  onLogDirFailure(listener: (logDir: string, reason: string) => void): () => void {
    this.dirFailureListeners.add(listener);
    return () => this.dirFailureListeners.delete(listener);
  }

  /** An I/O error in `logDir`: every log there goes offline, listeners are told (once). */
  failDir(logDir: string, err: unknown): void {
    if (this.offline.has(logDir) || !this.logDirs.includes(logDir)) return;
    const reason = `log dir ${logDir} is offline: ${(err as Error | null)?.message ?? String(err)}`;
    this.offline.set(logDir, reason);
    this.logger.error({ logDir, err, offlineDirs: [...this.offline.keys()], onlineDirs: this.logDirs.length - this.offline.size }, 'log dir failed; its logs are offline');
    for (const { log, logDir: d } of this.logs.values()) if (d === logDir) log.markOffline(reason);
    for (const l of [...this.dirFailureListeners]) {
      try {
        l(logDir, reason);
      } catch (e) {
        this.logger.error({ err: e }, 'log dir failure listener failed');
      }
    }
  }

  /** Closes the log, renames its dir to `<topic>-<partition>.<id>-delete` and removes it in the background. */
  deleteLog(topic: string, partition: number): Promise<void> {
    const key = partitionDirName(topic, partition);
    const entry = this.logs.get(key);
    if (!entry) return this.deleting.get(key) ?? Promise.resolve();
    this.logs.delete(key);
    const p = (async () => {
      await entry.log.closeWithoutFlush();
      const target = path.join(entry.logDir, `${key}.${randomUUID().replace(/-/g, '')}${DELETE_DIR_SUFFIX}`);
      await fsp.rename(entry.log.dir, target);
      await fsyncDir(entry.logDir).catch(noop);
      this.logger.info({ topic, partition, dir: target }, 'deleted log; removing files in the background');
      this.removeDirInBackground(target);
    })().finally(() => this.deleting.delete(key));
    this.deleting.set(key, p);
    return p;
  }

  private removeDirInBackground(dir: string): void {
    const p: Promise<void> = fsp
      .rm(dir, { recursive: true, force: true })
      .catch((err: unknown) => this.logger.warn({ err, dir }, 'removing deleted log dir failed'))
      .finally(() => this.removals.delete(p));
    this.removals.add(p);
  }

  // ------------------------------------------------------------------ periodic work

  /** Writes the three checkpoint files of every log dir (recovery points, log start offsets, high watermarks). */
  checkpoint(): Promise<void> {
    const p = this.checkpointChain.then(() => this.writeCheckpoints());
    this.checkpointChain = p.catch(noop);
    return p;
  }

  private async writeCheckpoints(): Promise<void> {
    for (const logDir of this.logDirs) {
      if (this.offline.has(logDir)) continue;
      const rp: CheckpointEntry[] = [];
      const lso: CheckpointEntry[] = [];
      const hw: CheckpointEntry[] = [];
      for (const { log, logDir: d } of this.logs.values()) {
        if (d !== logDir) continue;
        const tp = { topic: log.topic, partition: log.partition };
        rp.push({ ...tp, offset: log.recoveryPoint });
        lso.push({ ...tp, offset: log.logStartOffset });
        hw.push({ ...tp, offset: log.highWatermark });
      }
      try {
        await writeCheckpoint(path.join(logDir, RECOVERY_POINT_CHECKPOINT), rp);
        await writeCheckpoint(path.join(logDir, LOG_START_OFFSET_CHECKPOINT), lso);
        await writeCheckpoint(path.join(logDir, REPLICATION_OFFSET_CHECKPOINT), hw);
      } catch (err) {
        // As Kafka: a checkpoint that cannot be written takes its log dir offline.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== undefined && IO_ERROR_CODES.has(code)) this.failDir(logDir, err);
        else throw err;
      }
    }
  }

  /** Applies retention to every online log; returns the number of segments deleted. */
  async runRetention(nowMs: number): Promise<number> {
    let deleted = 0;
    for (const log of this.allLogs()) {
      if (log.offlineError) continue;
      try {
        deleted += await log.applyRetention(nowMs);
      } catch (err) {
        this.logger.warn({ err, topic: log.topic, partition: log.partition }, 'retention failed');
      }
    }
    return deleted;
  }

  /** Expires producers idle longer than producer.id.expiration.ms in every online log; returns how many. */
  removeExpiredProducers(nowMs: number): number {
    let removed = 0;
    for (const log of this.allLogs()) if (!log.offlineError) removed += log.removeExpiredProducers(nowMs);
    return removed;
  }

  /** fsyncs the logs whose last flush is older than their flush.ms. */
  async flushDirtyLogs(nowMs: number): Promise<void> {
    for (const log of this.allLogs()) {
      if (log.offlineError || nowMs - log.lastFlushMs < log.currentConfig.flushIntervalMs) continue;
      try {
        await log.flush();
      } catch (err) {
        this.logger.warn({ err, topic: log.topic, partition: log.partition }, 'flush failed');
      }
    }
  }

  /** Starts retention, checkpoint and flush timers (unref'd: they never keep the process alive). */
  startBackground(opts: BackgroundOptions = {}): void {
    this.stopBackground();
    const every = (ms: number | undefined, what: string, fn: () => Promise<unknown>): void => {
      if (ms === undefined || !(ms > 0) || ms >= 2 ** 31) return;
      let running = false;
      const t = setInterval(() => {
        if (running) return;
        running = true;
        fn()
          .catch((err: unknown) => this.logger.warn({ err }, `${what} failed`))
          .finally(() => {
            running = false;
          });
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(opts.retentionCheckIntervalMs ?? 300_000, 'retention', () => this.runRetention(this.clock.nowMs()));
    every(opts.checkpointIntervalMs ?? 60_000, 'checkpoint', () => this.checkpoint());
    every(opts.flushSchedulerIntervalMs, 'flush', () => this.flushDirtyLogs(this.clock.nowMs()));
    every(opts.producerIdExpirationCheckIntervalMs ?? 600_000, 'producer id expiration', async () => this.removeExpiredProducers(this.clock.nowMs()));
  }

  stopBackground(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Flushes and closes every log, writes the checkpoints and the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopBackground();
    await Promise.allSettled([...this.creating.values(), ...this.deleting.values()]);
    const failedDirs = new Set<string>();
    await Promise.all(
      [...this.logs.values()].map(async ({ log, logDir }) => {
        try {
          await log.close();
        } catch (err) {
          failedDirs.add(logDir);
          this.logger.error({ err, topic: log.topic, partition: log.partition }, 'closing log failed');
        }
      }),
    );
    await this.checkpoint();
    for (const logDir of this.logDirs) {
      if (failedDirs.has(logDir) || this.offline.has(logDir)) continue;
      const fh = await fsp.open(path.join(logDir, CLEAN_SHUTDOWN_FILE), 'w');
      await fh.sync();
      await fh.close();
      await fsyncDir(logDir);
    }
    await Promise.allSettled([...this.removals]);
    this.logger.info({ logs: this.logs.size }, 'log manager closed');
  }

  // ------------------------------------------------------------------ DescribeLogDirs

  async describeDirs(): Promise<LogDirDescription[]> {
    const out: LogDirDescription[] = [];
    for (const logDir of this.logDirs) {
      let error: string | null = null;
      let totalBytes = 0;
      let usableBytes = 0;
      try {
        const st = await fsp.statfs(logDir);
        totalBytes = st.blocks * st.bsize;
        usableBytes = st.bavail * st.bsize;
      } catch (err) {
        error = (err as Error).message;
      }
      const partitions: LogDirPartition[] = [];
      for (const { log, logDir: d } of this.logs.values()) {
        if (d !== logDir) continue;
        if (log.offlineError) error ??= log.offlineError.message;
        error ??= this.offline.get(logDir) ?? null;
        partitions.push({ topic: log.topic, partition: log.partition, sizeBytes: log.sizeBytes, offsetLag: 0, isFuture: false });
      }
      out.push({ path: logDir, error, totalBytes, usableBytes, partitions });
    }
    return out;
  }
}
