// The coordinators' internal topics (`__consumer_offsets`, `__transaction_state`): their specs
// as Kafka creates them (AutoTopicCreationManager) and creating them on demand, one creation at
// a time per topic. Shared by FindCoordinator, the group coordinator and the transaction
// coordinator.
import type { Logger } from 'pino';
import type { MetadataImage } from '../../kraft/image.js';
import { ErrorCode } from '../../wire/errors.js';
import type { BrokerConfig } from '../config.js';
import type { ControllerClient } from '../controller-client.js';

export const GROUP_METADATA_TOPIC = '__consumer_offsets';
export const TRANSACTION_STATE_TOPIC = '__transaction_state';

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

export class InternalTopics {
  private readonly creating = new Map<string, Promise<number>>();

  constructor(
    private readonly opts: {
      readonly config: BrokerConfig;
      readonly controller: ControllerClient;
      image(): MetadataImage;
      readonly logger: Logger;
    },
  ) {}

  /**
   * Creates `__consumer_offsets` or `__transaction_state` if missing; resolves NONE once it
   * exists, else the creation error.
   */
  ensure(name: string): Promise<number> {
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
          if (r?.errorCode === ErrorCode.NONE) this.opts.logger.info({ topic: name, partitions: spec.numPartitions, replicationFactor: spec.replicationFactor }, 'created internal topic');
          return ErrorCode.NONE;
        }
        this.opts.logger.warn({ topic: name, errorCode: r.errorCode, message: r.errorMessage }, 'creating internal topic failed');
        return r.errorCode;
      })
      .catch((err: unknown) => {
        this.opts.logger.error({ err, topic: name }, 'creating internal topic failed');
        return ErrorCode.UNKNOWN_SERVER_ERROR;
      })
      .finally(() => this.creating.delete(name));
    this.creating.set(name, p);
    return p;
  }
}
