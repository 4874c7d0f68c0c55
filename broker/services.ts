// What handlers can reach: the configuration, the current metadata image, the controller,
// the replica manager and the log manager. Handlers read metadata only from the image.
import type { Logger } from 'pino';
import type { MetadataImage } from '../kraft/image.js';
import type { LogManager } from '../log/log-manager.js';
import type { BrokerConfig } from './config.js';
import type { ControllerClient } from './controller-client.js';
import type { InternalTopics } from './coordinator/internal-topics.js';
import type { FetchSessionCache } from './fetch-session.js';
import type { GroupCoordinatorRuntime } from './group/runtime.js';
import type { HandlerDef } from './handler.js';
import type { ClientQuotaManager } from './quota/quota-manager.js';
import type { ReplicaManager } from './replica-manager.js';
import type { TransactionCoordinatorRuntime } from './txn/runtime.js';

export interface BrokerServices {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly logger: Logger;
  nowMs(): number;
  /** The latest published metadata image. */
  image(): MetadataImage;
  readonly controller: ControllerClient;
  readonly replicaManager: ReplicaManager;
  readonly logManager: LogManager;
  readonly fetchSessions: FetchSessionCache;
  /** Consumer groups and committed offsets (and creation of the coordinators' internal topics). */
  readonly groupCoordinator: GroupCoordinatorRuntime;
  /** Transactions and producer ids (InitProducerId, AddPartitionsToTxn, EndTxn, markers, verification). */
  readonly txnCoordinator: TransactionCoordinatorRuntime;
  /** Creates `__consumer_offsets` / `__transaction_state` on demand. */
  readonly internalTopics: InternalTopics;
  readonly handlers: ReadonlyMap<number, HandlerDef>;
  /** Produce/fetch byte-rate quotas (broker/quota/), from the image's client quotas. */
  readonly quotas: ClientQuotaManager;
  /** The node clients are told is the controller (KRaft: the active controller, or any live broker). */
  controllerId(): number;
}
