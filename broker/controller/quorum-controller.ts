// The controller of a node with the controller role. While this node is the active controller
// (the Raft leader with its epoch's LeaderChange applied, see kraft/raft-quorum.ts) it decides
// the controller APIs — each decision is a pure function of the image (kraft/controller.ts,
// ./brokers.ts, ./alter-partition.ts, ./elect-leaders.ts, ./reassignment.ts) committed atomically through `runExclusive` — keeps the
// brokers' heartbeat sessions and fences brokers whose sessions expire. Elsewhere every API
// answers NOT_CONTROLLER, and callers find the active controller from the Raft leader.
//
// On becoming active it bootstraps an empty cluster (metadata.version) and gives every
// registered broker a fresh session; on losing leadership it stops its timers.
//
// Automatic leader rebalancing (KRaft's periodic `maybeBalancePartitionLeaders`): with
// `auto.leader.rebalance.enable` (default true) the active controller, every
// `leader.imbalance.check.interval.seconds` (default 300, at least 1), elects the preferred
// replica of every partition whose first replica is in the ISR and active but does not lead
// (./elect-leaders.ts); a run that stops at 1000 elections runs again at once.
//
// Requests and responses are the wire structs of each API, so the broker's forwarding client
// (broker/controller-client.ts) can call these methods in-process when the active controller is
// local, and over the controller listener otherwise, with the same results.
import type { Logger } from 'pino';
import {
  allocateProducerIds,
  alterConfigs,
  bootstrapRecords,
  createPartitions,
  createTopics,
  deleteTopics,
  incrementalAlterConfigs,
} from '../../kraft/controller.js';
import { alterClientQuotasErrorResponse, decideAlterClientQuotas } from '../../kraft/client-quotas.js';
import type { MetadataImage } from '../../kraft/image.js';
import { METADATA_PARTITION, METADATA_TOPIC_NAME } from '../../kraft/metadata-log.js';
import { NotControllerError, type RaftMetadataQuorum } from '../../kraft/raft-quorum.js';
import type { Voter } from '../../kraft/voters.js';
import type { ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode, errorMessage } from '../../wire/errors.js';
import type { AllocateProducerIdsRequest } from '../../wire/generated/messages/allocate-producer-ids-request.js';
import type { AllocateProducerIdsResponse } from '../../wire/generated/messages/allocate-producer-ids-response.js';
import type { AlterClientQuotasRequest } from '../../wire/generated/messages/alter-client-quotas-request.js';
import type { AlterClientQuotasResponse } from '../../wire/generated/messages/alter-client-quotas-response.js';
import type { AlterConfigsRequest } from '../../wire/generated/messages/alter-configs-request.js';
import type { AlterConfigsResponse } from '../../wire/generated/messages/alter-configs-response.js';
import type { AlterPartitionReassignmentsRequest } from '../../wire/generated/messages/alter-partition-reassignments-request.js';
import type { AlterPartitionReassignmentsResponse } from '../../wire/generated/messages/alter-partition-reassignments-response.js';
import type { AlterPartitionRequest } from '../../wire/generated/messages/alter-partition-request.js';
import type { AlterPartitionResponse } from '../../wire/generated/messages/alter-partition-response.js';
import type { BrokerHeartbeatRequest } from '../../wire/generated/messages/broker-heartbeat-request.js';
import type { BrokerHeartbeatResponse } from '../../wire/generated/messages/broker-heartbeat-response.js';
import type { BrokerRegistrationRequest } from '../../wire/generated/messages/broker-registration-request.js';
import type { BrokerRegistrationResponse } from '../../wire/generated/messages/broker-registration-response.js';
import type { CreatePartitionsRequest } from '../../wire/generated/messages/create-partitions-request.js';
import type { CreatePartitionsResponse } from '../../wire/generated/messages/create-partitions-response.js';
import type { CreateTopicsRequest } from '../../wire/generated/messages/create-topics-request.js';
import type { CreateTopicsResponse } from '../../wire/generated/messages/create-topics-response.js';
import type { DeleteTopicsRequest } from '../../wire/generated/messages/delete-topics-request.js';
import type { DeleteTopicsResponse } from '../../wire/generated/messages/delete-topics-response.js';
import type { DescribeQuorumRequest } from '../../wire/generated/messages/describe-quorum-request.js';
import type { DescribeQuorumResponse } from '../../wire/generated/messages/describe-quorum-response.js';
import type { ElectLeadersRequest } from '../../wire/generated/messages/elect-leaders-request.js';
import type { ElectLeadersResponse } from '../../wire/generated/messages/elect-leaders-response.js';
import type { IncrementalAlterConfigsRequest } from '../../wire/generated/messages/incremental-alter-configs-request.js';
import type { IncrementalAlterConfigsResponse } from '../../wire/generated/messages/incremental-alter-configs-response.js';
import type { ListPartitionReassignmentsRequest } from '../../wire/generated/messages/list-partition-reassignments-request.js';
import type { ListPartitionReassignmentsResponse } from '../../wire/generated/messages/list-partition-reassignments-response.js';
import { randomUuid, ZERO_UUID } from '../../wire/primitives.js';
import type { BrokerConfig } from '../config.js';
import { effectiveTopicConfig, validateTopicConfig } from '../topic-config.js';
import { decideAlterPartition } from './alter-partition.js';
import { balancePartitionLeaders, decideElectLeaders, electLeadersErrorResponse } from './elect-leaders.js';
import { BrokerSessions, decideHeartbeat, decideRegistration, fenceBrokerRecords } from './brokers.js';
import { alterReassignmentsErrorResponse, decideAlterPartitionReassignments, listPartitionReassignments, listReassignmentsErrorResponse } from './reassignment.js';

export interface QuorumControllerOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly quorum: RaftMetadataQuorum;
  readonly config: BrokerConfig;
  readonly voters: readonly Voter[];
  /** The listener name of the controller endpoints (for DescribeQuorum v2 nodes). */
  readonly controllerListenerName: string;
  readonly logger: Logger;
  nowMs(): number;
  /** This node's id when it also has the broker role (process.roles=broker,controller), else null. */
  readonly localBrokerId?: number | null;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

type Decide<T> = (image: MetadataImage) => { records: readonly ApiMessageAndVersion[]; result: T };

export class QuorumController {
  readonly sessions: BrokerSessions;
  private readonly quorum: RaftMetadataQuorum;
  private readonly logger: Logger;
  private fenceTimer: NodeJS.Timeout | null = null;
  private fencing = false;
  private balanceTimer: NodeJS.Timeout | null = null;
  /** Rebalancing runs in this active period (auto.leader.rebalance.enable). */
  private balanceArmed = false;
  private balancing = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: QuorumControllerOptions) {
    this.quorum = opts.quorum;
    this.logger = opts.logger;
    this.sessions = new BrokerSessions(opts.config.int('broker.session.timeout.ms'));
    this.unsubscribe = this.quorum.onActiveChange((active) => (active ? this.onActive() : this.onInactive()));
  }

  isActive(): boolean {
    return this.quorum.isActive() && !this.stopped;
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    this.onInactive();
  }

  private onActive(): void {
    if (this.stopped) return;
    this.sessions.reset(this.quorum.image, this.opts.nowMs());
    if (this.quorum.image.metadataVersion === 0) {
      this.quorum.commit(bootstrapRecords()).then(
        () => this.logger.info('bootstrapped the cluster metadata (metadata.version)'),
        (err: unknown) => this.logger.warn({ err }, 'bootstrapping the cluster metadata failed'),
      );
    }
    const every = Math.max(100, Math.min(1000, Math.floor(this.sessions.sessionTimeoutMs / 3)));
    this.fenceTimer = setInterval(() => void this.fenceExpired(), every);
    this.balanceArmed = this.opts.config.bool('auto.leader.rebalance.enable');
    if (this.balanceArmed) this.scheduleBalance(this.balanceIntervalMs());
  }

  private onInactive(): void {
    if (this.fenceTimer !== null) clearInterval(this.fenceTimer);
    this.fenceTimer = null;
    this.balanceArmed = false;
    if (this.balanceTimer !== null) clearTimeout(this.balanceTimer);
    this.balanceTimer = null;
  }

  /**
   * `leader.imbalance.check.interval.seconds` in ms (Kafka: a long of seconds, at least 1); at
   * most a timer's range (~24.8 days), since Node fires longer timeouts at once.
   */
  private balanceIntervalMs(): number {
    const seconds = this.opts.config.int('leader.imbalance.check.interval.seconds');
    return Math.min(MAX_TIMER_MS, Math.max(1, Number.isFinite(seconds) ? seconds : 300) * 1000);
  }

  private scheduleBalance(delayMs: number): void {
    if (this.balanceTimer !== null) clearTimeout(this.balanceTimer);
    this.balanceTimer = setTimeout(() => {
      this.balanceTimer = null;
      void this.balanceLeaders();
    }, delayMs);
    this.balanceTimer.unref?.();
  }

  /** One rebalancing run; the next one follows after the interval (at once when it stopped at its bound). */
  private async balanceLeaders(): Promise<void> {
    if (this.balancing || !this.isActive()) return;
    this.balancing = true;
    let more = false;
    try {
      more = await this.quorum.runExclusive((image) => {
        const r = balancePartitionLeaders(image);
        if (r.records.length > 0) this.logger.info({ elections: r.records.length, more: r.more }, 'moving partition leadership back to preferred replicas');
        return { records: r.records, result: r.more };
      });
    } catch (err) {
      if (!(err instanceof NotControllerError)) this.logger.error({ err }, 'balancing partition leaders failed');
    } finally {
      this.balancing = false;
    }
    if (this.balanceArmed && this.isActive()) this.scheduleBalance(more ? 0 : this.balanceIntervalMs());
  }

  private async fenceExpired(): Promise<void> {
    if (this.fencing || !this.isActive()) return;
    this.fencing = true;
    try {
      for (const id of this.sessions.expired(this.quorum.image, this.opts.nowMs())) {
        await this.quorum.runExclusive((image) => {
          // Checked again on the latest image: a heartbeat may have come in meanwhile.
          if (!this.sessions.expired(image, this.opts.nowMs()).includes(id)) return { records: [], result: null };
          this.logger.warn({ broker: id, sessionTimeoutMs: this.sessions.sessionTimeoutMs }, 'fencing a broker whose heartbeats stopped');
          return { records: fenceBrokerRecords(image, id), result: null };
        });
      }
    } catch (err) {
      if (!(err instanceof NotControllerError)) this.logger.error({ err }, 'fencing expired brokers failed');
    } finally {
      this.fencing = false;
    }
  }

  /** Runs a decision on the active controller; NOT_CONTROLLER (via `onNotController`) elsewhere. */
  private async decide<T>(fn: Decide<T>, onNotController: () => T): Promise<T> {
    if (!this.isActive()) return onNotController();
    try {
      return await this.quorum.runExclusive(fn);
    } catch (err) {
      if (err instanceof NotControllerError) return onNotController();
      throw err;
    }
  }

  // ---------------------------------------------------------------- brokers

  brokerRegistration(req: BrokerRegistrationRequest): Promise<BrokerRegistrationResponse> {
    const now = this.opts.nowMs();
    // A combined node's own broker lives in this process: an older incarnation of it died with
    // the process that ran before this controller, so it never blocks the registration.
    const live = (id: number) => id !== this.opts.localBrokerId && this.sessions.hasLiveSession(id, now);
    return this.decide(
      (image) => {
        const d = decideRegistration(image, req, { clusterId: this.opts.clusterId, hasLiveSession: live });
        return { records: d.records, result: d.response };
      },
      () => ({ throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, brokerEpoch: -1n }),
    ).then((res) => {
      if (res.errorCode === ErrorCode.NONE) {
        this.sessions.touch(req.brokerId, Number(res.brokerEpoch), this.opts.nowMs());
        this.logger.info({ broker: req.brokerId, brokerEpoch: Number(res.brokerEpoch), incarnation: req.incarnationId }, 'registered a broker');
      }
      return res;
    });
  }

  brokerHeartbeat(req: BrokerHeartbeatRequest): Promise<BrokerHeartbeatResponse> {
    let starts = false;
    let ends = false;
    const notController = (): BrokerHeartbeatResponse => ({ throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, isCaughtUp: false, isFenced: true, shouldShutDown: false });
    return this.decide(
      (image) => {
        const b = image.broker(req.brokerId);
        if (b !== undefined && BigInt(b.epoch) === req.brokerEpoch) this.sessions.touch(b.id, b.epoch, this.opts.nowMs());
        const d = decideHeartbeat(image, req, { shutdownOffset: this.sessions.shutdownOffset(req.brokerId) });
        starts = d.startsControlledShutdown;
        ends = d.endsSession;
        if (d.records.length > 0) {
          this.logger.info(
            { broker: req.brokerId, unfenced: !d.response.isFenced, wantShutDown: req.wantShutDown, shouldShutDown: d.response.shouldShutDown, records: d.records.length },
            'broker heartbeat changes the metadata',
          );
        }
        return { records: d.records, result: d.response };
      },
      notController,
    ).then((res) => {
      if (starts) this.sessions.setShutdownOffset(req.brokerId, this.quorum.image.offset);
      if (ends) this.sessions.remove(req.brokerId);
      return res;
    });
  }

  alterPartition(req: AlterPartitionRequest, version: number): Promise<AlterPartitionResponse> {
    return this.decide(
      (image) => {
        const d = decideAlterPartition(image, req, version);
        return { records: d.records, result: d.response };
      },
      () => ({ throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, topics: [] }),
    );
  }

  /** ElectLeaders (key 43): preferred or unclean elections (./elect-leaders.ts). */
  electLeaders(req: ElectLeadersRequest, version: number): Promise<ElectLeadersResponse> {
    return this.decide(
      (image) => {
        const d = decideElectLeaders(image, req, version);
        if (d.records.length > 0) this.logger.info({ elections: d.records.length, electionType: req.electionType ?? 0 }, 'ElectLeaders changes partition leadership');
        return { records: d.records, result: d.response };
      },
      () => electLeadersErrorResponse(req, ErrorCode.NOT_CONTROLLER),
    );
  }

  /** AlterClientQuotas (key 49): ClientQuotaRecords (kraft/client-quotas.ts). */
  alterClientQuotas(req: AlterClientQuotasRequest): Promise<AlterClientQuotasResponse> {
    return this.decide(
      (image) => {
        const d = decideAlterClientQuotas(image, req);
        if (d.records.length > 0) this.logger.info({ records: d.records.length }, 'AlterClientQuotas changes client quotas');
        return { records: d.records, result: d.response };
      },
      () => alterClientQuotasErrorResponse(req, ErrorCode.NOT_CONTROLLER, errorMessage(ErrorCode.NOT_CONTROLLER)),
    );
  }

  /** AlterPartitionReassignments (key 45): start, change or cancel reassignments (./reassignment.ts). */
  alterPartitionReassignments(req: AlterPartitionReassignmentsRequest): Promise<AlterPartitionReassignmentsResponse> {
    return this.decide(
      (image) => {
        const d = decideAlterPartitionReassignments(image, req, {
          uncleanLeaderElectionEnabled: (topic) => effectiveTopicConfig('unclean.leader.election.enable', image.topicConfigs(topic), this.opts.config).toLowerCase() === 'true',
        });
        if (d.records.length > 0) this.logger.info({ changes: d.records.length }, 'AlterPartitionReassignments changes partition assignments');
        return { records: d.records, result: d.response };
      },
      () => alterReassignmentsErrorResponse(req, ErrorCode.NOT_CONTROLLER),
    );
  }

  /** ListPartitionReassignments (key 46): the reassignments in progress, from the active controller's image. */
  listPartitionReassignments(req: ListPartitionReassignmentsRequest): Promise<ListPartitionReassignmentsResponse> {
    return this.decide(
      (image) => ({ records: [], result: listPartitionReassignments(image, req) }),
      () => listReassignmentsErrorResponse(ErrorCode.NOT_CONTROLLER),
    );
  }

  allocateProducerIds(req: AllocateProducerIdsRequest): Promise<AllocateProducerIdsResponse> {
    return this.decide(
      (image) => {
        const r = allocateProducerIds(image, req.brokerId, Number(req.brokerEpoch));
        return {
          records: r.records,
          result: { throttleTimeMs: 0, errorCode: r.results.errorCode, producerIdStart: BigInt(r.results.producerIdStart), producerIdLen: r.results.producerIdLen },
        };
      },
      () => ({ throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, producerIdStart: -1n, producerIdLen: 0 }),
    );
  }

  // ---------------------------------------------------------------- topics and configs

  createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    const failAll = (errorCode: ErrorCode): CreateTopicsResponse => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ name: t.name, topicId: ZERO_UUID, errorCode, errorMessage: errorMessage(errorCode), numPartitions: -1, replicationFactor: -1, configs: null })),
    });
    const validateOnly = req.validateOnly ?? false;
    return this.decide(
      (image) => {
        const r = createTopics(
          image,
          req.topics.map((t) => ({
            name: t.name,
            numPartitions: t.numPartitions,
            replicationFactor: t.replicationFactor,
            assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })),
            configs: t.configs.map((c) => ({ name: c.name, value: c.value })),
          })),
          {
            defaultNumPartitions: this.opts.config.int('num.partitions'),
            defaultReplicationFactor: this.opts.config.int('default.replication.factor'),
            validateConfig: validateTopicConfig,
            randomUuid,
            validateOnly,
          },
        );
        return {
          records: r.records,
          result: {
            throttleTimeMs: 0,
            topics: r.results.map((t) => ({
              name: t.name,
              topicId: t.topicId,
              errorCode: t.errorCode,
              errorMessage: t.errorMessage,
              numPartitions: t.numPartitions,
              replicationFactor: t.replicationFactor,
              configs: null,
            })),
          },
        };
      },
      () => failAll(ErrorCode.NOT_CONTROLLER),
    );
  }

  deleteTopics(req: DeleteTopicsRequest, version: number): Promise<DeleteTopicsResponse> {
    const wanted = version >= 6
      ? (req.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId ?? ZERO_UUID }))
      : (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
    return this.decide(
      (image) => {
        const r = deleteTopics(image, wanted);
        return { records: r.records, result: { throttleTimeMs: 0, responses: r.results.map((x) => ({ ...x })) } };
      },
      () => ({
        throttleTimeMs: 0,
        responses: wanted.map((t) => ({ name: t.name, topicId: t.topicId, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: errorMessage(ErrorCode.NOT_CONTROLLER) })),
      }),
    );
  }

  createPartitions(req: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
    return this.decide(
      (image) => {
        const r = createPartitions(
          image,
          req.topics.map((t) => ({ name: t.name, count: t.count, assignments: t.assignments === null ? null : t.assignments.map((a) => ({ brokerIds: [...a.brokerIds] })) })),
          { validateOnly: req.validateOnly },
        );
        return { records: r.records, result: { throttleTimeMs: 0, results: r.results.map((x) => ({ ...x })) } };
      },
      () => ({ throttleTimeMs: 0, results: req.topics.map((t) => ({ name: t.name, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: errorMessage(ErrorCode.NOT_CONTROLLER) })) }),
    );
  }

  alterConfigs(req: AlterConfigsRequest): Promise<AlterConfigsResponse> {
    return this.decide(
      (image) => {
        const r = alterConfigs(
          image,
          req.resources.map((x) => ({ resourceType: x.resourceType, resourceName: x.resourceName, configs: x.configs.map((c) => ({ name: c.name, value: c.value })) })),
          { validateOnly: req.validateOnly, validateConfig: validateTopicConfig },
        );
        return { records: r.records, result: { throttleTimeMs: 0, responses: r.results.map((x) => ({ ...x })) } };
      },
      () => ({
        throttleTimeMs: 0,
        responses: req.resources.map((x) => ({ errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: errorMessage(ErrorCode.NOT_CONTROLLER), resourceType: x.resourceType, resourceName: x.resourceName })),
      }),
    );
  }

  incrementalAlterConfigs(req: IncrementalAlterConfigsRequest): Promise<IncrementalAlterConfigsResponse> {
    return this.decide(
      (image) => {
        const r = incrementalAlterConfigs(
          image,
          req.resources.map((x) => ({
            resourceType: x.resourceType,
            resourceName: x.resourceName,
            configs: x.configs.map((c) => ({ name: c.name, configOperation: c.configOperation, value: c.value })),
          })),
          { validateOnly: req.validateOnly, validateConfig: validateTopicConfig },
        );
        return { records: r.records, result: { throttleTimeMs: 0, responses: r.results.map((x) => ({ ...x })) } };
      },
      () => ({
        throttleTimeMs: 0,
        responses: req.resources.map((x) => ({ errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: errorMessage(ErrorCode.NOT_CONTROLLER), resourceType: x.resourceType, resourceName: x.resourceName })),
      }),
    );
  }

  // ---------------------------------------------------------------- DescribeQuorum

  /**
   * DescribeQuorum (key 55): the leader answers with each voter's and observer's log end offset
   * and last fetch; other nodes answer NOT_LEADER_OR_FOLLOWER with the leader they know (and,
   * v2, the voters' endpoints, so a tool can go to the leader).
   */
  describeQuorum(req: DescribeQuorumRequest): DescribeQuorumResponse {
    const nodes = this.opts.voters
      .filter((v) => v.address !== null)
      .map((v) => ({ nodeId: v.id, listeners: [{ name: this.opts.controllerListenerName, host: v.address!.host, port: v.address!.port }] }));
    const t = req.topics[0];
    const p = t?.partitions[0];
    if (req.topics.length !== 1 || t!.topicName !== METADATA_TOPIC_NAME || t!.partitions.length !== 1 || p!.partitionIndex !== METADATA_PARTITION) {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `DescribeQuorum must name ${METADATA_TOPIC_NAME}-${METADATA_PARTITION} only`, topics: [], nodes };
    }
    const s = this.quorum.status();
    const base = { partitionIndex: METADATA_PARTITION, leaderId: s.leaderId ?? -1, leaderEpoch: s.epoch };
    if (s.leader === null) {
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topics: [{ topicName: METADATA_TOPIC_NAME, partitions: [{ ...base, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, errorMessage: errorMessage(ErrorCode.NOT_LEADER_OR_FOLLOWER), highWatermark: -1n, currentVoters: [], observers: [] }] }],
        nodes,
      };
    }
    const now = this.opts.nowMs();
    const tickMs = this.quorum.tickMs;
    const hw = s.leader.highWatermark ?? -1;
    const at = (tick: number | null) => (tick === null ? -1n : BigInt(now - (s.tick - tick) * tickMs));
    const replica = (r: { id: number; endOffset: number | null; lastFetchTick: number | null }) => {
      const self = r.id === this.opts.nodeId;
      const leo = self ? s.logEndOffset : (r.endOffset ?? -1);
      return {
        replicaId: r.id,
        replicaDirectoryId: ZERO_UUID,
        logEndOffset: BigInt(leo),
        lastFetchTimestamp: self ? -1n : at(r.lastFetchTick),
        lastCaughtUpTimestamp: self ? BigInt(now) : hw >= 0 && leo >= hw ? at(r.lastFetchTick) : -1n,
      };
    };
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [
        {
          topicName: METADATA_TOPIC_NAME,
          partitions: [
            {
              ...base,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              highWatermark: BigInt(hw),
              currentVoters: s.leader.voters.map(replica),
              observers: s.leader.observers.map(replica),
            },
          ],
        },
      ],
      nodes,
    };
  }
}
