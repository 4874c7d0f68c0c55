// The thin runtime around the transaction coordinator: real timers and the clock, appends to
// `__transaction_state` through the replica manager (as leader, acks=-1), loading a partition
// from its log, following leadership of `__transaction_state` partitions, the periodic timeout
// abort and transactional id expiration, the producer id blocks, the marker sender, and the
// transaction verification the produce path asks for.
import type { Logger } from 'pino';
import type { MetadataImage } from '../../kraft/image.js';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import type { BrokerConfig } from '../config.js';
import type { ControllerClient } from '../controller-client.js';
import { GROUP_METADATA_TOPIC, TRANSACTION_STATE_TOPIC } from '../coordinator/internal-topics.js';
import { followLeadership } from '../coordinator/leadership.js';
import { PeerPool } from '../coordinator/peers.js';
import { partitionFor } from '../group/offsets-topic.js';
import { SystemTimer } from '../group/timer.js';
import type { ReplicaManager } from '../replica-manager.js';
import { TransactionCoordinator } from './coordinator.js';
import { TxnMarkerSender } from './markers.js';
import { ProducerIdManager } from './producer-ids.js';
import { encodeTxnLogBatch, readTxnPartition } from './txn-log.js';
import { tpKey } from './txn-state.js';

/** A Produce version with one-batch-per-request semantics (the replica manager checks that). */
const INTERNAL_PRODUCE_VERSION = 9;
const RETRY_BACKOFF_MS = 100;
/** AddPartitionsToTxn version with the batched, verifyOnly form (KIP-890). */
const VERIFY_VERSION = 4;

export interface TransactionCoordinatorRuntimeOptions {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly replicaManager: ReplicaManager;
  readonly controller: ControllerClient;
  image(): MetadataImage;
  nowMs(): number;
  readonly logger: Logger;
}

export class TransactionCoordinatorRuntime {
  readonly coordinator: TransactionCoordinator;
  readonly producerIds: ProducerIdManager;
  private readonly timer: SystemTimer;
  private readonly peers: PeerPool;
  private readonly markers: TxnMarkerSender;
  private readonly logger: Logger;
  private readonly verificationEnabled: boolean;
  private readonly requestTimeoutMs: number;
  private unsubscribe: (() => void) | null = null;
  private readonly intervals: NodeJS.Timeout[] = [];

  constructor(private readonly opts: TransactionCoordinatorRuntimeOptions) {
    const { config, replicaManager, image, nowMs } = opts;
    this.logger = opts.logger;
    this.timer = new SystemTimer((err, key) => this.logger.error({ err, timer: key }, 'transaction coordinator timer failed'));
    this.requestTimeoutMs = config.int('request.timeout.ms');
    this.verificationEnabled = config.bool('transaction.partition.verification.enable');
    const listenerName = config.interBrokerListenerName;
    this.peers = new PeerPool({ image, listenerName, clientId: `broker-${opts.nodeId}-txn`, logger: this.logger.child({ sub: 'peers' }) });
    this.markers = new TxnMarkerSender({
      peers: this.peers,
      image,
      nowMs,
      requestTimeoutMs: this.requestTimeoutMs,
      retryBackoffMs: RETRY_BACKOFF_MS,
      logger: this.logger.child({ sub: 'markers' }),
    });
    this.producerIds = new ProducerIdManager({
      nowMs,
      logger: this.logger.child({ sub: 'producer-ids' }),
      allocate: async () => {
        const epoch = image().broker(opts.nodeId)?.epoch;
        if (epoch === undefined) throw new Error('this broker is not registered yet');
        const r = await opts.controller.allocateProducerIds(opts.nodeId, epoch);
        if (r.errorCode !== ErrorCode.NONE) throw new Error(`AllocateProducerIds failed: ${r.errorMessage ?? r.errorCode}`);
        return { start: r.producerIdStart, length: r.producerIdLen };
      },
    });
    const loadBufferBytes = config.int('transaction.state.log.load.buffer.size');
    this.coordinator = new TransactionCoordinator({
      config: {
        transactionMaxTimeoutMs: config.int('transaction.max.timeout.ms'),
        transactionalIdExpirationMs: config.int('transactional.id.expiration.ms'),
        retryBackoffMs: RETRY_BACKOFF_MS,
      },
      timer: this.timer,
      nowMs,
      logger: this.logger,
      numPartitions: () => image().topicByName(TRANSACTION_STATE_TOPIC)?.partitions.size ?? 0,
      append: (partition, records) =>
        replicaManager
          .appendRecords(TRANSACTION_STATE_TOPIC, partition, encodeTxnLogBatch(records, nowMs()), -1, this.requestTimeoutMs, INTERNAL_PRODUCE_VERSION)
          .then((r) => r.errorCode),
      readPartition: async (partition, onRecord) => {
        const p = replicaManager.getPartition(TRANSACTION_STATE_TOPIC, partition);
        if (!p) throw new Error(`${TRANSACTION_STATE_TOPIC}-${partition} is not hosted here`);
        return readTxnPartition(p.log, p.writtenEndOffset, onRecord, {
          maxBytes: loadBufferBytes,
          onUndecodable: (offset, err) => this.logger.warn({ partition, offset, err }, 'skipping an undecodable __transaction_state record'),
        });
      },
      generateProducerId: () => this.producerIds.generate(),
      sendMarkers: (req, callbacks) => this.markers.send(req, callbacks),
      offsetsPartitions: () => image().topicByName(GROUP_METADATA_TOPIC)?.partitions.size ?? config.int('offsets.topic.num.partitions'),
      partitionExists: (topic, partition) => image().topicByName(topic)?.partitions.has(partition) ?? false,
    });
  }

  /** Follows leadership of `__transaction_state` and starts the periodic abort and expiration. */
  start(): void {
    const { replicaManager, config } = this.opts;
    this.unsubscribe = followLeadership(
      replicaManager,
      TRANSACTION_STATE_TOPIC,
      (partition, leaderEpoch) => void this.coordinator.onElection(partition, leaderEpoch),
      (partition) => this.coordinator.onResignation(partition),
    );
    this.coordinator.start();
    const every = (ms: number, what: string, fn: () => unknown) => {
      const t = setInterval(() => {
        try {
          void Promise.resolve(fn()).catch((err: unknown) => this.logger.error({ err }, `${what} failed`));
        } catch (err) {
          this.logger.error({ err }, `${what} failed`);
        }
      }, Math.max(1, ms));
      t.unref();
      this.intervals.push(t);
    };
    every(config.int('transaction.abort.timed.out.transaction.cleanup.interval.ms'), 'aborting timed out transactions', () => this.coordinator.abortTimedOutTransactions());
    every(config.int('transaction.remove.expired.transaction.cleanup.interval.ms'), 'expiring transactional ids', () => this.coordinator.expireTransactionalIds());
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const t of this.intervals) clearInterval(t);
    this.intervals.length = 0;
    this.coordinator.shutdown();
    this.markers.close();
    this.peers.close();
    this.timer.close();
  }

  /**
   * KIP-890 verification for the produce path and TxnOffsetCommit: is `topic`-`partition` part
   * of the open transaction of `transactionalId` with this producer id and epoch? Asks the
   * transaction coordinator: directly when it is this broker, else with AddPartitionsToTxn v4
   * verifyOnly to the leader of the transactional id's `__transaction_state` partition.
   * Resolves with the coordinator's answer (NONE, INVALID_TXN_STATE, PRODUCER_FENCED,
   * INVALID_PRODUCER_ID_MAPPING, or a coordinator error); the caller maps it for its API.
   */
  async verifyPartition(transactionalId: string, producerId: number, producerEpoch: number, topic: string, partition: number): Promise<number> {
    if (!this.verificationEnabled) return ErrorCode.NONE;
    const key = tpKey(topic, partition);
    const image = this.opts.image();
    const txnTopic = image.topicByName(TRANSACTION_STATE_TOPIC);
    if (!txnTopic || txnTopic.partitions.size === 0) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const leader = txnTopic.partitions.get(partitionFor(transactionalId, txnTopic.partitions.size))?.leader ?? -1;
    if (leader < 0) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (leader === this.opts.nodeId) {
      const r = this.coordinator.verify(transactionalId, producerId, producerEpoch, [key]);
      return typeof r === 'number' ? r : (r.get(key) ?? ErrorCode.INVALID_TXN_STATE);
    }
    const conn = this.peers.get(leader);
    if (!conn) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    try {
      const res = await conn.send(
        ApiKey.AddPartitionsToTxn,
        VERIFY_VERSION,
        { transactions: [{ transactionalId, producerId: BigInt(producerId), producerEpoch, verifyOnly: true, topics: [{ name: topic, partitions: [partition] }] }] },
        this.requestTimeoutMs,
      );
      if ((res.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE) return res.errorCode!;
      const result = res.resultsByTransaction?.[0]?.topicResults.find((t) => t.name === topic)?.resultsByPartition.find((p) => p.partitionIndex === partition);
      return result?.partitionErrorCode ?? ErrorCode.INVALID_TXN_STATE;
    } catch (err) {
      this.logger.warn({ err, transactionalId, coordinator: leader }, 'transaction verification request failed');
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }
}

/**
 * A verification answer as Produce reports it (Kafka's ReplicaManager after
 * AddPartitionsToTxnManager): PRODUCER_FENCED → INVALID_PRODUCER_EPOCH; coordinator errors that
 * resolve by themselves → NOT_ENOUGH_REPLICAS (retriable for every producer).
 */
export function produceVerificationError(error: number): number {
  switch (error) {
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    default:
      return error;
  }
}
