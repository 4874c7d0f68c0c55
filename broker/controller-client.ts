// How handlers reach the controller. On a node that is a quorum of one, decisions run here
// against the local metadata quorum; the KRaft issue puts forwarding to the active controller
// behind the same interface. Every call resolves only once this broker has applied the
// resulting image (so a created topic's logs exist when CreateTopics answers).
import type { Logger } from 'pino';
import {
  allocateProducerIds,
  alterConfigs,
  bootstrapRecords,
  createPartitions,
  createTopics,
  deleteTopics,
  incrementalAlterConfigs,
  registerBroker,
  type AllocateProducerIdsResult,
  type AlterConfigsResource,
  type AlterConfigsResourceResult,
  type CreatableTopic,
  type CreatableTopicResult,
  type CreatePartitionsTopic,
  type CreatePartitionsTopicResult,
  type DeletableTopic,
  type DeletableTopicResult,
  type IncrementalAlterConfigsResource,
} from '../kraft/controller.js';
import type { MetadataImage } from '../kraft/image.js';
import type { LocalMetadataQuorum } from '../kraft/local-quorum.js';
import type { ApiMessageAndVersion } from '../kraft/records.js';
import { randomUuid } from '../wire/primitives.js';
import { ErrorCode } from '../wire/errors.js';
import type { BrokerConfig, Listener } from './config.js';
import type { ReplicaManager } from './replica-manager.js';
import { validateTopicConfig } from './topic-config.js';

export interface ControllerClient {
  createTopics(topics: readonly CreatableTopic[], validateOnly: boolean): Promise<CreatableTopicResult[]>;
  deleteTopics(topics: readonly DeletableTopic[]): Promise<DeletableTopicResult[]>;
  createPartitions(topics: readonly CreatePartitionsTopic[], validateOnly: boolean): Promise<CreatePartitionsTopicResult[]>;
  alterConfigs(resources: readonly AlterConfigsResource[], validateOnly: boolean): Promise<AlterConfigsResourceResult[]>;
  incrementalAlterConfigs(resources: readonly IncrementalAlterConfigsResource[], validateOnly: boolean): Promise<AlterConfigsResourceResult[]>;
  allocateProducerIds(brokerId: number, brokerEpoch: number): Promise<AllocateProducerIdsResult>;
}

/** PLAINTEXT in Kafka's SecurityProtocol ids. */
const PLAINTEXT = 0;

export class LocalControllerClient implements ControllerClient {
  constructor(
    private readonly quorum: LocalMetadataQuorum,
    private readonly replicas: ReplicaManager,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {}

  private async decide<T>(fn: (image: MetadataImage) => { records: readonly ApiMessageAndVersion[]; result: T }): Promise<T> {
    const result = await this.quorum.runExclusive(fn);
    await this.replicas.awaitApplied(this.quorum.image.offset);
    return result;
  }

  /** A new cluster's first records (metadata.version); nothing when the log has them already. */
  async bootstrapIfEmpty(): Promise<void> {
    if (this.quorum.image.metadataVersion > 0) return;
    await this.quorum.commit(bootstrapRecords());
    this.logger.info('bootstrapped the cluster metadata');
  }

  /** Registers (or re-registers at start-up) this broker with its advertised endpoints. */
  async registerBroker(req: { brokerId: number; incarnationId: string; listeners: readonly Listener[]; rack: string | null }): Promise<number> {
    const result = await this.quorum.runExclusive((image) => {
      const r = registerBroker(image, {
        brokerId: req.brokerId,
        incarnationId: req.incarnationId,
        listeners: req.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port, securityProtocol: PLAINTEXT })),
        rack: req.rack,
        fenced: false,
      });
      return { records: r.records, result: r.results };
    });
    if (result.errorCode !== ErrorCode.NONE) throw new Error(`broker registration failed: ${result.errorMessage}`);
    return result.brokerEpoch;
  }

  createTopics(topics: readonly CreatableTopic[], validateOnly: boolean): Promise<CreatableTopicResult[]> {
    return this.decide((image) => {
      const r = createTopics(image, topics, {
        defaultNumPartitions: this.config.int('num.partitions'),
        defaultReplicationFactor: this.config.int('default.replication.factor'),
        validateConfig: validateTopicConfig,
        randomUuid,
        validateOnly,
      });
      return { records: r.records, result: r.results };
    });
  }

  deleteTopics(topics: readonly DeletableTopic[]): Promise<DeletableTopicResult[]> {
    return this.decide((image) => {
      const r = deleteTopics(image, topics);
      return { records: r.records, result: r.results };
    });
  }

  createPartitions(topics: readonly CreatePartitionsTopic[], validateOnly: boolean): Promise<CreatePartitionsTopicResult[]> {
    return this.decide((image) => {
      const r = createPartitions(image, topics, { validateOnly });
      return { records: r.records, result: r.results };
    });
  }

  alterConfigs(resources: readonly AlterConfigsResource[], validateOnly: boolean): Promise<AlterConfigsResourceResult[]> {
    return this.decide((image) => {
      const r = alterConfigs(image, resources, { validateOnly, validateConfig: validateTopicConfig });
      return { records: r.records, result: r.results };
    });
  }

  incrementalAlterConfigs(resources: readonly IncrementalAlterConfigsResource[], validateOnly: boolean): Promise<AlterConfigsResourceResult[]> {
    return this.decide((image) => {
      const r = incrementalAlterConfigs(image, resources, { validateOnly, validateConfig: validateTopicConfig });
      return { records: r.records, result: r.results };
    });
  }

  allocateProducerIds(brokerId: number, brokerEpoch: number): Promise<AllocateProducerIdsResult> {
    return this.decide((image) => {
      const r = allocateProducerIds(image, brokerId, brokerEpoch);
      return { records: r.records, result: r.results };
    });
  }
}
