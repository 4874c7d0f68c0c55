// The partitions this broker hosts: opens and deletes their logs as the metadata image says,
// appends produced batches as leader, serves reads up to the high watermark (the last stable
// offset for read_committed), and parks acks=-1 produce requests until the high watermark
// passes them.
//
// Transactions (KIP-890 part 1, "verification"): a transactional batch whose producer has no
// open transaction on the partition yet is first checked with the transaction coordinator
// (`verifyTransaction`, AddPartitionsToTxn verifyOnly): a partition the producer never added
// to its transaction gets INVALID_TXN_STATE. A verification guard per producer makes sure no
// marker was written between the check and the append (else INVALID_TXN_STATE too), and the
// producer's later appends to the partition wait for the check, so they keep their order.
import type { Logger } from 'pino';
import type { LogManager } from '../log/log-manager.js';
import type { LogConfig } from '../log/config.js';
import type { LeaderAppendOrigin, LeaderAppendResult } from '../log/partition-log.js';
import type { AbortedTxn } from '../log/txn-index.js';
import { RecordTooLargeError } from '../log/errors.js';
import type { MetadataImage } from '../kraft/image.js';
import { ErrorCode } from '../wire/errors.js';
import type { RecordParts } from '../wire/primitives.js';
import { isControl, isTransactional, scanBatches } from '../wire/record-batch.js';
import type { BrokerConfig } from './config.js';
import { AlterPartitionSender, type AlterPartitionChannel } from './alter-partition-sender.js';
import { PeerPool } from './coordinator/peers.js';
import { Partition } from './partition.js';
import { ReplicaFetcherManager } from './replica-fetcher.js';
import { effectiveTopicConfig } from './topic-config.js';

export interface AppendOutcome {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface ReadOutcome {
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  records: Buffer | RecordParts | null;
  /** read_committed reads that returned records: aborted transactions overlapping them; else null. */
  abortedTransactions: AbortedTxn[] | null;
  /** Follower fetches whose log diverges from the leader's: the largest epoch and its end offset both logs agree on. */
  divergingEpoch?: { epoch: number; endOffset: number };
}

/** What a follower's fetch says about itself (Fetch v12+ last_fetched_epoch, v15+ replica_state). */
export interface FollowerFetch {
  readonly replicaId: number;
  /** The follower's broker epoch, -1 when not sent. */
  readonly replicaEpoch: number;
  /** The epoch of the follower's last batch, -1 when not sent. */
  readonly lastFetchedEpoch: number;
}

/** What replication needs besides the logs (set once the controller channel exists). */
export interface ReplicationContext {
  /** This broker's epoch (its registration with the controller), -1 before it registered. */
  brokerEpoch(): number;
  image(): MetadataImage;
  readonly controller: AlterPartitionChannel;
}

/** Fetch/ListOffsets isolation levels. */
export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

export interface AppendOptions {
  /** 'client' (Produce: every producer check) or 'coordinator' (transaction markers, transactional offset commits). Default 'client'. */
  origin?: LeaderAppendOrigin;
  /**
   * Asks the transaction coordinator whether this partition is part of the producer's open
   * transaction (only called for a transactional batch of a producer without an open
   * transaction here); resolves NONE or the error to answer. Absent: no verification.
   */
  verifyTransaction?: (producerId: number, producerEpoch: number) => Promise<number>;
}

const TOPIC_CONFIG_KEY = (topic: string) => topic;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Told when this broker becomes or stops being the leader of a partition (coordinators load/unload). */
export type LeadershipListener = (event: { topic: string; partition: number; isLeader: boolean; leaderEpoch: number; deleted: boolean }) => void;

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  private replication: ReplicationContext | null = null;
  private fetchers: ReplicaFetcherManager | null = null;
  private peers: PeerPool | null = null;
  private isrSender: AlterPartitionSender | null = null;
  private isrTimer: NodeJS.Timeout | null = null;
  private readonly leadershipListeners = new Set<LeadershipListener>();
  private applied: Promise<void> = Promise.resolve();
  private appliedOffset = -1;
  private readonly appliedWaiters: Array<{ offset: number; resolve: () => void }> = [];

  /** KIP-858 directory id → log dir path (node.ts): a new log goes to the dir the controller assigned. */
  readonly logDirById = new Map<string, string>();

  constructor(
    private readonly localId: number,
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    private readonly nowMs: () => number,
  ) {
    // Issue 8: a failed log dir takes its partitions offline here (Kafka's handleLogDirFailure).
    logs.onLogDirFailure((logDir) => void this.onLogDirFailure(logDir));
  }

  /**
   * Partitions whose log went offline stop following and leading: waiters are answered, the
   * coordinators unload them; every request for them answers KAFKA_STORAGE_ERROR from now on.
   * The controller moves their leadership once the heartbeat reports the dir.
   */
  private async onLogDirFailure(logDir: string): Promise<void> {
    const offline = [...this.partitions.values()].filter((p) => p.log.offlineError !== null);
    this.logger.error({ logDir, partitions: offline.map((p) => `${p.topic}-${p.index}`) }, 'partitions offline after a log dir failure');
    for (const p of offline) {
      await this.fetchers?.unfollow(p).catch(() => undefined);
      const wasLeader = p.isLeader;
      p.abortHighWatermarkWaiters();
      p.notifyData();
      if (wasLeader) this.emitLeadership({ topic: p.topic, partition: p.index, isLeader: false, leaderEpoch: p.leaderEpoch, deleted: false });
    }
  }

  /**
   * Starts replication: replica fetchers for the partitions this broker follows, and the ISR
   * checks of those it leads (shrink every replica.lag.time.max.ms / 2, expand on fetch).
   * Before this, every hosted partition acts on its own (tests, tools).
   */
  startReplication(ctx: ReplicationContext): void {
    const { config, localId } = this;
    this.replication = ctx;
    this.peers = new PeerPool({ image: ctx.image, listenerName: config.interBrokerListenerName, clientId: `broker-${localId}-replica-fetcher`, logger: this.logger.child({ sub: 'fetcher-peers' }) });
    const peers = this.peers;
    this.fetchers = new ReplicaFetcherManager({
      localId,
      brokerEpoch: ctx.brokerEpoch,
      peer: (id) => peers.get(id),
      fetchMaxBytes: config.int('replica.fetch.max.bytes'),
      responseMaxBytes: config.int('replica.fetch.response.max.bytes'),
      minBytes: config.int('replica.fetch.min.bytes'),
      maxWaitMs: config.int('replica.fetch.wait.max.ms'),
      backoffMs: config.int('replica.fetch.backoff.ms'),
      socketTimeoutMs: config.int('replica.socket.timeout.ms'),
      logger: this.logger.child({ sub: 'replica-fetcher' }),
      nowMs: this.nowMs,
    });
    this.isrSender = new AlterPartitionSender({
      localId,
      brokerEpoch: ctx.brokerEpoch,
      image: ctx.image,
      channel: ctx.controller,
      timeoutMs: config.int('request.timeout.ms'),
      logger: this.logger.child({ sub: 'isr' }),
      onIsrUpdated: (p) => p.maybeAdvanceHighWatermark(),
    });
    const lagMs = config.int('replica.lag.time.max.ms');
    this.isrTimer = setInterval(() => this.shrinkIsrs(lagMs), Math.max(50, Math.floor(lagMs / 2)));
    this.isrTimer.unref();
    for (const p of this.partitions.values()) if (!p.isLeader && p.leaderId >= 0) this.fetchers.follow(p);
  }

  /** Stops fetching and ISR changes (shutdown). */
  stopReplication(): void {
    if (this.isrTimer !== null) clearInterval(this.isrTimer);
    this.isrTimer = null;
    this.fetchers?.close();
    this.isrSender?.close();
    this.peers?.close();
    this.fetchers = null;
    this.isrSender = null;
    this.peers = null;
  }

  /** Kafka's maybeShrinkIsr: ISR members not caught up for replica.lag.time.max.ms leave it. */
  private shrinkIsrs(lagMs: number): void {
    const sender = this.isrSender;
    if (sender === null) return;
    const now = this.nowMs();
    for (const p of this.partitions.values()) {
      if (!p.isLeader || p.pendingIsr !== null) continue;
      const out = p.outOfSyncReplicas(now, lagMs);
      if (out.length === 0) continue;
      const newIsr = p.isr.filter((r) => !out.includes(r));
      this.logger.info({ topic: p.topic, partition: p.index, outOfSync: out, isr: p.isr, newIsr, highWatermark: p.highWatermark }, 'shrinking ISR');
      sender.submit(p, newIsr);
    }
  }

  /** Kafka's maybeExpandIsr: a follower that caught up joins the ISR (if its registration is current). */
  private maybeExpandIsr(p: Partition, follower: FollowerFetch): void {
    const ctx = this.replication;
    if (ctx === null || this.isrSender === null || !p.canJoinIsr(follower.replicaId)) return;
    const reg = ctx.image().broker(follower.replicaId);
    if (reg === undefined || reg.fenced || reg.inControlledShutdown) return;
    if (follower.replicaEpoch >= 0 && reg.epoch !== follower.replicaEpoch) return;
    const newIsr = [...p.isr, follower.replicaId];
    this.logger.info({ topic: p.topic, partition: p.index, replica: follower.replicaId, isr: p.isr, newIsr }, 'expanding ISR');
    this.isrSender.submit(p, newIsr);
  }

  onLeadershipChange(listener: LeadershipListener): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  private emitLeadership(event: Parameters<LeadershipListener>[0]): void {
    for (const l of this.leadershipListeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.error({ err, topic: event.topic, partition: event.partition }, 'leadership listener failed');
      }
    }
  }

  getPartition(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(partitionKey(topic, partition));
  }

  allPartitions(): IterableIterator<Partition> {
    return this.partitions.values();
  }

  /** The log settings of a topic: its overrides on top of the broker's defaults. */
  logConfigFor(image: MetadataImage, topic: string): LogConfig {
    const overrides = image.topicConfigs(TOPIC_CONFIG_KEY(topic));
    const num = (name: string) => Number(effectiveTopicConfig(name, overrides, this.config));
    return {
      segmentBytes: num('segment.bytes'),
      segmentMs: num('segment.ms'),
      retentionMs: num('retention.ms'),
      retentionBytes: num('retention.bytes'),
      indexIntervalBytes: num('index.interval.bytes'),
      segmentIndexBytes: num('segment.index.bytes'),
      maxMessageBytes: num('max.message.bytes'),
      flushIntervalMessages: num('flush.messages'),
      flushIntervalMs: num('flush.ms'),
      fileDeleteDelayMs: num('file.delete.delay.ms'),
      messageTimestampType: effectiveTopicConfig('message.timestamp.type', overrides, this.config) === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
      producerIdExpirationMs: this.config.int('producer.id.expiration.ms'),
    };
  }

  /** Queues the application of a new image; images are applied one at a time, in order. */
  applyImage(image: MetadataImage): Promise<void> {
    this.applied = this.applied.then(() => this.doApply(image)).catch((err) => {
      this.logger.error({ err }, 'failed to apply metadata image');
    });
    return this.applied;
  }

  /** Resolves once an image at or past `offset` has been applied (logs created, roles set). */
  awaitApplied(offset: number): Promise<void> {
    if (this.appliedOffset >= offset) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ offset, resolve }));
  }

  private async doApply(image: MetadataImage): Promise<void> {
    const now = this.nowMs();
    const wanted = new Set<string>();
    for (const topic of image.topicsByName.values()) {
      const logConfig = this.logConfigFor(image, topic.name);
      const minIsr = Number(effectiveTopicConfig('min.insync.replicas', image.topicConfigs(TOPIC_CONFIG_KEY(topic.name)), this.config));
      for (const [index, reg] of topic.partitions) {
        if (!reg.replicas.includes(this.localId)) continue;
        const key = partitionKey(topic.name, index);
        wanted.add(key);
        let p = this.partitions.get(key);
        if (!p) {
          const dirId = reg.directories[reg.replicas.indexOf(this.localId)];
          let log;
          try {
            log = await this.logs.getOrCreateLog(topic.name, index, logConfig, dirId === undefined ? undefined : this.logDirById.get(dirId));
          } catch (err) {
            // No healthy log dir for it (issue 8): not hosted; the other partitions go on.
            this.logger.error({ err, topic: topic.name, partition: index }, 'cannot open or create the log');
            continue;
          }
          p = new Partition(topic.name, index, topic.id, log, this.localId);
          this.partitions.set(key, p);
        } else if (p.log.offlineError !== null) {
          continue; // offline (its log dir failed): neither leads nor follows until restart
        } else {
          p.topicId = topic.id;
          p.log.updateConfig(logConfig);
        }
        p.minInsyncReplicas = minIsr;
        const wasLeader = p.isLeader;
        // A follower's fetch step in progress (an append, a truncation) ends before it leads.
        if (reg.leader === this.localId && !wasLeader && this.fetchers !== null) await this.fetchers.unfollow(p);
        const role = p.updateRegistration(reg, now);
        if (role === 'leader') {
          p.onTruncated();
          p.leaderEpochStartOffset = p.log.logEndOffset;
          try {
            p.log.assignLeaderEpoch(p.leaderEpoch, p.log.logEndOffset);
          } catch (err) {
            this.logger.error({ err, topic: topic.name, partition: index }, 'recording the leader epoch failed');
          }
          this.logger.info({ topic: topic.name, partition: index, leaderEpoch: p.leaderEpoch, logEndOffset: p.log.logEndOffset, highWatermark: p.highWatermark, isr: p.isr }, 'leading partition');
        } else if (role === 'follower' && this.fetchers !== null) {
          if (p.leaderId >= 0) this.fetchers.follow(p);
          else await this.fetchers.unfollow(p);
        }
        if (p.isLeader !== wasLeader || (p.isLeader && role === 'leader')) {
          this.emitLeadership({ topic: topic.name, partition: index, isLeader: p.isLeader, leaderEpoch: p.leaderEpoch, deleted: false });
        }
      }
    }
    for (const [key, p] of this.partitions) {
      if (wanted.has(key)) continue;
      this.partitions.delete(key);
      await this.fetchers?.unfollow(p);
      const wasLeader = p.isLeader;
      p.leaderId = -1;
      if (wasLeader) this.emitLeadership({ topic: p.topic, partition: p.index, isLeader: false, leaderEpoch: p.leaderEpoch, deleted: true });
      p.abortHighWatermarkWaiters();
      p.notifyData();
      await this.logs.deleteLog(p.topic, p.index).catch((err) => this.logger.warn({ err, topic: p.topic, partition: p.index }, 'deleting log failed'));
    }
    this.appliedOffset = Math.max(this.appliedOffset, image.offset);
    for (let i = this.appliedWaiters.length - 1; i >= 0; i--) {
      const w = this.appliedWaiters[i]!;
      if (w.offset <= this.appliedOffset) {
        this.appliedWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /**
   * Validates and appends one partition's records as leader. Reads only batch headers.
   * acks=1 resolves once the bytes are written; acks=-1 once the high watermark passes them.
   */
  async appendRecords(
    topic: string,
    index: number,
    records: Buffer | null,
    acks: number,
    timeoutMs: number,
    produceVersion: number,
    opts: AppendOptions = {},
  ): Promise<AppendOutcome> {
    const p = this.getPartition(topic, index);
    if (!p) return failedAppend(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (p.log.offlineError !== null) return failedAppend(ErrorCode.KAFKA_STORAGE_ERROR, p.log.offlineError.message);
    if (!p.isLeader) return failedAppend(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (!records || records.length === 0) return failedAppend(ErrorCode.CORRUPT_MESSAGE, 'empty record set');
    const scan = scanBatches(records, { verifyCrc: true });
    if (scan.error !== null) return failedAppend(scan.error, scan.message ?? null);
    if (produceVersion >= 3 && scan.batches.length !== 1) {
      return failedAppend(ErrorCode.INVALID_RECORD, 'Produce requests with version 3 and above must contain exactly one record batch');
    }
    const origin = opts.origin ?? 'client';
    const maxBytes = p.log.currentConfig.maxMessageBytes;
    for (const b of scan.batches) {
      if (b.size > maxBytes) return failedAppend(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${b.size} bytes exceeds max.message.bytes ${maxBytes}`);
      if (b.header.recordCount === 0) return failedAppend(ErrorCode.CORRUPT_MESSAGE, 'batch without records');
      // (With a producer id the log's producer checks refuse them the same way.)
      if (origin === 'client' && isControl(b.header.attributes)) return failedAppend(ErrorCode.INVALID_RECORD, 'Clients are not allowed to write control records');
    }
    if (acks === -1 && p.isr.length < p.minInsyncReplicas) {
      return failedAppend(ErrorCode.NOT_ENOUGH_REPLICAS, `the ISR has ${p.isr.length} replicas, fewer than min.insync.replicas ${p.minInsyncReplicas}`);
    }
    const first = scan.batches[0]!.header;
    const pid = first.producerId;
    const verify = origin === 'client' && opts.verifyTransaction !== undefined && isTransactional(first.attributes) && pid >= 0 ? opts.verifyTransaction : null;
    let appended: LeaderAppendResult | AppendOutcome;
    if (verify !== null && (p.hasProducerStep(pid) || !p.log.producerState.hasOngoingTransaction(pid, first.producerEpoch))) {
      appended = await p.inProducerOrder(pid, async () => {
        if (!p.log.producerState.hasOngoingTransaction(pid, first.producerEpoch)) {
          const guard = p.startVerification(pid);
          const error = await verify(pid, first.producerEpoch);
          if (error !== ErrorCode.NONE) return failedAppend(error);
          if (!p.verificationStillValid(pid, guard)) return failedAppend(ErrorCode.INVALID_TXN_STATE, 'a transaction marker was written while the partition was verified');
          if (this.getPartition(topic, index) !== p || !p.isLeader) return failedAppend(ErrorCode.NOT_LEADER_OR_FOLLOWER);
        }
        return this.appendNow(p, records, origin, topic, index);
      });
    } else {
      appended = this.appendNow(p, records, origin, topic, index);
    }
    if (!('kind' in appended)) return appended;
    // Refused by the producer checks (sequence, epoch, transaction state); a duplicate answers
    // the original offsets and waits like an append.
    if (appended.kind === 'error') return failedAppend(appended.errorCode, appended.message);
    if (origin === 'coordinator' && isControl(first.attributes) && pid >= 0) p.endVerification(pid);
    const result: AppendOutcome = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: appended.baseOffset,
      logAppendTimeMs: appended.logAppendTimeMs,
      logStartOffset: p.log.logStartOffset,
    };
    try {
      await appended.written;
    } catch (err) {
      this.logger.error({ err, topic, partition: index }, 'write failed');
      return failedAppend(ErrorCode.KAFKA_STORAGE_ERROR);
    }
    p.onWritten(appended.lastOffset + 1);
    if (acks === -1) {
      const reached = await p.waitForHighWatermark(appended.lastOffset + 1, timeoutMs);
      if (!reached) return failedAppend(ErrorCode.REQUEST_TIMED_OUT);
      if (!p.isLeader || p.highWatermark < appended.lastOffset + 1) return failedAppend(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      // Kafka's checkEnoughReplicasReachOffset: replicated, but to fewer replicas than asked.
      if (p.maximalIsr.length < p.minInsyncReplicas) return failedAppend(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    }
    return result;
  }

  /** The log append itself (synchronous: offsets are assigned in call order). */
  private appendNow(p: Partition, records: Buffer, origin: LeaderAppendOrigin, topic: string, index: number): LeaderAppendResult | AppendOutcome {
    try {
      return p.log.appendAsLeader(records, p.leaderEpoch, origin);
    } catch (err) {
      if (err instanceof RecordTooLargeError) return failedAppend(ErrorCode.MESSAGE_TOO_LARGE, err.message);
      this.logger.error({ err, topic, partition: index }, 'append failed');
      return failedAppend(ErrorCode.KAFKA_STORAGE_ERROR);
    }
  }

  /** ListOffsets for one partition (leader only). */
  async listOffset(topic: string, index: number, timestamp: number, currentLeaderEpoch: number, isolationLevel: number): Promise<OffsetLookup> {
    const p = this.getPartition(topic, index);
    const fail = (errorCode: number): OffsetLookup => ({ errorCode, offset: -1, timestamp: -1, leaderEpoch: -1 });
    if (!p) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (p.log.offlineError !== null) return fail(ErrorCode.KAFKA_STORAGE_ERROR);
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < p.leaderEpoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
    if (currentLeaderEpoch > p.leaderEpoch) return fail(ErrorCode.UNKNOWN_LEADER_EPOCH);
    if (!p.isLeader) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const found = (offset: number, ts = -1): OffsetLookup => ({ errorCode: ErrorCode.NONE, offset, timestamp: ts, leaderEpoch: p.leaderEpoch });
    // read_committed sees up to the last stable offset, read_uncommitted up to the high watermark.
    const lastFetchable = isolationLevel === READ_COMMITTED ? p.log.lastStableOffset : p.highWatermark;
    switch (timestamp) {
      case LATEST_TIMESTAMP:
        return found(lastFetchable);
      case EARLIEST_TIMESTAMP:
      case EARLIEST_LOCAL_TIMESTAMP:
        return found(p.log.logStartOffset);
      case LATEST_TIERED_TIMESTAMP:
        return { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1, leaderEpoch: -1 };
      case MAX_TIMESTAMP: {
        const m = await p.log.maxTimestamp();
        return m && m.offset < lastFetchable ? found(m.offset, m.timestamp) : { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1, leaderEpoch: -1 };
      }
      default: {
        if (timestamp < 0) return fail(ErrorCode.INVALID_REQUEST);
        const r = await p.log.offsetForTimestamp(timestamp);
        if (!r || r.offset >= lastFetchable) return { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1, leaderEpoch: -1 };
        return found(r.offset, r.timestamp);
      }
    }
  }

  /** DeleteRecords: moves the log start offset forward (offset -1 = the high watermark). */
  async deleteRecords(topic: string, index: number, offset: number): Promise<{ errorCode: number; lowWatermark: number }> {
    const p = this.getPartition(topic, index);
    if (!p) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 };
    if (!p.isLeader) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, lowWatermark: -1 };
    const target = offset === -1 ? p.highWatermark : offset;
    if (target < 0 || target > p.highWatermark) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 };
    if (target > p.log.logStartOffset) {
      try {
        await p.log.deleteRecordsBefore(target);
      } catch (err) {
        this.logger.error({ err, topic, partition: index }, 'deleteRecords failed');
        return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, lowWatermark: -1 };
      }
    }
    return { errorCode: ErrorCode.NONE, lowWatermark: p.log.logStartOffset };
  }

  /**
   * Reads whole batches from `fetchOffset`, never past the high watermark for read_uncommitted
   * consumers, the last stable offset for read_committed ones (with the aborted transactions
   * overlapping what is returned), or past the written end for followers. A follower's fetch
   * first checks that its log agrees with ours (last_fetched_epoch: else the diverging epoch is
   * answered, without records) and then records its position (high watermark, ISR expansion).
   */
  async read(
    topic: string,
    index: number,
    fetchOffset: number,
    maxBytes: number,
    minOneBatch: boolean,
    follower: FollowerFetch | null,
    currentLeaderEpoch: number,
    isolationLevel = READ_UNCOMMITTED,
  ): Promise<ReadOutcome> {
    const p = this.getPartition(topic, index);
    const empty = (errorCode: number): ReadOutcome => ({
      errorCode,
      highWatermark: p ? p.highWatermark : -1,
      lastStableOffset: p ? p.log.lastStableOffset : -1,
      logStartOffset: p ? p.log.logStartOffset : -1,
      records: null,
      abortedTransactions: null,
    });
    if (!p) return empty(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (p.log.offlineError !== null) return empty(ErrorCode.KAFKA_STORAGE_ERROR);
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < p.leaderEpoch) return empty(ErrorCode.FENCED_LEADER_EPOCH);
    if (currentLeaderEpoch > p.leaderEpoch) return empty(ErrorCode.UNKNOWN_LEADER_EPOCH);
    if (!p.isLeader) return empty(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (follower !== null) {
      // Not a replica here (Kafka 3.5+'s followerReplicaOrThrow): with an epoch, the follower may
      // know of a reassignment this leader has not seen yet, so it retries.
      if (!p.followers.has(follower.replicaId)) return empty(currentLeaderEpoch >= 0 ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.NOT_LEADER_OR_FOLLOWER);
      if (follower.lastFetchedEpoch >= 0) {
        // Kafka's validateFetchOffsetAndMaybeGetDivergingEpoch.
        const ours = p.log.endOffsetForEpoch(follower.lastFetchedEpoch);
        if (ours.epoch < follower.lastFetchedEpoch || ours.endOffset < fetchOffset) {
          return { ...empty(ErrorCode.NONE), records: EMPTY, divergingEpoch: { epoch: ours.epoch, endOffset: ours.endOffset } };
        }
      }
    }
    if (fetchOffset < p.log.logStartOffset || fetchOffset > p.writtenEndOffset) return empty(ErrorCode.OFFSET_OUT_OF_RANGE);
    if (follower !== null) {
      p.updateFollowerFetchState(follower.replicaId, fetchOffset, this.nowMs());
      this.maybeExpandIsr(p, follower);
    }
    const hw = p.highWatermark;
    const lso = p.log.lastStableOffset;
    const readCommitted = follower === null && isolationLevel === READ_COMMITTED;
    const upTo = follower !== null ? p.writtenEndOffset : readCommitted ? lso : hw;
    const outcome = (records: Buffer | RecordParts, aborted: AbortedTxn[] | null): ReadOutcome => ({
      errorCode: ErrorCode.NONE,
      highWatermark: hw,
      lastStableOffset: lso,
      logStartOffset: p.log.logStartOffset,
      records,
      abortedTransactions: aborted,
    });
    if (fetchOffset >= upTo || maxBytes <= 0) return outcome(EMPTY, null);
    try {
      const r = await p.log.readRecords(fetchOffset, maxBytes, upTo, minOneBatch);
      if (r.error) return empty(ErrorCode.OFFSET_OUT_OF_RANGE);
      const aborted = readCommitted && r.records.length > 0 ? p.log.abortedTransactions(fetchOffset, upTo) : null;
      return outcome(r.records, aborted);
    } catch (err) {
      this.logger.error({ err, topic, partition: index }, 'read failed');
      return empty(ErrorCode.KAFKA_STORAGE_ERROR);
    }
  }
}

function failedAppend(errorCode: number, errorMessage: string | null = null): AppendOutcome {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

const EMPTY = Buffer.alloc(0);

/** ListOffsets special timestamps. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL_TIMESTAMP = -4;
export const LATEST_TIERED_TIMESTAMP = -5;

export interface OffsetLookup {
  errorCode: number;
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}
