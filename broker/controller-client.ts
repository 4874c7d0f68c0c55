// How a broker reaches the active controller (Kafka's forwarding, without Envelope): the
// request is built as the controller API's wire struct and
//   - handed in-process to this node's QuorumController when this node is the active
//     controller, or
//   - sent over a PeerConnection to the active controller's controller listener, found from the
//     Raft leader this node knows (as a voter or an observer) and controller.quorum.voters.
// An answer of NOT_CONTROLLER (leadership moved), an unknown leader or an unreachable one is
// retried with backoff until the call's timeout; then every item gets REQUEST_TIMED_OUT, so a
// minority partition refuses metadata changes instead of making them.
//
// Admin calls resolve only once this broker's own image has applied the result (and its
// ReplicaManager has opened the logs), so a client can create a topic through any broker and
// produce to it at once: after a forwarded success the controller's high watermark is read with
// DescribeQuorum and this node waits (bounded) until its image reaches it.
import type { Logger } from 'pino';
import type {
  AllocateProducerIdsResult,
  AlterConfigsResource,
  AlterConfigsResourceResult,
  CreatableTopic,
  CreatableTopicResult,
  CreatePartitionsTopic,
  CreatePartitionsTopicResult,
  DeletableTopic,
  DeletableTopicResult,
  IncrementalAlterConfigsResource,
} from '../kraft/controller.js';
import { METADATA_PARTITION, METADATA_TOPIC_NAME } from '../kraft/metadata-log.js';
import type { RaftMetadataQuorum } from '../kraft/raft-quorum.js';
import type { Voter } from '../kraft/voters.js';
import { ApiKey, type ApiRequests, type ApiResponses } from '../wire/generated/api.js';
import { alterClientQuotasErrorResponse } from '../kraft/client-quotas.js';
import type { AlterClientQuotasRequest } from '../wire/generated/messages/alter-client-quotas-request.js';
import type { AlterClientQuotasResponse } from '../wire/generated/messages/alter-client-quotas-response.js';
import type { AlterPartitionReassignmentsRequest } from '../wire/generated/messages/alter-partition-reassignments-request.js';
import type { AlterPartitionReassignmentsResponse } from '../wire/generated/messages/alter-partition-reassignments-response.js';
import type { AlterPartitionRequest } from '../wire/generated/messages/alter-partition-request.js';
import type { AlterPartitionResponse } from '../wire/generated/messages/alter-partition-response.js';
import type { BrokerHeartbeatRequest } from '../wire/generated/messages/broker-heartbeat-request.js';
import type { BrokerHeartbeatResponse } from '../wire/generated/messages/broker-heartbeat-response.js';
import type { BrokerRegistrationRequest } from '../wire/generated/messages/broker-registration-request.js';
import type { BrokerRegistrationResponse } from '../wire/generated/messages/broker-registration-response.js';
import type { ElectLeadersRequest } from '../wire/generated/messages/elect-leaders-request.js';
import type { ElectLeadersResponse } from '../wire/generated/messages/elect-leaders-response.js';
import type { ListPartitionReassignmentsRequest } from '../wire/generated/messages/list-partition-reassignments-request.js';
import type { ListPartitionReassignmentsResponse } from '../wire/generated/messages/list-partition-reassignments-response.js';
import { electLeadersErrorResponse } from './controller/elect-leaders.js';
import { alterReassignmentsErrorResponse, listReassignmentsErrorResponse } from './controller/reassignment.js';
import { ErrorCode, errorMessage } from '../wire/errors.js';
import { ZERO_UUID } from '../wire/primitives.js';
import type { QuorumController } from './controller/quorum-controller.js';
import { PeerConnection } from './network/client.js';
import type { ReplicaManager } from './replica-manager.js';

export interface ControllerClient {
  createTopics(topics: readonly CreatableTopic[], validateOnly: boolean, timeoutMs?: number): Promise<CreatableTopicResult[]>;
  deleteTopics(topics: readonly DeletableTopic[], timeoutMs?: number): Promise<DeletableTopicResult[]>;
  createPartitions(topics: readonly CreatePartitionsTopic[], validateOnly: boolean, timeoutMs?: number): Promise<CreatePartitionsTopicResult[]>;
  alterConfigs(resources: readonly AlterConfigsResource[], validateOnly: boolean): Promise<AlterConfigsResourceResult[]>;
  incrementalAlterConfigs(resources: readonly IncrementalAlterConfigsResource[], validateOnly: boolean): Promise<AlterConfigsResourceResult[]>;
  allocateProducerIds(brokerId: number, brokerEpoch: number): Promise<AllocateProducerIdsResult>;
  /** ElectLeaders (key 43) as the active controller answers it (REQUEST_TIMED_OUT when none does in time). */
  electLeaders(electionType: number, topicPartitions: ElectLeadersRequest['topicPartitions'], timeoutMs?: number): Promise<ElectLeadersResponse>;
  /** AlterClientQuotas (key 49) as the active controller answers it (REQUEST_TIMED_OUT when none does in time). */
  alterClientQuotas(req: AlterClientQuotasRequest): Promise<AlterClientQuotasResponse>;
  /** AlterPartitionReassignments (key 45) as the active controller answers it (REQUEST_TIMED_OUT when none does in time). */
  alterPartitionReassignments(topics: AlterPartitionReassignmentsRequest['topics'], timeoutMs?: number): Promise<AlterPartitionReassignmentsResponse>;
  /** ListPartitionReassignments (key 46) as the active controller answers it (REQUEST_TIMED_OUT when none does in time). */
  listPartitionReassignments(topics: ListPartitionReassignmentsRequest['topics'], timeoutMs?: number): Promise<ListPartitionReassignmentsResponse>;
}

/** No active controller answered within the call's timeout. */
export class ControllerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControllerUnavailableError';
  }
}

export interface QuorumControllerClientOptions {
  readonly nodeId: number;
  readonly quorum: RaftMetadataQuorum;
  /** This node's controller (controller role), else null. */
  readonly local: QuorumController | null;
  readonly voters: readonly Voter[];
  /** Opened logs of this broker's partitions (broker role), else null. */
  readonly replicas: ReplicaManager | null;
  readonly logger: Logger;
  /** Bound of calls that carry no timeout of their own (`request.timeout.ms`). */
  readonly defaultTimeoutMs: number;
  /** Per-attempt bound of a request to the controller (`controller.quorum.request.timeout.ms`-like). */
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs?: number;
}

type Key = keyof ApiRequests & keyof ApiResponses;

const VERSIONS = {
  createTopics: 7,
  deleteTopics: 6,
  createPartitions: 3,
  alterConfigs: 2,
  incrementalAlterConfigs: 1,
  allocateProducerIds: 0,
  brokerRegistration: 4,
  brokerHeartbeat: 1,
  alterPartition: 3,
  describeQuorum: 2,
  electLeaders: 2,
  alterClientQuotas: 1,
  alterPartitionReassignments: 0,
  listPartitionReassignments: 0,
} as const;

const timedOut = (what: string) => `no active controller answered ${what} in time`;

export class QuorumControllerClient implements ControllerClient {
  private readonly conns = new Map<number, PeerConnection>();
  private closed = false;
  private readonly backoffMs: number;

  constructor(private readonly opts: QuorumControllerClientOptions) {
    this.backoffMs = opts.retryBackoffMs ?? 50;
  }

  close(): void {
    this.closed = true;
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }

  private connection(id: number): PeerConnection | null {
    let c = this.conns.get(id);
    if (c !== undefined) return c;
    const addr = this.opts.voters.find((v) => v.id === id)?.address ?? null;
    if (addr === null) return null;
    c = new PeerConnection(addr, `broker-${this.opts.nodeId}-controller-channel`, this.opts.logger.child({ controller: id }), 1_000);
    this.conns.set(id, c);
    return c;
  }

  /**
   * Sends one request to the active controller until it is answered by one (not NOT_CONTROLLER)
   * or `timeoutMs` passes (ControllerUnavailableError). Returns the answer and who gave it
   * (null = this node, in-process).
   */
  async call<K extends Key>(
    apiKey: K,
    version: number,
    body: ApiRequests[K],
    timeoutMs: number,
    isNotController: (res: ApiResponses[K]) => boolean,
    local: (c: QuorumController) => Promise<ApiResponses[K]>,
  ): Promise<{ res: ApiResponses[K]; from: number | null }> {
    const deadline = Date.now() + Math.max(1, timeoutMs);
    let backoff = this.backoffMs;
    let reason = 'no controller known yet';
    for (;;) {
      if (this.closed) throw new ControllerUnavailableError('the controller channel is closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new ControllerUnavailableError(`${reason} (gave up after ${timeoutMs} ms)`);
      const ctl = this.opts.local;
      if (ctl !== null && ctl.isActive()) {
        const res = await local(ctl);
        if (!isNotController(res)) return { res, from: null };
        reason = 'this node lost the leadership';
      } else {
        const leader = this.opts.quorum.leaderId();
        const conn = leader === null || leader === this.opts.nodeId ? null : this.connection(leader);
        if (conn === null) {
          reason = leader === null ? 'no quorum leader known' : `leader ${leader} is not active yet`;
        } else {
          try {
            const res = await conn.send(apiKey, version, body, Math.min(left, this.opts.requestTimeoutMs));
            if (!isNotController(res)) return { res, from: leader };
            reason = `node ${leader} is not the active controller`;
          } catch (err) {
            reason = `controller ${leader}: ${(err as Error).message}`;
          }
        }
      }
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(backoff, deadline - Date.now()))));
      backoff = Math.min(backoff * 2, 500);
    }
  }

  /** Waits (until `deadline`) for this node's image and logs to include what `from` committed. */
  private async caughtUp(from: number | null, deadline: number): Promise<void> {
    const quorum = this.opts.quorum;
    if (from !== null) {
      const conn = this.connection(from);
      try {
        const dq = await conn!.send(
          ApiKey.DescribeQuorum,
          VERSIONS.describeQuorum,
          { topics: [{ topicName: METADATA_TOPIC_NAME, partitions: [{ partitionIndex: METADATA_PARTITION }] }] },
          Math.max(1, deadline - Date.now()),
        );
        const hw = Number(dq.topics[0]?.partitions[0]?.highWatermark ?? -1n);
        if (hw > 0 && !(await quorum.awaitOffset(hw - 1, deadline - Date.now()))) {
          this.opts.logger.warn({ highWatermark: hw, offset: quorum.image.offset }, 'the metadata image did not catch up with the controller in time');
        }
      } catch (err) {
        this.opts.logger.debug({ err }, 'could not read the controller high watermark');
      }
    }
    const replicas = this.opts.replicas;
    if (replicas !== null) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        replicas.awaitApplied(quorum.image.offset),
        new Promise<void>((r) => {
          timer = setTimeout(r, Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
    }
  }

  private timeout(t: number | undefined): number {
    return t !== undefined && t > 0 ? t : this.opts.defaultTimeoutMs;
  }

  async createTopics(topics: readonly CreatableTopic[], validateOnly: boolean, timeoutMs?: number): Promise<CreatableTopicResult[]> {
    const t = this.timeout(timeoutMs);
    const deadline = Date.now() + t;
    const body: ApiRequests[ApiKey.CreateTopics] = {
      topics: topics.map((x) => ({
        name: x.name,
        numPartitions: x.numPartitions,
        replicationFactor: x.replicationFactor,
        assignments: x.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })),
        configs: x.configs.map((c) => ({ name: c.name, value: c.value })),
      })),
      timeoutMs: t,
      validateOnly,
    };
    try {
      const { res, from } = await this.call(
        ApiKey.CreateTopics,
        VERSIONS.createTopics,
        body,
        t,
        (r) => r.topics.some((x) => x.errorCode === ErrorCode.NOT_CONTROLLER),
        (c) => c.createTopics(body),
      );
      if (!validateOnly && res.topics.some((x) => x.errorCode === ErrorCode.NONE)) await this.caughtUp(from, deadline);
      return res.topics.map((x) => ({
        name: x.name,
        topicId: x.topicId ?? ZERO_UUID,
        errorCode: x.errorCode,
        errorMessage: x.errorMessage ?? null,
        numPartitions: x.numPartitions ?? -1,
        replicationFactor: x.replicationFactor ?? -1,
      }));
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      this.opts.logger.warn({ err: err.message }, 'CreateTopics: no active controller');
      return topics.map((x) => ({ name: x.name, topicId: ZERO_UUID, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: timedOut('CreateTopics'), numPartitions: -1, replicationFactor: -1 }));
    }
  }

  async deleteTopics(topics: readonly DeletableTopic[], timeoutMs?: number): Promise<DeletableTopicResult[]> {
    const t = this.timeout(timeoutMs);
    const deadline = Date.now() + t;
    const body: ApiRequests[ApiKey.DeleteTopics] = {
      topics: topics.map((x) => ({ name: x.name ?? null, topicId: x.topicId ?? ZERO_UUID })),
      topicNames: topics.map((x) => x.name ?? ''),
      timeoutMs: t,
    };
    try {
      const { res, from } = await this.call(
        ApiKey.DeleteTopics,
        VERSIONS.deleteTopics,
        body,
        t,
        (r) => r.responses.some((x) => x.errorCode === ErrorCode.NOT_CONTROLLER),
        (c) => c.deleteTopics(body, VERSIONS.deleteTopics),
      );
      if (res.responses.some((x) => x.errorCode === ErrorCode.NONE)) await this.caughtUp(from, deadline);
      return res.responses.map((x) => ({ name: x.name, topicId: x.topicId ?? ZERO_UUID, errorCode: x.errorCode, errorMessage: x.errorMessage ?? null }));
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      return topics.map((x) => ({ name: x.name ?? null, topicId: x.topicId ?? ZERO_UUID, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: timedOut('DeleteTopics') }));
    }
  }

  async createPartitions(topics: readonly CreatePartitionsTopic[], validateOnly: boolean, timeoutMs?: number): Promise<CreatePartitionsTopicResult[]> {
    const t = this.timeout(timeoutMs);
    const deadline = Date.now() + t;
    const body: ApiRequests[ApiKey.CreatePartitions] = {
      topics: topics.map((x) => ({ name: x.name, count: x.count, assignments: x.assignments === null ? null : x.assignments.map((a) => ({ brokerIds: [...a.brokerIds] })) })),
      timeoutMs: t,
      validateOnly,
    };
    try {
      const { res, from } = await this.call(
        ApiKey.CreatePartitions,
        VERSIONS.createPartitions,
        body,
        t,
        (r) => r.results.some((x) => x.errorCode === ErrorCode.NOT_CONTROLLER),
        (c) => c.createPartitions(body),
      );
      if (!validateOnly && res.results.some((x) => x.errorCode === ErrorCode.NONE)) await this.caughtUp(from, deadline);
      return res.results.map((x) => ({ name: x.name, errorCode: x.errorCode, errorMessage: x.errorMessage ?? null }));
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      return topics.map((x) => ({ name: x.name, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: timedOut('CreatePartitions') }));
    }
  }

  async alterConfigs(resources: readonly AlterConfigsResource[], validateOnly: boolean): Promise<AlterConfigsResourceResult[]> {
    const t = this.opts.defaultTimeoutMs;
    const deadline = Date.now() + t;
    const body: ApiRequests[ApiKey.AlterConfigs] = {
      resources: resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, configs: r.configs.map((c) => ({ name: c.name, value: c.value })) })),
      validateOnly,
    };
    try {
      const { res, from } = await this.call(
        ApiKey.AlterConfigs,
        VERSIONS.alterConfigs,
        body,
        t,
        (r) => r.responses.some((x) => x.errorCode === ErrorCode.NOT_CONTROLLER),
        (c) => c.alterConfigs(body),
      );
      if (!validateOnly && res.responses.some((x) => x.errorCode === ErrorCode.NONE)) await this.caughtUp(from, deadline);
      return res.responses.map((x) => ({ resourceType: x.resourceType, resourceName: x.resourceName, errorCode: x.errorCode, errorMessage: x.errorMessage ?? null }));
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      return resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: timedOut('AlterConfigs') }));
    }
  }

  async incrementalAlterConfigs(resources: readonly IncrementalAlterConfigsResource[], validateOnly: boolean): Promise<AlterConfigsResourceResult[]> {
    const t = this.opts.defaultTimeoutMs;
    const deadline = Date.now() + t;
    const body: ApiRequests[ApiKey.IncrementalAlterConfigs] = {
      resources: resources.map((r) => ({
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: r.configs.map((c) => ({ name: c.name, configOperation: c.configOperation, value: c.value })),
      })),
      validateOnly,
    };
    try {
      const { res, from } = await this.call(
        ApiKey.IncrementalAlterConfigs,
        VERSIONS.incrementalAlterConfigs,
        body,
        t,
        (r) => r.responses.some((x) => x.errorCode === ErrorCode.NOT_CONTROLLER),
        (c) => c.incrementalAlterConfigs(body),
      );
      if (!validateOnly && res.responses.some((x) => x.errorCode === ErrorCode.NONE)) await this.caughtUp(from, deadline);
      return res.responses.map((x) => ({ resourceType: x.resourceType, resourceName: x.resourceName, errorCode: x.errorCode, errorMessage: x.errorMessage ?? null }));
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      return resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: timedOut('IncrementalAlterConfigs') }));
    }
  }

  async electLeaders(electionType: number, topicPartitions: ElectLeadersRequest['topicPartitions'], timeoutMs?: number): Promise<ElectLeadersResponse> {
    const t = this.timeout(timeoutMs);
    const deadline = Date.now() + t;
    const body: ElectLeadersRequest = {
      electionType,
      topicPartitions: topicPartitions === null ? null : topicPartitions.map((x) => ({ topic: x.topic, partitions: [...x.partitions] })),
      timeoutMs: t,
    };
    try {
      const { res, from } = await this.call(
        ApiKey.ElectLeaders,
        VERSIONS.electLeaders,
        body,
        t,
        (r) => r.errorCode === ErrorCode.NOT_CONTROLLER,
        (c) => c.electLeaders(body, VERSIONS.electLeaders),
      );
      if (res.replicaElectionResults.some((x) => x.partitionResult.some((p) => p.errorCode === ErrorCode.NONE))) await this.caughtUp(from, deadline);
      return { throttleTimeMs: 0, errorCode: res.errorCode ?? ErrorCode.NONE, replicaElectionResults: res.replicaElectionResults };
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      this.opts.logger.warn({ err: err.message }, 'ElectLeaders: no active controller');
      return electLeadersErrorResponse(body, ErrorCode.REQUEST_TIMED_OUT, timedOut('ElectLeaders'));
    }
  }

  async alterClientQuotas(req: AlterClientQuotasRequest): Promise<AlterClientQuotasResponse> {
    const t = this.opts.defaultTimeoutMs;
    const deadline = Date.now() + t;
    const body: AlterClientQuotasRequest = {
      entries: req.entries.map((e) => ({
        entity: e.entity.map((x) => ({ entityType: x.entityType, entityName: x.entityName })),
        ops: e.ops.map((o) => ({ key: o.key, value: o.value, remove: o.remove })),
      })),
      validateOnly: req.validateOnly,
    };
    try {
      const { res, from } = await this.call(
        ApiKey.AlterClientQuotas,
        VERSIONS.alterClientQuotas,
        body,
        t,
        (r) => r.entries.some((x) => x.errorCode === ErrorCode.NOT_CONTROLLER),
        (c) => c.alterClientQuotas(body),
      );
      if (!req.validateOnly && res.entries.some((x) => x.errorCode === ErrorCode.NONE)) await this.caughtUp(from, deadline);
      return { throttleTimeMs: 0, entries: res.entries };
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      this.opts.logger.warn({ err: err.message }, 'AlterClientQuotas: no active controller');
      return alterClientQuotasErrorResponse(body, ErrorCode.REQUEST_TIMED_OUT, timedOut('AlterClientQuotas'));
    }
  }

  async alterPartitionReassignments(topics: AlterPartitionReassignmentsRequest['topics'], timeoutMs?: number): Promise<AlterPartitionReassignmentsResponse> {
    const t = this.timeout(timeoutMs);
    const deadline = Date.now() + t;
    const body: AlterPartitionReassignmentsRequest = {
      timeoutMs: t,
      topics: topics.map((x) => ({ name: x.name, partitions: x.partitions.map((p) => ({ partitionIndex: p.partitionIndex, replicas: p.replicas === null ? null : [...p.replicas] })) })),
    };
    try {
      const { res, from } = await this.call(
        ApiKey.AlterPartitionReassignments,
        VERSIONS.alterPartitionReassignments,
        body,
        t,
        (r) => r.errorCode === ErrorCode.NOT_CONTROLLER,
        (c) => c.alterPartitionReassignments(body),
      );
      if (res.responses.some((x) => x.partitions.some((p) => p.errorCode === ErrorCode.NONE))) await this.caughtUp(from, deadline);
      return res;
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      this.opts.logger.warn({ err: err.message }, 'AlterPartitionReassignments: no active controller');
      return alterReassignmentsErrorResponse(body, ErrorCode.REQUEST_TIMED_OUT, timedOut('AlterPartitionReassignments'));
    }
  }

  async listPartitionReassignments(topics: ListPartitionReassignmentsRequest['topics'], timeoutMs?: number): Promise<ListPartitionReassignmentsResponse> {
    const t = this.timeout(timeoutMs);
    const body: ListPartitionReassignmentsRequest = {
      timeoutMs: t,
      topics: topics === null ? null : topics.map((x) => ({ name: x.name, partitionIndexes: [...x.partitionIndexes] })),
    };
    try {
      const { res } = await this.call(
        ApiKey.ListPartitionReassignments,
        VERSIONS.listPartitionReassignments,
        body,
        t,
        (r) => r.errorCode === ErrorCode.NOT_CONTROLLER,
        (c) => c.listPartitionReassignments(body),
      );
      return res;
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      this.opts.logger.warn({ err: err.message }, 'ListPartitionReassignments: no active controller');
      return listReassignmentsErrorResponse(ErrorCode.REQUEST_TIMED_OUT, timedOut('ListPartitionReassignments'));
    }
  }

  async allocateProducerIds(brokerId: number, brokerEpoch: number): Promise<AllocateProducerIdsResult> {
    const body = { brokerId, brokerEpoch: BigInt(brokerEpoch) };
    try {
      const { res } = await this.call(
        ApiKey.AllocateProducerIds,
        VERSIONS.allocateProducerIds,
        body,
        this.opts.defaultTimeoutMs,
        (r) => r.errorCode === ErrorCode.NOT_CONTROLLER,
        (c) => c.allocateProducerIds(body),
      );
      return { errorCode: res.errorCode, errorMessage: res.errorCode === ErrorCode.NONE ? null : errorMessage(res.errorCode), producerIdStart: Number(res.producerIdStart), producerIdLen: res.producerIdLen };
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: timedOut('AllocateProducerIds'), producerIdStart: -1, producerIdLen: 0 };
    }
  }

  /** BrokerRegistration to the active controller (ControllerUnavailableError after `timeoutMs`). */
  async brokerRegistration(req: BrokerRegistrationRequest, timeoutMs: number): Promise<BrokerRegistrationResponse> {
    const { res } = await this.call(ApiKey.BrokerRegistration, VERSIONS.brokerRegistration, req, timeoutMs, (r) => r.errorCode === ErrorCode.NOT_CONTROLLER, (c) => c.brokerRegistration(req));
    return res;
  }

  /** BrokerHeartbeat to the active controller (ControllerUnavailableError after `timeoutMs`). */
  async brokerHeartbeat(req: BrokerHeartbeatRequest, timeoutMs: number): Promise<BrokerHeartbeatResponse> {
    const { res } = await this.call(ApiKey.BrokerHeartbeat, VERSIONS.brokerHeartbeat, req, timeoutMs, (r) => r.errorCode === ErrorCode.NOT_CONTROLLER, (c) => c.brokerHeartbeat(req));
    return res;
  }

  /** AlterPartition to the active controller (for partition leaders; ControllerUnavailableError after `timeoutMs`). */
  async alterPartition(req: AlterPartitionRequest, timeoutMs: number): Promise<AlterPartitionResponse> {
    const v = VERSIONS.alterPartition;
    const { res } = await this.call(
      ApiKey.AlterPartition,
      v,
      req,
      timeoutMs,
      (r) => r.errorCode === ErrorCode.NOT_CONTROLLER || r.topics.some((t) => t.partitions.some((p) => p.errorCode === ErrorCode.NOT_CONTROLLER)),
      (c) => c.alterPartition(req, v),
    );
    return res;
  }
}
