// A node: opens the metadata log and the data logs, registers itself, and serves its listeners.
// A single node is a cluster of one: it is its own controller (process.roles=broker,controller),
// commits metadata records to its local __cluster_metadata log, and replays them into the image
// that every handler reads.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { LocalMetadataQuorum } from '../kraft/local-quorum.js';
import type { MetadataImage } from '../kraft/image.js';
import { LogManager } from '../log/log-manager.js';
import { logConfig } from '../log/config.js';
import { randomUuid } from '../wire/primitives.js';
import type { BrokerConfig, Listener } from './config.js';
import { LocalControllerClient } from './controller-client.js';
import { FetchSessionCache } from './fetch-session.js';
import { InternalTopics } from './coordinator/internal-topics.js';
import { GroupCoordinatorRuntime } from './group/runtime.js';
import { brokerHandlers } from './handlers/index.js';
import { NetworkServer } from './network/server.js';
import { ReplicaManager } from './replica-manager.js';
import { Router } from './router.js';
import { TransactionCoordinatorRuntime } from './txn/runtime.js';
import type { BrokerServices } from './services.js';
import { ensureClusterId } from './cluster-id.js';

const SHUTDOWN_GRACE_MS = 5_000;

export class BrokerNode {
  private quorum: LocalMetadataQuorum | null = null;
  private logs: LogManager | null = null;
  private server: NetworkServer | null = null;
  private replicaManager: ReplicaManager | null = null;
  private groupCoordinator: GroupCoordinatorRuntime | null = null;
  private txnCoordinator: TransactionCoordinatorRuntime | null = null;
  private started = false;

  constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {}

  /** Ports bound per listener name (useful when a listener asks for port 0). */
  get boundPorts(): ReadonlyMap<string, number> {
    return this.server?.boundPorts ?? new Map();
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    const nodeId = config.nodeId;
    const clock = { nowMs: () => Date.now() };
    const logDirs = config.logDirs.map((d) => resolve(d));
    for (const d of logDirs) mkdirSync(d, { recursive: true });
    const clusterId = await ensureClusterId(logDirs, nodeId, config.clusterId);
    logger.info({ nodeId, clusterId, logDirs }, 'starting');

    const metadataDir = resolve(config.get('metadata.log.dir') ?? logDirs[0]!);
    this.quorum = await LocalMetadataQuorum.open({ dir: metadataDir, logger: logger.child({ mod: 'metadata' }), clock });
    this.logs = await LogManager.open({ logDirs, defaults: logConfig(), logger: logger.child({ mod: 'log' }), clock });
    const replicaManager = new ReplicaManager(nodeId, this.logs, config, logger.child({ mod: 'replica' }), clock.nowMs);
    this.replicaManager = replicaManager;
    const controller = new LocalControllerClient(this.quorum, replicaManager, config, logger.child({ mod: 'controller' }));
    const handlers = brokerHandlers();
    const quorum = this.quorum;
    const internalTopics = new InternalTopics({ config, controller, image: () => quorum.image, logger: logger.child({ mod: 'internal-topics' }) });
    const groupCoordinator = new GroupCoordinatorRuntime({
      config,
      replicaManager,
      controller,
      image: () => quorum.image,
      nowMs: clock.nowMs,
      logger: logger.child({ mod: 'group-coordinator' }),
      internalTopics,
    });
    this.groupCoordinator = groupCoordinator;
    const txnCoordinator = new TransactionCoordinatorRuntime({
      config,
      nodeId,
      replicaManager,
      controller,
      image: () => quorum.image,
      nowMs: clock.nowMs,
      logger: logger.child({ mod: 'txn-coordinator' }),
    });
    this.txnCoordinator = txnCoordinator;
    const services: BrokerServices = {
      config,
      nodeId,
      clusterId,
      logger,
      nowMs: clock.nowMs,
      image: () => quorum.image,
      controller,
      replicaManager,
      logManager: this.logs,
      fetchSessions: new FetchSessionCache(config.int('max.incremental.fetch.session.cache.slots'), 120_000),
      groupCoordinator,
      txnCoordinator,
      internalTopics,
      handlers,
      controllerId: () => nodeId,
    };

    await controller.bootstrapIfEmpty();
    quorum.onImage((image: MetadataImage) => {
      void replicaManager.applyImage(image);
      groupCoordinator.onImage(image);
    });
    await replicaManager.applyImage(quorum.image);
    groupCoordinator.start();
    txnCoordinator.start();

    this.server = new NetworkServer(
      (listener) => new Router(services, handlers, listener.name, logger.child({ mod: 'router', listener: listener.name })),
      {
        maxRequestBytes: config.int('socket.request.max.bytes'),
        maxInFlightRequests: Math.max(1, config.int('queued.max.requests')),
        maxPendingWriteBytes: 64 * 1024 * 1024,
        maxConnections: config.int('max.connections'),
        maxConnectionsPerIp: config.int('max.connections.per.ip'),
      },
      logger.child({ mod: 'network' }),
    );
    await this.server.listen(config.listeners);
    await controller.registerBroker({
      brokerId: nodeId,
      incarnationId: randomUuid(),
      listeners: this.advertised(config.advertisedListeners),
      rack: config.get('broker.rack'),
    });
    this.logs.startBackground({
      retentionCheckIntervalMs: config.int('log.retention.check.interval.ms'),
      checkpointIntervalMs: config.int('log.flush.offset.checkpoint.interval.ms'),
      producerIdExpirationCheckIntervalMs: config.int('producer.id.expiration.check.interval.ms'),
    });
    this.started = true;
    logger.info({ listeners: Object.fromEntries(this.server.boundPorts) }, 'broker started');
  }

  /** Advertised endpoints: a wildcard host becomes this machine's name; port 0 becomes the bound port. */
  private advertised(listeners: readonly Listener[]): Listener[] {
    return listeners.map((l) => ({
      name: l.name,
      host: l.host === '' || l.host === '0.0.0.0' || l.host === '::' ? hostname() : l.host,
      port: l.port === 0 ? (this.server?.boundPorts.get(l.name) ?? 0) : l.port,
    }));
  }

  async stop(): Promise<void> {
    this.logger.info({ started: this.started }, 'stopping');
    // Parked JoinGroup/SyncGroup requests are answered (NOT_COORDINATOR) before the listener drains.
    this.groupCoordinator?.stop();
    this.groupCoordinator = null;
    this.txnCoordinator?.stop();
    this.txnCoordinator = null;
    await this.server?.close(SHUTDOWN_GRACE_MS);
    this.server = null;
    await this.logs?.close();
    this.logs = null;
    await this.quorum?.close();
    this.quorum = null;
    this.logger.info('stopped');
  }
}
