// The thin runtime around the group coordinator: real timers, the clock, appends through the
// replica manager (as leader, acks=-1), loading a partition from its log, following leadership
// of `__consumer_offsets` partitions, the periodic offset expiration, and creating the
// coordinators' internal topics on demand (`__consumer_offsets`, `__transaction_state`).
import type { Logger } from 'pino';
import type { MetadataImage } from '../../kraft/image.js';
import type { BrokerConfig } from '../config.js';
import type { ControllerClient } from '../controller-client.js';
import type { ReplicaManager } from '../replica-manager.js';
import { GroupCoordinator, type GroupCoordinatorConfig } from './coordinator.js';
import { InternalTopics } from '../coordinator/internal-topics.js';
import { followLeadership } from '../coordinator/leadership.js';
import { encodeOffsetsBatch, GROUP_METADATA_TOPIC, readOffsetsPartition } from './offsets-topic.js';
import { SystemTimer } from './timer.js';

/** Kafka's constant for how long a new member's JoinGroup may stay parked. */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;
/** A Produce version with one-batch-per-request semantics (the replica manager checks that). */
const INTERNAL_PRODUCE_VERSION = 9;

export function groupCoordinatorConfig(config: BrokerConfig): GroupCoordinatorConfig {
  return {
    minSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
    initialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
    maxGroupSize: config.int('group.max.size'),
    newMemberJoinTimeoutMs: NEW_MEMBER_JOIN_TIMEOUT_MS,
    offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
    offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
  };
}

export interface GroupCoordinatorRuntimeOptions {
  readonly config: BrokerConfig;
  readonly replicaManager: ReplicaManager;
  readonly controller: ControllerClient;
  image(): MetadataImage;
  nowMs(): number;
  readonly logger: Logger;
  /** Creates the internal topics on demand (shared with the transaction coordinator). */
  readonly internalTopics?: InternalTopics;
}

export { internalTopicSpec } from '../coordinator/internal-topics.js';

export class GroupCoordinatorRuntime {
  readonly coordinator: GroupCoordinator;
  private readonly timer: SystemTimer;
  private unsubscribe: (() => void) | null = null;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private readonly internalTopics: InternalTopics;
  private readonly logger: Logger;
  /** Topic names of the last image seen (to notice deletions). */
  private knownTopics: Set<string> | null = null;

  constructor(private readonly opts: GroupCoordinatorRuntimeOptions) {
    this.logger = opts.logger;
    this.timer = new SystemTimer((err, key) => this.logger.error({ err, timer: key }, 'group coordinator timer failed'));
    const { replicaManager, config } = opts;
    this.internalTopics = opts.internalTopics ?? new InternalTopics({ config, controller: opts.controller, image: opts.image, logger: opts.logger });
    const commitTimeoutMs = config.int('offsets.commit.timeout.ms');
    const loadBufferBytes = config.int('offsets.load.buffer.size');
    this.coordinator = new GroupCoordinator({
      config: groupCoordinatorConfig(config),
      timer: this.timer,
      nowMs: opts.nowMs,
      logger: opts.logger,
      numPartitions: () => opts.image().topicByName(GROUP_METADATA_TOPIC)?.partitions.size ?? 0,
      // Transactional offset commits are appended as the coordinator (no sequence checks), in a
      // transactional batch of the producer.
      append: (partition, records, txn) =>
        replicaManager
          .appendRecords(GROUP_METADATA_TOPIC, partition, encodeOffsetsBatch(records, opts.nowMs(), txn), -1, commitTimeoutMs, INTERNAL_PRODUCE_VERSION, {
            origin: txn ? 'coordinator' : 'client',
          })
          .then((r) => r.errorCode),
      readPartition: async (partition, onRecord, onTxnMarker) => {
        const p = replicaManager.getPartition(GROUP_METADATA_TOPIC, partition);
        if (!p) throw new Error(`${GROUP_METADATA_TOPIC}-${partition} is not hosted here`);
        return readOffsetsPartition(p.log, p.writtenEndOffset, onRecord, {
          maxBytes: loadBufferBytes,
          onUndecodable: (offset, err) => this.logger.warn({ partition, offset, err }, 'skipping an undecodable __consumer_offsets record'),
          onTxnMarker,
        });
      },
    });
  }

  /** Follows leadership of `__consumer_offsets` (including partitions already led) and starts expiration. */
  start(): void {
    const { replicaManager, config } = this.opts;
    this.unsubscribe = followLeadership(
      replicaManager,
      GROUP_METADATA_TOPIC,
      (partition, leaderEpoch) => void this.coordinator.onElection(partition, leaderEpoch),
      (partition) => this.coordinator.onResignation(partition),
    );
    this.knownTopics = new Set(this.opts.image().topicsByName.keys());
    this.coordinator.start();
    const interval = config.int('offsets.retention.check.interval.ms');
    this.cleanupTimer = setInterval(() => {
      this.coordinator.cleanupGroupMetadata().catch((err) => this.logger.error({ err }, 'offset expiration failed'));
    }, Math.max(1, interval));
    this.cleanupTimer.unref();
  }

  /**
   * A new metadata image: offsets of topics it no longer has are deleted (Kafka's
   * onPartitionsDeleted). Call for every published image.
   */
  onImage(image: MetadataImage): void {
    const names = new Set(image.topicsByName.keys());
    const known = this.knownTopics;
    this.knownTopics = names;
    if (known === null) return;
    const deleted = new Set([...known].filter((t) => !names.has(t)));
    if (deleted.size === 0) return;
    this.coordinator.onTopicsDeleted(deleted).catch((err) => this.logger.error({ err }, 'removing offsets of deleted topics failed'));
  }

  /** Answers parked requests (NOT_COORDINATOR), drops all group state and every timer. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.cleanupTimer = null;
    this.coordinator.shutdown();
    this.timer.close();
  }

  /**
   * Creates `__consumer_offsets` or `__transaction_state` if missing (one creation at a time per
   * topic); resolves NONE once it exists, else the creation error.
   */
  ensureInternalTopic(name: string): Promise<number> {
    return this.internalTopics.ensure(name);
  }
}
