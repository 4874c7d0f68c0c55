// The thin runtime around the group coordinator: real timers, the clock, appends through the
// replica manager (as leader, acks=-1), loading a partition from its log, following leadership
// of `__consumer_offsets` partitions, the periodic offset expiration, and creating the
// coordinators' internal topics on demand (`__consumer_offsets`, `__transaction_state`).
import type { Logger } from 'pino';
import type { MetadataImage } from '../../kraft/image.js';
import { ErrorCode } from '../../wire/errors.js';
import type { BrokerConfig } from '../config.js';
import type { ControllerClient } from '../controller-client.js';
import type { ReplicaManager } from '../replica-manager.js';
import { GroupCoordinator, type GroupCoordinatorConfig } from './coordinator.js';
import { encodeOffsetsBatch, GROUP_METADATA_TOPIC, readOffsetsPartition, TRANSACTION_STATE_TOPIC } from './offsets-topic.js';
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
}

/** Topic spec of an internal topic as Kafka creates it (AutoTopicCreationManager). */
export function internalTopicSpec(name: string, config: BrokerConfig, liveBrokers: number): { numPartitions: number; replicationFactor: number; configs: Array<{ name: string; value: string }> } | null {
  const live = Math.max(1, liveBrokers);
  if (name === GROUP_METADATA_TOPIC) {
    return {
      numPartitions: config.int('offsets.topic.num.partitions'),
      replicationFactor: Math.min(config.int('offsets.topic.replication.factor'), live),
      configs: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'compression.type', value: 'producer' },
        { name: 'segment.bytes', value: String(config.int('offsets.topic.segment.bytes')) },
      ],
    };
  }
  if (name === TRANSACTION_STATE_TOPIC) {
    const rf = Math.min(config.int('transaction.state.log.replication.factor'), live);
    return {
      numPartitions: config.int('transaction.state.log.num.partitions'),
      replicationFactor: rf,
      configs: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'compression.type', value: 'uncompressed' },
        // Kafka sets transaction.state.log.min.isr; capped at the replication factor so a
        // smaller cluster can still write its transaction log.
        { name: 'min.insync.replicas', value: String(Math.min(config.int('transaction.state.log.min.isr'), rf)) },
        { name: 'segment.bytes', value: String(config.int('transaction.state.log.segment.bytes')) },
        { name: 'unclean.leader.election.enable', value: 'false' },
      ],
    };
  }
  return null;
}

export class GroupCoordinatorRuntime {
  readonly coordinator: GroupCoordinator;
  private readonly timer: SystemTimer;
  private unsubscribe: (() => void) | null = null;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private readonly creating = new Map<string, Promise<number>>();
  private readonly logger: Logger;
  /** Topic names of the last image seen (to notice deletions). */
  private knownTopics: Set<string> | null = null;

  constructor(private readonly opts: GroupCoordinatorRuntimeOptions) {
    this.logger = opts.logger;
    this.timer = new SystemTimer((err, key) => this.logger.error({ err, timer: key }, 'group coordinator timer failed'));
    const { replicaManager, config } = opts;
    const commitTimeoutMs = config.int('offsets.commit.timeout.ms');
    const loadBufferBytes = config.int('offsets.load.buffer.size');
    this.coordinator = new GroupCoordinator({
      config: groupCoordinatorConfig(config),
      timer: this.timer,
      nowMs: opts.nowMs,
      logger: opts.logger,
      numPartitions: () => opts.image().topicByName(GROUP_METADATA_TOPIC)?.partitions.size ?? 0,
      append: (partition, records) =>
        replicaManager
          .appendRecords(GROUP_METADATA_TOPIC, partition, encodeOffsetsBatch(records, opts.nowMs()), -1, commitTimeoutMs, INTERNAL_PRODUCE_VERSION)
          .then((r) => r.errorCode),
      readPartition: async (partition, onRecord) => {
        const p = replicaManager.getPartition(GROUP_METADATA_TOPIC, partition);
        if (!p) throw new Error(`${GROUP_METADATA_TOPIC}-${partition} is not hosted here`);
        return readOffsetsPartition(p.log, p.writtenEndOffset, onRecord, {
          maxBytes: loadBufferBytes,
          onUndecodable: (offset, err) => this.logger.warn({ partition, offset, err }, 'skipping an undecodable __consumer_offsets record'),
        });
      },
    });
  }

  /** Follows leadership of `__consumer_offsets` (including partitions already led) and starts expiration. */
  start(): void {
    const { replicaManager, config } = this.opts;
    this.unsubscribe = replicaManager.onLeadershipChange((ev) => {
      if (ev.topic !== GROUP_METADATA_TOPIC) return;
      if (ev.isLeader) void this.coordinator.onElection(ev.partition, ev.leaderEpoch);
      else this.coordinator.onResignation(ev.partition);
    });
    for (const p of replicaManager.allPartitions()) {
      if (p.topic === GROUP_METADATA_TOPIC && p.isLeader) void this.coordinator.onElection(p.index, p.leaderEpoch);
    }
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
    if (this.opts.image().topicByName(name)) return Promise.resolve(ErrorCode.NONE);
    const inFlight = this.creating.get(name);
    if (inFlight) return inFlight;
    const image = this.opts.image();
    const live = [...image.brokers.values()].filter((b) => !b.fenced).length;
    const spec = internalTopicSpec(name, this.opts.config, live);
    if (!spec) return Promise.resolve(ErrorCode.INVALID_REQUEST);
    const p = this.opts.controller
      .createTopics([{ name, numPartitions: spec.numPartitions, replicationFactor: spec.replicationFactor, assignments: [], configs: spec.configs }], false)
      .then(([r]) => {
        if (!r || r.errorCode === ErrorCode.NONE || r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) {
          if (r?.errorCode === ErrorCode.NONE) this.logger.info({ topic: name, partitions: spec.numPartitions, replicationFactor: spec.replicationFactor }, 'created internal topic');
          return ErrorCode.NONE;
        }
        this.logger.warn({ topic: name, errorCode: r.errorCode, message: r.errorMessage }, 'creating internal topic failed');
        return r.errorCode;
      })
      .catch((err: unknown) => {
        this.logger.error({ err, topic: name }, 'creating internal topic failed');
        return ErrorCode.UNKNOWN_SERVER_ERROR;
      })
      .finally(() => this.creating.delete(name));
    this.creating.set(name, p);
    return p;
  }
}
