// A node: broker, controller, or both (process.roles), joined by the KRaft metadata quorum.
//
// Start-up, as Kafka's:
//  1. every listener is bound (ports known, nothing served yet);
//  2. the metadata log is opened and the node joins the quorum (controller.quorum.voters; a
//     node with the controller role and no voters configured is a quorum of one and elects
//     itself at once); a controller serves its controller listener from here on;
//  3. a broker replays the metadata, registers with the active controller, heartbeats, and
//     once the controller has unfenced it (it caught up with the metadata log) and its logs
//     follow the image, its client listeners start serving requests.
// Every node replays the committed metadata into its image; handlers read only the image.
//
// Stop (SIGTERM): a broker first does a controlled shutdown (the controller moves its
// leaderships away, bounded wait), then the listeners close, then a leading controller resigns
// so another voter takes over at once.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { MetadataImage } from '../kraft/image.js';
import { RaftMetadataQuorum } from '../kraft/raft-quorum.js';
import { quorumMembership, VoterConfigError, type QuorumMembership } from '../kraft/voters.js';
import { LogManager } from '../log/log-manager.js';
import { logConfig } from '../log/config.js';
import { randomUuid } from '../wire/primitives.js';
import { ConfigError, type BrokerConfig, type Listener } from './config.js';
import { QuorumControllerClient } from './controller-client.js';
import { QuorumController } from './controller/quorum-controller.js';
import { VoterTransport } from './controller/raft-transport.js';
import type { ControllerServices } from './controller/services.js';
import { FetchSessionCache } from './fetch-session.js';
import { InternalTopics } from './coordinator/internal-topics.js';
import { GroupCoordinatorRuntime } from './group/runtime.js';
import { controllerHandlers } from './handlers/controller-index.js';
import { brokerHandlers } from './handlers/index.js';
import { BrokerLifecycle } from './lifecycle.js';
import type { Connection, DispatchResult, RequestDispatcher } from './network/connection.js';
import { NetworkServer } from './network/server.js';
import { ReplicaManager } from './replica-manager.js';
import { Router } from './router.js';
import { ClientQuotaManager } from './quota/quota-manager.js';
import { TransactionCoordinatorRuntime } from './txn/runtime.js';
import type { BrokerServices } from './services.js';
import { ensureClusterId, ensureDirectoryIds } from './cluster-id.js';
import { faults } from './fault-injection.js';

const SHUTDOWN_GRACE_MS = 5_000;
const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 5_000;
/** The quorum's tick: Kafka's millisecond timeouts are counted in these. */
const RAFT_TICK_MS = 50;
/** How long a Raft leader holds an empty fetch (Kafka's raft fetch max wait). */
const RAFT_FETCH_MAX_WAIT_MS = 500;

/** Holds a listener's requests until `open()` (the broker listeners serve only once unfenced). */
class Gate implements RequestDispatcher {
  private opened = false;
  private readonly waiting: Array<() => void> = [];
  /** Made once, at the first request (the services exist by then), not per request. */
  private router: RequestDispatcher | null = null;

  constructor(private readonly makeRouter: () => RequestDispatcher) {}

  open(): void {
    this.opened = true;
    for (const f of this.waiting.splice(0)) f();
  }

  private get inner(): RequestDispatcher {
    this.router ??= this.makeRouter();
    return this.router;
  }

  dispatch(conn: Connection, frame: Buffer): DispatchResult | Promise<DispatchResult> {
    if (this.opened) return this.inner.dispatch(conn, frame);
    return new Promise<void>((r) => this.waiting.push(r)).then(() => this.inner.dispatch(conn, frame));
  }
}

export interface BrokerNodeOptions {
  /** The metadata log failed to write: the process must stop (default: log only). */
  onFatal?(err: Error): void;
  /** Every log dir failed (issue 8): as Kafka, the broker must shut down (default: log only). */
  onAllLogDirsOffline?(): void;
}

export class BrokerNode {
  private quorum: RaftMetadataQuorum | null = null;
  private controller: QuorumController | null = null;
  private controllerClient: QuorumControllerClient | null = null;
  private lifecycle: BrokerLifecycle | null = null;
  private logs: LogManager | null = null;
  private server: NetworkServer | null = null;
  private replicaManager: ReplicaManager | null = null;
  private groupCoordinator: GroupCoordinatorRuntime | null = null;
  private txnCoordinator: TransactionCoordinatorRuntime | null = null;
  private membership: QuorumMembership | null = null;
  private started = false;

  constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    private readonly options: BrokerNodeOptions = {},
  ) {}

  /** Ports bound per listener name (useful when a listener asks for port 0). */
  get boundPorts(): ReadonlyMap<string, number> {
    return this.server?.boundPorts ?? new Map();
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    const nodeId = config.nodeId;
    const clock = { nowMs: () => Date.now() };
    const controllerNames = new Set(config.list('controller.listener.names').map((n) => n.toUpperCase()));
    const controllerListener = config.listeners.find((l) => controllerNames.has(l.name)) ?? null;
    const brokerListeners = config.listeners.filter((l) => !controllerNames.has(l.name));
    let membership: QuorumMembership;
    try {
      membership = quorumMembership({
        nodeId,
        roles: config.processRoles,
        voters: config.get('controller.quorum.voters') ?? '',
        controllerListener: controllerListener === null ? null : { host: controllerListener.host, port: controllerListener.port },
      });
    } catch (err) {
      if (err instanceof VoterConfigError) throw new ConfigError(err.message);
      throw err;
    }
    this.membership = membership;
    if (membership.isBroker && brokerListeners.length === 0) throw new ConfigError('a broker needs a listener that is not a controller listener');
    if (!membership.isController && controllerListener !== null) {
      throw new ConfigError(`listener ${controllerListener.name} is a controller listener but process.roles has no controller role`);
    }

    const logDirs = config.logDirs.map((d) => resolve(d));
    for (const d of logDirs) mkdirSync(d, { recursive: true });
    const clusterId = await ensureClusterId(logDirs, nodeId, config.clusterId);
    const dirIds = await ensureDirectoryIds(logDirs);
    logger.info({ nodeId, clusterId, logDirs, roles: config.processRoles, voters: membership.voters.map((v) => v.id) }, 'starting');

    // 1. Bind every listener; the broker listeners hold requests until the broker is unfenced.
    let brokerServices: BrokerServices | null = null;
    let controllerServices: ControllerServices | null = null;
    const brokerGates = new Map<string, Gate>();
    this.server = new NetworkServer(
      (listener) => {
        if (controllerListener !== null && listener.name === controllerListener.name) {
          // Bound after the controller exists (below), so its services are set.
          return new Router<ControllerServices>(
            controllerServices!,
            controllerServices!.handlers,
            listener.name,
            logger.child({ mod: 'router', listener: listener.name }),
          );
        }
        const g = new Gate(() => new Router(brokerServices!, brokerServices!.handlers, listener.name, logger.child({ mod: 'router', listener: listener.name }), brokerServices!.quotas));
        brokerGates.set(listener.name, g);
        return g;
      },
      {
        maxRequestBytes: config.int('socket.request.max.bytes'),
        maxInFlightRequests: Math.max(1, config.int('queued.max.requests')),
        maxPendingWriteBytes: 64 * 1024 * 1024,
        maxConnections: config.int('max.connections'),
        maxConnectionsPerIp: config.int('max.connections.per.ip'),
      },
      logger.child({ mod: 'network' }),
    );
    const server = this.server;

    // 2. The metadata quorum (and the controller).
    const voterSelf = membership.voters.find((v) => v.id === nodeId)?.address ?? null;
    const metadataDir = resolve(config.get('metadata.log.dir') ?? logDirs[0]!);
    const requestTimeoutMs = config.int('controller.quorum.request.timeout.ms');
    const quorum = await RaftMetadataQuorum.open({
      dir: metadataDir,
      nodeId,
      clusterId,
      voterIds: membership.voters.map((v) => v.id),
      transport: new VoterTransport(membership.voters, `node-${nodeId}-raft`, logger.child({ mod: 'raft-transport' })),
      logger: logger.child({ mod: 'metadata' }),
      clock,
      timing: {
        tickMs: RAFT_TICK_MS,
        electionTimeoutMs: config.int('controller.quorum.election.timeout.ms'),
        fetchTimeoutMs: config.int('controller.quorum.fetch.timeout.ms'),
        requestTimeoutMs,
        retryBackoffMs: config.int('controller.quorum.retry.backoff.ms'),
        fetchMaxWaitMs: RAFT_FETCH_MAX_WAIT_MS,
      },
      endpoint: controllerListener === null || voterSelf === null ? null : { name: controllerListener.name, host: voterSelf.host, port: voterSelf.port },
      snapshotBytes: config.int('metadata.log.max.record.bytes.between.snapshots'),
      onFatal: (err) => {
        logger.fatal({ err }, 'the metadata log failed; this node must stop');
        this.options.onFatal?.(err);
      },
    });
    this.quorum = quorum;

    if (membership.isController) {
      const controller = new QuorumController({
        nodeId,
        clusterId,
        quorum,
        config,
        voters: membership.voters,
        controllerListenerName: controllerListener?.name ?? 'CONTROLLER',
        logger: logger.child({ mod: 'controller' }),
        nowMs: clock.nowMs,
        localBrokerId: membership.isBroker ? nodeId : null,
      });
      this.controller = controller;
      controllerServices = {
        nodeId,
        clusterId,
        logger,
        config,
        quorum,
        controller,
        voters: membership.voters,
        listenerName: controllerListener?.name ?? 'CONTROLLER',
        handlers: controllerHandlers(),
        requestTimeoutMs,
      };
    }
    // Bind the controller listener first (voters must reach each other), then the others.
    if (controllerListener !== null) await server.listen([controllerListener]);
    await server.listen(brokerListeners.length > 0 && membership.isBroker ? brokerListeners : []);
    // Test-only fault injection (broker/fault-injection.ts) must know which connections are to itself.
    const selfEndpoints = [...config.listeners.map((l) => ({ host: l.host, port: server.boundPorts.get(l.name) ?? l.port })), ...this.advertised(config.advertisedListeners)];
    faults.setSelf(nodeId, controllerListener?.name ?? null, voterSelf === null ? selfEndpoints : [...selfEndpoints, voterSelf]);
    quorum.start();

    // 3. The broker.
    if (membership.isBroker) {
      this.logs = await LogManager.open({ logDirs, defaults: logConfig(), logger: logger.child({ mod: 'log' }), clock });
      const replicaManager = new ReplicaManager(nodeId, this.logs, config, logger.child({ mod: 'replica' }), clock.nowMs);
      this.replicaManager = replicaManager;
      for (const [dir, id] of dirIds) replicaManager.logDirById.set(id, dir);
      const controllerClient = new QuorumControllerClient({
        nodeId,
        quorum,
        local: this.controller,
        voters: membership.voters,
        replicas: replicaManager,
        logger: logger.child({ mod: 'controller-client' }),
        defaultTimeoutMs: config.int('request.timeout.ms'),
        requestTimeoutMs: Math.max(requestTimeoutMs, 5_000),
        retryBackoffMs: Math.max(20, config.int('controller.quorum.retry.backoff.ms')),
      });
      this.controllerClient = controllerClient;
      replicaManager.startReplication({ brokerEpoch: () => this.lifecycle?.epoch ?? -1, image: () => quorum.image, controller: controllerClient });
      const controller = controllerClient;
      const handlers = brokerHandlers();
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
      const quotas = new ClientQuotaManager({ samples: Math.max(1, config.int('quota.window.num')), windowMs: Math.max(1, config.int('quota.window.size.seconds')) * 1000 }, clock.nowMs);
      quotas.onImage(quorum.image);
      brokerServices = {
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
        quotas,
        controllerId: () => aliveBrokerForClients(quorum.image, nodeId),
      };
      quorum.onImage((image: MetadataImage) => {
        void replicaManager.applyImage(image);
        groupCoordinator.onImage(image);
        quotas.onImage(image);
      });
      await replicaManager.applyImage(quorum.image);
      groupCoordinator.start();
      txnCoordinator.start();

      const securityProtocols = new Map<string, string>();
      for (const entry of config.list('listener.security.protocol.map')) {
        const [name, proto] = entry.split(':');
        if (name && proto) securityProtocols.set(name.trim().toUpperCase(), proto.trim().toUpperCase());
      }
      const lifecycle = new BrokerLifecycle({
        nodeId,
        clusterId,
        incarnationId: randomUuid(),
        client: controllerClient,
        quorum,
        listeners: this.advertised(config.advertisedListeners),
        securityProtocols,
        rack: config.get('broker.rack'),
        heartbeatIntervalMs: config.int('broker.heartbeat.interval.ms'),
        requestTimeoutMs: Math.max(requestTimeoutMs, 5_000),
        logger: logger.child({ mod: 'lifecycle' }),
        logDirIds: [...dirIds.values()],
        offlineLogDirIds: () => [...(this.logs?.offlineDirs.keys() ?? [])].map((d) => dirIds.get(d)!).filter((id) => id !== undefined),
      });
      this.lifecycle = lifecycle;
      // Issue 8: a failed log dir is reported at once; with none left the broker shuts down.
      this.logs.onLogDirFailure(() => {
        lifecycle.heartbeatNow();
        if (this.logs !== null && this.logs.offlineDirs.size >= this.logs.logDirs.length) {
          logger.fatal({ offlineDirs: [...this.logs.offlineDirs.keys()] }, 'every log dir has failed; shutting down');
          this.options.onAllLogDirsOffline?.();
        }
      });
      lifecycle.start();
      await lifecycle.waitUnfenced(config.int('initial.broker.registration.timeout.ms'));
      await replicaManager.awaitApplied(quorum.image.offset);
      for (const g of brokerGates.values()) g.open();
      this.logs.startBackground({
        retentionCheckIntervalMs: config.int('log.retention.check.interval.ms'),
        checkpointIntervalMs: config.int('log.flush.offset.checkpoint.interval.ms'),
        producerIdExpirationCheckIntervalMs: config.int('producer.id.expiration.check.interval.ms'),
      });
    }
    this.started = true;
    logger.info({ listeners: Object.fromEntries(server.boundPorts), brokerEpoch: this.lifecycle?.epoch ?? null }, 'node started');
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
    if (this.started && this.lifecycle !== null) await this.lifecycle.controlledShutdown(CONTROLLED_SHUTDOWN_TIMEOUT_MS);
    await this.lifecycle?.stop();
    this.lifecycle = null;
    // Parked JoinGroup/SyncGroup requests are answered (NOT_COORDINATOR) before the listener drains.
    this.groupCoordinator?.stop();
    this.groupCoordinator = null;
    this.txnCoordinator?.stop();
    this.txnCoordinator = null;
    this.replicaManager?.stopReplication();
    await this.server?.close(SHUTDOWN_GRACE_MS);
    this.server = null;
    this.controllerClient?.close();
    this.controllerClient = null;
    await this.logs?.close();
    this.logs = null;
    this.controller?.stop();
    this.controller = null;
    await this.quorum?.close();
    this.quorum = null;
    this.logger.info('stopped');
  }

  /** This node's place in the quorum (after start). */
  get quorumMembership(): QuorumMembership | null {
    return this.membership;
  }
}

/**
 * The controller id clients are told (Metadata, DescribeCluster). As in Kafka's KRaft mode it is
 * an alive (unfenced) broker, never a controller, since clients cannot reach the controllers
 * and any broker forwards controller requests. Kafka picks one at random; this broker names
 * itself when it is unfenced (a random pick may name a broker that died less than
 * broker.session.timeout.ms ago, and kafkajs then gives up on CreateTopics after a refused
 * connection), else a random alive broker; -1 if none.
 */
export function aliveBrokerForClients(image: MetadataImage, self: number): number {
  const own = image.broker(self);
  if (own !== undefined && !own.fenced) return self;
  const alive = [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.id);
  if (alive.length === 0) return -1;
  return alive[Math.floor(Math.random() * alive.length)]!;
}
